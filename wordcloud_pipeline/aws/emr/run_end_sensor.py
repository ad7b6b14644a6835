"""emr_run_end_sensor: terminate a run's EMR cluster once the run has ended, whatever its outcome.

One sensor covers success, failure and cancellation: each tick lists this project's active run-owned
clusters (by tag) and ends those whose run is finished in this Dagster instance. Deciding from EMR's tags and
the run's status, not from events, makes a missed tick harmless: the next one finds the same cluster. The
run gets its cluster's instance-hours, spot share and estimated cost as run tags.

Why a plain sensor and not ``dg.run_status_sensor``: a run status sensor reacts once to each run's
status event, and it advances its cursor past the event even when the sensor function raised (dagster
1.13, ``run_status_sensor_definition``): a throttled or refused ``TerminateJobFlows`` would never be tried
again, and the cluster would bill until EMR's idle timeout. It also needs one sensor per status
(success, failure, canceled), and it never sees a cluster whose ``RunJobFlow`` returned after the run
was cancelled. Looking at what is running each tick has none of these gaps.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from wordcloud_pipeline.aws.emr import cost
from wordcloud_pipeline.aws.emr.cluster import (
    FINISHED_RUN_STATUSES,
    ClusterInfo,
    project_clusters,
    terminate,
    utcnow,
)
from wordcloud_pipeline.aws.emr.settings import EmrClusterResource
from wordcloud_pipeline.sensors.ticks import cleanup_tick

COST_TAG_PREFIX = "wordcloud/emr_"


def run_cost_tags(
    emr: object, cluster: ClusterInfo, resource: EmrClusterResource
) -> dict[str, str]:
    """The run's EMR bill, as strings for run tags (shown on the run page)."""
    usages, basis = cost.cluster_usages(emr, cluster.raw, resource.cluster_config())
    summary = cost.summarize(usages, cluster.created, utcnow(), resource.prices, basis)
    return {
        f"{COST_TAG_PREFIX}cluster_id": cluster.id,
        f"{COST_TAG_PREFIX}instance_hours": f"{summary.instance_hours:.3f}",
        f"{COST_TAG_PREFIX}spot_share": f"{summary.spot_share:.3f}",
        f"{COST_TAG_PREFIX}cost_usd_estimate": f"{summary.cost_usd:.2f}",
        f"{COST_TAG_PREFIX}cost_basis": summary.basis,
    }


def end_clusters_of_finished_runs(
    resource: EmrClusterResource, instance: dg.DagsterInstance, log: Callable[[str], None]
) -> list[str]:
    """Terminates every active run-owned cluster whose run has finished; returns their ids."""
    emr = resource.client("emr")
    ended = []
    for cluster in project_clusters(emr):
        if cluster.run_id is None:
            continue  # shared clusters end by their idle timeout
        run = instance.get_run_by_id(cluster.run_id)
        if run is None or run.status not in FINISHED_RUN_STATUSES:
            continue  # still running, or a run of another instance (the sweeper's job)
        tags = run_cost_tags(emr, cluster, resource)
        ended += terminate(emr, [cluster], f"its run {run.run_id} ended ({run.status.value})", log)
        instance.add_run_tags(run.run_id, tags)
        log(
            f"run {run.run_id}: {tags[COST_TAG_PREFIX + 'instance_hours']} instance-hours, "
            f"spot share {tags[COST_TAG_PREFIX + 'spot_share']}, "
            f"about ${tags[COST_TAG_PREFIX + 'cost_usd_estimate']}"
        )
    return ended


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Terminates the EMR cluster of each finished run (success, failure or cancel).",
)
def emr_run_end_sensor(
    context: dg.SensorEvaluationContext, emr: EmrClusterResource
) -> dg.SkipReason:
    ended = end_clusters_of_finished_runs(emr, context.instance, context.log.info)
    return cleanup_tick(
        context, ended, "terminated", "cluster(s)", "no cluster of a finished run is active"
    )
