"""The generated sample looks like the published dataset and is the same for the same seed."""

import gzip
import re
from collections import Counter

import pyarrow.dataset as pads

from wordcloud_pipeline import sample_data


def test_same_seed_same_reviews_other_seed_other_reviews():
    assert sample_data.generate(500, seed=3) == sample_data.generate(500, seed=3)
    assert sample_data.generate(500, seed=3) != sample_data.generate(500, seed=4)


def test_reviews_grow_over_the_years_and_books_lead_the_categories():
    records = sample_data.generate(10_000)
    dates = [str(r["review_date"]) for r in records]
    per_year = Counter(int(d[:4]) for d in dates if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d))
    assert min(per_year) == 1995 and max(per_year) == 2015
    assert per_year[1995] < per_year[2005] < per_year[2015]
    categories = Counter(r["product_category"] for r in records)
    assert categories.most_common(1)[0][0] == "Books"
    assert len(categories) >= 4


def test_titles_carry_the_messiness_of_real_ones():
    titles = [str(r["product_title"]) for r in sample_data.generate(5_000)]
    assert any("&amp;" in t or "&#39;" in t for t in titles)
    assert any(not t.isascii() for t in titles)
    assert any("(" in t and "Book" in t for t in titles)
    assert any(":" in t for t in titles)
    assert any(c.isdigit() for t in titles for c in t)


def test_tsv_layout_has_the_published_header_and_some_short_rows(tmp_path):
    sample_data.write_sample(tmp_path, 3_000, "tsv")
    files = sorted(tmp_path.glob("amazon_reviews_us_*_v1_00.tsv.gz"))
    assert "amazon_reviews_us_Books_v1_00.tsv.gz" in [f.name for f in files]
    lines = gzip.open(files[0], "rt", encoding="utf-8").read().splitlines()
    assert lines[0].split("\t") == list(sample_data.COLUMNS)
    widths = Counter(len(line.split("\t")) for line in lines[1:])
    assert widths[15] > 0 and set(widths) <= {8, 15}


def test_parquet_layout_is_partitioned_by_category_with_a_year(tmp_path):
    sample_data.write_sample(tmp_path, 3_000, "parquet")
    assert (tmp_path / "product_category=Books").is_dir()
    table = pads.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert {"year", "product_category", *sample_data.COLUMNS} <= set(table.column_names)
    years = [y for y in table.column("year").to_pylist() if y is not None]
    assert min(years) == 1995 and max(years) == 2015


def uncompressed_row_bytes(folder) -> list[int]:
    """Bytes of each data line (newline included) of every TSV file under ``folder``."""
    sizes = []
    for path in sorted(folder.glob("*.tsv.gz")):
        lines = gzip.open(path, "rb").read().split(b"\n")
        sizes += [len(line) + 1 for line in lines[1:] if line]
    return sizes


def test_rows_weigh_what_real_rows_weigh_with_a_long_tail(tmp_path):
    """About 650 bytes a row as the published Books file (6.7 GB for about 10M rows), mostly text:
    many short reviews and a tail of several thousand bytes."""
    sample_data.write_sample(tmp_path, 20_000, "tsv")
    sizes = sorted(uncompressed_row_bytes(tmp_path))
    mean = sum(sizes) / len(sizes)
    assert 600 <= mean <= 700
    median, p99 = sizes[len(sizes) // 2], sizes[int(len(sizes) * 0.99)]
    assert median < mean * 0.8  # long-tailed: the mean is pulled up by long reviews
    assert sizes[int(len(sizes) * 0.1)] < 250 and p99 > 3_000


def test_bodies_carry_the_markup_of_real_ones_and_never_a_raw_tab():
    table = sample_data.generate_table(5_000)
    bodies = table.column("review_body").to_pylist()
    headlines = table.column("review_headline").to_pylist()
    assert sum("<br /><br />" in b for b in bodies) > 500
    assert any("&#34;" in b for b in bodies) and any('"' in b for b in bodies)
    assert any("\\t" in b for b in bodies)
    assert not any("\t" in b or "\n" in b for b in bodies + headlines)
    assert headlines.count("Five Stars") > 50
    body_bytes = sum(len(b.encode()) for b in bodies) + sum(len(h.encode()) for h in headlines)
    assert body_bytes / len(bodies) > 450  # the text is most of a row


def test_same_seed_same_files_byte_for_byte(tmp_path):
    first = sample_data.write_tsv(sample_data.generate_table(3_000, seed=5), tmp_path / "a")
    again = sample_data.write_tsv(sample_data.generate_table(3_000, seed=5), tmp_path / "b")
    other = sample_data.write_tsv(sample_data.generate_table(3_000, seed=6), tmp_path / "c")
    unzip = [[gzip.open(p, "rb").read() for p in files] for files in (first, again, other)]
    assert unzip[0] == unzip[1] and unzip[0] != unzip[2]


def test_list_of_records_and_table_write_the_same_tsv(tmp_path):
    """Tests edit records row by row; the benchmarks write the table: both give the same files."""
    table = sample_data.generate_table(1_000, seed=2)
    from_table = sample_data.write_tsv(table, tmp_path / "table")
    from_rows = sample_data.write_tsv(table.to_pylist(), tmp_path / "rows")
    assert [gzip.open(p, "rb").read() for p in from_table] == [
        gzip.open(p, "rb").read() for p in from_rows
    ]


def test_reviews_per_year_are_exactly_the_generators_split():
    """The years' shares are what the benchmarks compute their targets from."""
    table = sample_data.generate_table(7_000, bad_fraction=0.0)
    years = Counter(int(d[:4]) for d in table.column("review_date").to_pylist())
    assert dict(years) == sample_data.reviews_per_year(7_000)


def test_spark_reads_every_well_formed_row_and_flags_only_the_short_ones(spark, tmp_path):
    from pyspark.sql import functions as F

    from spark_scripts.reviews import CORRUPT_RECORD, read_reviews

    table = sample_data.generate_table(3_000, seed=9, bad_fraction=0.01)
    sample_data.write_tsv(table, tmp_path)
    frame = read_reviews(spark, str(tmp_path)).frame
    corrupt = frame.where(F.col(CORRUPT_RECORD).isNotNull()).count()
    assert frame.count() == 3_000
    assert corrupt == sum(table.column("_short").to_pylist()) > 0
    bodies = {r["review_body"] for r in frame.select("review_body").collect()}
    assert set(table.column("review_body").to_pylist()) - bodies <= {
        b
        for b, s in zip(
            table.column("review_body").to_pylist(), table.column("_short").to_pylist(), strict=True
        )
        if s
    }
