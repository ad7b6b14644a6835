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
