"""``wordcloud-infra up --serverless`` and ``wordcloud-infra estimate``: the EMR Serverless route's part of
the provisioning command (``provision`` holds the requests; this module runs them and reports)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws import clients as aws_clients
from wordcloud_pipeline.aws import estimate
from wordcloud_pipeline.aws.emr.config import DEFAULT_RELEASE_LABEL
from wordcloud_pipeline.aws.infra.settings import InfraSettings, Report, tag_list
from wordcloud_pipeline.aws.serverless import packed_env, provision
from wordcloud_pipeline.aws.serverless.launcher import EmrServerlessSparkLauncher, requirements

IDLE_MINUTES = 15
DEFAULT_MAX_VCPU = estimate.SERVERLESS_MAX_VCPU


def default_python() -> str:
    """A statically linked Python 3.11 to pack: Debian's if there, else this one (checked when packing)."""
    return shutil.which("python3.11") if Path("/usr/bin/python3.11").exists() else sys.executable


def identity_policy_name(settings: InfraSettings) -> str:
    return f"{settings.prefix}-dagster-serverless"


def ensure_policy(iam: Any, account: str, name: str, document: dict, tags: dict) -> str:
    arn = f"arn:aws:iam::{account}:policy/{name}"
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document), Tags=tag_list(tags))
        return "created"
    current = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])[
        "PolicyVersion"
    ]["Document"]
    if isinstance(current, str):
        current = json.loads(current)
    if current == document:
        return "unchanged"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= 5:
        oldest = min(
            (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
        )
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    return "updated"


def up_serverless(
    s3: Any, iam: Any, account: str, settings: InfraSettings, report: Report, *,
    python: str, max_vcpu: int = DEFAULT_MAX_VCPU,
) -> dict[str, str]:  # fmt: skip
    """Application, job role, the Dagster identity's serverless policy, the packed Python; returns the
    environment variables the launcher needs."""
    serverless = aws_clients.client("emr-serverless", settings.region)
    name = provision.application_name(settings.prefix)
    app_id, done = provision.ensure_application(
        serverless,
        provision.application_request(
            name=name,
            release_label=DEFAULT_RELEASE_LABEL,
            max_vcpu=max_vcpu,
            idle_minutes=IDLE_MINUTES,
            tags=settings.tags,
        ),
    )
    report.add(f"emr-serverless application {name} ({app_id})", done)
    role = provision.job_role_name(settings.prefix)
    role_arn, done = provision.ensure_job_role(
        iam, role, account, settings.bucket, settings.reviews_bucket, settings.tags
    )
    report.add(f"role {role}", done)
    policy = identity_policy_name(settings)
    document = {
        "Version": "2012-10-17",
        "Statement": provision.identity_statements(settings.region, account, app_id, role_arn),
    }
    report.add(f"policy {policy}", ensure_policy(iam, account, policy, document, settings.tags))
    launcher = EmrServerlessSparkLauncher(
        bucket=settings.bucket, prefix=settings.prefix, region=settings.region
    )
    with tempfile.TemporaryDirectory(prefix="wordcloud-pack-") as scratch:
        uri = launcher.environment_uri()
        done = provision.ensure_environment(
            s3,
            uri,
            lambda: packed_env.pack(python, requirements([]), Path(scratch)),
            lambda line: sys.stderr.write(line + "\n"),
        )
    report.add(uri, done)
    return {
        "WORDCLOUD_SERVERLESS_APPLICATION_ID": app_id,
        "WORDCLOUD_SERVERLESS_JOB_ROLE_ARN": role_arn,
        "policy_arn": f"arn:aws:iam::{account}:policy/{policy}",
    }
