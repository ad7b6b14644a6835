"""The reviews table fed by source file: each file read once, its rows replaced as a whole, years exact."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_scripts import delta_table, ingest_reviews, preprocess_titles
from spark_scripts.job_contract import TitleOptions
from spark_scripts.reviews import ReviewDataError
from wordcloud_pipeline.sample_data import COLUMNS, generate, write_parquet

YEARS = list(range(1995, 2016))


def ingest(spark: SparkSession, reviews: Path, table: Path, category: str = "Books") -> dict:
    """The script's metrics (the typed ``IngestMetrics``) as a dict."""
    argv = ["--input", str(reviews), "--output", str(table), "--category", category]
    return ingest_reviews.main(argv).to_dict()


def title_rows(spark: SparkSession, table: Path) -> dict[tuple[int, str, str], int]:
    """(year, source_file, title) -> reviews, of every title row of the table's current version."""
    rows = (
        spark.read.format("delta")
        .load(str(table))
        .where(F.col("product_title").isNotNull())
        .collect()
    )
    return {(r["year"], r["source_file"], r["product_title"]): r["reviews"] for r in rows}


def titles_by_year(rows: dict[tuple[int, str, str], int]) -> dict[tuple[int, str], int]:
    """The title rows summed over files: what preprocessing sees."""
    summed: dict[tuple[int, str], int] = {}
    for (year, _, title), n in rows.items():
        summed[(year, title)] = summed.get((year, title), 0) + n
    return summed


def write_tsv_file(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for row in records:
            f.write("\t".join(str(row[c]) for c in COLUMNS) + "\n")


@pytest.fixture()
def three_files(tmp_path: Path) -> tuple[Path, list[dict]]:
    """1,500 Books reviews (and some of other categories) in three TSV.gz files of 500 rows each."""
    records = generate(2_000, seed=11, bad_fraction=0.0)[:1_500]
    folder = tmp_path / "reviews"
    for part in range(3):
        write_tsv_file(folder / f"part-{part}.tsv.gz", records[part * 500 : (part + 1) * 500])
    return folder, records


def expected_titles(records: list[dict]) -> dict[tuple[int, str], int]:
    expected: dict[tuple[int, str], int] = {}
    for row in records:
        if row["product_category"] != "Books" or not str(row["product_title"]).strip():
            continue
        key = (int(str(row["review_date"])[:4]), str(row["product_title"]))
        expected[key] = expected.get(key, 0) + 1
    return expected


def test_first_ingest_reads_every_file_once_and_counts_every_review(spark, three_files, tmp_path):
    folder, records = three_files
    table = tmp_path / "table"
    metrics = ingest(spark, folder, table)
    assert metrics["files_new"] == ["part-0.tsv.gz", "part-1.tsv.gz", "part-2.tsv.gz"]
    assert metrics["rows_read"] == 1_500
    rows = title_rows(spark, table)
    assert titles_by_year(rows) == expected_titles(records)
    assert {source for _, source, _ in rows} == {f"part-{i}.tsv.gz" for i in range(3)}
    assert metrics["rows_kept"] == sum(expected_titles(records).values())
    assert metrics["rows_kept"] + sum(metrics["rows_dropped"].values()) == 1_500
    assert set(metrics["years_changed"]) == {year for year, _ in expected_titles(records)}


def test_unchanged_files_are_not_read_again(spark, three_files, tmp_path):
    folder, _ = three_files
    table = tmp_path / "table"
    first = ingest(spark, folder, table)
    again = ingest(spark, folder, table)
    assert again["files_new"] == again["files_changed"] == again["files_removed"] == []
    assert again["rows_read"] == 0 and again["years_changed"] == []
    # Nothing committed: the table keeps its version.
    assert again["table_version"] == first["table_version"]


def test_rewritten_file_replaces_its_rows_without_duplicates(spark, three_files, tmp_path):
    folder, records = three_files
    table = tmp_path / "table"
    ingest(spark, folder, table)
    # part-1 is rewritten with only its first 200 rows, all moved to 2014.
    rewritten = [dict(r, review_date="2014-06-01") for r in records[500:700]]
    write_tsv_file(folder / "part-1.tsv.gz", rewritten)
    os.utime(folder / "part-1.tsv.gz", ns=(1, 2_000_000_000_000_000_000))
    metrics = ingest(spark, folder, table)
    assert metrics["files_changed"] == ["part-1.tsv.gz"] and metrics["files_new"] == []
    assert metrics["rows_read"] == 200
    now = [*records[:500], *rewritten, *records[1000:]]
    assert titles_by_year(title_rows(spark, table)) == expected_titles(now)
    old_years = {
        int(str(r["review_date"])[:4])
        for r in records[500:1000]
        if r["product_category"] == "Books"
    }
    assert set(metrics["years_changed"]) == old_years | {2014}


def data_files_per_year(spark: SparkSession, table: Path) -> dict[int, int]:
    """Year -> how many data files of the table's current version hold its title rows."""
    rows = (
        spark.read.format("delta")
        .load(str(table))
        .where(F.col("product_title").isNotNull())
        .select("year", F.input_file_name().alias("file"))
        .distinct()
        .collect()
    )
    files: dict[int, int] = {}
    for row in rows:
        files[row["year"]] = files.get(row["year"], 0) + 1
    return files


def test_small_files_share_a_data_file_per_year(spark, three_files, tmp_path, monkeypatch):
    """A write task per source file wrote files x years small data files (483 at 5M generated reviews);
    one task per REVIEWS_PER_WRITE_TASK kept reviews writes one file per year for small data, and no more
    tasks than source files for large data. Either way the rows are the same."""
    folder, records = three_files
    ingest(spark, folder, tmp_path / "few")
    assert set(data_files_per_year(spark, tmp_path / "few").values()) == {1}
    monkeypatch.setattr(ingest_reviews, "REVIEWS_PER_WRITE_TASK", 100)
    ingest(spark, folder, tmp_path / "many")
    per_year = data_files_per_year(spark, tmp_path / "many")
    assert max(per_year.values()) > 1 and max(per_year.values()) <= 3
    assert title_rows(spark, tmp_path / "many") == title_rows(spark, tmp_path / "few")
    assert titles_by_year(title_rows(spark, tmp_path / "few")) == expected_titles(records)


def test_removed_file_withdraws_its_reviews(spark, three_files, tmp_path):
    folder, records = three_files
    table = tmp_path / "table"
    ingest(spark, folder, table)
    (folder / "part-2.tsv.gz").unlink()
    metrics = ingest(spark, folder, table)
    assert metrics["files_removed"] == ["part-2.tsv.gz"] and metrics["rows_read"] == 0
    rows = title_rows(spark, table)
    assert titles_by_year(rows) == expected_titles(records[:1000])
    assert "part-2.tsv.gz" not in set(ingest_reviews.file_records(spark, str(table)))


def test_new_file_touches_only_its_years(spark, three_files, tmp_path):
    folder, records = three_files
    table = tmp_path / "table"
    ingest(spark, folder, table)
    before = delta_table.read(spark, str(table)).where(F.col("year") == 1999).collect()
    extra = [dict(r, review_date=f"{2003 + i % 3}-02-03") for i, r in enumerate(records[:90])]
    write_tsv_file(folder / "new" / "late.tsv.gz", extra)
    metrics = ingest(spark, folder, table)
    assert metrics["files_new"] == ["new/late.tsv.gz"] and metrics["rows_read"] == 90
    assert metrics["years_changed"] == [2003, 2004, 2005]
    assert delta_table.read(spark, str(table)).where(F.col("year") == 1999).collect() == before
    assert titles_by_year(title_rows(spark, table)) == expected_titles([*records, *extra])


def test_incremental_table_equals_full_ingest_and_preprocessing_agrees(
    spark, three_files, tmp_path
):
    """Files arriving one by one (one rewritten, one removed) end where one ingest of the final folder
    ends; and preprocessing that table gives the words that preprocessing the raw files gives."""
    folder, records = three_files
    incremental = tmp_path / "incremental"
    staged = tmp_path / "staged"
    staged.mkdir()
    for part in range(3):
        shutil.copy2(folder / f"part-{part}.tsv.gz", staged)
        ingest(spark, staged, incremental)
    write_tsv_file(staged / "part-0.tsv.gz", records[:250])
    os.utime(staged / "part-0.tsv.gz", ns=(1, 2_000_000_000_000_000_000))
    ingest(spark, staged, incremental)
    full = tmp_path / "full"
    ingest(spark, staged, full)
    assert title_rows(spark, incremental) == title_rows(spark, full)

    options = TitleOptions(counting="reviews")
    from_table = tmp_path / "from_table"
    from_raw = tmp_path / "from_raw"
    a = preprocess_titles.preprocess(spark, str(incremental), str(from_table), YEARS, options)
    b = preprocess_titles.preprocess(spark, str(staged), str(from_raw), YEARS, options)
    assert a.layout == "table" and b.layout == "tsv"
    assert a.tokens_by_year == b.tokens_by_year and a.tokens > 0

    def words(uri):
        return sorted(
            map(tuple, delta_table.read(spark, str(uri)).select("year", "word").collect())
        )

    assert words(from_table) == words(from_raw)


def test_parquet_layout_is_ingested_by_file_too(spark, tmp_path):
    records = generate(600, seed=5, bad_fraction=0.0)
    folder = tmp_path / "parquet"
    write_parquet(records, folder)
    table = tmp_path / "table"
    metrics = ingest(spark, folder, table)
    assert metrics["layout"] == "parquet" and metrics["rows_read"] == 600
    assert all(name.startswith("product_category=") for name in metrics["files_new"])
    assert titles_by_year(title_rows(spark, table)) == expected_titles(records)


def test_another_category_reads_every_file_again(spark, three_files, tmp_path):
    folder, records = three_files
    table = tmp_path / "table"
    ingest(spark, folder, table)
    other = next(r["product_category"] for r in records if r["product_category"] != "Books")
    metrics = ingest(spark, folder, table, category=other)
    assert len(metrics["files_changed"]) == 3 and metrics["rows_read"] == 1_500
    with pytest.raises(ReviewDataError, match="materialize ingested_reviews"):
        ingest_reviews.read_titles(spark, str(table), YEARS, "Books")


def test_unreadable_new_file_commits_nothing(spark, three_files, tmp_path):
    folder, _ = three_files
    table = tmp_path / "table"
    first = ingest(spark, folder, table)
    data = (folder / "part-0.tsv.gz").read_bytes()
    (folder / "broken.tsv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReviewDataError, match=r"broken\.tsv\.gz"):
        ingest(spark, folder, table)
    assert delta_table.latest_version(spark, str(table)) == first["table_version"]


def test_names_with_spaces_and_quotes_round_trip(spark, three_files, tmp_path):
    _, records = three_files
    odd = tmp_path / "odd reviews"
    write_tsv_file(odd / "it's a file.tsv.gz", records[:100])
    table = tmp_path / "table"
    ingest(spark, odd, table)
    (odd / "it's a file.tsv.gz").unlink()
    write_tsv_file(odd / "next.tsv.gz", records[100:150])
    metrics = ingest(spark, odd, table)
    assert metrics["files_removed"] == ["it's a file.tsv.gz"]
    assert titles_by_year(title_rows(spark, table)) == expected_titles(records[100:150])


def test_titles_without_the_reviews_table_say_what_to_materialize(tmp_path, sample_tsv):
    from wordcloud_pipeline.assets.titles import preprocessed_titles
    from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources

    instance = instance_with_years()
    result = dg.materialize(
        [preprocessed_titles],
        resources=local_test_resources(sample_tsv, tmp_path / "storage"),
        instance=instance,
        partition_key="2004",
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "materialize ingested_reviews first" in failure.step_failure_data.error.message


def test_a_location_emptied_by_mistake_empties_nothing(spark, three_files, tmp_path):
    folder, _ = three_files
    table = tmp_path / "table"
    first = ingest(spark, folder, table)
    for file in folder.iterdir():
        file.unlink()
    with pytest.raises(ReviewDataError, match="no review data under"):
        ingest(spark, folder, table)
    assert delta_table.latest_version(spark, str(table)) == first["table_version"]
    assert len(ingest_reviews.file_records(spark, str(table))) == 3
