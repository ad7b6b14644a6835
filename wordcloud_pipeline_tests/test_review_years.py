"""review_years: the years a review file touches, from paths, parquet footers or a TSV's date column."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wordcloud_pipeline.review_years import (
    UnreadableReviewFile,
    is_review_file,
    list_review_files,
    years_in_file,
)
from wordcloud_pipeline.sample_data import COLUMNS, generate, write_parquet, write_tsv


def rows(*dates: str, category: str = "Books") -> list[dict[str, str]]:
    out = []
    for date in dates:
        row = dict.fromkeys(COLUMNS, "x")
        row.update(product_title="The Wizard Stone", product_category=category, review_date=date)
        out.append(row)
    return out


def parquet(path: Path, records: list[dict[str, str]], row_group_size: int | None = None) -> str:
    columns = {c: [r[c] for r in records] for c in COLUMNS}
    years = pa.array([int(r["review_date"][:4]) for r in records], pa.int32())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({**columns, "year": years}), path, row_group_size=row_group_size)
    return str(path)


def tsv(path: Path, records: list[dict[str, str]], header=COLUMNS, extra=()) -> str:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\t".join(header) + "\n")
        for record in records:
            out.write("\t".join(record.get(c, "") for c in header) + "\n")
        for line in extra:
            out.write(line + "\n")
    return str(path)


def test_sample_files_touch_every_books_year_and_no_year_for_other_categories(tmp_path):
    records = generate(2_000)
    write_tsv(records, tmp_path / "tsv")
    write_parquet(records, tmp_path / "parquet")
    expected = set(range(1995, 2016))
    for layout in ("tsv", "parquet"):
        files = list_review_files(str(tmp_path / layout))
        assert len(files) == 5
        books = [f for f in files if "Books" in f.name]
        assert [years_in_file(f.uri, "Books") for f in books] == [expected]
        assert all(years_in_file(f.uri, "Books") == set() for f in files if f not in books)
        # Without a category, a Music file still has years of its own.
        music = next(f for f in files if "Music" in f.name)
        assert years_in_file(music.uri)


def test_hive_year_folder_answers_without_opening_the_file(tmp_path):
    path = tmp_path / "year=2007" / "part-0.parquet"
    path.parent.mkdir()
    path.write_bytes(b"never opened")
    assert years_in_file(str(path), "Books") == {2007}


def test_escaped_category_folder_is_compared_unescaped(tmp_path):
    uri = parquet(
        tmp_path / "product_category=Video%20DVD" / "p.parquet",
        rows("2001-01-01", category="Video DVD"),
    )
    assert years_in_file(uri, "Video DVD") == {2001}
    assert years_in_file(uri, "Books") == set()


def test_parquet_statistics_and_column_reads_agree(tmp_path):
    records = rows("2003-01-01", "2003-05-05", "2004-02-02", "2009-09-09")
    # One year per row group: answered from the footer alone.
    one_year_groups = parquet(tmp_path / "a.parquet", records[:2], row_group_size=2)
    assert years_in_file(one_year_groups, "Books") == {2003}
    # Row groups spanning 2004..2009 would overstate 2005-2008 from min/max: the column is read instead.
    spanning = parquet(tmp_path / "b.parquet", records, row_group_size=4)
    assert years_in_file(spanning, "Books") == {2003, 2004, 2009}


def test_parquet_without_category_folder_filters_on_the_column(tmp_path):
    mixed = rows("2003-01-01") + rows("2011-01-01", category="Music")
    uri = parquet(tmp_path / "mixed.parquet", mixed)
    assert years_in_file(uri, "Books") == {2003}
    assert years_in_file(uri) == {2003, 2011}


def test_parquet_with_review_date_but_no_year_column(tmp_path):
    table = pa.table({"product_title": ["a", "b"], "review_date": ["2012-01-01", "bad"]})
    pq.write_table(table, tmp_path / "dates.parquet")
    assert years_in_file(str(tmp_path / "dates.parquet")) == {2012}


def test_tsv_scan_skips_malformed_rows_bad_dates_and_other_categories(tmp_path):
    uri = tsv(
        tmp_path / "r.tsv.gz",
        [
            *rows(" 2014-03-01 ", "2015-07-04", "2015-13-45", "n/a", ""),
            *rows("2009-01-01", category="Music"),
        ],
        extra=("US\t1\tR1\tshort row from 2001-01-01", "\t".join(["x"] * 20)),
    )
    assert years_in_file(uri, "Books") == {2014, 2015}
    assert years_in_file(uri) == {2009, 2014, 2015}


def test_plain_tsv_is_read_too(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("\t".join(COLUMNS) + "\n" + "\t".join(rows("2010-10-10")[0].values()) + "\n")
    assert years_in_file(str(path), "Books") == {2010}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.parquet", b"PAR1 garbage", "broken.parquet"),
        ("broken.tsv.gz", b"\x1f\x8b\x08 truncated", "broken.tsv.gz"),
        ("empty.tsv.gz", gzip.compress(b""), "is empty"),
        ("noheader.tsv.gz", gzip.compress(b"a\tb\tc\n1\t2\t3\n"), "no column 'product_title'"),
    ],
)
def test_unreadable_files_raise_an_error_naming_them(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableReviewFile, match=message) as error:
        years_in_file(str(path), "Books")
    assert name in str(error.value)


def test_parquet_without_any_date_column_is_unreadable(tmp_path):
    pq.write_table(pa.table({"product_title": ["a"]}), tmp_path / "nodate.parquet")
    with pytest.raises(UnreadableReviewFile, match="neither 'year' nor 'review_date'"):
        years_in_file(str(tmp_path / "nodate.parquet"))


def test_listing_skips_what_spark_skips_and_versions_change_on_rewrite(tmp_path):
    assert list_review_files(str(tmp_path / "absent")) == []
    good = tsv(tmp_path / "b.tsv.gz", rows("2001-01-01"))
    parquet(tmp_path / "product_category=Books" / "a.parquet", rows("2002-01-01"))
    for ignored in ("_SUCCESS", ".a.parquet.crc", "_temporary/0/part.parquet", "notes.txt"):
        (tmp_path / ignored).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / ignored).write_bytes(b"")
    os.utime(good, ns=(1_000_000_000, 1_000_000_000))  # the oldest file is listed first
    listed = list_review_files(str(tmp_path))
    assert [f.name for f in listed] == ["b.tsv.gz", "product_category=Books/a.parquet"]
    assert listed[0].uri == f"{tmp_path}/b.tsv.gz"
    before = listed[0].version
    tsv(tmp_path / "b.tsv.gz", rows("2001-01-01", "2002-02-02"))
    assert list_review_files(str(tmp_path))[0].version != before
    assert not is_review_file("year=2001/_temporary/x.parquet")
