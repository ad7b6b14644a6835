"""What the EMR resource asks AWS for, read from the requests botocore actually sent to moto."""

from __future__ import annotations

import boto3
import pytest

from spark_scripts import spark_packages
from wordcloud_pipeline.resources.emr import steps
from wordcloud_pipeline.resources.emr.config import (
    ClusterConfig,
    EmrConfigError,
    FleetConfig,
    SparkSettings,
    spark_nlp_coordinate,
)
from wordcloud_pipeline.resources.emr.job_flow import bootstrap_script
from wordcloud_pipeline.resources.spark_launcher import SparkJob
from wordcloud_pipeline_tests.aws.conftest import emr_test_launcher, emr_test_resource

RUN_ID = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"


def spot_task_config() -> ClusterConfig:
    return ClusterConfig(
        task_fleet=FleetConfig(
            instance_types={"m5.2xlarge": 1, "m5.4xlarge": 2, "r5.2xlarge": 1}, spot_units=8
        ),
        subnet_ids=["subnet-0123", "subnet-4567"],
        master_security_group="sg-master",
        worker_security_group="sg-worker",
        service_access_security_group="sg-service",
        idle_timeout_minutes=20,
        tags={"team": "books"},
    )


def test_run_job_flow_request_as_sent(sent, bucket):
    resource = emr_test_resource(cluster=spot_task_config())
    logged: list[str] = []
    cluster = resource.ensure_cluster(
        boto3.client("emr"), RUN_ID, f"s3://{bucket}/code/v1/bootstrap.sh", logged.append
    )

    (request,) = sent.by_operation["RunJobFlow"]
    fleets = {f["InstanceFleetType"]: f for f in request["Instances"]["InstanceFleets"]}
    assert set(fleets) == {"MASTER", "CORE", "TASK"}
    assert (fleets["MASTER"]["TargetOnDemandCapacity"], fleets["MASTER"]["TargetSpotCapacity"]) == (
        1,
        0,
    )
    assert (fleets["CORE"]["TargetOnDemandCapacity"], fleets["CORE"]["TargetSpotCapacity"]) == (
        2,
        4,
    )
    assert (fleets["TASK"]["TargetOnDemandCapacity"], fleets["TASK"]["TargetSpotCapacity"]) == (
        0,
        8,
    )
    weights = {
        c["InstanceType"]: c["WeightedCapacity"] for c in fleets["CORE"]["InstanceTypeConfigs"]
    }
    assert weights == {"m5.2xlarge": 1, "m5a.2xlarge": 1, "m6i.2xlarge": 1, "m5.4xlarge": 2}
    for role in ("CORE", "TASK"):
        spot = fleets[role]["LaunchSpecifications"]["SpotSpecification"]
        assert spot["AllocationStrategy"] == "capacity-optimized"
        assert spot["TimeoutAction"] == "SWITCH_TO_ON_DEMAND"
    assert "SpotSpecification" not in fleets["MASTER"]["LaunchSpecifications"]
    assert "OnDemandSpecification" not in fleets["TASK"]["LaunchSpecifications"]
    ebs = fleets["CORE"]["InstanceTypeConfigs"][0]["EbsConfiguration"]["EbsBlockDeviceConfigs"][0]
    assert ebs["VolumeSpecification"] == {"VolumeType": "gp3", "SizeInGB": 64}

    assert request["ReleaseLabel"] == "emr-7.12.0"
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 20 * 60}
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert request["Instances"]["Ec2SubnetIds"] == ["subnet-0123", "subnet-4567"]
    assert request["Instances"]["EmrManagedMasterSecurityGroup"] == "sg-master"
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
    emr_test_resource(cluster=config).ensure_cluster(
        boto3.client("emr"), RUN_ID, "s3://b/boot.sh", lambda _: None
    )
    (request,) = sent.by_operation["RunJobFlow"]
    yarn = next(c for c in request["Configurations"] if c["Classification"] == "yarn-site")
    assert yarn["Properties"]["yarn.nodemanager.resource.memory-mb"] == "28000"


def test_executor_that_does_not_fit_fails_before_any_aws_call(sent, bucket):
    too_big = ClusterConfig(spark=SparkSettings(executor_memory_mb=23_000))
    launcher = emr_test_launcher(emr_test_resource(cluster=too_big))
    job = SparkJob("count_words", ["--input", "s3://b/i", "--output", "s3://b/o"], "count")

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
    job = SparkJob("count_words", ["--input", "/tmp/in", "--output", "s3://b/o"], "count")
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
    nlp = SparkJob("preprocess_titles", ["--input", "s3://b/r", "--backend", "sparknlp"], "titles")
    args = steps.spark_submit_args(
        nlp,
        code,
        metrics_uri="s3://b/m.json",
        packages=[spark_nlp_coordinate(ClusterConfig())],
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
        "--input",
        "s3://b/r",
        "--backend",
        "sparknlp",
        "--metrics-out",
        "s3://b/m.json",
    ]
