"""One writer per asset: Dagster pools for the run queue, and the years runs in flight will write.

Every asset that writes output has a pool named after it (``writer_pool``). The instance config shipped at
the repository root (``dagster.yaml``, copied into ``DAGSTER_HOME`` by ``wordcloud-demo`` and
``wordcloud-years``) sets ``concurrency.pools.granularity: run`` and ``default_limit: 1``. With that, the run
queue (``QueuedRunCoordinator``, the default of ``dagster dev`` and the daemon) keeps a run QUEUED while any
other active run holds one of its pools, for that run's whole duration, and starts it when the other ends.

Dagster has no per-partition concurrency, so this serializes every pair of runs writing the same asset,
whether their years overlap or not: two ranges of ``word_clouds`` wait for each other even when disjoint.
That is what one Spark session per run on a small machine wants anyway; on EMR it trades throughput for
safety. Runs that never go through the queue (``dg.materialize`` in a Python process, as ``wordcloud-demo``
does) are not held back by it: ``wordcloud-demo`` checks ``active_writer_runs`` first and refuses to start.
The table format's conflict detection is the second line of defence, not the first.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus  # not exported by dagster itself

from wordcloud_pipeline.partitions import tagged_years

# Every status of a run that may still write: waiting in the queue, starting, running, being cancelled.
ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def writer_pool(asset_name: str) -> str:
    """The pool of the asset named ``asset_name``: at most one active run holds it (dagster.yaml)."""
    return f"wordcloud_{asset_name}"


def run_years(run: dg.DagsterRun) -> set[int]:
    """The years a run materializes, from its partition tags (one year, or a single-run range)."""
    return tagged_years(run.tags)


def active_writer_runs(
    instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey]
) -> list[dg.DagsterRun]:
    """Runs queued, starting or running that materialize any of ``asset_keys``."""
    keys = set(asset_keys)
    runs = instance.get_runs(dg.RunsFilter(statuses=ACTIVE_RUN_STATUSES))
    return [run for run in runs if run_asset_keys(instance, run) & keys]


def run_asset_keys(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[dg.AssetKey]:
    """The assets a run materializes: its asset selection, or (a job's run, as sensors and schedules
    launch them, selects none) the assets its execution plan's steps compute."""
    if run.asset_selection is not None:
        return set(run.asset_selection)
    if run.execution_plan_snapshot_id is None:
        return set()
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    # An asset's op is named after its key (``a__b`` for a prefixed key ``a/b``).
    return {dg.AssetKey(step.key.split("__")) for step in plan.steps}


def years_in_flight(
    instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey]
) -> dict[int, str]:
    """Each year a queued or running run (or a requested backfill) will write, with who holds it."""
    keys = set(asset_keys)
    held: dict[int, str] = {}
    for run in active_writer_runs(instance, keys):
        for year in run_years(run):
            held.setdefault(year, f"run {run.run_id} ({run.status.value})")
    # A backfill requested in the UI has not necessarily launched its run yet.
    for backfill in instance.get_backfills(status=BulkActionStatus.REQUESTED):
        data = backfill.asset_backfill_data
        if data is None:
            continue
        for key, subset in data.target_subset.partitions_subsets_by_asset_key.items():
            if key in keys:
                for partition in subset.get_partition_keys():
                    held.setdefault(int(partition), f"backfill {backfill.backfill_id}")
    return held
