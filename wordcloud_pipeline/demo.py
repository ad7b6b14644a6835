"""``wordcloud-demo``: the whole demo in one command, on this machine, without an AWS account.

Writes a sample of reviews when there is none, makes the years partitions, materializes every year of the
graph as one run (one Spark job per asset) into a persistent Dagster instance (the shipped ``dagster.yaml``
copied into ``.dagster_home``), and prints where the clouds are. ``dagster dev`` pointed at the
same ``DAGSTER_HOME`` then shows the run, the metadata and the previews.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

import dagster as dg

from wordcloud_pipeline import files
from wordcloud_pipeline.concurrency import active_writer_runs
from wordcloud_pipeline.instance_home import prepare_home
from wordcloud_pipeline.partitions import FIRST_YEAR, LAST_YEAR, add_years
from wordcloud_pipeline.sensors.dead_run_sensor import fail_dead_runs


def range_tags(first: int, last: int) -> dict[str, str]:
    """Run tags that make one run cover a range of year partitions (a single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": str(first),
        "dagster/asset_partition_range_end": str(last),
    }


def materialize_years(
    resources: Mapping[str, object],
    instance: dg.DagsterInstance,
    first_year: int,
    last_year: int,
    *,
    summaries: bool = True,
) -> tuple[dg.ExecuteInProcessResult, dg.ExecuteInProcessResult | None]:
    """The yearly assets for a range of years as ONE run, then (unless ``summaries`` is False) the
    all-years pictures, which are unpartitioned and so cannot be part of the range run.

    The years become partitions first (the partitions are dynamic). These runs do not pass through the run
    queue, so nothing holds them back while a queued run writes the same assets: it refuses instead.
    """
    from wordcloud_pipeline.definitions import ALL_ASSETS, SUMMARY_ASSETS, YEARLY_ASSETS

    # A run whose process was killed holds nothing: it is marked failed first (dead_run_sensor).
    fail_dead_runs(instance)
    writers = active_writer_runs(instance, [a.key for a in [*YEARLY_ASSETS, *SUMMARY_ASSETS]])
    if writers:
        names = ", ".join(f"{run.run_id} ({run.status.value})" for run in writers)
        raise dg.DagsterInvariantViolationError(
            f"runs in flight write the same assets: {names}; wait for them to end, or cancel "
            "them in the UI (Runs, then Terminate)"
        )
    add_years(instance, range(first_year, last_year + 1))

    yearly = dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=instance,
        selection=YEARLY_ASSETS,
        tags=range_tags(first_year, last_year),
    )
    if not summaries:
        return yearly, None
    summary = dg.materialize(
        ALL_ASSETS, resources=resources, instance=instance, selection=SUMMARY_ASSETS
    )
    return yearly, summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-year", type=int, default=FIRST_YEAR)
    parser.add_argument("--last-year", type=int, default=LAST_YEAR)
    args = parser.parse_args(argv)

    home = prepare_home()
    from wordcloud_pipeline.assets.animation import animation_uri
    from wordcloud_pipeline.assets.clouds import cloud_uri
    from wordcloud_pipeline.assets.rank_plot import plot_uri
    from wordcloud_pipeline.definitions import build_defs

    defs = build_defs()
    resources = defs.resources
    with dg.DagsterInstance.get() as instance:
        result, _ = materialize_years(resources, instance, args.first_year, args.last_year)
    storage = resources["storage"]
    clouds = [cloud_uri(storage, y) for y in range(args.first_year, args.last_year + 1)]
    out = [
        f"Run {result.run_id} succeeded.",
        f"Word clouds: {files.join(storage.asset_location(dg.AssetKey('word_clouds')))}/<year>.png",
        f"  e.g. {clouds[-1]}",
        f"Animation: {animation_uri(storage)}",
        f"Rank plot: {plot_uri(storage)}",
        f"See them in the UI: DAGSTER_HOME={home} dagster dev",
    ]
    print("\n".join(out))  # noqa: T201 - the command's result for the person who ran it


if __name__ == "__main__":
    main()
