"""Cluster lifecycle against moto: found by tag, shared reuse, run-end termination, the cost-guard sweep."""

from __future__ import annotations

from datetime import timedelta

import boto3
import dagster as dg
import pytest
from botocore.exceptions import ClientError

from spark_scripts.job_contract import SparkJob
from wordcloud_pipeline.aws.emr import cluster as cluster_module
from wordcloud_pipeline.aws.emr import cost, steps
from wordcloud_pipeline.aws.emr.cluster import (
    ClusterInfo,
    project_clusters,
    utcnow,
)
from wordcloud_pipeline.aws.emr.config import ClusterConfig, FleetConfig, SparkSettings
from wordcloud_pipeline.aws.emr.cost_guard_sensor import emr_cost_guard_sensor, sweep
from wordcloud_pipeline.aws.emr.run_end_sensor import emr_run_end_sensor
from wordcloud_pipeline.resources.user_settings import SettingsRefused
from wordcloud_pipeline_tests.aws.conftest import active_clusters, emr_test_resource

BOOT = "s3://wordcloud-test-project/code/v/bootstrap.sh"


def quiet(_: str) -> None:
    pass


def test_every_step_process_of_a_run_finds_the_same_cluster(bucket):
    """Two resource instances stand for two step processes: nothing is shared but the tags."""
    emr = boto3.client("emr")
    first = emr_test_resource().lifecycle().ensure_cluster(emr, "run-aaaa", BOOT, quiet)
    second = (
        emr_test_resource().lifecycle().ensure_cluster(boto3.client("emr"), "run-aaaa", BOOT, quiet)
    )
    other = emr_test_resource().lifecycle().ensure_cluster(emr, "run-bbbb", BOOT, quiet)
    assert first.id == second.id
    assert other.id != first.id
    assert len(active_clusters(emr)) == 2


def test_racing_creators_converge_on_the_oldest_cluster(bucket, monkeypatch):
    """Another process created the run's cluster just after ours looked: ours ends its duplicate."""
    emr = boto3.client("emr")
    resource = emr_test_resource()
    earlier = emr.run_job_flow(**resource.lifecycle().cluster_request("run-race", BOOT))[
        "JobFlowId"
    ]
    real_lookup = cluster_module.run_clusters
    lookups = iter([[], None])

    def lookup_missing_the_other_cluster_once(client, run_id):
        first = next(lookups, None)
        return first if first is not None else real_lookup(client, run_id)

    monkeypatch.setattr(cluster_module, "run_clusters", lookup_missing_the_other_cluster_once)
    logged: list[str] = []
    kept = resource.lifecycle().ensure_cluster(emr, "run-race", BOOT, logged.append)

    assert kept.id == earlier
    states = {c["Id"]: c["Status"]["State"] for c in emr.list_clusters()["Clusters"]}
    assert sorted(states.values()) == ["TERMINATED", "WAITING"]
    assert states[earlier] == "WAITING"
    assert any(f"duplicate of {earlier}" in line for line in logged)


def test_shared_mode_reuses_a_waiting_cluster_with_the_same_settings(bucket):
    emr = boto3.client("emr")
    shared = emr_test_resource(cluster_mode="shared")
    first = shared.lifecycle().ensure_cluster(emr, "run-1", BOOT, quiet)
    second = shared.lifecycle().ensure_cluster(emr, "run-2", BOOT, quiet)
    bigger = (
        emr_test_resource(
            cluster_mode="shared", cluster=ClusterConfig(spark=SparkSettings(executor_cores=2))
        )
        .lifecycle()
        .ensure_cluster(emr, "run-3", BOOT, quiet)
    )
    assert second.id == first.id
    assert bigger.id != first.id
    assert first.run_id is None and first.mode == "shared"


def run_with_status(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> str:
    return instance.add_run(dg.DagsterRun(job_name="__ephemeral_asset_job__", status=status)).run_id


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def test_run_end_sensor_ends_clusters_of_succeeded_failed_and_cancelled_runs(bucket, instance):
    emr = boto3.client("emr")
    resource = emr_test_resource()
    statuses = {
        "succeeded": dg.DagsterRunStatus.SUCCESS,
        "failed": dg.DagsterRunStatus.FAILURE,
        "cancelled": dg.DagsterRunStatus.CANCELED,
        "running": dg.DagsterRunStatus.STARTED,
    }
    clusters = {}
    run_ids = {}
    for name, status in statuses.items():
        run_ids[name] = run_with_status(instance, status)
        clusters[name] = resource.lifecycle().ensure_cluster(emr, run_ids[name], BOOT, quiet).id
    unknown_run = (
        resource.lifecycle().ensure_cluster(emr, "run-of-another-instance", BOOT, quiet).id
    )

    with dg.build_sensor_context(instance=instance, resources={"emr": resource}) as context:
        result = emr_run_end_sensor(context)
        second_tick = emr_run_end_sensor(context)

    state = {
        name: emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"]
        for name, cid in clusters.items()
    }
    assert state == {
        "succeeded": "TERMINATED",
        "failed": "TERMINATED",
        "cancelled": "TERMINATED",
        "running": "WAITING",
    }
    assert emr.describe_cluster(ClusterId=unknown_run)["Cluster"]["Status"]["State"] == "WAITING"
    assert "terminated 3 cluster(s)" in result.skip_message
    tags = instance.get_run_by_id(run_ids["failed"]).tags
    assert tags["wordcloud/emr_cluster_id"] == clusters["failed"]
    assert float(tags["wordcloud/emr_instance_hours"]) >= 0
    assert tags["wordcloud/emr_cost_basis"] == "requested capacity"
    # A second tick has nothing left to do.
    assert "no cluster" in second_tick.skip_message


def test_cost_guard_terminates_an_orphan_and_logs_it(bucket, instance, capfd):
    emr = boto3.client("emr")
    resource = emr_test_resource(orphan_grace_minutes=0)
    orphan = resource.lifecycle().ensure_cluster(emr, "run-nobody-knows", BOOT, quiet).id
    live_run = run_with_status(instance, dg.DagsterRunStatus.STARTED)
    live = resource.lifecycle().ensure_cluster(emr, live_run, BOOT, quiet).id
    not_ours = emr.run_job_flow(
        Name="someone-elses-cluster",
        ReleaseLabel="emr-7.12.0",
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "InstanceCount": 1},
        JobFlowRole="r",
        ServiceRole="s",
    )["JobFlowId"]

    with dg.build_sensor_context(instance=instance, resources={"emr": resource}) as context:
        result = emr_cost_guard_sensor(context)

    def state(cid: str) -> str:
        return emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"]

    assert state(orphan) == "TERMINATED"
    assert state(live) == "WAITING"
    assert state(not_ours) == "WAITING"  # never touches clusters that are not this project's
    assert orphan in result.skip_message
    logged = capfd.readouterr().err
    assert f"terminated EMR cluster {orphan}" in logged
    assert "its run run-nobody-knows is unknown to this Dagster instance" in logged


def test_cost_guard_ends_idle_and_too_old_clusters(bucket, instance):
    emr = boto3.client("emr")
    shared = emr_test_resource(cluster_mode="shared", max_cluster_hours=100)
    idle = shared.lifecycle().ensure_cluster(emr, "ignored", BOOT, quiet).id
    live_run = run_with_status(instance, dg.DagsterRunStatus.STARTED)
    busy = emr_test_resource().lifecycle().ensure_cluster(emr, live_run, BOOT, quiet).id
    emr.add_job_flow_steps(
        JobFlowId=busy,
        Steps=[
            steps.step_request(
                SparkJob("count_words", "s3://b/i", "s3://b/o", (2004,), name="noop"), ["true"]
            )
        ],
    )
    logged: list[str] = []

    # 31 minutes on: the shared cluster idled past its 30-minute timeout; the busy one is RUNNING.
    ended = sweep(shared, instance, logged.append, now=utcnow() + timedelta(minutes=31))
    assert ended == [idle]
    assert "idle for 31 min" in logged[0]

    # 101 hours on: even the busy cluster of a live run is past the age limit.
    ended = sweep(shared, instance, logged.append, now=utcnow() + timedelta(hours=101))
    assert ended == [busy]
    assert "alive 101.0 h, over the 100 h limit" in logged[1]
    assert active_clusters(emr) == []


def test_cost_from_instances_and_from_requested_capacity():
    start = utcnow()
    end = start + timedelta(minutes=30)
    config = ClusterConfig(
        core_fleet=FleetConfig(instance_types={"m5.2xlarge": 1}, on_demand_units=2, spot_units=6),
        task_fleet=FleetConfig(instance_types={"m5.2xlarge": 1}),
    )
    prices = cost.PriceTable(
        on_demand_usd_per_hour={"m5.xlarge": 0.2, "m5.2xlarge": 0.4},
        emr_fee_usd_per_hour={},
        spot_fraction=0.5,
        ebs_usd_per_gb_month=0,
    )
    usages = cost.usages_from_config(config, start, None)
    summary = cost.summarize(usages, start, end, prices, "requested capacity")
    assert summary.instance_hours == pytest.approx(4.5)  # 9 instances x 0.5 h
    assert summary.spot_share == pytest.approx(3 / 4.5)
    # master 0.2 + 2 x 0.4 on demand + 6 x 0.2 spot = 2.2 $/h, for half an hour
    assert summary.cost_usd == pytest.approx(1.1)

    listed = cost.usages_from_instances(
        [
            {
                "InstanceType": "r9.weird",
                "Market": "SPOT",
                "Status": {"Timeline": {"ReadyDateTime": start, "EndDateTime": end}},
            }
        ]
    )
    unpriced = cost.summarize(listed, start, end + timedelta(hours=1), prices, "instances")
    assert unpriced.instance_hours == pytest.approx(0.5)
    # Billed from launch: the boot and bootstrap minutes before ReadyDateTime count.
    booted = cost.usages_from_instances(
        [
            {
                "InstanceType": "m4.2xlarge",
                "Status": {
                    "Timeline": {
                        "CreationDateTime": start - timedelta(minutes=12),
                        "ReadyDateTime": start,
                        "EndDateTime": end,
                    }
                },
            }
        ]
    )
    window = cost.summarize(booted, start - timedelta(hours=1), end, prices, "instances")
    assert window.instance_hours == pytest.approx(0.5 + 12 / 60)
    assert unpriced.unpriced_types == ("r9.weird",)
    assert unpriced.metadata("emr_run")["emr_run_unpriced_types"] == "r9.weird"


class _ThrottlingEmr:
    """DescribeStep that throttles once, then reports RUNNING, then COMPLETED."""

    def __init__(self) -> None:
        self.answers = ["throttle", "RUNNING", "COMPLETED"]

    def describe_step(self, ClusterId: str, StepId: str) -> dict:
        answer = self.answers.pop(0)
        if answer == "throttle":
            raise ClientError({"Error": {"Code": "ThrottlingException"}}, "DescribeStep")
        return {"Step": {"Id": StepId, "Status": {"State": answer}}}


def test_polling_backs_off_and_respects_throttling():
    slept: list[float] = []
    policy = steps.PollPolicy(initial_seconds=2, max_seconds=10, factor=2)
    step = steps.wait_for_step(_ThrottlingEmr(), "j-1", "s-1", policy, quiet, sleep=slept.append)
    assert step["Status"]["State"] == "COMPLETED"
    # throttled: doubled to 4; RUNNING: wait 4 then grow to 8
    assert slept == [4, 4]


def test_project_clusters_ignore_other_clusters(bucket):
    emr = boto3.client("emr")
    emr.run_job_flow(
        Name="wordcloud-lookalike",
        ReleaseLabel="emr-7.12.0",
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "InstanceCount": 1},
        JobFlowRole="r",
        ServiceRole="s",
    )
    ours = emr_test_resource().lifecycle().ensure_cluster(emr, "run-x", BOOT, quiet)
    assert [c.id for c in project_clusters(emr)] == [ours.id]
    assert isinstance(ours, ClusterInfo)


def test_cost_includes_ebs_and_the_emr_fee_of_the_table():
    start = utcnow()
    end = start + timedelta(hours=1)
    one_node = ClusterConfig(
        master_fleet=FleetConfig(instance_types={"m4.2xlarge": 1}, on_demand_units=1, ebs_gb=730),
        core_fleet=FleetConfig(instance_types={"m4.2xlarge": 1}, on_demand_units=0, spot_units=0),
        task_fleet=FleetConfig(instance_types={"m4.2xlarge": 1}),
    )
    prices = cost.PriceTable(on_demand_usd_per_hour={"m4.2xlarge": 0.4})
    summary = cost.summarize(
        cost.usages_from_config(one_node, start, None), start, end, prices, "requested capacity"
    )
    # EC2 0.40 + EMR fee 0.12 (m4.2xlarge, from the EMR price list) + 730 GB gp3 at 0.08/GB-month
    assert cost.DEFAULT_EMR_FEE_USD["m4.xlarge"] == 0.06
    assert summary.cost_usd == pytest.approx(0.40 + 0.12 + 0.08)
    # ListInstances gives no volume sizes: they come from the fleet that lists the type.
    listed = cost.usages_from_instances(
        [{"InstanceType": "m4.2xlarge", "Status": {"Timeline": {"ReadyDateTime": start}}}],
        cost.ebs_by_type(one_node),
    )
    assert listed[0].ebs_gb == 730


def test_an_unset_step_timeout_follows_the_input_within_its_bounds():
    resource = emr_test_resource()
    gb = 1024**3
    assert resource.step_timeout_seconds(0) == 3600  # the floor: a hung step bills an hour
    assert resource.step_timeout_seconds(None) == 12 * 3600  # size unknown: the ceiling
    # 500 GB on the default fleet: 10x its estimated Spark time, above the floor.
    large = resource.step_timeout_seconds(500 * gb)
    assert 3600 < large < 12 * 3600
    assert resource.step_timeout_seconds(1000 * gb) > large  # and grows with it
    assert resource.step_timeout_seconds(50_000 * gb) == 12 * 3600
    # Set, it is what it says whatever the input; the cost guard assumes the ceiling when it is unset.
    assert emr_test_resource(step_timeout_hours=2).step_timeout_seconds(10**15) == 7200
    assert resource.max_cluster_age() == timedelta(hours=3 * 2 * 12 + 1)


def test_the_cost_guard_never_ends_a_cluster_whose_step_may_still_run(bucket, instance):
    resource = emr_test_resource(step_timeout_hours=24)
    # Three Spark steps a run (ingest, titles, counts), each tried twice, plus an hour to start.
    assert resource.max_cluster_age() == timedelta(hours=3 * 2 * 24 + 1)
    assert resource.max_cluster_age() > timedelta(hours=resource.step_timeout_hours)
    with pytest.raises(SettingsRefused, match=r"^emr: max_cluster_hours=12 would end clusters"):
        emr_test_resource(step_timeout_hours=24, max_cluster_hours=12)
    # The step count comes from the definitions; without it (and without a limit) the guard refuses.
    with pytest.raises(ValueError, match="set spark_steps_per_run"):
        emr_test_resource(spark_steps_per_run=None).max_cluster_age()

    emr = boto3.client("emr")
    live_run = run_with_status(instance, dg.DagsterRunStatus.STARTED)
    busy = resource.lifecycle().ensure_cluster(emr, live_run, BOOT, quiet).id
    emr.add_job_flow_steps(
        JobFlowId=busy,
        Steps=[
            steps.step_request(
                SparkJob("count_words", "s3://b/i", "s3://b/o", (2004,), name="noop"), ["true"]
            )
        ],
    )
    # 20 hours into a step with a 24-hour timeout: the old 12 h limit would have ended it.
    assert sweep(resource, instance, quiet, now=utcnow() + timedelta(hours=20)) == []
    assert sweep(resource, instance, quiet, now=utcnow() + timedelta(hours=146)) == [busy]
