"""The IAM side, which moto does not enforce: checked by hand against what the code really calls.

- Every AWS call the project's runtime code makes (captured with a botocore ``before-parameter-build`` hook while the
  launcher, the spot retry and both EMR sensors run against moto) is allowed by the identity policy that
  ``wordcloud-infra up`` writes, on the resource it touches.
- ``iam:PassRole`` names exactly the two roles ``up`` created.
- ``AmazonEMRServicePolicy_v2``'s tag conditions (moto ships its document) hold for the subnets, security
  groups and VPC that ``up`` tags and the cluster uses.
- parliament finds nothing wrong in the IAM documents ``up`` writes.
"""

from __future__ import annotations

import json
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import boto3
import dagster as dg
import pytest
from parliament import analyze_policy_string

import wordcloud_pipeline
from wordcloud_pipeline.aws import permissions
from wordcloud_pipeline.aws.emr import steps
from wordcloud_pipeline.aws.emr.config import ClusterConfig
from wordcloud_pipeline.aws.emr.cost_guard_sensor import sweep
from wordcloud_pipeline.aws.emr.job_flow import EMR_MANAGED_POLICY_TAG
from wordcloud_pipeline.aws.emr.run_end_sensor import end_clusters_of_finished_runs
from wordcloud_pipeline.aws.infra import commands, iam, network, policies
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline_tests.aws.conftest import (
    BUCKET,
    emr_test_launcher,
    emr_test_resource,
    launch_in_asset,
)
from wordcloud_pipeline_tests.aws.emr_fleets import FleetEmulator
from wordcloud_pipeline_tests.aws.test_emr_failures import JOB, StepPlayer, write_metrics

REGION = "us-east-1"
REVIEWS = "public-reviews"
PACKAGE = Path(wordcloud_pipeline.__file__).resolve().parent
INFRA = PACKAGE / "aws" / "infra"


class ProjectCalls:
    """(service, operation, params) of each call whose stack passes through the runtime package
    (``wordcloud_pipeline/`` except ``aws/infra/``, which an administrator runs)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []

    def __call__(self, params, model, **_) -> None:
        frame = sys._getframe()
        while frame is not None:
            path = Path(frame.f_code.co_filename)
            if PACKAGE in path.parents and INFRA not in path.parents:
                self.calls.append((model.service_model.service_name, model.name, dict(params)))
                return
            frame = frame.f_back


def required_permissions(
    service: str, operation: str, params: dict, account: str, profile_roles: dict[str, str]
) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs a call needs: the actions from ``permissions.call_actions``
    (own, dependent, parameter extras), on the resource the call touches."""
    actions = permissions.call_actions(service, operation, params)
    if service == "emr":
        if operation == "RunJobFlow":
            roles = [params["ServiceRole"], profile_roles[params["JobFlowRole"]]]
            new_cluster = f"arn:aws:elasticmapreduce:{REGION}:{account}:cluster/x"
            needed = []
            for action in actions:
                if action == "iam:PassRole":
                    needed += [(action, f"arn:aws:iam::{account}:role/{r}") for r in roles]
                elif action == "elasticmapreduce:RunJobFlow":
                    needed.append((action, "*"))
                else:  # what the request's parameters add, on the new cluster
                    needed.append((action, new_cluster))
            return [*needed, ("elasticmapreduce:AddTags", new_cluster)]
        if operation == "ListClusters":
            return [(a, "*") for a in actions]
        ids = params.get("JobFlowIds") or [params.get("ClusterId") or params.get("JobFlowId")]
        return [
            (a, f"arn:aws:elasticmapreduce:{REGION}:{account}:cluster/{i}")
            for a in actions
            for i in ids
        ]
    if service == "s3":
        assert "Bucket" in params, (operation, params)
        key = params.get("Key")
        resource = f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else "")
        return [(a, resource) for a in actions]
    if service == "ec2":
        return [(a, "*") for a in actions]
    raise AssertionError(f"unexpected call {service}.{operation}")


def allowed(policy: dict, action: str, resource: str, resource_tags: dict[str, str]) -> bool:
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if statement["Effect"] != "Allow" or not any(fnmatchcase(action, a) for a in actions):
            continue
        if not any(fnmatchcase(resource, r) for r in resources):
            continue
        conditions = statement.get("Condition", {}).get("StringEquals", {})
        if all(
            resource_tags.get(key.split("/", 1)[1]) == value
            for key, value in conditions.items()
            if key.startswith("aws:ResourceTag/")
        ):
            return True
    return False


@pytest.fixture
def clients(fake_aws, monkeypatch) -> commands.Clients:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return commands.Clients.connect(REGION)


@pytest.fixture
def settings() -> InfraSettings:
    return InfraSettings(region=REGION, bucket=BUCKET, reviews_bucket=REVIEWS, require_tls=False)


def test_every_call_the_project_makes_is_allowed_by_the_identity_policy(
    clients, settings, monkeypatch
):
    commands.up(clients, settings)
    fleets = FleetEmulator(REGION).install(monkeypatch)
    vpc = network.vpc_id(clients.ec2, settings)
    subnet = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][
        0
    ]["SubnetId"]
    resource = emr_test_resource(cluster=ClusterConfig(subnet_ids=[subnet]))
    launcher = emr_test_launcher(resource, spot_refill_checks=0, spot_refill_wait_seconds=0)

    def interrupt(cluster_id, step):
        fleets.provision(cluster_id, "TASK", 0, "Spot instance interrupted")
        fleets.fail_running_step(cluster_id, "Instance fleet lost capacity")

    def complete(cluster_id, step):
        write_metrics(step)
        fleets.complete_running_step(cluster_id)

    captured = ProjectCalls()
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-parameter-build", captured)
    with dg.instance_for_test() as instance:
        with StepPlayer([interrupt, complete]):
            launch_in_asset(launcher, JOB, instance)  # a real run, SUCCESS once it ends
        steps.cancel_step(
            resource.client("emr", max_attempts=1), "j-NOTACLUSTER", "s-NOTASTEP", lambda _: None
        )
        end_clusters_of_finished_runs(resource, instance, lambda _: None)
        sweep(resource, instance, lambda _: None)
    boto3.DEFAULT_SESSION.events.unregister("before-parameter-build", captured)

    operations = {(s, o) for s, o, _ in captured.calls}
    # The scenario reached every kind of call the runtime makes.
    assert {
        ("emr", "RunJobFlow"),
        ("emr", "AddJobFlowSteps"),
        ("emr", "DescribeStep"),
        ("emr", "ListInstanceFleets"),
        ("emr", "ModifyInstanceFleet"),
        ("emr", "TerminateJobFlows"),
        ("emr", "CancelSteps"),
        ("ec2", "DescribeSubnets"),
        ("ec2", "DescribeRouteTables"),
        ("s3", "PutObject"),
        ("s3", "GetObject"),
    } <= operations, operations

    # preflight simulates permissions.RUNNER_CALLS: every call a run makes is in it.
    assert operations <= set(permissions.RUNNER_CALLS), operations - set(permissions.RUNNER_CALLS)
    policy = policies.identity_policy(clients.account, settings)
    profile_roles = {settings.instance_profile: settings.instance_role}
    denied = []
    for service, operation, params in captured.calls:
        for action, arn in required_permissions(
            service, operation, params, clients.account, profile_roles
        ):
            tags = {}
            if ":cluster/j-" in arn:
                cluster_id = arn.rsplit("/", 1)[1]
                if cluster_id != "j-NOTACLUSTER":
                    described = boto3.client("emr").describe_cluster(ClusterId=cluster_id)
                    tags = {t["Key"]: t["Value"] for t in described["Cluster"]["Tags"]}
            if not allowed(policy, action, arn, tags) and cluster_id_known(arn):
                denied.append((operation, action, arn))
    assert denied == []
    # And the policy in IAM is the one checked here.
    arn = iam.identity_policy_arn(clients.account, settings)
    version = clients.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    stored = clients.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    document = stored["Document"]
    assert (json.loads(document) if isinstance(document, str) else document) == policy


def cluster_id_known(arn: str) -> bool:
    return "j-NOTACLUSTER" not in arn


def test_the_identity_policy_denies_what_the_project_does_not_need(clients, settings):
    policy = policies.identity_policy(clients.account, settings)
    cluster = f"arn:aws:elasticmapreduce:{REGION}:{clients.account}:cluster/j-1"
    assert not allowed(policy, "elasticmapreduce:TerminateJobFlows", cluster, {"team": "other"})
    assert not allowed(policy, "s3:PutObject", f"arn:aws:s3:::{REVIEWS}/x", {})
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::someone-else/x", {})
    assert not allowed(policy, "iam:PassRole", f"arn:aws:iam::{clients.account}:role/AdminRole", {})
    assert not allowed(policy, "ec2:RunInstances", "*", {})
    assert allowed(policy, "s3:ListBucket", f"arn:aws:s3:::{REVIEWS}", {})


def test_pass_role_names_exactly_the_roles_up_created(clients, settings):
    commands.up(clients, settings)
    role_arns = {
        clients.iam.get_role(RoleName=name)["Role"]["Arn"]
        for name in (settings.service_role, settings.instance_role)
    }
    policy = policies.identity_policy(clients.account, settings)
    (pass_role,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    assert set(pass_role["Resource"]) == role_arns


def test_emr_managed_policy_tag_conditions_hold_for_what_up_tags(clients, settings, sent):
    commands.up(clients, settings)
    attached = clients.iam.list_attached_role_policies(RoleName=settings.service_role)
    (arn,) = [p["PolicyArn"] for p in attached["AttachedPolicies"]]
    version = clients.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = clients.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"][
        "Document"
    ]
    document = json.loads(document) if isinstance(document, str) else document
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
    condition = f"aws:ResourceTag/{key}"
    types_needing_tag = set()
    for statement in document["Statement"]:
        if statement.get("Condition", {}).get("StringEquals", {}).get(condition) == value:
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                types_needing_tag.add(resource.rsplit(":", 1)[-1].split("/")[0])
    assert {"subnet", "security-group", "vpc"} <= types_needing_tag

    vpc = network.vpc_id(clients.ec2, settings)
    subnet = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][
        0
    ]["SubnetId"]
    emr_test_resource(cluster=ClusterConfig(subnet_ids=[subnet])).lifecycle().ensure_cluster(
        boto3.client("emr"), "run-tags", "s3://b/boot.sh", lambda _: None
    )
    (request,) = sent.by_operation["RunJobFlow"]
    instances = request["Instances"]
    used = {
        "vpc": [vpc],
        "subnet": instances["Ec2SubnetIds"],
        "security-group": [
            instances[k]
            for k in (
                "EmrManagedMasterSecurityGroup",
                "EmrManagedSlaveSecurityGroup",
                "ServiceAccessSecurityGroup",
            )
            if k in instances
        ],
    }
    assert len(used["security-group"]) >= 2
    for kind, ids in used.items():
        for resource_id in ids:
            tags = clients.ec2.describe_tags(
                Filters=[{"Name": "resource-id", "Values": [resource_id]}]
            )["Tags"]
            assert {t["Key"]: t["Value"] for t in tags}.get(key) == value, (kind, resource_id)


def assert_parliament_finds_nothing(documents: dict[str, dict]) -> None:
    for name, document in documents.items():
        findings = analyze_policy_string(json.dumps(document)).findings
        assert [(f.issue, f.detail) for f in findings] == [], name


def test_parliament_finds_nothing_in_the_iam_documents(clients, settings):
    documents = {
        "identity": policies.identity_policy(clients.account, settings),
        "instance": policies.instance_policy(settings),
        "pass-instance-role": policies.pass_role_policy(clients.account, settings),
        "bucket": policies.tls_only_bucket_policy(settings.bucket),
    }
    assert_parliament_finds_nothing(documents)
    # The lint can fail: a misspelt action is reported.
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "elasticmapreduce:RunJobFlows", "Resource": "*"}
        ],
    }
    assert [f.issue for f in analyze_policy_string(json.dumps(bad)).findings] == ["UNKNOWN_ACTION"]
