"""The data-quality gates of the yearly assets, as Dagster asset checks.

The gates run where they can still protect data, inside the materialization: the year gate runs in the
Spark job before its commit (``spark_scripts/year_gate.py``; ``SparkJobLauncher.run_gated`` turns a
refusal into this check's failure), the conservation check right after the
commit and before anything downstream runs, and the cloud check before a PNG is replaced. Each is declared
as a blocking check of its asset, so its result shows in the Checks tab and a failed one stops the
downstream assets of the run.
"""

from __future__ import annotations

import dagster as dg

from spark_scripts.job_contract import Commit, CountsMetrics, IngestMetrics
from wordcloud_pipeline import tables
from wordcloud_pipeline.metadata import per_year_table

YEARS_NOT_COLLAPSED = "years_not_collapsed"
COUNTS_MATCH_TITLES = "counts_match_titles"
CLOUDS_NOT_LOST = "good_clouds_kept"
INGEST_ROWS_ACCOUNTED = "rows_accounted_for"


def years_not_collapsed_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        YEARS_NOT_COLLAPSED,
        asset=asset,
        blocking=True,
        description="No year that had rows lost more than quality_gates.max_row_drop_fraction of "
        "them in this run; a run that would have fails before its commit and the table keeps its "
        "previous version.",
    )


COUNTS_MATCH_TITLES_SPEC = dg.AssetCheckSpec(
    COUNTS_MATCH_TITLES,
    asset="words_by_year",
    blocking=True,
    description="For every year of the run, the counts of words_by_year add up to the words "
    "preprocessed_titles wrote for that year (both read from the committed Delta tables).",
)

CLOUDS_NOT_LOST_SPEC = dg.AssetCheckSpec(
    CLOUDS_NOT_LOST,
    asset="word_clouds",
    blocking=True,
    description="No drawn cloud was replaced by a placeholder: a year whose counts vanished keeps "
    "its previous cloud, and this check fails naming it.",
)


INGEST_ROWS_ACCOUNTED_SPEC = dg.AssetCheckSpec(
    INGEST_ROWS_ACCOUNTED,
    asset="ingested_reviews",
    blocking=True,
    description="Every row the ingest read was kept or dropped for a named reason (rows read = kept "
    "+ dropped), and every listed file is accounted for: read (new or changed) or unchanged, none "
    "twice.",
)


def ingest_rows_accounted_result(metrics: IngestMetrics) -> dg.AssetCheckResult:
    """Rows read against rows kept plus dropped, and the files read against the files listed."""
    dropped = sum(metrics.rows_dropped.values())
    read_files = [*metrics.files_new, *metrics.files_changed]
    problems = []
    if metrics.rows_read != metrics.rows_kept + dropped:
        problems.append(
            f"{metrics.rows_read:,} rows read but {metrics.rows_kept:,} kept + {dropped:,} dropped"
        )
    if len(set(read_files)) != len(read_files) or len(read_files) > metrics.files_listed:
        problems.append(
            f"{len(read_files)} files read of {metrics.files_listed} listed (some twice or unlisted)"
        )
    return dg.AssetCheckResult(
        check_name=INGEST_ROWS_ACCOUNTED,
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={
            "rows_read": dg.MetadataValue.int(metrics.rows_read),
            "rows_kept": dg.MetadataValue.int(metrics.rows_kept),
            "rows_dropped": dg.MetadataValue.int(dropped),
            "files_listed": dg.MetadataValue.int(metrics.files_listed),
            "files_read": dg.MetadataValue.int(len(read_files)),
            "files_unchanged": dg.MetadataValue.int(metrics.files_listed - len(read_files)),
        },
    )


def years_not_collapsed_result(commit: Commit) -> dg.AssetCheckResult:
    """The passed gate of a committed run, with each year's rows before and after."""
    return dg.AssetCheckResult(
        check_name=YEARS_NOT_COLLAPSED,
        passed=True,
        metadata={
            "table_version": dg.MetadataValue.int(commit.table_version),
            "rows": dg.MetadataValue.md(
                per_year_table(
                    {
                        "rows before": commit.rows_before_by_year,
                        "rows after": commit.rows_after_by_year,
                    }
                )
            ),
        },
    )


def counts_match_titles_result(
    titles_uri: str, counts_uri: str, metrics: CountsMetrics
) -> dg.AssetCheckResult:
    """Compares, per year of the run, the words counted (at the version just committed) with the
    words preprocessed_titles holds."""
    years = [int(y) for y in metrics.years]
    counted = tables.count_sum_per_year(counts_uri, years, version=metrics.commit.table_version)
    titles = tables.rows_per_year(titles_uri, years)
    mismatched = {
        str(y): {"titles": titles[y], "counted": counted[y]}
        for y in years
        if titles[y] != counted[y]
    }
    return dg.AssetCheckResult(
        check_name=COUNTS_MATCH_TITLES,
        passed=not mismatched,
        metadata={
            "words": dg.MetadataValue.md(
                per_year_table(
                    {
                        "words in preprocessed_titles": {str(y): titles[y] for y in years},
                        "words counted": {str(y): counted[y] for y in years},
                    }
                )
            ),
            "mismatched_years": dg.MetadataValue.json(mismatched),
        },
    )


def clouds_not_lost_result(kept_years: list[int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=CLOUDS_NOT_LOST,
        passed=not kept_years,
        metadata={"years_kept_with_previous_cloud": dg.MetadataValue.json(kept_years)},
        description=(
            f"no counted words for {kept_years}: their previous clouds were kept"
            if kept_years
            else None
        ),
    )
