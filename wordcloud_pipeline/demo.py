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

from wordcloud_pipeline.concurrency import active_writer_runs
from wordcloud_pipeline.instance_home import prepare_home
from wordcloud_pipeline.partitions import FIRST_YEAR, LAST_YEAR, add_years, range_tags
from wordcloud_pipeline.sensors.dead_run_sensor import fail_dead_runs


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
    from wordcloud_pipeline.definitions import build_defs

    defs = build_defs()
    resources = defs.resources
    storage = resources["storage"]
    print(  # noqa: T201 - where the command writes, before the minutes it takes
        f"Writing to {storage.storage_root()} (reviews: {storage.reviews_location()}; "
        f"Dagster instance: {home})",
        flush=True,
    )
    with dg.DagsterInstance.get() as instance:
        result, _ = materialize_years(resources, instance, args.first_year, args.last_year)
    clouds = [storage.cloud_uri(y) for y in range(args.first_year, args.last_year + 1)]
    out = [
        f"Run {result.run_id} succeeded.",
        f"Word clouds: {storage.cloud_uri('<year>')}",
        f"  e.g. {clouds[-1]}",
        f"Animation: {storage.animation_uri()}",
        f"Rank plot: {storage.rank_plot_uri()}",
        f"See them in the UI: DAGSTER_HOME={home} dagster dev",
    ]
    print("\n".join(out))  # noqa: T201 - the command's result for the person who ran it


if __name__ == "__main__":
    main()
