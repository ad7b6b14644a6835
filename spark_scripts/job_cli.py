"""What every script's command line shares: year lists, the gated commit of years, and reporting metrics."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_scripts import delta_table, hadoop_fs, year_gate


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


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


def base_parser(description: str, years: bool = True) -> argparse.ArgumentParser:
    """``--input``, ``--output``, ``--metrics-out``, and for the yearly scripts ``--years`` and the
    year gate's ``--max-row-drop-fraction``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--input", required=True, help="folder or s3:// prefix to read")
    parser.add_argument("--output", required=True, help="folder or s3:// prefix to write")
    parser.add_argument("--metrics-out", help="where to write the job's metrics as JSON")
    if not years:
        return parser
    parser.add_argument("--years", required=True, type=parse_years, help="e.g. 1995-2015 or 2003")
    parser.add_argument(
        "--max-row-drop-fraction",
        type=_fraction,
        default=year_gate.DEFAULT_MAX_DROP_FRACTION,
        help="refuse to replace a year that would lose more than this share of its rows "
        "(0..1; 1 allows any change)",
    )
    return parser


def commit_years(
    frame: DataFrame,
    output: str,
    years: Sequence[int],
    new_rows: Mapping[int, int],
    max_drop_fraction: float,
) -> dict[str, Any]:
    """Gate, then replace ``years`` of the Delta table at ``output`` by ``frame`` in one commit.

    ``new_rows`` is each year's row count in ``frame`` (the scripts compute it anyway for their
    metrics). A year that would collapse raises ``YearCollapseError`` before anything is written, so the
    table keeps its previous version. Returns the commit's version and the rows before and after.
    """
    spark = frame.sparkSession
    delta_table.check_writable_target(spark, output)
    before = delta_table.rows_per_year(spark, output, years)
    year_gate.check_years(output, before, new_rows, years, max_drop_fraction)
    version = delta_table.replace_years(frame, output, years)
    return delta_table.summary(version, before, {y: new_rows.get(y, 0) for y in years})


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
