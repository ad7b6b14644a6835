"""The one partitions definition every year-partitioned asset shares, and how years join it.

Years are dynamic partitions: a year exists once review data for it has arrived, so the UI lists exactly the
years there is something to compute (1995-2015 for the demo) and never empty future years. They live in the
Dagster instance; ``add_years`` is the one way they are added, by every path that starts work: the
new-reviews sensor, ``wordcloud-demo``, and ``wordcloud-years`` (for the CLI and the UI on a fresh
instance). The UI lists dynamic partitions in insertion order, so ``add_years`` keeps them oldest first.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import dagster as dg

# Dagster's own names for the tags of a one-year run and of a range run (not exported by dagster itself).
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from spark_scripts.domain import FIRST_YEAR, LAST_YEAR

__all__ = ["FIRST_YEAR", "LAST_YEAR", "add_years", "range_tags", "tagged_years", "year_partitions"]

YEAR_PARTITIONS_NAME = "years"

year_partitions = dg.DynamicPartitionsDefinition(name=YEAR_PARTITIONS_NAME)

# A backfill of many years is one run, and each Spark asset one job over all its years, not a run per
# year: the yearly assets' policy. Dagster 1.13 calls the asset decorator's `backfill_policy` parameter
# beta and warns at each use, four times at every import, so every `dagster` command a user types would
# open with eight lines of it. The parameter is used knowingly (test_defs holds each asset to it), so that
# one warning is silenced here, where the policy is; every other warning stays.
YEAR_RANGE_IN_ONE_RUN = dg.BackfillPolicy.single_run()
warnings.filterwarnings(
    "ignore", message=r"Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning
)


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The years this run materializes: one for a single partition, many for a single-run backfill."""
    return sorted(int(key) for key in context.partition_keys)


def range_tags(first: int, last: int) -> dict[str, str]:
    """Run tags that make one run cover the years ``first``..``last`` (a single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: str(first), ASSET_PARTITION_RANGE_END_TAG: str(last)}


def tagged_years(tags: Mapping[str, str]) -> set[int]:
    """The years a run's tags name: its one partition, or its range; none for an unpartitioned run."""
    if PARTITION_NAME_TAG in tags:
        return {int(tags[PARTITION_NAME_TAG])}
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        first, last = tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
        return set(range(int(first), int(last) + 1))
    return set()


def valid_year(year: int) -> bool:
    """Reviews exist from 1995 (the dataset's first year) to the current year; other dates are errors."""
    return FIRST_YEAR <= year <= datetime.now(UTC).year


def known_years(instance: dg.DagsterInstance) -> list[int]:
    """The years that are partitions in ``instance``, oldest first."""
    return sorted(int(key) for key in instance.get_dynamic_partitions(YEAR_PARTITIONS_NAME))


def year_partition_requests(
    present: Sequence[str], years: Iterable[int]
) -> list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest]:
    """The requests that make ``years`` partitions while keeping every year in order, oldest first.

    The instance keeps dynamic partitions in insertion order and the UI shows them in that order. A year
    older than the newest known one (data for 1994 arriving after 2015) is therefore inserted by deleting
    the later years and adding them back after it. Only the partition keys move: materializations are
    stored by key and stay attached. No request when every year is already a partition.
    """
    new = sorted(set(years) - {int(key) for key in present})
    if not new:
        return []
    later = [key for key in present if int(key) > new[0]]
    ordered = [str(year) for year in sorted({*new, *(int(key) for key in later)})]
    add = dg.AddDynamicPartitionsRequest(YEAR_PARTITIONS_NAME, ordered)
    if not later:
        return [add]
    return [dg.DeleteDynamicPartitionsRequest(YEAR_PARTITIONS_NAME, later), add]


def add_years(instance: dg.DagsterInstance, years: Iterable[int]) -> list[int]:
    """Makes ``years`` partitions of ``instance``, oldest first (idempotent); returns the new ones."""
    present = instance.get_dynamic_partitions(YEAR_PARTITIONS_NAME)
    requests = year_partition_requests(present, years)
    for request in requests:
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(YEAR_PARTITIONS_NAME, key)
        else:
            instance.add_dynamic_partitions(YEAR_PARTITIONS_NAME, list(request.partition_keys))
    return sorted(set(years) - {int(key) for key in present})
