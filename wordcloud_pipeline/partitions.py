"""The one partitions definition every year-partitioned asset shares."""

import dagster as dg

FIRST_YEAR = 1995
# The last year of the published dataset: the default range of the demo and of backfills.
LAST_YEAR = 2015

# One partition per calendar year from 1995 up to and including the current one (end_offset=1: the year in
# progress is a partition, so reviews landing today have one). A year therefore exists as a partition
# before any data for it does; years without data are simply never materialized. New review files for
# 2016 or for this year run like any other year, with no partition to register first, and no instance
# state is needed: `dagster asset materialize --partition-range` works on a fresh or ephemeral instance.
# The cron string means "at midnight on January 1st".
year_partitions = dg.TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR),
    cron_schedule="0 0 1 1 *",
    fmt="%Y",
    end_offset=1,
)


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The years this run materializes: one for a single partition, many for a single-run backfill."""
    return sorted(int(key) for key in context.partition_keys)
