"""Which years a raw review file touches, learned without Spark and without reading whole files.

The new-reviews sensor asks this for every new or changed file, so it must stay cheap on files of gigabytes:

- parquet: a ``year=NNNN`` folder in the path answers without opening the file; a ``product_category=X``
  folder of another category than the one counted means the file touches no year that matters. Otherwise
  the footer's row-group statistics of ``year`` answer when each row group holds one year, and only the
  ``year`` (or ``review_date``) column is read when they do not.
- TSV(.gz): the header is checked against what the Spark job needs, then only ``review_date`` and
  ``product_category`` are parsed, streaming, by pyarrow's CSV reader (malformed rows skipped, as Spark
  drops them).

Dates are parsed like the Spark job parses them (``yyyy-MM-dd``, trimmed, invalid dates ignored), so a year is
reported exactly when the job would keep a row of it. Locations are local folders or ``s3://`` prefixes
(pyarrow's filesystems, as in ``files.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from spark_scripts.reviews import PARQUET_SUFFIXES, REQUIRED_TSV_COLUMNS, TSV_SUFFIXES
from wordcloud_pipeline import files

HIVE_YEAR = re.compile(r"(?:^|/)year=(\d{4})(?:/|$)")
HIVE_CATEGORY = re.compile(r"(?:^|/)product_category=([^/]+)(?:/|$)")
# A header longer than this is not a review TSV header.
MAX_HEADER_BYTES = 1 << 20
# Parquet physical types whose row-group statistics are whole years as they are.
INT_TYPES = ("INT32", "INT64")


class UnreadableReviewFile(ValueError):
    """A review file that cannot be read or lacks what the word count needs; the message names it."""


@dataclass(frozen=True)
class ReviewFile:
    """One review file under the watched location.

    ``name`` is its path relative to the location (short, stable, used in the sensor's cursor); ``version``
    changes whenever the file is rewritten (modification time and size).
    """

    uri: str
    name: str
    version: str


def is_review_file(name: str) -> bool:
    """Whether the Spark job would read ``name``: a TSV or parquet file, not a marker file (``_SUCCESS``),
    a checksum (``.crc``) or anything in a hidden or temporary folder (``_temporary/``), which Spark skips.
    """
    if any(part.startswith(("_", ".")) for part in name.split("/")):
        return False
    return name.lower().endswith(TSV_SUFFIXES + PARQUET_SUFFIXES)


def list_review_files(location: str) -> list[ReviewFile]:
    """Every review file below ``location``, oldest first; an absent location holds none."""
    fs, root = files.resolve(location)
    if fs.get_file_info(root).type == pafs.FileType.NotFound:
        return []
    found = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if info.type != pafs.FileType.File:
            continue
        name = info.path[len(root) :].lstrip("/")
        if not is_review_file(name):
            continue
        modified = info.mtime_ns if info.mtime_ns is not None else 0
        found.append(
            (
                modified,
                ReviewFile(f"{location.rstrip('/')}/{name}", name, f"{modified}:{info.size}"),
            )
        )
    return [file for _, file in sorted(found, key=lambda pair: (pair[0], pair[1].name))]


def years_in_file(uri: str, category: str | None = None) -> set[int]:
    """The years of the reviews in ``uri`` (only reviews of ``category`` when given).

    Raises ``UnreadableReviewFile`` for a file that is corrupt, truncated, or lacks the needed columns.
    """
    try:
        if uri.lower().endswith(PARQUET_SUFFIXES):
            return _parquet_years(uri, category)
        if uri.lower().endswith(TSV_SUFFIXES):
            return _tsv_years(uri, category)
    except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as error:
        raise UnreadableReviewFile(f"{uri}: {type(error).__name__}: {error}") from error
    raise UnreadableReviewFile(
        f"{uri}: not a review file (expected {TSV_SUFFIXES + PARQUET_SUFFIXES})"
    )


def _years(dates_or_years: pa.ChunkedArray | pa.Array, uri: str = "") -> set[int]:
    if pa.types.is_floating(dates_or_years.type) or pa.types.is_decimal(dates_or_years.type):
        # The ingest refuses a year that is no whole number (a cast would make 2005.7 2005, NaN 0).
        values = [v for v in dates_or_years.to_pylist() if v is not None]
        if any(v != v or v != int(v) or not -(2**31) <= v < 2**31 for v in values):
            raise UnreadableReviewFile(
                f"{uri} has a 'year' that is no whole year (NaN, a fraction or out of range): "
                "store whole years (int)"
            )
        return {int(v) for v in set(values)}
    if pa.types.is_string(dates_or_years.type) or pa.types.is_large_string(dates_or_years.type):
        dates = pc.utf8_trim_whitespace(dates_or_years)
        parsed = pc.strptime(dates, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime takes "2003-5-6" and rolls "2003-02-30" over to March; the Spark job takes neither, so
        # only dates that print back as they were written count.
        exact = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), dates)
        dates_or_years = pc.year(pc.filter(parsed, exact))
    elif pa.types.is_date(dates_or_years.type) or pa.types.is_timestamp(dates_or_years.type):
        dates_or_years = pc.year(dates_or_years)
    return {int(y) for y in pc.unique(dates_or_years).to_pylist() if y is not None}


def _parquet_years(uri: str, category: str | None) -> set[int]:
    if match := HIVE_YEAR.search(uri):
        return {int(match.group(1))}
    path_category = HIVE_CATEGORY.search(uri)
    # Folder names are escaped ('Video%20DVD'), as Spark and pyarrow write them.
    if category is not None and path_category and unquote(path_category.group(1)) != category:
        return set()
    fs, path = files.resolve(uri)
    with fs.open_input_file(path) as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        date_column = (
            "year" if "year" in names else "review_date" if "review_date" in names else None
        )
        if date_column is None:
            raise UnreadableReviewFile(
                f"{uri} has neither 'year' nor 'review_date': the year of a review is unknown"
            )
        filter_category = category is not None and not path_category and "product_category" in names
        if date_column == "year" and not filter_category:
            exact = _years_from_statistics(parquet)
            if exact is not None:
                return exact
        columns = [date_column, "product_category"] if filter_category else [date_column]
        table = parquet.read(columns=columns)
    if filter_category:
        table = table.filter(pc.equal(table.column("product_category"), category))
    return _years(table.column(date_column), uri)


def _years_from_statistics(parquet: pq.ParquetFile) -> set[int] | None:
    """The years from row-group statistics when each row group holds a single year, else None."""
    # The parquet column of ``year`` by its path: a struct column before it has several leaf columns,
    # so the arrow field index names another column.
    schema = parquet.schema
    paths = [schema.column(i).path for i in range(len(schema))]
    if "year" not in paths or schema.column(paths.index("year")).physical_type not in INT_TYPES:
        return None  # a float year's statistics would hide fractions and NaN: read the column
    index = paths.index("year")
    years: set[int] = set()
    for group in range(parquet.metadata.num_row_groups):
        row_group = parquet.metadata.row_group(group)
        if row_group.num_rows == 0:
            continue
        stats = row_group.column(index).statistics
        if stats is None or not stats.has_min_max:
            if stats is not None and stats.null_count == row_group.num_rows:
                continue  # only unknown years in this group
            return None
        if stats.min != stats.max:
            return None
        years.add(int(stats.min))
    return years


def _tsv_years(uri: str, category: str | None) -> set[int]:
    fs, path = files.resolve(uri)
    with fs.open_input_stream(path, compression="detect") as stream:
        header = _read_header(stream, uri)
    missing = [c for c in REQUIRED_TSV_COLUMNS if c not in header]
    if missing:
        raise UnreadableReviewFile(
            f"{uri} has no column {missing[0]!r} (its header has: {', '.join(header)})"
        )
    columns = ["review_date", "product_category"] if category is not None else ["review_date"]
    years: set[int] = set()
    with fs.open_input_stream(path, compression="detect") as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            # As Spark reads these files: tabs, no quoting (titles hold unbalanced quotes).
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, invalid_row_handler=_skip_malformed_row
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types=dict.fromkeys(columns, pa.string())
            ),
        )
        for batch in reader:
            dates = batch.column("review_date")
            if category is not None:
                dates = pc.filter(dates, pc.equal(batch.column("product_category"), category))
            years |= _years(dates)
    return years


def _skip_malformed_row(_row: pacsv.InvalidRow) -> str:
    """Short or long rows are dropped, as the Spark job drops them (counted there as malformed)."""
    return "skip"


def _read_header(stream: pa.NativeFile, uri: str) -> list[str]:
    chunks: list[bytes] = []
    size = 0
    while size < MAX_HEADER_BYTES:
        chunk = stream.read(64 << 10)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if b"\n" in chunk:
            break
    head = b"".join(chunks)
    if not head.strip():
        raise UnreadableReviewFile(f"{uri} is empty: a review TSV starts with a header line")
    if b"\n" not in head and size >= MAX_HEADER_BYTES:
        raise UnreadableReviewFile(
            f"{uri} has no header line within its first {MAX_HEADER_BYTES} bytes"
        )
    line = head.split(b"\n", 1)[0].decode("utf-8")
    return line.rstrip("\r").split("\t")
