"""What ``wordcloud-infra up --serverless`` converges: the EMR Serverless application, the job runs'
execution role (least privilege), and the packed Python in the project bucket.

- **Application** ``<prefix>-serverless``: Spark, the EMR release the clusters use, auto-start (a job run
  starts it) and auto-stop after ``idle_minutes`` without jobs (so nothing stays billed), a maximum capacity
  that caps what a run can spend at once, and no pre-initialized capacity (nothing billed while idle). No
  network configuration: the job runs reach S3 and nothing else, which is all the ``sparkml`` backend needs.
- **Job role** ``<prefix>-serverless-job-role``: trusted by ``emr-serverless.amazonaws.com`` from this account
  only; list, read, write and delete objects of the project bucket (code, logs, Pipes, outputs), list and
  read the reviews bucket; nothing else (no Glue, no CloudWatch: logs go to the bucket).
- **Identity statements** for the identity that runs Dagster: start, watch and cancel job runs of that one
  application, tag them (dagster-aws tags each job run with its Dagster run), and pass the job role to EMR
  Serverless only.

Each ``ensure_*`` reports ``created``, ``updated`` or ``unchanged``, as the rest of ``wordcloud-infra`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws.emr.steps import split_s3
from wordcloud_pipeline.aws.serverless import packed_env

SERVICE = "emr-serverless.amazonaws.com"
# What the identity that runs Dagster calls on the application: the launcher starts, watches and cancels
# job runs (tagging each with its Dagster run); the run-end sensor lists them to cancel orphans. The
# identity statements grant exactly these and preflight simulates exactly these.
RUNNER_ACTIONS = (
    "emr-serverless:GetApplication",
    "emr-serverless:StartJobRun",
    "emr-serverless:GetJobRun",
    "emr-serverless:CancelJobRun",
    "emr-serverless:ListJobRuns",
    "emr-serverless:TagResource",
)
ACTIVE_STATES = ("CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED")


def application_name(prefix: str) -> str:
    return f"{prefix}-serverless"


def job_role_name(prefix: str) -> str:
    return f"{prefix}-serverless-job-role"


def application_request(
    *,
    name: str,
    release_label: str,
    max_vcpu: int,
    idle_minutes: int,
    tags: Mapping[str, str],
    architecture: str = "X86_64",
) -> dict[str, Any]:
    return {
        "name": name,
        "releaseLabel": release_label,
        "type": "SPARK",
        "architecture": architecture,
        "autoStartConfiguration": {"enabled": True},
        "autoStopConfiguration": {"enabled": True, "idleTimeoutMinutes": idle_minutes},
        # 4 GB per vCPU, as EMR Serverless's default workers (4 vCPU, 16 GB); 20 GB of disk each.
        "maximumCapacity": {
            "cpu": f"{max_vcpu} vCPU",
            "memory": f"{max_vcpu * 4} GB",
            "disk": f"{max_vcpu // 4 * 20} GB",
        },
        "tags": dict(tags),
    }


def find_application(client: Any, name: str) -> dict[str, Any] | None:
    for page in client.get_paginator("list_applications").paginate(states=list(ACTIVE_STATES)):
        for app in page.get("applications", []):
            if app["name"] == name:
                return client.get_application(applicationId=app["id"])["application"]
    return None


def _differs(app: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    keys = ("releaseLabel", "autoStartConfiguration", "autoStopConfiguration", "maximumCapacity")
    return [k for k in keys if app.get(k) != request[k]]


def ensure_application(client: Any, request: dict[str, Any]) -> tuple[str, str]:
    """The application's id and what was done. A changed setting is updated (EMR Serverless accepts
    updates only while the application is CREATED or STOPPED; otherwise the message says to wait)."""
    app = find_application(client, request["name"])
    if app is None:
        created = client.create_application(**request)
        return created["applicationId"], "created"
    changed = _differs(app, request)
    if not changed:
        return app["applicationId"], "unchanged"
    if app["state"] not in ("CREATED", "STOPPED"):
        raise RuntimeError(
            f"application {app['applicationId']} is {app['state']}: its {', '.join(changed)} can be "
            "changed once it has stopped (auto-stop ends it after its idle timeout); run up again then"
        )
    update = {k: request[k] for k in changed}
    client.update_application(applicationId=app["applicationId"], **update)
    return app["applicationId"], "updated"


def trust_policy(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


def job_role_policy(bucket: str, reviews_bucket: str | None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ProjectBucketList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "ProjectBucketObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    ]
    if reviews_bucket and reviews_bucket != bucket:
        statements += [
            {
                "Sid": "ReviewsRead",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{reviews_bucket}", f"arn:aws:s3:::{reviews_bucket}/*"],
            }
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def ensure_job_role(
    iam: Any, name: str, account: str, bucket: str, reviews_bucket: str | None,
    tags: Mapping[str, str],
) -> tuple[str, str]:  # fmt: skip
    """The job role's ARN and what was done; its trust and inline policy are rewritten when they differ."""
    trust = trust_policy(account)
    policy = job_role_policy(bucket, reviews_bucket)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description="wordcloud_pipeline: EMR Serverless job runs",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["Role"]
        iam.put_role_policy(
            RoleName=name, PolicyName="project-data", PolicyDocument=json.dumps(policy)
        )
        return role["Arn"], "created"
    status = "unchanged"
    current_trust = role["AssumeRolePolicyDocument"]
    if isinstance(current_trust, str):
        current_trust = json.loads(current_trust)
    if current_trust != trust:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        status = "updated"
    try:
        current = iam.get_role_policy(RoleName=name, PolicyName="project-data")["PolicyDocument"]
    except ClientError:
        current = None
    if isinstance(current, str):
        current = json.loads(current)
    if current != policy:
        iam.put_role_policy(
            RoleName=name, PolicyName="project-data", PolicyDocument=json.dumps(policy)
        )
        status = "updated"
    return role["Arn"], status


def identity_statements(
    region: str, account: str, application_id: str, role_arn: str
) -> list[dict]:
    """What the identity that runs Dagster needs for the serverless launcher, and no more."""
    app_arn = f"arn:aws:emr-serverless:{region}:{account}:/applications/{application_id}"
    return [
        {
            "Sid": "ServerlessJobRuns",
            "Effect": "Allow",
            "Action": list(RUNNER_ACTIONS),
            "Resource": [app_arn, f"{app_arn}/jobruns/*"],
        },
        {
            "Sid": "ServerlessPassJobRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": SERVICE}},
        },
    ]


def ensure_environment(
    s3: Any, target_uri: str, build: Callable[[], Path], log: Callable[[str], None]
) -> str:
    """Uploads the packed Python to ``target_uri`` unless it is there (its key names what it holds)."""
    bucket, key = split_s3(target_uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return "unchanged"
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    archive = build()
    if archive.name != Path(key).name:
        raise packed_env.PackError(
            f"built {archive.name}, but the launcher looks for {Path(key).name}: the interpreter is "
            "not Python 3.11 or not of the application's architecture"
        )
    log(f"uploading the packed Python ({archive.stat().st_size / 1e6:.0f} MB) to {target_uri}")
    s3.upload_file(str(archive), bucket, key)
    return "created"
