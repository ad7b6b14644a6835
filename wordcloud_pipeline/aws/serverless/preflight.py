"""``wordcloud-infra preflight --serverless``: the EMR Serverless route's read-only checks.

What a first job run would trip on, each with the command that fixes it: no application (or one the
launcher would not find), an application whose release, auto-stop or capacity cap is not what
``up --serverless`` sets, a job role EMR Serverless may not assume, and no packed Python for the current
requirement list. The identity's permissions are asked of IAM's policy simulator, as for the clusters.
Findings and their statuses are ``infra.preflight``'s, so both routes print one report.
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws import clients as aws_clients
from wordcloud_pipeline.aws.emr.config import DEFAULT_RELEASE_LABEL
from wordcloud_pipeline.aws.emr.steps import split_s3
from wordcloud_pipeline.aws.infra.preflight import (
    FAIL,
    OK,
    Finding,
    denied_actions,
    guarded,
    session_not_checked,
    simulated_principal,
)
from wordcloud_pipeline.aws.infra.settings import InfraSettings, code
from wordcloud_pipeline.aws.serverless import provision
from wordcloud_pipeline.aws.serverless.launcher import EmrServerlessSparkLauncher

FIX = "run `wordcloud-infra up --serverless`"


def _application(serverless: Any, settings: InfraSettings) -> dict[str, Any] | None:
    """The application the launcher will use: the one WORDCLOUD_SERVERLESS_APPLICATION_ID names, else
    the project's by name."""
    configured = os.environ.get("WORDCLOUD_SERVERLESS_APPLICATION_ID")
    if configured:
        try:
            return serverless.get_application(applicationId=configured)["application"]
        except ClientError as error:
            if code(error) != "ResourceNotFoundException":
                raise
            return None
    return provision.find_application(serverless, provision.application_name(settings.prefix))


def check_application(serverless: Any, settings: InfraSettings) -> list[Finding]:
    check = "serverless application"
    app = _application(serverless, settings)
    if app is None:
        named = os.environ.get("WORDCLOUD_SERVERLESS_APPLICATION_ID") or provision.application_name(
            settings.prefix
        )
        return [Finding(check, FAIL, f"{named} not found in {settings.region}: {FIX}")]
    where = f"{app['name']} ({app['applicationId']})"
    problems = []
    if app["state"] == "TERMINATED":
        problems.append("is TERMINATED")
    if app.get("releaseLabel") != DEFAULT_RELEASE_LABEL:
        problems.append(
            f"runs {app.get('releaseLabel')}, the scripts and the image's Delta are checked on "
            f"{DEFAULT_RELEASE_LABEL}"
        )
    if not app.get("autoStopConfiguration", {}).get("enabled"):
        problems.append("has no auto-stop, so idle workers stay billed")
    if not app.get("maximumCapacity"):
        problems.append("has no maximum capacity, so nothing caps what a run can spend at once")
    if problems:
        return [Finding(check, FAIL, f"{where} {'; '.join(problems)}: {FIX}")]
    cap = app["maximumCapacity"].get("cpu", "?")
    return [Finding(check, OK, f"{where}: {app['releaseLabel']}, auto-stop, capped at {cap}")]


def check_job_role(iam: Any, settings: InfraSettings) -> list[Finding]:
    check = "serverless job role"
    configured = os.environ.get("WORDCLOUD_SERVERLESS_JOB_ROLE_ARN")
    name = configured.rsplit("/", 1)[-1] if configured else provision.job_role_name(settings.prefix)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        return [Finding(check, FAIL, f"{name} is missing: {FIX}")]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    services = [
        s.get("Principal", {}).get("Service")
        for s in trust.get("Statement", [])
        if s.get("Effect") == "Allow" and "sts:AssumeRole" in json.dumps(s.get("Action"))
    ]
    if not any(provision.SERVICE in json.dumps(s) for s in services):
        return [
            Finding(
                check,
                FAIL,
                f"{name} does not trust {provision.SERVICE}, so no job run starts: {FIX}",
            )
        ]
    return [Finding(check, OK, f"{name} is trusted by {provision.SERVICE}")]


def check_packed_python(s3: Any, settings: InfraSettings) -> list[Finding]:
    check = "packed Python"
    uri = EmrServerlessSparkLauncher(
        bucket=settings.bucket, prefix=settings.prefix, region=settings.region
    ).environment_uri()
    bucket, key = split_s3(uri)
    try:
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    except ClientError as error:
        if code(error) not in ("404", "NoSuchKey", "NotFound"):
            raise
        return [
            Finding(
                check,
                FAIL,
                f"none at {uri} for the current requirement list, so the launcher refuses to start "
                f"a job run: {FIX} (it builds and uploads it)",
            )
        ]
    return [Finding(check, OK, f"{uri} ({size / 1e6:.0f} MB)")]


def check_runner_permissions(iam: Any, sts: Any, principal_arn: str | None) -> list[Finding]:
    check = "runner permissions (serverless)"
    principal_arn, can_simulate = simulated_principal(sts, principal_arn)
    if not can_simulate:
        return [session_not_checked(check, principal_arn)]
    denied = denied_actions(iam, principal_arn, list(provision.RUNNER_ACTIONS))
    if denied:
        return [
            Finding(
                check,
                FAIL,
                f"{principal_arn} may not {', '.join(denied)}: attach the serverless policy "
                "`wordcloud-infra up --serverless` prints to it",
            )
        ]
    return [Finding(check, OK, f"{principal_arn} may start, watch and cancel job runs")]


def serverless_preflight(
    settings: InfraSettings, principal_arn: str | None = None
) -> list[Finding]:
    """The serverless checks, each guarded like the cluster ones (an unavailable API is "not checked")."""

    def client(name: str) -> Any:
        return aws_clients.client(name, settings.region, max_attempts=2)

    iam, s3, sts = client("iam"), client("s3"), client("sts")
    serverless = client("emr-serverless")
    checks = [
        ("serverless application", lambda: check_application(serverless, settings)),
        ("serverless job role", lambda: check_job_role(iam, settings)),
        ("packed Python", lambda: check_packed_python(s3, settings)),
        (
            "runner permissions (serverless)",
            lambda: check_runner_permissions(iam, sts, principal_arn),
        ),
    ]
    return [finding for name, run in checks for finding in guarded(name, run)]
