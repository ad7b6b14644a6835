"""Reading both layouts, and what happens with bad input: clear errors, or rows dropped and counted."""

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from spark_scripts.job_contract import TitleOptions
from spark_scripts.preprocess_titles import preprocess
from spark_scripts.reviews import (
    REVIEW_COLUMNS,
    ReviewDataError,
    detect_layout,
    read_reviews,
    year_column,
)
from spark_scripts.year_gate import YearCollapseError
from wordcloud_pipeline import review_years, tables


def write_tsv(path: Path, rows: list[list[str]], header=REVIEW_COLUMNS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    return path


def review(title: str, date: str, category: str = "Books") -> list[str]:
    values = dict.fromkeys(REVIEW_COLUMNS, "x")
    values.update(product_title=title, review_date=date, product_category=category)
    return [values[c] for c in REVIEW_COLUMNS]


def test_detect_layout():
    assert detect_layout(["s3://b/r/a.tsv.gz"], "s3://b/r") == "tsv"
    assert detect_layout(["/r/product_category=Books/part-0.parquet"], "/r") == "parquet"
    with pytest.raises(ReviewDataError, match="both TSV"):
        detect_layout(["/r/a.tsv", "/r/b.parquet"], "/r")
    with pytest.raises(ReviewDataError, match=r"no review data under /r: .*found /r/notes.txt"):
        detect_layout(["/r/notes.txt"], "/r")


def test_both_published_layouts_read_the_same_reviews(spark, sample_tsv, sample_parquet):
    tsv = read_reviews(spark, str(sample_tsv))
    parquet = read_reviews(spark, str(sample_parquet))
    assert (tsv.layout, parquet.layout) == ("tsv", "parquet")
    assert set(REVIEW_COLUMNS) <= set(tsv.frame.columns)
    assert set(REVIEW_COLUMNS) | {"year"} <= set(parquet.frame.columns)
    books = "product_category = 'Books' AND product_title != ''"
    # The parquet edition has no short (malformed) rows; both share every well-formed review.
    assert (
        parquet.frame.where(books).count()
        == tsv.frame.where(books + " AND _corrupt_record IS NULL").count()
    )


def test_tsv_fields_are_cut_exactly_and_rows_of_another_width_are_malformed(spark, tmp_path):
    good = review("Café Society: Ænigma (Vol. 2)", "2004-06-07", category="Books")
    long_row = review("Title\twith a tab", "2004-06-07")  # one field too many
    write_tsv(tmp_path / "r.tsv.gz", [good, long_row, good[:14], [""] * 15])
    frame = read_reviews(spark, str(tmp_path)).frame
    rows = frame.collect()
    assert [r["_corrupt_record"] is None for r in rows] == [True, False, False, True]
    assert [rows[0][c] for c in REVIEW_COLUMNS] == good
    assert rows[1]["_corrupt_record"] == "\t".join(long_row)
    assert all(rows[1][c] is None for c in REVIEW_COLUMNS)
    assert [rows[3][c] for c in REVIEW_COLUMNS] == [""] * 15


DATES = ["2003-05-06", " 2003-05-06 ", "2003-5-6", "2003", "2003-05", "2005-13-45", "2003-02-30",
         "2004-02-29", "n/a", "", "31/02/2007", "2003-05-06T10:00", "2003-05-0x", None]  # fmt: skip


def test_review_dates_are_strict_yyyy_mm_dd(spark):
    frame = spark.createDataFrame([(d,) for d in DATES], "review_date string")
    years = [r[0] for r in frame.select(year_column(frame)).collect()]
    assert years == [2003, 2003] + [None] * 5 + [2004] + [None] * 6


def test_the_sensor_reads_review_dates_as_the_spark_job_does(spark):
    frame = spark.createDataFrame([(d,) for d in DATES], "review_date string")
    for date, row in zip(DATES, frame.select(year_column(frame)).collect(), strict=True):
        sensor = review_years._years(pa.array([date], pa.string()))
        assert sensor == ({row[0]} if row[0] is not None else set()), date


def test_missing_required_column_names_the_column_and_the_file(spark, tmp_path):
    write_tsv(tmp_path / "good.tsv.gz", [review("Dune", "2001-02-03")])
    header = [c for c in REVIEW_COLUMNS if c != "review_date"]
    bad = write_tsv(tmp_path / "bad.tsv.gz", [review("Dune", "2001-02-03")[:-1]], header)
    with pytest.raises(ReviewDataError) as error:
        read_reviews(spark, str(tmp_path))
    assert "'review_date'" in str(error.value)
    assert bad.name in str(error.value)


def test_empty_input_fails_with_a_clear_message(spark, tmp_path):
    with pytest.raises(ReviewDataError, match="no review data under"):
        read_reviews(spark, str(tmp_path / "nothing-here"))
    write_tsv(tmp_path / "only_header.tsv.gz", [])
    with pytest.raises(ReviewDataError, match="hold no rows"):
        preprocess(spark, str(tmp_path), str(tmp_path / "out"), [2001])


def test_bad_rows_are_dropped_and_counted_by_reason(spark, tmp_path):
    rows = [
        review("Wizard Dragons", "2001-05-06"),
        review("Wizard Dragons", "2001-07-08"),  # same title, same year: counted once (titles)
        review("", "2001-01-01"),
        review("Lost Dates", "2001-13-45"),
        review("Lost Dates", "n/a"),
        review("Music Album", "2001-01-01", category="Music"),
        review("Other Year", "1999-01-01"),
        review("Short Row", "2001-01-01")[:8],
    ]
    write_tsv(tmp_path / "in" / "r.tsv.gz", rows)
    metrics = preprocess(spark, str(tmp_path / "in"), str(tmp_path / "out"), [2001])
    assert metrics.rows_read == 8
    assert metrics.rows_kept == 2
    assert metrics.rows_dropped == {
        "malformed_row": 1,
        "blank_title": 1,
        "unparseable_date": 2,
        "date_out_of_range": 0,
        "other_category": 1,
        "other_year": 1,
    }
    assert metrics.tokens == 2
    words = spark.read.format("delta").load(str(tmp_path / "out")).collect()
    assert sorted((r["year"], r["word"]) for r in words) == [(2001, "dragon"), (2001, "wizard")]


def test_counting_reviews_weights_titles_by_popularity(spark, tmp_path):
    rows = [
        review("Wizard", "2001-05-06"),
        review("Wizard", "2001-07-08"),
        review("Dragon", "2001-01-02"),
    ]
    write_tsv(tmp_path / "in" / "r.tsv.gz", rows)
    out = tmp_path / "out"
    titles = preprocess(spark, str(tmp_path / "in"), str(out), [2001])
    reviews = preprocess(
        spark, str(tmp_path / "in"), str(out), [2001], TitleOptions(counting="reviews")
    )
    assert (titles.tokens, reviews.tokens) == (2, 3)


def test_parquet_year_column_is_used_and_other_categories_are_never_read(spark, sample_parquet):
    metrics = preprocess(spark, str(sample_parquet), str(sample_parquet.parent / "pq_out"), [2010])
    assert metrics.layout == "parquet"
    # Category and year filters are pushed into the parquet scan, so nothing else is even read.
    assert metrics.rows_dropped["other_category"] == 0
    assert metrics.rows_dropped["other_year"] == 0
    # Reviews with a bad date have a null year: read and counted, not filtered away unseen.
    assert metrics.rows_dropped["unparseable_date"] > 0
    dropped = metrics.rows_dropped["blank_title"] + metrics.rows_dropped["unparseable_date"]
    assert metrics.rows_read == metrics.rows_kept + dropped
    assert metrics.tokens_by_year["2010"] > 0


def test_a_year_that_lost_its_rows_is_kept_unless_the_run_allows_it(spark, tmp_path):
    write_tsv(
        tmp_path / "in" / "r.tsv.gz", [review("Wizard", "2001-05-06"), review("Moon", "2002-01-01")]
    )
    out = tmp_path / "out"
    preprocess(spark, str(tmp_path / "in"), str(out), [2001, 2002])
    assert tables.rows_per_year(str(out), [2001, 2002]) == {2001: 1, 2002: 1}

    # The 2001 review is gone from the input (say, a corrected file, or a wrong category): the year
    # gate refuses to empty 2001 and names the year with its old and new counts.
    write_tsv(tmp_path / "in" / "r.tsv.gz", [review("Moon", "2002-01-01")])
    with pytest.raises(YearCollapseError, match=r"2001: 1 rows -> 0"):
        preprocess(spark, str(tmp_path / "in"), str(out), [2001])
    assert tables.rows_per_year(str(out), [2001, 2002]) == {2001: 1, 2002: 1}
    assert tables.open_table(str(out)).version() == 0  # nothing was committed

    # A run that says the smaller result is right empties it, in one new version.
    metrics = preprocess(
        spark,
        str(tmp_path / "in"),
        str(out),
        [2001],
        max_drop_fraction=1.0,
    )
    assert metrics.tokens_by_year == {"2001": 0}
    assert metrics.commit.rows_before_by_year == {"2001": 1}
    assert metrics.commit.table_version == 1
    assert tables.rows_per_year(str(out), [2001, 2002]) == {2001: 0, 2002: 1}


def test_a_corrupt_file_fails_the_read_with_its_name(spark, tmp_path):
    write_tsv(tmp_path / "in" / "good.tsv.gz", [review("Wizard", "2001-05-06")])
    bad = write_tsv(tmp_path / "in" / "truncated.tsv.gz", [review("Moon", "2001-01-01")] * 500)
    bad.write_bytes(bad.read_bytes()[:-40])
    with pytest.raises(ReviewDataError, match=r"cannot read .*truncated\.tsv\.gz") as error:
        preprocess(spark, str(tmp_path / "in"), str(tmp_path / "out"), [2001])
    assert "good.tsv.gz" not in str(error.value)
