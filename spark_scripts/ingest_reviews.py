"""Raw review files -> the reviews table: one Delta table partitioned by year, fed by source file.

    spark-submit spark_scripts/ingest_reviews.py --input data/reviews --output out/ingested_reviews

The raw files are not partitioned by year, so without this table every year's processing would read every
file. Here each file is read once, when it is new or changed, and the yearly jobs read only their year's
partition. The table holds, per source file:

- its kept rows, aggregated to one row per (year, title) with the number of ``reviews`` (only the chosen
  category; a title reviewed 300 times is one row, which is what the word count needs);
- one *file record* (``year`` null, so it sits in a partition of its own that the yearly jobs never read):
  the file's size and modification time when it was read, the category kept, how many rows it held, why
  the others were dropped, and its kept reviews per year.

A run compares the listing of ``--input`` with the file records. New or changed files (another size or
modification time, or another category asked for) are read; their rows and those of files that are gone
replace the earlier rows of those files in ONE commit (``replaceWhere source_file IN (...)``). So a
rewritten file never leaves duplicates, a removed file's reviews stop counting (the raw location is the
source of truth: removing a file withdraws its reviews), a killed run changes nothing, and files that did
not change are neither read nor rewritten. The metrics name the years whose reviews changed: only those
need recomputing downstream.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_scripts import delta_table, job_cli
from spark_scripts.domain import DROP_REASONS
from spark_scripts.job_contract import IngestMetrics, SparkJob
from spark_scripts.reviews import (
    HEADER_READERS,
    LINE_BYTES,
    NOT_A_REVIEW,
    SOURCE_URI,
    ReviewDataError,
    check_no_line_skipped,
    file_statuses,
    read_reviews,
    review_files,
    source_names,
    unreadable_files_error,
    with_drop_reason,
)

# Drop reasons the ingest can see: a year is not chosen here, every year is kept.
INGEST_DROP_REASONS = tuple(r for r in DROP_REASONS if r != "other_year")
# Write tasks per commit: each writes one file per year holding a contiguous range of source files, so
# replacing a file later rewrites only its range's files. One task per this many kept reviews, at most one
# per source file: a task per source file wrote 483 small files at 5M generated reviews (23 files), and the
# number of files, not of rows, made the write's cost. The real dataset's files (millions of reviews
# each) still get a task each.
REVIEWS_PER_WRITE_TASK = 2_000_000
MAX_WRITE_TASKS = 32
# Read tasks per core at least. Spark packs small files into a task up to the data's size over the cores,
# which gives 2 cores 3 tasks of about 8 gzip'd files each: the last runs alone while a core idles.
# Smaller tasks end closer together (gzip files are never split, so a large file stays one task).
READ_TASKS_PER_CORE = 4
TABLE_SCHEMA = T.StructType(
    [
        T.StructField("year", T.IntegerType()),
        T.StructField("source_file", T.StringType()),
        T.StructField("product_title", T.StringType()),
        T.StructField("reviews", T.LongType()),
        # File records only (null on title rows):
        T.StructField("file_size", T.LongType()),
        T.StructField("file_modified", T.LongType()),
        T.StructField("category", T.StringType()),
        T.StructField("dropped", T.MapType(T.StringType(), T.LongType())),
        T.StructField("kept_by_year", T.MapType(T.IntegerType(), T.LongType())),
    ]
)


@dataclass(frozen=True)
class FileRecord:
    """What the table remembers of one source file since it was last read."""

    size: int
    modified: int
    category: str
    kept_by_year: Mapping[int, int]


def file_records(spark: SparkSession, table_uri: str) -> dict[str, FileRecord]:
    """The file records of the table (the ``year IS NULL`` partition only); empty with no table."""
    if not delta_table.is_table(spark, table_uri):
        return {}
    rows = (
        spark.read.format("delta")
        .load(table_uri)
        .where(F.col("year").isNull())
        .select("source_file", "file_size", "file_modified", "category", "kept_by_year")
        .collect()
    )
    return {
        row["source_file"]: FileRecord(
            row["file_size"],
            row["file_modified"],
            row["category"],
            {int(y): int(n) for y, n in (row["kept_by_year"] or {}).items()},
        )
        for row in rows
    }


def read_titles(spark: SparkSession, table_uri: str, years: Sequence[int], category: str):
    """(year, product_title, reviews) of ``years``: only their partitions are read.

    Refuses a table ingested for another category: its rows would silently be another category's.
    """
    categories = {record.category for record in file_records(spark, table_uri).values()}
    if categories - {category}:
        raise ReviewDataError(
            f"{table_uri} holds reviews of category {', '.join(sorted(categories))}, not "
            f"{category!r}: materialize ingested_reviews with the same category first"
        )
    return (
        delta_table.read(spark, table_uri, years)
        .where(F.col("product_title").isNotNull())
        .select("year", "product_title", "reviews")
    )


def plan(
    listing: Mapping[str, tuple[int, int]],
    records: Mapping[str, FileRecord],
    category: str,
) -> tuple[list[str], list[str], list[str]]:
    """(new, changed, removed) file names: what this run must read, and what it must withdraw."""
    new = sorted(name for name in listing if name not in records)
    changed = sorted(
        name
        for name, (size, modified) in listing.items()
        if name in records
        and (records[name].size, records[name].modified, records[name].category)
        != (size, modified, category)
    )
    removed = sorted(set(records) - set(listing))
    return new, changed, removed


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class WithdrawalError(ReviewDataError):
    """A run would withdraw more of the table's reviews than allowed: the table keeps its version."""


def check_withdrawal(
    table: str,
    input_uri: str,
    total_before: int,
    total_after: int,
    removed: Sequence[str],
    max_fraction: float,
) -> None:
    """The ingest's gate, like the yearly tables' year gate: a mistyped ``reviews_uri`` that points at
    a folder holding one file must not withdraw every other file's reviews."""
    if total_before and total_after < total_before * (1.0 - max_fraction):
        gone = f"{len(removed):,} file(s) gone from {input_uri}" + (
            f" (first: {removed[0]})" if removed else ""
        )
        raise WithdrawalError(
            f"refusing to withdraw {total_before - total_after:,} of the {total_before:,} reviews "
            f"of {table} ({total_after:,} would remain; {gone}): one run may withdraw at most "
            f"{max_fraction:.0%}. The table keeps its version. If the reviews location is right, "
            "re-run with max_row_drop_fraction 1.0 (quality_gates in the run config; "
            "--max-withdraw-fraction 1.0 on the command line)."
        )


def ingest(
    spark: SparkSession,
    input_uri: str,
    output_uri: str,
    category: str,
    progress: job_cli.Progress = job_cli.quiet,
    max_withdraw_fraction: float = 1.0,
) -> IngestMetrics:
    """Brings the table at ``output_uri`` in line with the review files under ``input_uri``.

    A location with no review file at all is an error (``ReviewDataError``), not "every file removed": a
    mistyped or unmounted location must not empty the table, and a run that would leave fewer than
    ``1 - max_withdraw_fraction`` of the table's reviews is refused (``WithdrawalError``) before it
    commits. ``progress`` gets one line per stage as it finishes, with its row counts.
    """
    delta_table.check_writable_target(spark, output_uri)
    hidden: list[str] = []
    statuses = file_statuses(spark, input_uri, hidden)
    if hidden:
        progress(
            f"ignored {len(hidden)} review file(s) whose name starts with '_' or '.' (hidden, as "
            f"Spark reads folders), first {hidden[0]}: rename them to have them read"
        )
    layout, names = review_files([name for name, _, _ in statuses], input_uri)
    wanted = set(names)
    listing = {name: (size, modified) for name, size, modified in statuses if name in wanted}
    records = file_records(spark, output_uri)
    new, changed, removed = plan(listing, records, category)
    to_read = sorted(new + changed)
    replaced = sorted(changed + removed)
    progress(
        f"{len(listing)} review files under {input_uri}: {len(new)} new, {len(changed)} "
        f"changed, {len(removed)} removed, {len(listing) - len(to_read)} unchanged"
    )
    before_by_year: dict[int, int] = {}
    for name in replaced:
        for year, n in records[name].kept_by_year.items():
            before_by_year[year] = before_by_year.get(year, 0) + n
    metrics: dict[str, Any] = {
        "input": input_uri,
        "output": output_uri,
        "layout": layout,
        "category": category,
        "files_listed": len(listing),
        "files_new": new,
        "files_changed": changed,
        "files_removed": removed,
        "rows_read": 0,
        "rows_kept": 0,
        "rows_dropped": {reason: 0 for reason in INGEST_DROP_REASONS},
    }
    if not to_read and not removed:
        progress("nothing new: the table keeps its version")
        return IngestMetrics(
            **metrics, **_years_summary({}, {}), table_version=_version(spark, output_uri)
        )

    after_by_year: dict[int, int] = {}
    usable = None
    try:
        if to_read:
            sizes = {name: listing[name][0] for name in to_read}
            usable, by_file = _read_files(spark, input_uri, to_read, category, sizes)
            rows = [_file_record(name, listing[name], category, by_file[name]) for name in to_read]
            for name in to_read:
                for year, n in by_file[name]["kept_by_year"].items():
                    after_by_year[year] = after_by_year.get(year, 0) + n
                metrics["rows_read"] += by_file[name]["rows"]
                for reason, n in by_file[name]["dropped"].items():
                    metrics["rows_dropped"][reason] += n
            metrics["rows_kept"] = sum(after_by_year.values())
            dropped = ", ".join(f"{r}: {n:,}" for r, n in metrics["rows_dropped"].items() if n)
            progress(
                f"read {metrics['rows_read']:,} rows from {len(to_read)} {layout} file(s); kept "
                f"{metrics['rows_kept']:,} of {category}"
                + (f"; dropped {dropped}" if dropped else "")
            )
            titles = usable.where(F.col("drop_reason").isNull()).select(
                "year", "source_file", "product_title", "reviews"
            )
            frame = titles.unionByName(
                spark.createDataFrame(rows, TABLE_SCHEMA), allowMissingColumns=True
            )
        else:
            frame = spark.createDataFrame([], TABLE_SCHEMA)
        total_before = sum(sum(r.kept_by_year.values()) for r in records.values())
        total_after = total_before - sum(before_by_year.values()) + sum(after_by_year.values())
        if all(record.category == category for record in records.values()):
            # (Asking for another category replaces every file's rows on purpose.)
            check_withdrawal(
                output_uri, input_uri, total_before, total_after, removed, max_withdraw_fraction
            )
        frame = (
            frame.select(*TABLE_SCHEMA.fieldNames())
            .repartitionByRange(_write_tasks(len(to_read), metrics["rows_kept"]), "source_file")
            .sortWithinPartitions("year", "source_file")
        )
        version = _commit(frame, output_uri, sorted(to_read + removed))
    finally:
        if usable is not None:
            usable.unpersist()
    progress(f"committed version {version} of {output_uri}")
    return IngestMetrics(
        **metrics, **_years_summary(before_by_year, after_by_year), table_version=version
    )


def _write_tasks(files: int, reviews: int) -> int:
    return max(1, min(files, MAX_WRITE_TASKS, math.ceil(reviews / REVIEWS_PER_WRITE_TASK)))


# Spark lists many given paths (more than 32) with a job of its own, one task per path up to 10,000: for
# 2,000 new small files that job alone took 18 s here, against under 1 s with a few tasks per core.
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


@contextmanager
def _small_read_tasks(spark: SparkSession) -> Iterator[None]:
    """``READ_TASKS_PER_CORE`` for the reads inside (their scan tasks and the listing of their paths),
    the session's own settings restored after."""
    tasks = str(READ_TASKS_PER_CORE * spark.sparkContext.defaultParallelism)
    settings = {"spark.sql.files.minPartitionNum": tasks, LISTING_PARALLELISM: tasks}
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _read_files(
    spark: SparkSession,
    input_uri: str,
    names: Sequence[str],
    category: str,
    sizes: Mapping[str, int],
) -> tuple[DataFrame, dict[str, dict[str, Any]]]:
    """The files' rows aggregated to (source_file, drop_reason, year, product_title, reviews), kept in
    memory for the write, and per file: rows, kept reviews per year and dropped rows per reason.
    A file with a line Hadoop skipped for its length (its listed size in ``sizes`` tells) fails it.

    One aggregation gives both, so each file is read once. It groups by the file's URI as Spark gives it,
    and turns that into the listing's name after the aggregation: decoding and cutting the URI of each
    of millions of rows cost more than reading them.
    """
    with _small_read_tasks(spark):
        reviews = read_reviews(spark, input_uri, only=names)
    # TSV: every line, headers and blank ones too, for the bytes of each file's lines.
    lines = reviews.lines if reviews.lines is not None else reviews.frame
    line_bytes = F.col(LINE_BYTES) if LINE_BYTES in lines.columns else F.lit(None).cast("long")
    annotated = with_drop_reason(
        lines, category, keep=[F.col(SOURCE_URI), line_bytes.alias(LINE_BYTES)]
    )
    kept = F.col("drop_reason").isNull()
    usable = (
        annotated.groupBy(
            SOURCE_URI,
            "drop_reason",
            F.when(kept, F.col("year")).alias("year"),
            F.when(kept, F.col("product_title")).alias("product_title"),
        )
        .agg(F.count("*").alias("reviews"), F.sum(LINE_BYTES).alias(LINE_BYTES))
        .select(
            source_names(spark, input_uri).alias("source_file"),
            "drop_reason",
            "year",
            "product_title",
            "reviews",
            LINE_BYTES,
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        with _small_read_tasks(spark):
            counts = (
                usable.groupBy("source_file", "drop_reason", "year")
                .agg(F.sum("reviews").alias("rows"), F.sum(LINE_BYTES).alias(LINE_BYTES))
                .collect()
            )
    except Py4JJavaError:
        usable.unpersist()
        error = unreadable_files_error(spark, reviews)
        if error is None:
            raise
        raise error from None
    by_file: dict[str, dict[str, Any]] = {
        name: {"rows": 0, "kept_by_year": {}, "dropped": {}, "line_bytes": 0} for name in names
    }
    unexpected = sorted({row["source_file"] for row in counts} - set(names))
    if unexpected:
        usable.unpersist()
        raise RuntimeError(f"rows attributed to files that were not asked for: {unexpected[:3]}")
    for row in counts:
        entry = by_file[row["source_file"]]
        entry["line_bytes"] += row[LINE_BYTES] or 0
        if row["drop_reason"] == NOT_A_REVIEW:
            continue
        entry["rows"] += row["rows"]
        if row["drop_reason"] is None:
            entry["kept_by_year"][int(row["year"])] = int(row["rows"])
        else:
            dropped = entry["dropped"]
            dropped[row["drop_reason"]] = dropped.get(row["drop_reason"], 0) + int(row["rows"])
    if reviews.layout == "tsv":
        root = input_uri.rstrip("/") + "/"

        def check(name: str) -> None:
            check_no_line_skipped(spark, root + name, sizes[name], by_file[name]["line_bytes"])

        try:
            # Threads, as for the headers: on S3 a gzip trailer is a request's wait.
            with ThreadPoolExecutor(HEADER_READERS) as pool:
                list(pool.map(check, names))
        except ReviewDataError:
            usable.unpersist()
            raise
    return usable, by_file


def _file_record(
    name: str, status: tuple[int, int], category: str, read: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "year": None,
        "source_file": name,
        "product_title": None,
        "reviews": read["rows"],
        "file_size": status[0],
        "file_modified": status[1],
        "category": category,
        "dropped": {reason: int(n) for reason, n in read["dropped"].items()},
        "kept_by_year": dict(read["kept_by_year"]),
    }


def _commit(frame: DataFrame, uri: str, files: Sequence[str]) -> int:
    """Replaces every row of ``files`` by ``frame`` in one commit; its version.

    New files are named in the condition too: a second run that ingested the same new file at the same
    time then conflicts (Delta fails one of the two commits) instead of appending it twice.
    """
    writer = frame.write.format("delta").partitionBy("year")
    if delta_table.is_table(frame.sparkSession, uri):
        condition = f"source_file IN ({', '.join(_sql_string(n) for n in files)})"
        writer = writer.mode("overwrite").option("replaceWhere", condition)
    else:
        writer = writer.mode("errorifexists")
    with delta_table.one_commit(uri):
        writer.save(uri)
    return delta_table.latest_version(frame.sparkSession, uri)


def _version(spark: SparkSession, uri: str) -> int | None:
    return delta_table.latest_version(spark, uri) if delta_table.is_table(spark, uri) else None


def _years_summary(before: Mapping[int, int], after: Mapping[int, int]) -> dict[str, Any]:
    """The years whose reviews changed, with the replaced files' kept reviews before and after.

    A year whose replaced files hold the same reviews per year as before (a file touched but not
    changed) still counts as changed: its titles may differ.
    """
    years = sorted(set(before) | set(after))
    return {
        "years_changed": years,
        "reviews_before_by_year": {str(y): before.get(y, 0) for y in years},
        "reviews_after_by_year": {str(y): after.get(y, 0) for y in years},
    }


def run(
    spark: SparkSession, job: SparkJob, progress: job_cli.Progress = job_cli.quiet
) -> IngestMetrics:
    return ingest(
        spark,
        job.input,
        job.output,
        job.options.category,
        progress,
        job.options.max_withdraw_fraction,
    )


def main(argv: Sequence[str] | None = None, pipes=None) -> IngestMetrics:
    """The command line ``SparkJob.argv()`` renders; ``pipes``: see ``job_cli.run_main``."""
    return job_cli.run_main("ingest_reviews", __doc__.splitlines()[0], run, argv, pipes)


if __name__ == "__main__":
    main()
