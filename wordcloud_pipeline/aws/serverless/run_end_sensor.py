"""serverless_run_end_sensor: cancel the job runs whose Dagster run has ended.

A Dagster run cancelled from the UI cancels its job run itself (dagster-aws's ``forward_termination``). A
run whose process was killed cannot: its job run would bill until ``executionTimeoutMinutes`` (12 hours by
default). Each tick lists the application's active job runs, reads the Dagster run each is tagged with
(dagster-aws tags every job run with ``dagster/run-id``) and cancels those whose run is finished in this
instance; the dead-run sensor is what marks a killed run failed. As ``emr_run_end_sensor``, a plain sensor
that looks at what is running, so a missed or failed tick is made good by the next one.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from wordcloud_pipeline.aws.emr.cluster import FINISHED_RUN_STATUSES
from wordcloud_pipeline.aws.serverless.launcher import EmrServerlessSparkLauncher
from wordcloud_pipeline.sensors.ticks import cleanup_tick

ACTIVE_JOB_RUN_STATES = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING"]
RUN_ID_TAG = "dagster/run-id"  # set by dagster-aws's PipesEMRServerlessClient


def cancel_job_runs_of_finished_runs(
    launcher: EmrServerlessSparkLauncher,
    instance: dg.DagsterInstance,
    log: Callable[[str], None],
) -> list[str]:
    """Cancels every active job run of the application whose Dagster run has finished; returns their ids."""
    serverless = launcher.client("emr-serverless")
    application = launcher.application()
    cancelled = []
    pages = serverless.get_paginator("list_job_runs").paginate(
        applicationId=application, states=ACTIVE_JOB_RUN_STATES
    )
    for summary in (s for page in pages for s in page["jobRuns"]):
        # ListJobRuns leaves the tags out; GetJobRun has them.
        job_run = serverless.get_job_run(applicationId=application, jobRunId=summary["id"])
        run_id = job_run["jobRun"].get("tags", {}).get(RUN_ID_TAG)
        run = instance.get_run_by_id(run_id) if run_id else None
        if run is None or run.status not in FINISHED_RUN_STATUSES:
            continue  # still running, not a Dagster run's, or another instance's
        serverless.cancel_job_run(applicationId=application, jobRunId=summary["id"])
        log(f"cancelled job run {summary['id']}: its run {run_id} ended ({run.status.value})")
        cancelled.append(summary["id"])
    return cancelled


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Cancels the EMR Serverless job run of each finished run (a killed run's included).",
)
def serverless_run_end_sensor(
    context: dg.SensorEvaluationContext, spark_jobs: EmrServerlessSparkLauncher
) -> dg.SkipReason:
    cancelled = cancel_job_runs_of_finished_runs(spark_jobs, context.instance, context.log.info)
    return cleanup_tick(
        context, cancelled, "cancelled", "job run(s)", "no job run of a finished run is active"
    )
