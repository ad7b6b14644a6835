"""The one partitions definition every year-partitioned asset shares."""

import dagster as dg

FIRST_YEAR = 1995
LAST_YEAR = 2015

# One partition per calendar year, 1995 through 2015 (end is exclusive); a new year is added by moving
# LAST_YEAR. The cron string means "at midnight on January 1st".
year_partitions = dg.TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR),
    end=str(LAST_YEAR + 1),
    cron_schedule="0 0 1 1 *",
    fmt="%Y",
)


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The years this run materializes: one for a single partition, many for a single-run backfill."""
    return sorted(int(key) for key in context.partition_keys)
