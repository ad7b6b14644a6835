"""emr_cost_guard_sensor: the sweeper for EMR clusters nobody is using any more.

The run-end sensor handles the normal case. This one catches what slips through: clusters of runs this
instance does not know (a run started from another instance or a deleted run), clusters idle past their
timeout (EMR's own auto-termination should have ended them), shared clusters forgotten by everyone, and any
project cluster older than its age limit (``max_cluster_age``: derived from the step timeout). Every termination is logged with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import dagster as dg

from wordcloud_pipeline.aws.emr.cluster import (
    project_clusters,
    sweep_reasons,
    terminate,
    utcnow,
)
from wordcloud_pipeline.aws.emr.settings import EmrClusterResource
from wordcloud_pipeline.sensors.ticks import cleanup_tick

# Every 10 minutes: cheap (one ListClusters plus a DescribeCluster per project cluster).
SWEEP_INTERVAL_SECONDS = 600


def sweep(
    resource: EmrClusterResource,
    instance: dg.DagsterInstance,
    log: Callable[[str], None],
    now: datetime | None = None,
) -> list[str]:
    """Terminates this project's clusters that are orphaned, idle or too old; returns their ids."""
    emr = resource.client("emr")

    def run_status(run_id: str) -> dg.DagsterRunStatus | None:
        run = instance.get_run_by_id(run_id)
        return run.status if run else None

    doomed = sweep_reasons(
        emr,
        project_clusters(emr),
        run_status,
        now or utcnow(),
        idle_timeout=timedelta(minutes=resource.cluster_config().idle_timeout_minutes),
        max_age=resource.max_cluster_age(),
        orphan_grace=timedelta(minutes=resource.orphan_grace_minutes),
    )
    ended = []
    for cluster, reason in doomed:
        ended += terminate(emr, [cluster], reason, log)
    return ended


@dg.sensor(
    minimum_interval_seconds=SWEEP_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Terminates this project's EMR clusters that are orphaned, idle or too old.",
)
def emr_cost_guard_sensor(
    context: dg.SensorEvaluationContext, emr: EmrClusterResource
) -> dg.SkipReason:
    ended = sweep(emr, context.instance, context.log.info)
    return cleanup_tick(
        context, ended, "terminated", "cluster(s)", "no orphaned, idle or expired cluster"
    )
