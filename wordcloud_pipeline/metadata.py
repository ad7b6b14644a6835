"""Turning a Spark job's metrics into what the Dagster UI shows on a materialization."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from spark_scripts.job_contract import CountsMetrics, IngestMetrics, TitlesMetrics


def data_version(*parts: Any) -> dg.DataVersion:
    """A data version from what a materialization produced: equal outputs, equal versions.

    Dagster compares these with what downstream assets last saw, so a year whose words changed (another
    counting mode, new reviews) marks the assets below it, and the all-years pictures, stale.
    """
    text = json.dumps(parts, sort_keys=True, default=str)
    return dg.DataVersion(hashlib.sha256(text.encode()).hexdigest()[:16])


def top_words_table(top_by_year: Mapping[str, Sequence[Sequence[Any]]]) -> str:
    """Markdown: one column per year when there is one year, else one row per year."""
    if len(top_by_year) == 1:
        ((year, top),) = top_by_year.items()
        rows = [f"| {rank} | {word} | {count:,} |" for rank, (word, count) in enumerate(top, 1)]
        return "\n".join([f"| rank | word ({year}) | count |", "|---:|---|---:|", *rows])
    rows = [
        f"| {year} | " + ", ".join(f"{word} ({count:,})" for word, count in top) + " |"
        for year, top in sorted(top_by_year.items())
    ]
    return "\n".join(["| year | top words (count) |", "|---|---|", *rows])


def per_year_table(values_by_name: Mapping[str, Mapping[str, int]]) -> str:
    """Markdown: one row per year, one column per named count."""
    names = list(values_by_name)
    years = sorted({year for values in values_by_name.values() for year in values})
    header = "| year | " + " | ".join(names) + " |"
    rule = "|---|" + "---:|" * len(names)
    rows = [
        f"| {year} | " + " | ".join(f"{values_by_name[n].get(year, 0):,}" for n in names) + " |"
        for year in years
    ]
    return "\n".join([header, rule, *rows])


def _names(names: Sequence[str], shown: int = 20) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return (", ".join(names[:shown]) + more) or "none"


def ingest_metadata(metrics: IngestMetrics) -> dict[str, Any]:
    changed = [str(year) for year in metrics.years_changed]
    return {
        "files_listed": dg.MetadataValue.int(metrics.files_listed),
        "files_read": dg.MetadataValue.int(metrics.files_read),
        "files_new": _names(metrics.files_new),
        "files_changed": _names(metrics.files_changed),
        "files_removed": _names(metrics.files_removed),
        "rows_read": dg.MetadataValue.int(metrics.rows_read),
        "rows_kept": dg.MetadataValue.int(metrics.rows_kept),
        **{
            f"rows_dropped_{reason}": dg.MetadataValue.int(n)
            for reason, n in metrics.rows_dropped.items()
        },
        "years_changed": ", ".join(changed) or "none",
        "reviews_of_changed_files": dg.MetadataValue.md(
            per_year_table(
                {
                    "before": metrics.reviews_before_by_year,
                    "after": metrics.reviews_after_by_year,
                }
            )
        )
        if changed
        else "no change",
        "category": metrics.category,
        "input_layout": metrics.layout,
        "table_version": dg.MetadataValue.int(metrics.table_version or 0),
        "path": dg.MetadataValue.path(metrics.output),
    }


def preprocess_metadata(metrics: TitlesMetrics) -> dict[str, Any]:
    return {
        "rows_read": dg.MetadataValue.int(metrics.rows_read),
        "rows_kept": dg.MetadataValue.int(metrics.rows_kept),
        **{
            f"rows_dropped_{reason}": dg.MetadataValue.int(n)
            for reason, n in metrics.rows_dropped.items()
        },
        "tokens": dg.MetadataValue.int(metrics.tokens),
        "per_year": dg.MetadataValue.md(
            per_year_table(
                {
                    "tokens": metrics.tokens_by_year,
                    "distinct words": metrics.distinct_words_by_year,
                }
            )
        ),
        "input_layout": metrics.layout,
        "files_read": dg.MetadataValue.int(metrics.files_read),
        "counting": metrics.counting,
        "backend": metrics.backend,
        "path": dg.MetadataValue.path(metrics.output),
    }


def counts_metadata(metrics: CountsMetrics) -> dict[str, Any]:
    by_year = metrics.by_year
    return {
        "tokens": dg.MetadataValue.int(metrics.tokens),
        "distinct_words": dg.MetadataValue.int(metrics.distinct_words),
        "top_words": dg.MetadataValue.md(
            top_words_table({year: y.top_words for year, y in by_year.items()})
        ),
        "per_year": dg.MetadataValue.md(
            per_year_table(
                {
                    "tokens": {year: y.tokens for year, y in by_year.items()},
                    "distinct words": {year: y.distinct_words for year, y in by_year.items()},
                }
            )
        ),
        # What the counted words were made with, as the titles table stores it for each year.
        "counting": settings_text(y.counting for y in by_year.values()),
        "backend": settings_text(y.backend for y in by_year.values()),
        "path": dg.MetadataValue.path(metrics.output),
    }


def settings_text(values: Iterable[str | None]) -> str:
    """The distinct values of a setting over some years, e.g. 'sparkml' or 'reviews, titles'."""
    return ", ".join(sorted({value or "unknown" for value in values}))
