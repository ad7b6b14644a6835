"""Turning a Spark job's metrics into what the Dagster UI shows on a materialization."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

# Not exported: the tags by which Dagster records a materialization's provenance (what it was computed
# from), which its staleness ("Unsynced") compares with the current versions.
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    DEFAULT_DATA_VERSION,
    NULL_EVENT_POINTER,
    extract_data_version_from_entry,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)

from spark_scripts.domain import format_years
from spark_scripts.job_contract import CountsMetrics, IngestMetrics, TitlesMetrics


def data_version(*parts: Any) -> dg.DataVersion:
    """A data version from what a materialization produced: equal outputs, equal versions.

    Dagster compares these with what downstream assets last saw, so a year whose words changed (another
    counting mode, new reviews) marks the assets below it, and the all-years pictures, stale.
    """
    text = json.dumps(parts, sort_keys=True, default=str)
    return dg.DataVersion(hashlib.sha256(text.encode()).hexdigest()[:16])


def yearly_results(
    context: dg.AssetExecutionContext,
    metadata_by_year: Mapping[int, Mapping[str, Any]],
    run_metadata: Mapping[str, Any],
    version_by_year: Mapping[int, dg.DataVersion],
    check_results: Sequence[dg.AssetCheckResult],
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """The materializations of a yearly Spark asset: each year with its own figures and data version.

    Dagster gives every year of a range run the one ``MaterializeResult``'s data version, so a year
    re-run alone would get another version than the range gave it and leave everything below stale
    although its data did not change. So a range run's result is followed by one materialization per
    year carrying that year's version (the latest per year is what Dagster compares). A one-year run
    needs no second event. The downstream assets of the run still start: the result is the output.
    Each year's event carries the provenance Dagster would give a one-year run (``year_provenance``), so
    a year changed upstream later still marks it unsynced. ``run_metadata`` (the whole run's figures,
    named ``run_*``) is shown on every year besides its own.
    """
    run_metadata = {f"run_{name}": value for name, value in run_metadata.items()}
    for year, metadata in metadata_by_year.items():
        context.add_asset_metadata(dict(metadata), partition_key=str(year))
    if len(version_by_year) == 1:
        (version,) = version_by_year.values()
        yield dg.MaterializeResult(
            metadata=run_metadata, data_version=version, check_results=check_results
        )
        return
    yield dg.MaterializeResult(metadata=run_metadata, check_results=check_results)
    for year, version in version_by_year.items():
        yield dg.AssetMaterialization(
            asset_key=context.asset_key,
            partition=str(year),
            metadata={**run_metadata, **metadata_by_year[year]},
            tags={**year_provenance(context, year), DATA_VERSION_TAG: version.value},
        )


def year_provenance(context: dg.AssetExecutionContext, year: int) -> dict[str, str]:
    """The provenance tags of ``year``'s materialization: the asset's code version, and each upstream
    asset's data version and event as this run left them (the upstream's own year when it is split by
    years, else its latest). Dagster writes these tags itself on the events it builds from a result;
    it has no public call for an event built by hand, so they are spelled here as its
    ``execute_step._build_data_version_tags`` spells them."""
    key = context.asset_key
    graph = context.job_def.asset_layer.asset_graph
    code_version = context.assets_def.code_versions_by_key.get(key) or context.run.run_id
    tags = {CODE_VERSION_TAG: code_version}
    for parent in sorted(graph.get(key).parent_keys, key=lambda k: k.to_user_string()):
        partitioned = graph.has(parent) and graph.get(parent).is_partitioned
        record = context.instance.get_latest_data_version_record(
            parent, partition_key=str(year) if partitioned else None
        )
        version = record and extract_data_version_from_entry(record.event_log_entry)
        tags[get_input_data_version_tag(parent)] = (version or DEFAULT_DATA_VERSION).value
        tags[get_input_event_pointer_tag(parent)] = (
            str(record.storage_id) if record else NULL_EVENT_POINTER
        )
    return tags


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


def preprocess_metadata_by_year(metrics: TitlesMetrics) -> dict[int, dict[str, Any]]:
    """Each year's own figures; the reasons rows were dropped have no year and stay run-wide."""
    shared = {
        "input_layout": metrics.layout,
        "counting": metrics.counting,
        "backend": metrics.backend,
        "path": dg.MetadataValue.path(metrics.output),
    }
    return {
        int(year): {
            "rows_read": dg.MetadataValue.int(metrics.rows_kept_by_year.get(year, 0)),
            "tokens": dg.MetadataValue.int(metrics.tokens_by_year.get(year, 0)),
            "distinct_words": dg.MetadataValue.int(metrics.distinct_words_by_year.get(year, 0)),
            **shared,
        }
        for year in map(str, metrics.years)
    }


def counts_metadata_by_year(metrics: CountsMetrics) -> dict[int, dict[str, Any]]:
    """Each year's own figures and top words, and the settings its words were made with."""
    return {
        int(year): {
            "tokens": dg.MetadataValue.int(counts.tokens),
            "distinct_words": dg.MetadataValue.int(counts.distinct_words),
            "top_words": dg.MetadataValue.md(top_words_table({year: counts.top_words})),
            "counting": counts.counting or "unknown",
            "backend": counts.backend or "unknown",
            "path": dg.MetadataValue.path(metrics.output),
        }
        for year, counts in metrics.by_year.items()
    }


def preprocess_metadata(metrics: TitlesMetrics) -> dict[str, Any]:
    """The run's figures over all its years."""
    return {
        "years": format_years(metrics.years),
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
        "files_read": dg.MetadataValue.int(metrics.files_read),
    }


def counts_metadata(metrics: CountsMetrics) -> dict[str, Any]:
    """The run's figures over all its years."""
    by_year = metrics.by_year
    return {
        "years": format_years(metrics.years),
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
    }


def settings_text(values: Iterable[str | None]) -> str:
    """The distinct values of a setting over some years, e.g. 'sparkml' or 'reviews, titles'."""
    return ", ".join(sorted({value or "unknown" for value in values}))
