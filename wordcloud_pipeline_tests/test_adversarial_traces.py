"""Inputs that used to end in a Java trace or a misleading message: each is now one line naming the file,
the problem and what to do (or, for hidden files, a line in the run's log)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spark_scripts import delta_table, ingest_reviews, reviews
from spark_scripts.reviews import REVIEW_COLUMNS, ReviewDataError
from wordcloud_pipeline_tests.test_adversarial import ingest, one_line
from wordcloud_pipeline_tests.test_reviews import review, write_tsv


def refused(folder: Path, table: Path) -> str:
    with pytest.raises(ReviewDataError) as error:
        ingest(folder, table)
    return one_line(error)


def test_a_wider_file_is_named_with_its_column_count(spark, tmp_path):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    wide = [*REVIEW_COLUMNS, "extra"]
    write_tsv(folder / "b.tsv.gz", [[*review("Moon", "2005-01-02"), "x"]], header=wide)
    message = refused(folder, tmp_path / "table")
    assert "b.tsv.gz" in message and "16 columns where it has 15" in message
    assert "another order" not in message


def test_a_header_less_file_is_named_without_its_first_line(spark, tmp_path):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    write_tsv(folder / "b.tsv.gz", [review("Secret Title", "2005-01-02")], header=["no", "header"])
    message = refused(folder, tmp_path / "table")
    assert "b.tsv.gz" in message and "Secret" not in message


def test_an_upper_case_gz_suffix_is_refused_not_read_as_text(spark, tmp_path):
    folder = tmp_path / "reviews"
    write_tsv(folder / "A.TSV.GZ", [review("Wizard", "2005-01-02")])
    message = refused(folder, tmp_path / "table")
    assert "A.TSV.GZ" in message and "rename it to end in .gz" in message


def test_a_reviews_uri_that_is_a_file_says_so(spark, tmp_path):
    file = write_tsv(tmp_path / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    message = refused(file, tmp_path / "table")
    assert "is a file, not a folder" in message


def test_a_file_gone_between_listing_and_reading_says_so(spark, tmp_path, monkeypatch):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    listed = reviews.file_statuses

    def listing_with_a_vanished_file(spark, location, hidden=None):
        return [*listed(spark, location, hidden), ("gone.tsv.gz", 10, 1)]

    monkeypatch.setattr(ingest_reviews, "file_statuses", listing_with_a_vanished_file)
    message = refused(folder, tmp_path / "table")
    assert "gone.tsv.gz is gone" in message and "truncated" not in message


def test_a_struct_title_column_is_named_not_a_plan_dump(spark, tmp_path):
    path = tmp_path / "reviews" / "product_category=Books" / "a.parquet"
    path.parent.mkdir(parents=True)
    title = pa.array([{"text": "Wizard"}], pa.struct([("text", pa.string())]))
    pq.write_table(pa.table({"product_title": title, "year": pa.array([2005], pa.int32())}), path)
    message = refused(tmp_path / "reviews", tmp_path / "table")
    assert "'product_title'" in message and "struct<text:string>" in message


def test_hidden_review_files_are_named_in_the_log(spark, tmp_path, capsys):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    write_tsv(folder / "_b.tsv.gz", [review("Moon", "2005-01-02")])
    metrics = ingest(folder, tmp_path / "table")
    assert metrics["files_new"] == ["a.tsv.gz"]
    assert "ignored 1 review file(s) whose name starts with '_' or '.'" in capsys.readouterr().out


def test_a_concurrent_commit_is_one_line():
    with pytest.raises(delta_table.ConcurrentCommitError) as error:
        with delta_table.one_commit("/t"):
            raise RuntimeError(
                "[DELTA_CONCURRENT_APPEND] io.delta.exceptions.ConcurrentAppendException: Files "
                "were added to partition [year=2005] by a concurrent update.\n\tat io.delta.X(Y)"
            )
    assert one_line(error).startswith("another run committed to /t while this one ran")
    assert "ConcurrentAppendException" in str(error.value)


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    """A real filesystem of ``size`` at ``where`` (root only; CI runs as root), unmounted at the end."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); CI runs as root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_full_disk_during_a_write_is_one_line_and_keeps_the_table(spark, tmp_path):
    """A real full filesystem: the first commit fits, the second (incompressible MBs) cannot."""
    from pyspark.sql import functions as F

    with mounted_tmpfs(tmp_path / "small", "1m") as disk:
        table = str(disk / "words_by_year")
        small = spark.range(3).select(F.lit(2005).alias("year"), F.col("id").cast("string"))
        version = delta_table.replace_years(small, table, [2005])
        big = spark.range(40_000).select(
            F.lit(2005).alias("year"), F.sha2(F.col("id").cast("string"), 512).alias("id")
        )
        with pytest.raises(delta_table.NoSpaceLeftError) as error:
            delta_table.replace_years(big.repartition(1), table, [2005])
        assert one_line(error).startswith(f"no space left on device while writing {table}")
        assert delta_table.latest_version(spark, table) == version
        assert delta_table.read(spark, table).count() == 3


def test_a_read_only_dagster_home_is_one_line_before_any_run(tmp_path):
    home = tmp_path / "home"
    with mounted_tmpfs(home, "1m", read_only=True):
        done = subprocess.run(
            [str(Path(sys.executable).with_name("wordcloud-years"))],
            env={**os.environ, "DAGSTER_HOME": str(home)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"DAGSTER_HOME {home} is not writable (Read-only file system): Dagster keeps the runs, "
        "their events and the year partitions there; set DAGSTER_HOME to a folder you can write"
    )
