"""How the EMR launcher meets failures: lost spot instances, a failed cluster, unreadable logs."""

from __future__ import annotations

import threading

import boto3
import dagster as dg
import pytest
from botocore.exceptions import ClientError
from moto.emr.models import emr_backends

from spark_scripts import year_gate
from spark_scripts.job_contract import Commit, CountsMetrics, SparkJob, metrics_message
from wordcloud_pipeline.aws.emr import EmrSparkLauncher, steps
from wordcloud_pipeline_tests.aws.conftest import (
    BUCKET,
    emr_test_launcher,
    emr_test_resource,
    launch_in_asset,
    report_through_pipes,
)
from wordcloud_pipeline_tests.aws.emr_fleets import ACCOUNT, FleetEmulator

REGION = "us-east-1"
RUN_ID = "5a0f1e2d-aaaa-bbbb-cccc-000000000013"
JOB = SparkJob("count_words", f"s3://{BUCKET}/in", f"s3://{BUCKET}/out", (2004,))
METRICS = CountsMetrics(
    input=JOB.input,
    output=JOB.output,
    years=[2004],
    tokens=7,
    distinct_words=3,
    by_year={},
    commit=Commit(0, {"2004": 0}, {"2004": 3}),
)


def backend():
    return emr_backends[ACCOUNT][REGION]


class StepPlayer:
    """Plays the cluster: for each new step, calls the next action of ``plan`` with (cluster_id, step)."""

    def __init__(self, plan) -> None:
        self.plan = list(plan)
        self.seen: set[str] = set()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> StepPlayer:
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        if self.errors:
            raise self.errors[0]

    def _loop(self) -> None:
        try:
            self._play()
        except BaseException as error:  # reported by __exit__, after the launcher gave up
            self.errors.append(error)

    def _play(self) -> None:
        while not self.stop.wait(0.02):
            for cluster in list(backend().clusters.values()):
                for step in list(cluster.steps):
                    if step.id not in self.seen and step.state in ("PENDING", "RUNNING"):
                        self.seen.add(step.id)
                        self.plan.pop(0)(cluster.id, step)


def write_metrics(step) -> None:
    """What the script of a completed step reports: its metrics, as a Pipes message in S3."""
    report_through_pipes(list(step.args), metrics_message(METRICS))


@pytest.fixture
def fleets(fake_aws, monkeypatch) -> FleetEmulator:
    return FleetEmulator(REGION).install(monkeypatch)


def test_a_step_that_lost_its_spot_instances_is_retried_once_on_on_demand(sent, bucket, fleets):
    def interrupt(cluster_id, step):
        # EC2 reclaims the task fleet's spot instances and none come back; the step fails with them.
        fleets.provision(cluster_id, "TASK", 0, "Spot instance interrupted: capacity not available")
        fleets.fail_running_step(cluster_id, "Instance fleet lost capacity during the step")

    def complete(cluster_id, step):
        write_metrics(step)
        fleets.complete_running_step(cluster_id)

    launcher = emr_test_launcher(spot_refill_checks=1, spot_refill_wait_seconds=0)
    with StepPlayer([interrupt, complete]):
        launched = launch_in_asset(launcher, JOB)

    assert launched.metrics == METRICS
    assert launched.metadata["emr_step_attempts"] == 2
    logged = launched.logs
    assert sent.count("AddJobFlowSteps") == 2
    assert sent.count("RunJobFlow") == 1  # the same cluster, with its task fleet moved
    (modify,) = sent.by_operation["ModifyInstanceFleet"]
    task = next(f for f in next(iter(fleets.fleets.values())) if f["InstanceFleetType"] == "TASK")
    assert modify["InstanceFleet"] == {
        "InstanceFleetId": task["Id"],
        "TargetOnDemandCapacity": 4,
        "TargetSpotCapacity": 0,
    }
    assert any("instances were lost" in line and "retrying once" in line for line in logged)
    assert any("moved to 4 on-demand units" in line for line in logged)
    # No timeout set: the step's comes from its input's size (empty here: the one-hour floor).
    assert any(line.endswith(": step timeout 60 min for 0.00 GB of input") for line in logged)


def test_a_fleet_that_refills_is_left_on_spot(sent, bucket, fleets):
    def interrupt(cluster_id, step):
        fleets.provision(cluster_id, "TASK", 4, "Spot instance interrupted")  # already refilled
        fleets.fail_running_step(cluster_id, "Spot instance interrupted")

    def complete(cluster_id, step):
        write_metrics(step)
        fleets.complete_running_step(cluster_id)

    launcher = emr_test_launcher(spot_refill_checks=1, spot_refill_wait_seconds=0)
    with StepPlayer([interrupt, complete]):
        launch_in_asset(launcher, JOB)
    assert sent.count("AddJobFlowSteps") == 2
    assert sent.count("ModifyInstanceFleet") == 0


def test_a_second_loss_is_not_retried(sent, bucket, fleets):
    def lose(cluster_id, step):
        fleets.provision(cluster_id, "TASK", 0, "Spot instance interrupted")
        fleets.fail_running_step(cluster_id, "Instance fleet lost capacity")

    launcher = emr_test_launcher(spot_refill_checks=0, spot_refill_wait_seconds=0)
    with StepPlayer([lose, lose]), pytest.raises(dg.Failure, match=r"ended FAILED.*attempt 2"):
        launch_in_asset(launcher, JOB)
    assert sent.count("AddJobFlowSteps") == 2


def test_other_failures_are_not_retried(sent, bucket, fleets):
    def crash(cluster_id, step):
        fleets.fail_running_step(cluster_id, "Exception in thread main: AnalysisException")

    with StepPlayer([crash]), pytest.raises(dg.Failure, match="AnalysisException"):
        launch_in_asset(emr_test_launcher(), JOB)
    assert sent.count("AddJobFlowSteps") == 1


def test_a_stale_capacity_reason_does_not_make_a_code_error_a_retry(sent, bucket, fleets):
    """The task fleet said "insufficient spot capacity" while it filled; later the step fails on its
    own code, with every instance in place: no retry (it would fail again, on on-demand)."""

    def crash(cluster_id, step):
        fleets.provision(cluster_id, "TASK", 4, "Insufficient spot capacity for m5.xlarge")
        fleets.fail_running_step(cluster_id, "Exception in thread main: AnalysisException")

    with StepPlayer([crash]), pytest.raises(dg.Failure, match="AnalysisException"):
        launch_in_asset(emr_test_launcher(), JOB)
    assert sent.count("AddJobFlowSteps") == 1
    assert sent.count("ModifyInstanceFleet") == 0


def test_spot_instances_ending_under_a_step_make_its_failure_a_retry(sent, bucket, fleets):
    """The step's own reason is generic, but two of its spot instances ended while it ran."""

    def lose(cluster_id, step):
        fleets.provision(cluster_id, "TASK", 2, "Spot instance interrupted")
        fleets.reclaim(cluster_id, "TASK", count=2)
        fleets.fail_running_step(cluster_id, "Step failed with exitCode 1")

    def complete(cluster_id, step):
        write_metrics(step)
        fleets.complete_running_step(cluster_id)

    launcher = emr_test_launcher(spot_refill_checks=0, spot_refill_wait_seconds=0)
    with StepPlayer([lose, complete]):
        launched = launch_in_asset(launcher, JOB)
    assert launched.metadata["emr_step_attempts"] == 2
    assert any(
        "2 spot instance(s) ended while the step ran" in line and "retrying once" in line
        for line in launched.logs
    )


def test_a_year_gate_refusal_on_emr_is_raised_as_the_scripts_own_error(sent, bucket, fleets):
    """The script reports the refusal as a Pipes message before it fails the step; the launcher raises
    the same ``YearCollapseError`` the local launcher lets through, so ``run_gated`` fails the check."""
    refusal = year_gate.YearCollapseError(JOB.output, [year_gate.YearChange(2004, 10, 0)], 0.5)

    def refuse(cluster_id, step):
        report_through_pipes(list(step.args), year_gate.refusal_message(refusal))
        fleets.fail_running_step(cluster_id, "Exception in thread main: YearCollapseError")

    with (
        StepPlayer([refuse]),
        pytest.raises(year_gate.YearCollapseError, match=r"2004: 10 rows -> 0") as raised,
    ):
        launch_in_asset(emr_test_launcher(), JOB)
    assert raised.value.collapsed == refusal.collapsed
    assert sent.count("AddJobFlowSteps") == 1  # a refusal is not retried


def test_no_wait_for_stderr_after_the_cluster_itself_failed(sent, bucket):
    emr = boto3.client("emr")
    cluster = (
        emr_test_resource()
        .lifecycle()
        .ensure_cluster(emr, RUN_ID, "s3://b/boot.sh", lambda _: None)
    )
    step_id = emr.add_job_flow_steps(
        JobFlowId=cluster.id, Steps=[steps.step_request(JOB, ["true"])]
    )["StepIds"][0]
    moto_cluster = backend().clusters[cluster.id]
    moto_cluster.state = "TERMINATED_WITH_ERRORS"
    moto_cluster.last_state_change_reason = "bootstrap action 1 returned a non-zero return code"
    moto_cluster.steps[0].state = "CANCELLED"
    step = emr.describe_step(ClusterId=cluster.id, StepId=step_id)["Step"]
    # Twelve attempts would be four minutes at EMR's 20 s; here they would be twelve reads.
    launcher = EmrSparkLauncher(emr=emr_test_resource(), log_wait_attempts=12, log_wait_seconds=0)
    s3 = boto3.client("s3")

    failure = launcher._failure(s3, emr, cluster.id, step, JOB)
    assert sent.count("GetObject") == 0  # the step never started: there is no stderr
    assert "never started" in failure.description
    assert "bootstrap action 1 returned a non-zero return code" in failure.description

    moto_cluster.steps[0].start_date_time = moto_cluster.creation_datetime
    step = emr.describe_step(ClusterId=cluster.id, StepId=step_id)["Step"]
    launcher._failure(s3, emr, cluster.id, step, JOB)
    assert sent.count("GetObject") == 1  # it ran: look once, the ended cluster uploads no more


class _DeniedS3:
    """S3 as it answers a missing key to an identity without s3:ListBucket."""

    def __init__(self) -> None:
        self.calls = 0

    def get_object(self, Bucket: str, Key: str) -> dict:
        self.calls += 1
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject"
        )


def test_a_403_on_a_missing_log_says_what_it_may_mean():
    s3 = _DeniedS3()
    tail = steps.read_log_tail(
        s3, "s3://b/logs/j-1/steps/s-1/stderr.gz", 60, attempts=3, sleep=lambda _: None
    )
    assert tail.text is None
    assert s3.calls == 3  # treated as "not there yet", like a 404
    assert "403 AccessDenied" in tail.missing
    assert "s3:ListBucket" in tail.missing
