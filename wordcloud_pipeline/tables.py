"""Reading the Spark assets' Delta tables from the Dagster process, without a JVM.

The clouds, the rank plot and the asset checks read the committed version of a table through ``deltalake``
(delta-rs): the files a version references, never a folder listing, so unreferenced files of a killed or
refused run are never seen. Local folders and ``s3://`` prefixes both work; S3 settings come from the
usual ``AWS_*`` environment variables.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from spark_scripts.domain import SETTING_COLUMNS
from wordcloud_pipeline import files


def storage_options(uri: str) -> dict[str, str] | None:
    """delta-rs reads credentials and region from the environment; an http endpoint (a local S3
    emulator) must also be allowed explicitly."""
    if not files.is_remote(uri):
        return None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    options = {"AWS_REGION": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", ""))}
    if endpoint:
        options |= {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": str(endpoint.startswith("http:")),
        }
    return {k: v for k, v in options.items() if v}


def open_table(uri: str, version: int | None = None) -> DeltaTable | None:
    """The table at ``uri`` (at ``version``, else the latest); None when there is no table yet."""
    location = uri if files.is_remote(uri) else str(files.local_path(uri).resolve())
    try:
        return DeltaTable(location, version=version, storage_options=storage_options(uri))
    except TableNotFoundError:
        return None
    except Exception:
        broken = broken_commit(uri)
        if broken is None:
            raise
        raise BrokenCommitError(
            f"{broken} is not a whole commit (cut short?): `wordcloud-tables repair <asset>` sets "
            "the table back to the version before it, if it is the latest"
        ) from None


COMMIT_NAME = re.compile(r"^(\d{20})\.json$")


class BrokenCommitError(RuntimeError):
    """A commit file of a table's log is not valid JSON: the table cannot be read past it."""


def commit_files(uri: str) -> list[tuple[int, str]]:
    """(version, path) of every commit file in the table's ``_delta_log``, oldest first."""
    fs, path = files.resolve(uri)
    selector = pafs.FileSelector(f"{path}/_delta_log", allow_not_found=True)
    matches = [
        (COMMIT_NAME.match(info.base_name), info.path) for info in fs.get_file_info(selector)
    ]
    return sorted((int(match.group(1)), path) for match, path in matches if match)


def broken_commit(uri: str) -> str | None:
    """The path of the first commit file that is not one JSON action a line, else None."""
    fs, _ = files.resolve(uri)
    for _, path in commit_files(uri):
        with fs.open_input_stream(path) as stream:
            text = stream.read().decode("utf-8", errors="replace")
        try:
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        except json.JSONDecodeError:
            return path
    return None


def _year_filter(years: Iterable[int]) -> pc.Expression:
    return pads.field("year").isin([int(y) for y in years])


def read_years(
    uri: str, years: Iterable[int], columns: list[str] | None = None, version: int | None = None
) -> pa.Table:
    """The rows of ``years`` in the table (an empty table when it does not exist yet)."""
    table = open_table(uri, version)
    if table is None:
        return pa.table({})
    return table.to_pyarrow_dataset().to_table(columns=columns, filter=_year_filter(years))


def top_words_by_year(
    counts_uri: str, years: Iterable[int], limit: int
) -> dict[int, list[tuple[str, int]]]:
    """The ``limit`` most frequent (word, count) pairs of each year of ``words_by_year``, one scan."""
    years = [int(y) for y in years]
    found: dict[int, list[tuple[str, int]]] = {year: [] for year in years}
    table = open_table(counts_uri)
    if table is None:
        return found
    rows = (
        table.to_pyarrow_dataset()
        .to_table(
            columns=["year", "rank", "word", "count"],
            filter=_year_filter(years) & (pads.field("rank") <= limit),
        )
        .to_pylist()
    )
    for row in sorted(rows, key=lambda r: (r["year"], r["rank"])):
        found[row["year"]].append((row["word"], row["count"]))
    return found


def settings_by_year(counts_uri: str, years: Iterable[int]) -> dict[int, dict[str, str]]:
    """The settings (``counting``, ``backend``) each year of ``words_by_year`` was made with, as the
    table stores them next to the counts; 'unknown' for a year without counts or written before they
    were stored. Reads one row per year (the top-ranked word)."""
    years = [int(y) for y in years]
    found = {year: dict.fromkeys(SETTING_COLUMNS, "unknown") for year in years}
    table = open_table(counts_uri)
    if table is None:
        return found
    columns = [c for c in SETTING_COLUMNS if c in table.schema().to_arrow().names]
    rows = (
        table.to_pyarrow_dataset()
        .to_table(
            columns=["year", *columns], filter=_year_filter(years) & (pads.field("rank") == 1)
        )
        .to_pylist()
    )
    for row in rows:
        found[row["year"]].update({c: row[c] for c in columns if row[c] is not None})
    return found


def rows_per_year(uri: str, years: Iterable[int], version: int | None = None) -> dict[int, int]:
    """Rows of each year in the table (0 for a year without rows), from the Delta log alone.

    Each data file's add action carries its row count (``numRecords``) and its year: no data file is
    opened. A year with a file whose count is missing (a writer that collects no statistics) is counted
    from its files' parquet footers instead.
    """
    years = [int(y) for y in years]
    table = open_table(uri, version)
    if table is None:
        return dict.fromkeys(years, 0)
    actions = pa.table(table.get_add_actions(flatten=True)).select(
        ["partition.year", "num_records"]
    )
    counts = dict.fromkeys(years, 0)
    unknown: set[int] = set()
    for year, records in zip(
        actions.column(0).to_pylist(), actions.column(1).to_pylist(), strict=True
    ):
        if year is None or int(year) not in counts:
            continue
        if records is None:
            unknown.add(int(year))
        else:
            counts[int(year)] += int(records)
    if unknown:
        dataset = table.to_pyarrow_dataset()
        for year in unknown:
            counts[year] = dataset.count_rows(filter=pads.field("year") == year)
    return counts


def count_sum_per_year(
    counts_uri: str, years: Iterable[int], version: int | None = None
) -> dict[int, int]:
    """The sum of ``count`` of each year of ``words_by_year``: the words it counted."""
    years = [int(y) for y in years]
    sums = dict.fromkeys(years, 0)
    table = open_table(counts_uri, version)
    if table is None:
        return sums
    counted = (
        table.to_pyarrow_dataset()
        .to_table(columns=["year", "count"], filter=_year_filter(years))
        .group_by("year")
        .aggregate([("count", "sum")])
    )
    for year, total in zip(
        counted.column("year").to_pylist(), counted.column("count_sum").to_pylist(), strict=True
    ):
        sums[int(year)] = int(total)
    return sums
