"""Inputs that used to end in a Java trace or a misleading message: each is now one line naming the file,
the problem and what to do (or, for hidden files, a line in the run's log)."""

from __future__ import annotations

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
