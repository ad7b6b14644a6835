"""Bad inputs a user's data really contains: each ends in an error naming the file and the problem, or in
a row dropped and counted; none crashes with a bare Java trace or silently loses rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spark_scripts.preprocess_titles import preprocess
from spark_scripts.reviews import MAX_TITLE_CHARS, REVIEW_COLUMNS, ReviewDataError
from wordcloud_pipeline import files
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.resources.user_settings import SettingsRefused
from wordcloud_pipeline_tests.test_reviews import review, write_tsv


def run(spark, reviews: Path, out: Path, years=(2001,)) -> dict:
    return preprocess(spark, str(reviews), str(out), list(years))


def assert_short_and_named(error: pytest.ExceptionInfo, name: str) -> None:
    message = str(error.value)
    assert name in message
    # One readable sentence, not a Java stack trace.
    assert "\tat org.apache" not in message
    assert len(message.splitlines()) <= 2


def test_a_zero_byte_gzip_names_the_file(spark, tmp_path):
    write_tsv(tmp_path / "in" / "good.tsv.gz", [review("Wizard", "2001-05-06")])
    (tmp_path / "in" / "empty.tsv.gz").write_bytes(b"")
    with pytest.raises(ReviewDataError) as error:
        run(spark, tmp_path / "in", tmp_path / "out")
    assert_short_and_named(error, "empty.tsv.gz")


def test_a_file_that_is_not_gzip_names_the_file(spark, tmp_path):
    write_tsv(tmp_path / "in" / "good.tsv.gz", [review("Wizard", "2001-05-06")])
    (tmp_path / "in" / "plain.tsv.gz").write_bytes(b"this is not gzip at all\n" * 10)
    with pytest.raises(ReviewDataError) as error:
        run(spark, tmp_path / "in", tmp_path / "out")
    assert_short_and_named(error, "plain.tsv.gz")


def test_a_byte_order_mark_does_not_turn_the_header_into_a_data_row(spark, tmp_path):
    path = tmp_path / "in" / "bom.tsv.gz"
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt", encoding="utf-8-sig") as out:  # writes the BOM first
        out.write("\t".join(REVIEW_COLUMNS) + "\n")
        out.write("\t".join(review("Wizard Dragons", "2001-05-06")) + "\n")
    metrics = run(spark, tmp_path / "in", tmp_path / "out")
    assert metrics.rows_read == 1
    assert metrics.rows_dropped["malformed_row"] == 0
    assert metrics.tokens == 2


def test_a_title_longer_than_the_bound_is_malformed_not_a_flood_of_one_word(spark, tmp_path):
    huge = " ".join(["wizard"] * 150_000)  # about 1 MB
    rows = [review("Dragon Tales", "2001-05-06"), review(huge, "2001-05-07")]
    write_tsv(tmp_path / "in" / "r.tsv.gz", rows)
    metrics = run(spark, tmp_path / "in", tmp_path / "out")
    assert len(huge) > MAX_TITLE_CHARS
    assert metrics.rows_dropped["malformed_row"] == 1
    assert metrics.tokens == 2  # dragon, tale


def parquet_file(path: Path, years: pa.Array, titles: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {c: ["x"] * len(titles) for c in REVIEW_COLUMNS}
    columns.update(product_title=titles, product_category=["Books"] * len(titles))
    pq.write_table(pa.table({**columns, "year": years}), path)


def test_parquet_files_that_disagree_on_the_year_type_are_named(spark, tmp_path):
    books = tmp_path / "in" / "product_category=Books"
    parquet_file(books / "a.parquet", pa.array([2001], pa.int32()), ["Wizard"])
    parquet_file(books / "b.parquet", pa.array(["2001"]), ["Dragon"])
    with pytest.raises(ReviewDataError) as error:
        run(spark, tmp_path / "in", tmp_path / "out")
    message = str(error.value)
    assert "'year'" in message
    assert "a.parquet" in message
    assert "b.parquet" in message
    assert "\tat org.apache" not in message


def test_a_string_year_column_keeps_every_row_accounted_for(spark, tmp_path):
    books = tmp_path / "in" / "product_category=Books"
    parquet_file(books / "s.parquet", pa.array(["2001", "2001", "abc"]), ["Wizard", "Moon", "Sun"])
    metrics = run(spark, tmp_path / "in", tmp_path / "out")
    assert metrics.rows_read == 3
    assert metrics.rows_kept == 2
    assert metrics.rows_dropped["unparseable_date"] == 1


def test_a_font_path_that_is_not_a_font_is_refused_naming_it(tmp_path):
    not_a_font = tmp_path / "notes.ttf"
    not_a_font.write_text("hello")
    with pytest.raises(SettingsRefused) as refused:
        CloudStyle(font_path=str(not_a_font))
    assert refused.value.description == (
        f"cloud_style.font_path: font_path {str(not_a_font)!r} is not a TrueType/OpenType font PIL "
        "can open (unknown file format)"
    )


def test_locations_may_not_climb_out_with_dot_dot():
    with pytest.raises(
        SettingsRefused, match=r"^storage\.storage_uri: location .* contains '\.\.'"
    ):
        PipelineStorage(storage_uri="data/storage/../../etc")
    with pytest.raises(SettingsRefused, match=r"contains '\.\.'"):
        PipelineStorage(reviews_uri="s3://bucket/reviews/../other")
    assert PipelineStorage(storage_uri="s3://bucket/a..b/c").storage_root() == "s3://bucket/a..b/c"


def test_an_unwritable_storage_root_fails_with_a_clear_message(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match=r"cannot write to .*a-file/storage"):
        files.check_writable(str(blocker / "storage"))
