"""Faults a user's runs really meet: each leaves the previous data intact, byte for byte.

A re-run killed with SIGKILL (its whole process group) while the JVM starts and while it writes data
files, two writers of one year at once, a run whose result is empty, a corrupted upstream file, and counts
that vanished under a drawn cloud. After each, the tables read exactly as before (same version, same
rows) and the clouds are the same bytes. Two ingests of one new file at once leave the reviews table as
one ingest of the same files would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

import spark_scripts
from spark_scripts import ingest_reviews
from wordcloud_pipeline import tables
from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.partitions import FIRST_YEAR, LAST_YEAR
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline_tests.conftest import (
    instance_with_years,
    local_test_resources,
    spark_submit_options,
)

pytestmark = pytest.mark.slow
YEAR = 2004
ALL_YEARS = list(range(FIRST_YEAR, LAST_YEAR + 1))
SPARK_SUBMIT = Path(sys.executable).with_name("spark-submit")
SCRIPTS = Path(spark_scripts.__file__).parent


def snapshot(storage: Path) -> dict:
    """What a reader sees: each table's version and sorted rows, and every cloud's bytes."""
    seen: dict = {}
    for asset in ("preprocessed_titles", "words_by_year"):
        table = tables.open_table(str(storage / asset))
        rows = tables.read_years(str(storage / asset), ALL_YEARS).to_pylist()
        seen[asset] = (table.version(), sorted(tuple(sorted(r.items())) for r in rows))
    seen["clouds"] = {p.name: p.read_bytes() for p in sorted((storage / "word_clouds").glob("*"))}
    return seen


def materialize(resources, instance, selection=YEARLY_ASSETS) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=instance,
        selection=selection,
        partition_key=str(YEAR),
        raise_on_error=False,
    )


@pytest.fixture
def good_year(spark, sample_tsv, tmp_path):
    """2004 materialized on a private copy of the sample; returns what the faults must not change."""
    reviews = tmp_path / "reviews"
    shutil.copytree(sample_tsv, reviews)
    storage = tmp_path / "storage"
    instance = instance_with_years()
    assert materialize(local_test_resources(reviews, storage), instance).success
    return reviews, storage, instance, snapshot(storage)


def failure_text(result: dg.ExecuteInProcessResult, node: str) -> str:
    """The step's error with every cause, as the UI shows it."""
    error, texts = result.failure_data_for_node(node).error, []
    while error is not None:
        texts.append(error.message)
        error = error.cause
    return "\n".join(texts)


def check_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    evaluations = [
        entry.dagster_event.event_specific_data
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    return [e.check_name for e in evaluations if not e.passed]


def test_a_run_with_an_empty_result_fails_and_keeps_the_year(good_year):
    reviews, storage, instance, before = good_year
    resources = {
        **local_test_resources(reviews, storage),
        "title_processing": TitleProcessing(category="NoSuchCategory"),
    }
    result = materialize(resources, instance)
    assert not result.success
    failure = failure_text(result, "preprocessed_titles")
    assert f"{YEAR}: " in failure
    assert "-> 0" in failure
    assert check_failures(instance, result.run_id) == ["years_not_collapsed"]
    assert snapshot(storage) == before


def test_a_corrupted_upstream_file_fails_naming_it_and_keeps_the_year(good_year):
    reviews, storage, instance, before = good_year
    victim = sorted(reviews.rglob("*.tsv.gz"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    reviews_version = tables.open_table(str(storage / "ingested_reviews")).version()
    result = materialize(local_test_resources(reviews, storage), instance)
    assert not result.success
    # The changed file is read by the ingest, the only reader of raw files: it commits nothing.
    failure = failure_text(result, "ingested_reviews")
    assert f"{victim.name} (java.io.EOFException: Unexpected end of input stream)" in failure
    assert tables.open_table(str(storage / "ingested_reviews")).version() == reviews_version
    assert snapshot(storage) == before


def test_a_good_cloud_is_not_replaced_by_a_placeholder_when_counts_vanish(good_year):
    reviews, storage, instance, before = good_year
    # Someone empties the year on purpose upstream (the gate allows it when told to) ...
    emptied = {
        **local_test_resources(reviews, storage),
        "title_processing": TitleProcessing(category="NoSuchCategory"),
        "quality_gates": QualityGates(max_row_drop_fraction=1.0),
    }
    spark_assets, clouds = YEARLY_ASSETS[:-1], YEARLY_ASSETS[-1:]
    result = materialize(emptied, instance, selection=spark_assets)
    assert result.success
    assert tables.rows_per_year(str(storage / "words_by_year"), [YEAR]) == {YEAR: 0}
    # ... then the clouds are redrawn: the drawn cloud stays, and the check says why.
    result = materialize(emptied, instance, selection=clouds)
    assert check_failures(instance, result.run_id) == ["good_clouds_kept"]
    assert snapshot(storage)["clouds"] == before["clouds"]


def submit(args: list[str], log: Path) -> subprocess.Popen:
    """``spark-submit`` in a process group of its own, so a kill reaches the JVM and Python alike."""
    command = [str(SPARK_SUBMIT), *spark_submit_options(), *args]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    return subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def preprocess_args(reviews: Path, storage: Path) -> list[str]:
    # Counting reviews instead of titles changes the year, so a commit would be visible.
    return [
        str(SCRIPTS / "preprocess_titles.py"),
        *("--input", str(reviews), "--output", str(storage / "preprocessed_titles")),
        *("--years", str(YEAR), "--counting", "reviews"),
    ]


def new_data_files(folder: Path, known: set[Path]) -> set[Path]:
    return {p for p in folder.glob("*.parquet") if p not in known}


def kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


@pytest.mark.parametrize("moment", ["while the JVM starts", "while it writes data files"])
def test_sigkill_of_a_re_run_leaves_the_previous_version(good_year, tmp_path, moment):
    reviews, storage, _, before = good_year
    year_folder = storage / "preprocessed_titles" / f"year={YEAR}"
    known = set(year_folder.glob("*.parquet"))
    process = submit(preprocess_args(reviews, storage), tmp_path / "spark.log")
    deadline = time.monotonic() + 600
    if moment == "while the JVM starts":
        time.sleep(1.0)
    else:
        while not new_data_files(year_folder, known):
            assert process.poll() is None, (tmp_path / "spark.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the re-run never wrote a data file"
            time.sleep(0.02)
    kill_group(process)

    assert snapshot(storage) == before
    # The table is not wedged: the same re-run, unharmed, commits the next version.
    process = submit(preprocess_args(reviews, storage), tmp_path / "spark2.log")
    assert process.wait(timeout=900) == 0, (tmp_path / "spark2.log").read_text()[-3000:]
    table = tables.open_table(str(storage / "preprocessed_titles"))
    assert table.version() == before["preprocessed_titles"][0] + 1
    # Nothing nested or stray: the folder holds year partitions and the log only.
    names = {p.name for p in (storage / "preprocessed_titles").iterdir()}
    assert names == {"_delta_log", f"year={YEAR}"}
    assert not list(year_folder.glob("year=*"))


def test_two_writers_of_one_year_never_leave_it_doubled(good_year, tmp_path):
    reviews, storage, _, _ = good_year
    first = submit(preprocess_args(reviews, storage), tmp_path / "first.log")
    second = submit(preprocess_args(reviews, storage), tmp_path / "second.log")
    codes = sorted([first.wait(timeout=900), second.wait(timeout=900)])
    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    # Both may commit one after the other, or Delta fails the one that lost the race; never both half.
    assert codes[0] == 0, logs[-3000:]
    if codes[1] != 0:
        assert "Concurrent" in logs
    rows = tables.read_years(str(storage / "preprocessed_titles"), [YEAR]).num_rows
    single = tmp_path / "single"
    process = submit(
        [
            str(SCRIPTS / "preprocess_titles.py"),
            *("--input", str(reviews), "--output", str(single)),
            *("--years", str(YEAR), "--counting", "reviews"),
        ],
        tmp_path / "single.log",
    )
    assert process.wait(timeout=900) == 0
    assert rows == tables.read_years(str(single), [YEAR]).num_rows > 0


def ingested_rows(spark, table: Path) -> list[tuple]:
    """Every row of the reviews table, title rows and file records, without the per-reason maps."""
    columns = ("year", "source_file", "product_title", "reviews", "file_size", "file_modified")
    frame = spark.read.format("delta").load(str(table)).select(*columns)
    return sorted((tuple(row) for row in frame.collect()), key=repr)


def test_two_ingests_of_one_new_file_count_it_once(spark, sample_tsv, tmp_path):
    reviews = tmp_path / "reviews"
    shutil.copytree(sample_tsv, reviews)
    table = tmp_path / "ingested_reviews"
    ingest_reviews.main(["--input", str(reviews), "--output", str(table)])
    first_file = sorted(reviews.glob("*.tsv.gz"))[0]
    shutil.copy2(first_file, reviews / "landed-later.tsv.gz")
    args = [str(SCRIPTS / "ingest_reviews.py"), "--input", str(reviews), "--output", str(table)]

    first = submit(args, tmp_path / "first.log")
    second = submit(args, tmp_path / "second.log")
    codes = sorted([first.wait(timeout=900), second.wait(timeout=900)])
    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    # Both may commit one after the other (the later one then finds nothing new), or Delta fails the one
    # that lost the race: both name the new file in their replaceWhere. Never is the file counted twice.
    assert codes[0] == 0, logs[-3000:]
    if codes[1] != 0:
        assert "Concurrent" in logs, logs[-3000:]
    once = tmp_path / "ingested_once"
    ingest_reviews.main(["--input", str(reviews), "--output", str(once)])
    rows = ingested_rows(spark, table)
    assert rows == ingested_rows(spark, once)
    assert sum(r[3] for r in rows if r[1] == "landed-later.tsv.gz" and r[2] is not None) > 0
