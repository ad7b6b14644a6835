"""``wordcloud-infra`` against moto: idempotent up, complete down, least privilege."""

from __future__ import annotations

import json

import boto3
import pytest

from wordcloud_pipeline.aws import names
from wordcloud_pipeline.aws.emr.config import ClusterConfig
from wordcloud_pipeline.aws.infra import cli, commands, network
from wordcloud_pipeline.aws.infra.settings import InfraSettings, Waits
from wordcloud_pipeline_tests.aws.conftest import emr_test_resource

BUCKET = "wordcloud-infra-test"


@pytest.fixture
def clients(fake_aws, monkeypatch) -> commands.Clients:
    # Let moto's IAM know AWS's managed policies (AmazonEMRServicePolicy_v2) so they can be attached.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return commands.Clients.connect("us-east-1")


@pytest.fixture
def settings() -> InfraSettings:
    return InfraSettings(region="us-east-1", bucket=BUCKET, reviews_bucket="public-reviews")


def snapshot(clients: commands.Clients, settings: InfraSettings) -> dict:
    """Everything `up` manages, as plain data, to compare before and after."""
    iam, s3 = clients.iam, clients.s3
    roles = {}
    for role in (settings.service_role, settings.instance_role):
        roles[role] = {
            "trust": iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"],
            "inline": {
                name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
                for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
            },
            "attached": sorted(
                p["PolicyArn"]
                for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
            ),
        }
    groups = {
        role: (g["GroupId"], sorted(json.dumps(p, sort_keys=True) for p in g["IpPermissions"]))
        for role, g in network.project_security_groups(clients.ec2).items()
    }
    return {
        "roles": roles,
        "groups": groups,
        "profile": iam.get_instance_profile(InstanceProfileName=settings.instance_profile)[
            "InstanceProfile"
        ]["Roles"][0]["RoleName"],
        "bucket": (
            s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"],
            s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"],
            s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"],
            s3.get_bucket_policy(Bucket=BUCKET)["Policy"],
        ),
        "bucket_count": len(s3.list_buckets()["Buckets"]),
    }


def test_up_twice_changes_nothing_the_second_time(clients, settings):
    first = commands.up(clients, settings)
    assert first.changed()
    state = snapshot(clients, settings)

    second = commands.up(clients, settings)

    assert not second.changed(), second.text()
    assert snapshot(clients, settings) == state
    assert state["profile"] == settings.instance_role
    public, encryption, rules, _ = state["bucket"]
    assert all(public.values())
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert rules[0]["Filter"] == {"Prefix": "wordcloud/logs/"}
    assert rules[0]["Expiration"] == {"Days": 30}


def _allow_statements(document: dict) -> list[dict]:
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    return [s for s in statements if s["Effect"] == "Allow"]


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_policies_grant_no_wildcard_admin_rights(clients, settings):
    commands.up(clients, settings)
    iam = clients.iam
    documents = []
    for role in (settings.service_role, settings.instance_role):
        documents += [
            iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
        ]
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            assert "AdministratorAccess" not in attached["PolicyArn"]
            assert "AmazonElasticMapReduceRole" not in attached["PolicyArn"]  # the broad v1 policy
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(
                PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
            )
            documents.append(version["PolicyVersion"]["Document"])
    assert len(documents) == 3
    for document in documents:
        for statement in _allow_statements(document):
            actions = _as_list(statement.get("Action", []))
            resources = _as_list(statement.get("Resource", []))
            assert "*" not in actions and "*:*" not in actions, statement
            assert not ("s3:*" in actions and "*" in resources), statement
            assert "NotAction" not in statement, statement

    bucket_access = iam.get_role_policy(
        RoleName=settings.instance_role, PolicyName="project-bucket-access"
    )["PolicyDocument"]
    resources = {r for s in bucket_access["Statement"] for r in _as_list(s["Resource"])}
    assert resources == {
        f"arn:aws:s3:::{BUCKET}",
        f"arn:aws:s3:::{BUCKET}/*",
        "arn:aws:s3:::public-reviews",
        "arn:aws:s3:::public-reviews/*",
    }
    pass_role = iam.get_role_policy(
        RoleName=settings.service_role, PolicyName="pass-instance-role"
    )["PolicyDocument"]["Statement"][0]
    assert pass_role["Resource"] == f"arn:aws:iam::{clients.account}:role/{settings.instance_role}"


def test_security_groups_have_no_open_ingress(clients, settings):
    commands.up(clients, settings)
    groups = network.project_security_groups(clients.ec2)
    assert set(groups) == {"master", "worker", "service"}
    own_ids = {g["GroupId"] for g in groups.values()}
    for group in groups.values():
        for permission in group["IpPermissions"]:
            assert permission.get("IpRanges", []) == []
            assert permission.get("Ipv6Ranges", []) == []
            assert {p["GroupId"] for p in permission["UserIdGroupPairs"]} <= own_ids


def test_down_removes_what_up_created_and_nothing_else(clients):
    # moto speaks plain HTTP, which the TLS-only bucket policy (rightly) denies: leave it out here.
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False)
    unrelated_bucket = "someone-elses-bucket"
    clients.s3.create_bucket(Bucket=unrelated_bucket)
    clients.iam.create_role(RoleName="someone-elses-role", AssumeRolePolicyDocument="{}")
    vpc = network.vpc_id(clients.ec2, settings)
    other_group = clients.ec2.create_security_group(
        GroupName="someone-elses-group", Description="not ours", VpcId=vpc
    )["GroupId"]
    commands.up(clients, settings)
    clients.s3.put_object(Bucket=BUCKET, Key="wordcloud/logs/x.gz", Body=b"log")

    kept = commands.down(clients, settings)
    assert ("s3://wordcloud-infra-test", "kept (holds data; pass --delete-bucket)") in kept.lines
    commands.down(clients, settings, delete_bucket=True)

    buckets = {b["Name"] for b in clients.s3.list_buckets()["Buckets"]}
    assert buckets == {unrelated_bucket}
    roles = {r["RoleName"] for r in clients.iam.list_roles()["Roles"]}
    assert "someone-elses-role" in roles
    assert not {settings.service_role, settings.instance_role} & roles
    assert clients.iam.list_instance_profiles()["InstanceProfiles"] == []
    assert network.project_security_groups(clients.ec2) == {}
    remaining = {g["GroupId"] for g in clients.ec2.describe_security_groups()["SecurityGroups"]}
    assert other_group in remaining
    # and down again is a no-op that says so
    again = commands.down(clients, settings, delete_bucket=True)
    assert not again.changed()


def test_down_refuses_while_a_project_cluster_runs(clients, settings):
    commands.up(clients, settings)
    emr = boto3.client("emr")
    emr_test_resource().lifecycle().ensure_cluster(
        emr, "run-live", "s3://b/boot.sh", lambda _: None
    )
    with pytest.raises(SystemExit, match="active project clusters"):
        commands.down(clients, settings)
    assert network.project_security_groups(clients.ec2)  # nothing was removed


def test_cli_up_prints_the_settings_to_export(clients, capsys):
    assert cli.main(["up", "--bucket", BUCKET, "--allow-plain-http"]) == 0
    out = capsys.readouterr().out
    assert any(
        line.startswith(f"s3://{BUCKET} ") and line.endswith("created") for line in out.splitlines()
    )
    assert f"WORDCLOUD_EMR_BUCKET={BUCKET}" in out
    assert cli.main(["status", "--bucket", BUCKET]) == 0
    assert "wordcloud-emr-service-role" in capsys.readouterr().out


def test_clusters_in_a_subnet_use_the_security_groups_up_created(clients, settings, sent):
    commands.up(clients, settings)
    vpc = network.vpc_id(clients.ec2, settings)
    subnet = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][
        0
    ]
    resource = emr_test_resource(cluster=ClusterConfig(subnet_ids=[subnet["SubnetId"]]))

    resource.lifecycle().ensure_cluster(
        boto3.client("emr"), "run-in-subnet", "s3://b/boot.sh", lambda _: None
    )

    (request,) = sent.by_operation["RunJobFlow"]
    groups = {
        role: g["GroupId"] for role, g in network.project_security_groups(clients.ec2).items()
    }
    instances = request["Instances"]
    assert instances["Ec2SubnetIds"] == [subnet["SubnetId"]]
    assert instances["EmrManagedMasterSecurityGroup"] == groups["master"]
    assert instances["EmrManagedSlaveSecurityGroup"] == groups["worker"]
    assert instances["ServiceAccessSecurityGroup"] == groups["service"]


def _tags(ec2, resource_id: str) -> dict[str, str]:
    found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource_id]}])["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def test_up_tags_the_vpc_and_subnets_for_the_emr_policy_and_down_untags_only_its_own(clients):
    ec2 = clients.ec2
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    ours, already = (
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(2)
    )
    ec2.create_tags(
        Resources=[already],
        Tags=[{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}],
    )
    settings = InfraSettings(
        region="us-east-1",
        bucket=BUCKET,
        vpc_id=vpc,
        subnet_ids=(ours, already),
        require_tls=False,
    )

    commands.up(clients, settings)
    for resource in (vpc, ours, already):
        assert _tags(ec2, resource)["for-use-with-amazon-emr-managed-policies"] == "true"
    assert not commands.up(clients, settings).changed()

    commands.down(clients, settings)
    assert "for-use-with-amazon-emr-managed-policies" not in _tags(ec2, ours)
    assert "for-use-with-amazon-emr-managed-policies" not in _tags(ec2, vpc)
    # The tag someone else put on a subnet stays.
    assert _tags(ec2, already)["for-use-with-amazon-emr-managed-policies"] == "true"


def test_down_revokes_the_egress_rules_emr_adds_between_the_groups(clients, sent):
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False)
    commands.up(clients, settings)
    groups = {
        role: g["GroupId"] for role, g in network.project_security_groups(clients.ec2).items()
    }
    # What EMR does on first use: outbound rules from the service group to the master group.
    clients.ec2.authorize_security_group_egress(
        GroupId=groups["service"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8443,
                "ToPort": 8443,
                "UserIdGroupPairs": [{"GroupId": groups["master"]}],
            }
        ],
    )

    clients.ec2.meta.events.register("before-send", sent)  # made before `sent`: record it too
    commands.down(clients, settings)

    # EC2 speaks the query protocol (no JSON body to read back): one revoke, for the one rule.
    assert sent.count("RevokeSecurityGroupEgress") == 1
    assert network.project_security_groups(clients.ec2) == {}


def test_up_refuses_a_bucket_it_did_not_create_unless_adopted(clients):
    s3 = clients.s3
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "owner", "Value": "data"}]})
    theirs = {
        "ID": "archive-raw",
        "Filter": {"Prefix": "raw/"},
        "Status": "Enabled",
        "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
    }
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [theirs]})
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False)

    with pytest.raises(SystemExit, match=r"not created by wordcloud-infra.*--adopt-bucket"):
        commands.up(clients, settings)
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "owner", "Value": "data"}]
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]] == [
        "archive-raw"
    ]

    adopted = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False, adopt_bucket=True)
    commands.up(clients, adopted)
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags["owner"] == "data" and tags[names.MANAGED_BY_TAG] == names.MANAGED_BY
    rules = {r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    # merged: the owner's rule is kept
    assert rules == {"archive-raw", "expire-emr-logs", "expire-run-messages"}


def test_a_non_default_prefix_expires_the_logs_the_pipeline_writes_under_it(clients):
    """`up --prefix team-a` and an EMR resource with the same prefix: the expiry rule covers its logs."""
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, prefix="team-a", require_tls=False)
    commands.up(clients, settings)
    rules = {
        r["ID"]: r for r in clients.s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    }
    rule = rules["expire-emr-logs"]
    layout = emr_test_resource(bucket=BUCKET, prefix="team-a").layout()
    assert rule["Filter"]["Prefix"] == "team-a/logs/"
    assert layout.log_uri.startswith(f"s3://{BUCKET}/{rule['Filter']['Prefix']}")
    # The runs' Pipes chunks expire too, under the same prefix.
    assert rules["expire-run-messages"]["Filter"]["Prefix"] == "team-a/runs/"
    assert layout.pipes_key_prefix("r1").startswith(
        rules["expire-run-messages"]["Filter"]["Prefix"]
    )
    assert rules["expire-run-messages"]["Expiration"] == {"Days": 7}
    assert clients.iam.get_role(RoleName="team-a-emr-service-role")


def test_the_command_runs_as_a_module(clients):
    """`python -m wordcloud_pipeline.aws.infra` is the same command as the console script."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "wordcloud_pipeline.aws.infra", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "up" in done.stdout and "wordcloud-infra" in done.stdout


def test_the_instance_profile_the_cluster_names_holds_a_role_of_the_same_name(clients, settings):
    """EMR refuses an instance profile whose name differs from its EC2 role's ("invalid instance profile")."""
    commands.up(clients, settings)
    profile_name = ClusterConfig().instance_profile
    profile = clients.iam.get_instance_profile(InstanceProfileName=profile_name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [profile_name]


def test_up_creates_the_service_linked_roles_a_new_account_lacks(clients, settings):
    """EMR's cleanup role and EC2's spot role: missing in an account that never used EMR or spot."""
    iam = clients.iam

    def linked(service: str) -> list[str]:
        return [
            r["RoleName"]
            for r in iam.list_roles(PathPrefix=f"/aws-service-role/{service}/")["Roles"]
        ]

    assert linked("elasticmapreduce.amazonaws.com") == linked("spot.amazonaws.com") == []
    first = dict(commands.up(clients, settings).lines)
    assert first["service-linked role AWSServiceRoleForEMRCleanup"] == "created"
    assert first["service-linked role AWSServiceRoleForEC2Spot"] == "created"
    assert len(linked("elasticmapreduce.amazonaws.com")) == len(linked("spot.amazonaws.com")) == 1
    # Already there (a second up, or EMR made its own): nothing changes, nothing fails.
    second = dict(commands.up(clients, settings).lines)
    assert second["service-linked role AWSServiceRoleForEC2Spot"] == "unchanged"
    status = dict(commands.status(clients, settings).lines)
    assert status["service-linked role AWSServiceRoleForEMRCleanup"] == "present"


def refuse_deleting_groups_in_use(ec2) -> None:
    """AWS's rule, which moto does not apply: a group an interface still uses cannot be deleted."""
    from botocore.awsrequest import AWSResponse

    def refuse(params, **_):
        if network.interfaces_using(boto3.client("ec2"), params["body"]["GroupId"]):
            error = {"Code": "DependencyViolation", "Message": "resource has a dependent object"}
            return AWSResponse("https://ec2", 400, {}, None), {
                "Error": error,
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return None

    ec2.meta.events.register("before-call.ec2.DeleteSecurityGroup", refuse)


def emr_interface_in(clients: commands.Clients, group_id: str) -> str:
    """A network interface in ``group_id``, as EMR's instances leave for minutes after a cluster ends."""
    vpc = network.vpc_id(clients.ec2, InfraSettings(region="us-east-1", bucket=BUCKET))
    subnet = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][
        0
    ]
    return clients.ec2.create_network_interface(SubnetId=subnet["SubnetId"], Groups=[group_id])[
        "NetworkInterface"
    ]["NetworkInterfaceId"]


def test_down_waits_for_emrs_network_interfaces_before_deleting_the_groups(clients):
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False)
    commands.up(clients, settings)
    worker = network.project_security_groups(clients.ec2)["worker"]["GroupId"]
    interface = emr_interface_in(clients, worker)
    refuse_deleting_groups_in_use(clients.ec2)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the interface goes while down waits
        slept.append(seconds)
        clients.ec2.delete_network_interface(NetworkInterfaceId=interface)

    report = commands.down(clients, settings, waits=Waits(attempts=3, seconds=7, sleep=sleep))
    assert slept == [7]
    assert network.project_security_groups(clients.ec2) == {}
    assert dict(report.lines)["security group wordcloud-emr-worker"] == "deleted"


def test_down_gives_up_on_a_group_still_in_use_with_one_line(clients):
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False)
    commands.up(clients, settings)
    worker = network.project_security_groups(clients.ec2)["worker"]["GroupId"]
    interface = emr_interface_in(clients, worker)
    refuse_deleting_groups_in_use(clients.ec2)
    with pytest.raises(
        SystemExit, match=rf"wordcloud-emr-worker .* in use by network interface\(s\) {interface}"
    ):
        commands.down(clients, settings, waits=Waits(attempts=2, seconds=0, sleep=lambda _: None))


def test_up_puts_the_emr_tag_back_on_a_project_group_that_lost_it(clients, settings):
    commands.up(clients, settings)
    worker = network.project_security_groups(clients.ec2)["worker"]["GroupId"]
    clients.ec2.delete_tags(
        Resources=[worker], Tags=[{"Key": "for-use-with-amazon-emr-managed-policies"}]
    )
    report = dict(commands.up(clients, settings).lines)
    assert report["security group wordcloud-emr-worker"] == (
        "tagged for-use-with-amazon-emr-managed-policies"
    )
    tags = network.project_security_groups(clients.ec2)["worker"]["Tags"]
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in tags


def cluster_left_terminating(clients) -> object:
    """A project cluster EMR is still ending (moto ends one at once: its backend is set back to
    TERMINATING, as a real cluster stays for minutes while its instances shut down)."""
    from moto.emr.models import emr_backends

    emr = boto3.client("emr")
    cluster = (
        emr_test_resource().lifecycle().ensure_cluster(emr, "run-ended", "s3://b/boot.sh", quiet)
    )
    emr.terminate_job_flows(JobFlowIds=[cluster.id])
    backend = emr_backends[clients.account]["us-east-1"]
    backend.clusters[cluster.id].state = "TERMINATING"
    return backend.clusters[cluster.id]


def quiet(_: str) -> None:
    pass


def test_down_waits_for_a_terminating_cluster_before_deleting_anything(clients, settings):
    commands.up(clients, settings)
    ending = cluster_left_terminating(clients)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the groups are still there while it waits; then it ends
        assert network.project_security_groups(clients.ec2)
        slept.append(seconds)
        ending.state = "TERMINATED"

    commands.down(clients, settings, waits=Waits(attempts=3, seconds=5, sleep=sleep))
    assert slept == [5]
    assert network.project_security_groups(clients.ec2) == {}


def test_down_gives_up_on_a_cluster_still_terminating_with_one_line(clients, settings):
    commands.up(clients, settings)
    ending = cluster_left_terminating(clients)
    with pytest.raises(
        SystemExit,
        match=rf"still TERMINATING: {ending.id} after 10 s: run `wordcloud-infra down` again",
    ):
        commands.down(clients, settings, waits=Waits(attempts=2, seconds=5, sleep=lambda _: None))
    assert network.project_security_groups(clients.ec2)  # nothing was removed
