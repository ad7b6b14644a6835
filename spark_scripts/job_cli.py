"""What every script's command line shares: year lists, partition writes, and reporting metrics."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_scripts import hadoop_fs


def parse_years(text: str) -> list[int]:
    """'2001,2003' or '1995-2015' (inclusive) or a mix: '1995-1997,2001'."""
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, last = (int(p) for p in part.split("-", 1))
            if last < first:
                raise argparse.ArgumentTypeError(f"year range {part!r} ends before it starts")
            years.update(range(first, last + 1))
        else:
            years.add(int(part))
    if not years:
        raise argparse.ArgumentTypeError("--years needs at least one year")
    return sorted(years)


def format_years(years: Sequence[int]) -> str:
    """The shortest ``parse_years`` text for ``years``: contiguous runs as ranges."""
    runs: list[str] = []
    ordered = sorted(set(years))
    start = prev = ordered[0]
    for year in [*ordered[1:], None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if year is not None:
            start = prev = year
    return ",".join(runs)


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--input", required=True, help="folder or s3:// prefix to read")
    parser.add_argument("--output", required=True, help="folder or s3:// prefix to write")
    parser.add_argument("--years", required=True, type=parse_years, help="e.g. 1995-2015 or 2003")
    parser.add_argument("--metrics-out", help="where to write the job's metrics as JSON")
    return parser


def write_year_partitions(frame: DataFrame, output: str, years: Sequence[int]) -> None:
    """Replaces exactly ``years`` under ``output`` (partitioned by year), leaving other years alone.

    The requested years are deleted first, then written with dynamic partition overwrite: a year that now
    has no rows cannot keep stale data, and a re-run never appends twice. ``frame`` must not read from
    ``output`` (no script here does).
    """
    spark = frame.sparkSession
    for year in years:
        hadoop_fs.delete(spark, f"{output.rstrip('/')}/year={year}")
    (
        frame.write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy("year")
        .parquet(output)
    )


def has_data(spark: SparkSession, uri: str) -> bool:
    """Whether ``uri`` holds any data file (a job's output may not exist yet)."""
    return bool(hadoop_fs.list_files(spark, uri))


def run_main(
    parser: argparse.ArgumentParser,
    run: Callable[[SparkSession, argparse.Namespace], dict[str, Any]],
    argv: Sequence[str] | None,
) -> dict[str, Any]:
    """Parses ``argv``, runs the job on the active (or a new) session and reports its metrics.

    Metrics go to ``--metrics-out`` (any Hadoop path, s3:// on EMR) and to stdout as one JSON line, which
    is what an EMR step's stdout log shows.
    """
    options = parser.parse_args(argv)
    spark = SparkSession.builder.appName(parser.prog).getOrCreate()
    metrics = run(spark, options)
    text = json.dumps(metrics, sort_keys=True)
    if options.metrics_out:
        hadoop_fs.write_text(spark, options.metrics_out, text)
    sys.stdout.write(f"METRICS {text}\n")
    return metrics
