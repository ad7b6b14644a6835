"""Benchmark: what a review file costs the ingest on its own, apart from its rows.

    python benchmarks/bench_many_files.py                      # 2,000 files against 20, 20,000 reviews
    python benchmarks/bench_many_files.py --files 500 --rows 5000

The same reviews (real-sized rows, ``wordcloud-sample``'s generator) are written once as ``--files`` small
``.tsv.gz`` files and once as 20 files, and each folder is ingested into an empty reviews table on one
warm local Spark session (the pipeline's local settings), in that order and then once more in the other
order; the figure for each is the faster of its two runs. A no-op ingest of the many files follows (every
file already in the table). Printed: the wall seconds of each, and the per-file overhead, i.e. the extra
seconds over the extra files between the two layouts. A user who lands thousands of small files at once
pays that per file, once; the new-reviews sensor then needs one tick and requests one run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dagster_pyspark.resources import spark_session_from_config

from spark_scripts import ingest_reviews
from wordcloud_pipeline.resources.local_spark import DEFAULT_LOCAL_SPARK_CONF
from wordcloud_pipeline.sample_data import generate_table, write_tsv_file

FEW_FILES = 20


def write_files(folder: Path, rows: int, files: int) -> Path:
    """``rows`` reviews of Books split evenly over ``files`` TSV.gz files."""
    table = generate_table(rows, bad_fraction=0.0)
    folder.mkdir(parents=True)
    per_file = -(-rows // files)
    for index in range(files):
        part = table.slice(index * per_file, per_file)
        write_tsv_file(folder / f"amazon_reviews_us_Books_part_{index:05d}.tsv.gz", part)
    return folder


def ingest_seconds(reviews: Path, table: Path) -> tuple[float, int]:
    """Wall seconds of one ingest of ``reviews`` into ``table``, and the reviews it read."""
    started = time.monotonic()
    metrics = ingest_reviews.main(
        ["--input", str(reviews), "--output", str(table), "--category", "Books"]
    )
    return time.monotonic() - started, metrics.to_dict()["rows_read"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench_many_files_"))
    try:
        many = write_files(work / "many", args.rows, args.files)
        few = write_files(work / "few", args.rows, FEW_FILES)
        spark_session_from_config(DEFAULT_LOCAL_SPARK_CONF).sparkContext.setLogLevel("ERROR")
        ingest_seconds(few, work / "warm-up")  # the JVM compiles the ingest's code paths once
        timings: dict[str, list[float]] = {"many": [], "few": []}
        for attempt, order in enumerate((("many", "few"), ("few", "many"))):
            for name in order:
                folder = many if name == "many" else few
                seconds, rows = ingest_seconds(folder, work / f"{name}-{attempt}")
                assert rows == args.rows, f"{name}: read {rows} reviews of {args.rows}"
                timings[name].append(seconds)
        noop, _ = ingest_seconds(many, work / "many-1")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = {name: min(seconds) for name, seconds in timings.items()}
    per_file = (best["many"] - best["few"]) / (args.files - FEW_FILES)
    print(f"reviews: {args.rows:,}")
    print(f"first ingest, {args.files:,} files: {best['many']:.1f} s")
    print(f"first ingest, {FEW_FILES} files:    {best['few']:.1f} s")
    print(f"per-file overhead: {per_file * 1000:.0f} ms a file")
    print(f"no-op ingest, {args.files:,} files known: {noop:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
