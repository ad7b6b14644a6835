"""``wordcloud-infra preflight``: against moto after `up` it passes; each injected defect fails, naming
the resource; the APIs moto lacks (IAM's policy simulator, Service Quotas) are answered by botocore's
Stubber with responses the service model validates."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from wordcloud_pipeline.aws.emr.config import ClusterConfig
from wordcloud_pipeline.aws.infra import cli, commands, network, preflight
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.permissions import runner_actions

BUCKET = "wordcloud-preflight-test"
REVIEWS = "preflight-reviews"


@pytest.fixture
def provisioned(fake_aws, monkeypatch) -> InfraSettings:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    settings = InfraSettings(
        region="us-east-1", bucket=BUCKET, reviews_bucket=REVIEWS, require_tls=False
    )
    clients = commands.Clients.connect("us-east-1")
    commands.up(clients, settings)
    internet_route_in_the_default_vpc(clients.ec2, network.vpc_id(clients.ec2, settings))
    return settings


def internet_route_in_the_default_vpc(ec2, vpc: str) -> None:
    """AWS's default VPC routes 0.0.0.0/0 to an internet gateway; moto's has no such route."""
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    (main,) = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    ec2.create_route(
        RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway
    )


def findings_of(settings: InfraSettings) -> dict[str, preflight.Finding]:
    cluster = ClusterConfig(
        service_role=settings.service_role, instance_profile=settings.instance_profile
    )
    found = preflight.preflight(preflight.PreflightClients.connect("us-east-1"), settings, cluster)
    return {f.check: f for f in found}


def test_preflight_after_up_passes_and_strict_counts_what_it_could_not_check(provisioned, capsys):
    args = ["preflight", "--bucket", BUCKET, "--reviews-uri", f"s3://{REVIEWS}/books/"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    for check in (
        "roles",
        "EMR tag",
        "route to PyPI",
        "EMR release",
        "instance types",
        "bucket region",
    ):
        assert any(line.startswith("ok") and f"  {check}:" in line for line in out.splitlines()), (
            check,
            out,
        )
    # moto has no policy simulator and no Service Quotas: said, with the reason, never passed off as ok.
    assert "not checked  runner permissions:" in out
    assert "not checked  vCPU quota:" in out
    assert "FAIL" not in out
    assert cli.main([*args, "--strict"]) == 1


def test_an_untagged_subnet_fails_by_name(provisioned):
    ec2 = boto3.client("ec2")
    vpc = network.vpc_id(ec2, provisioned)
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]
    ec2.delete_tags(
        Resources=[subnet["SubnetId"]], Tags=[{"Key": "for-use-with-amazon-emr-managed-policies"}]
    )
    finding = findings_of(provisioned)["EMR tag"]
    assert finding.status == preflight.FAIL
    assert subnet["SubnetId"] in finding.message and "wordcloud-infra up" in finding.message


def test_a_deleted_instance_role_fails_by_name(provisioned):
    iam = boto3.client("iam")
    name = provisioned.instance_profile
    iam.remove_role_from_instance_profile(
        InstanceProfileName=name, RoleName=provisioned.instance_role
    )
    finding = findings_of(provisioned)["roles"]
    assert finding.status == preflight.FAIL
    assert f"instance profile {name} holds no role" in finding.message


def test_a_missing_service_linked_role_fails_by_name(fake_aws):
    found = findings_of(InfraSettings(region="us-east-1", bucket=BUCKET))
    finding = found["service-linked role AWSServiceRoleForEC2Spot"]
    assert finding.status == preflight.FAIL
    assert "create-service-linked-role --aws-service-name spot.amazonaws.com" in finding.message


def stubbed(service: str) -> tuple[object, Stubber]:
    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def clients_with(**overrides) -> preflight.PreflightClients:
    return preflight.PreflightClients(
        **{
            "iam": None,
            "ec2": None,
            "emr": None,
            "s3": None,
            "sts": None,
            "quotas": None,
            "account": "123456789012",
            **overrides,
        }
    )


def test_a_runner_action_the_simulator_denies_fails_by_name():
    iam, stub = stubbed("iam")
    actions = runner_actions()
    runner = "arn:aws:iam::123456789012:user/dagster"
    results = [
        {
            "EvalActionName": a,
            "EvalDecision": "implicitDeny"
            if a == "elasticmapreduce:PutAutoTerminationPolicy"
            else "allowed",
        }
        for a in actions
    ]
    stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": results, "IsTruncated": False},
        {"PolicySourceArn": runner, "ActionNames": actions},
    )
    with stub:
        (finding,) = preflight.check_permissions(clients_with(iam=iam), runner)
    assert finding.status == preflight.FAIL
    assert "may not elasticmapreduce:PutAutoTerminationPolicy:" in finding.message
    stub.assert_no_pending_responses()


def test_a_denied_simulator_is_not_checked_with_the_reason():
    iam, stub = stubbed("iam")
    stub.add_client_error("simulate_principal_policy", "AccessDenied", "not allowed to simulate")
    with stub:
        (finding,) = preflight.guarded(
            "runner permissions",
            lambda: preflight.check_permissions(clients_with(iam=iam), "arn:aws:iam::1:user/x"),
        )
    assert finding.status == preflight.NOT_CHECKED
    assert "AccessDenied" in finding.message


def test_spot_quota_below_the_fleet_fails_with_the_numbers():
    quotas, stub = stubbed("service-quotas")
    for quota_code, value in ((preflight.ON_DEMAND_QUOTA[0], 64.0), (preflight.SPOT_QUOTA[0], 5.0)):
        stub.add_response(
            "get_service_quota",
            {"Quota": {"ServiceCode": "ec2", "QuotaCode": quota_code, "Value": value}},
            {"ServiceCode": "ec2", "QuotaCode": quota_code},
        )
    with stub:
        (finding,) = preflight.check_quotas(clients_with(quotas=quotas), ClusterConfig())
    on_demand, spot = preflight.fleet_vcpus(ClusterConfig())
    assert (on_demand, spot) == (20, 32)  # master 4 + core 2 x 8; task 4 units x 8
    assert finding.status == preflight.FAIL
    assert "Spot Instance Requests is 5 vCPUs, the fleets need 32" in finding.message


def test_subnets_without_a_route_out_fail_by_name(provisioned):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.50.1.0/24")["Subnet"]["SubnetId"]
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, vpc_id=vpc, subnet_ids=(subnet,))
    (finding,) = preflight.check_internet(preflight.PreflightClients.connect("us-east-1"), settings)
    assert finding.status == preflight.FAIL
    assert subnet in finding.message and "NAT" in finding.message
