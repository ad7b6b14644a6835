"""new_reviews_sensor against a temporary Dagster instance and real files: which years each tick requests."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wordcloud_pipeline.concurrency import years_in_flight
from wordcloud_pipeline.definitions import ALL_ASSETS
from wordcloud_pipeline.jobs import YEARLY_ASSETS, yearly_job
from wordcloud_pipeline.review_years import list_review_files
from wordcloud_pipeline.sample_data import COLUMNS, write_sample
from wordcloud_pipeline.sensors.new_reviews_sensor import (
    TRIGGER_TAG,
    ReviewsCursor,
    new_reviews_sensor,
    plan_tick,
)
from wordcloud_pipeline_tests.conftest import local_test_resources


def review(date: str, category: str = "Books", title: str = "The Wizard Stone") -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "x")
    row.update(product_title=title, product_category=category, review_date=date)
    return row


def write_parquet_file(path: Path, rows: list[dict[str, str]]) -> Path:
    """One parquet file of the published parquet edition: the 15 columns plus an integer year."""
    columns = {c: [r[c] for r in rows] for c in COLUMNS}
    years = pa.array([int(r["review_date"][:4]) for r in rows], pa.int32())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({**columns, "year": years}), path)
    return path


def write_tsv_file(path: Path, rows: list[dict[str, str]], extra_lines: tuple[str, ...] = ()):
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            out.write("\t".join(row[c] for c in COLUMNS) + "\n")
        for line in extra_lines:
            out.write(line + "\n")
    return path


class RecordedLog(logging.Handler):
    """Keeps the records of one tick's ``context.log`` (a logger of its own, not under the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.WARNING]


class SensorHarness:
    """Ticks the sensor like the daemon does: each tick starts from the cursor the last tick left."""

    def __init__(self, instance: dg.DagsterInstance, reviews: Path):
        self.instance = instance
        # The run the sensor requests would write next to the reviews; no Spark starts in these tests.
        self.resources = local_test_resources(reviews, reviews.parent / "storage")
        self.defs = dg.Definitions(
            assets=ALL_ASSETS, sensors=[new_reviews_sensor], resources=self.resources
        )
        self.cursor: str | None = None
        self.log = RecordedLog()

    def tick(self) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=self.resources,
            definitions=self.defs,
        )
        self.log = RecordedLog()
        context.log.addHandler(self.log)
        result = new_reviews_sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        # What the daemon does with the tick's partition requests, in their order.
        for request in result.dynamic_partitions_requests or []:
            if isinstance(request, dg.DeleteDynamicPartitionsRequest):
                for key in request.partition_keys:
                    self.instance.delete_dynamic_partition(request.partitions_def_name, key)
            else:
                self.instance.add_dynamic_partitions(
                    request.partitions_def_name, list(request.partition_keys)
                )
        return result


def requested_years(result: dg.SensorResult) -> list[tuple[str, str]]:
    """(first, last) year of each run request, whether it names one partition or a range."""
    spans = []
    for request in result.run_requests or []:
        assert request.tags[TRIGGER_TAG] == "new_reviews"
        if request.partition_key is not None:
            spans.append((request.partition_key, request.partition_key))
        else:
            key_range = request.partition_key_range
            spans.append((key_range.start, key_range.end))
    return spans


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def parquet_reviews(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "reviews", 400, "parquet")


@pytest.fixture
def tsv_reviews(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "reviews", 400, "tsv")


def test_first_tick_records_existing_files_and_requests_nothing(instance, parquet_reviews):
    sensor = SensorHarness(instance, parquet_reviews)
    first = sensor.tick()
    assert not first.run_requests
    assert "5 review files" in first.skip_reason.skip_message
    assert len(json.loads(sensor.cursor)["files"]) == 5


def test_new_parquet_file_for_2003_requests_2003_only_and_once(instance, parquet_reviews):
    sensor = SensorHarness(instance, parquet_reviews)
    sensor.tick()
    write_parquet_file(
        parquet_reviews / "product_category=Books" / "part-2003.parquet",
        [review("2003-02-11"), review("2003-12-30", title="Dragon Quest")],
    )
    second = sensor.tick()
    assert requested_years(second) == [("2003", "2003")]
    request = second.run_requests[0]
    assert request.run_key.startswith("new_reviews:2003:")
    # The run is the yearly job; the partition is a real key of the instance's years.
    assert new_reviews_sensor.job_name == "yearly_job"
    assert instance.has_dynamic_partition("years", "2003")
    third = sensor.tick()
    assert not third.run_requests
    assert "no year to recompute" in third.skip_reason.skip_message


def test_tsv_touching_2014_and_2015_requests_those_two_as_one_range(instance, tsv_reviews):
    sensor = SensorHarness(instance, tsv_reviews)
    sensor.tick()
    write_tsv_file(
        tsv_reviews / "amazon_reviews_us_Books_v1_07.tsv.gz",
        [
            review("2014-03-01"),
            review("2015-07-04"),
            review("2009-01-01", category="Music"),  # another category: not a Books year
            review("2015-13-45"),  # unparseable date: dropped by the job, so no year
        ],
        extra_lines=("US\t123\tR1\tshort row of 2004-01-01",),
    )
    result = sensor.tick()
    assert requested_years(result) == [("2014", "2015")]
    assert result.run_requests[0].partition_key is None
    assert not sensor.tick().run_requests


def test_rewritten_file_recomputes_its_old_and_new_years(instance, tsv_reviews):
    sensor = SensorHarness(instance, tsv_reviews)
    sensor.tick()
    path = tsv_reviews / "amazon_reviews_us_Books_v1_07.tsv.gz"
    write_tsv_file(path, [review("2001-01-01")])
    assert requested_years(sensor.tick()) == [("2001", "2001")]
    write_tsv_file(path, [review("2002-01-01"), review("2002-06-01"), review("2010-01-01")])
    # 2001 lost its rows from this file, 2002 and 2010 gained some: all three are recomputed.
    # (one run a tick: the years between are recomputed too)
    assert requested_years(sensor.tick()) == [("2001", "2010")]
    path.unlink()
    assert requested_years(sensor.tick()) == [("2002", "2010")]


def test_corrupt_file_is_skipped_and_named_while_good_files_advance_the_cursor(
    instance, parquet_reviews
):
    sensor = SensorHarness(instance, parquet_reviews)
    sensor.tick()
    books = parquet_reviews / "product_category=Books"
    corrupt = books / "part-broken.parquet"
    corrupt.write_bytes(b"PAR1 this is not a parquet file")
    write_parquet_file(books / "part-2003.parquet", [review("2003-02-11")])
    result = sensor.tick()
    assert requested_years(result) == [("2003", "2003")]
    warnings = sensor.log.warnings()
    assert any("product_category=Books/part-broken.parquet" in w for w in warnings), warnings
    seen = json.loads(sensor.cursor)["files"]
    assert seen["product_category=Books/part-2003.parquet"]["years"] == "2003"
    assert seen["product_category=Books/part-broken.parquet"]["unreadable"] is True

    # Neither file is read again, and the corrupt one is not reported every tick.
    assert not sensor.tick().run_requests
    assert not sensor.log.warnings()

    # Once the file is replaced by a readable version, its years are recomputed.
    write_parquet_file(corrupt, [review("1999-09-09")])
    assert requested_years(sensor.tick()) == [("1999", "1999")]


def test_unreadable_only_tick_names_the_file_in_its_skip_reason(instance, tsv_reviews):
    sensor = SensorHarness(instance, tsv_reviews)
    sensor.tick()
    (tsv_reviews / "amazon_reviews_us_Books_v1_08.tsv.gz").write_bytes(b"\x1f\x8b not gzip")
    result = sensor.tick()
    assert not result.run_requests
    assert "amazon_reviews_us_Books_v1_08.tsv.gz" in result.skip_reason.skip_message


def test_a_year_after_2015_is_requested_as_a_partition(instance, parquet_reviews):
    """2016 is past the published dataset, but partitions run to the current year: it just runs."""
    sensor = SensorHarness(instance, parquet_reviews)
    sensor.tick()
    write_parquet_file(
        parquet_reviews / "product_category=Books" / "part-2016.parquet", [review("2016-01-05")]
    )
    assert requested_years(sensor.tick()) == [("2016", "2016")]


def test_a_year_in_the_future_is_named_and_not_requested(instance, tsv_reviews):
    sensor = SensorHarness(instance, tsv_reviews)
    sensor.tick()
    write_tsv_file(
        tsv_reviews / "amazon_reviews_us_Books_v1_10.tsv.gz",
        [review("2099-01-01"), review("2012-01-01")],
    )
    assert requested_years(sensor.tick()) == [("2012", "2012")]
    assert any("2099" in w and "not partitions" in w for w in sensor.log.warnings())


def test_files_beyond_the_per_tick_budget_are_read_on_the_next_tick(tmp_path):
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    write_tsv_file(reviews / "a.tsv.gz", [review("2001-01-01")])
    write_tsv_file(reviews / "b.tsv.gz", [review("2002-01-01")])
    first = plan_tick(
        list_review_files(str(reviews)), ReviewsCursor(), "Books", max_files=1, max_bytes=0
    )
    assert (len(first.years), first.deferred) == (1, 1)
    second = plan_tick(
        list_review_files(str(reviews)), first.cursor, "Books", max_files=1, max_bytes=0
    )
    assert (first.years | second.years, second.deferred) == ({2001, 2002}, 0)


def test_blank_cursor_from_the_ui_preview_is_a_first_tick(instance, parquet_reviews):
    """*Preview tick result* with the cursor field left empty sends "" (it crashed in json.loads)."""
    sensor = SensorHarness(instance, parquet_reviews)
    sensor.cursor = ""
    result = sensor.tick()
    assert not result.run_requests
    assert "5 review files" in result.skip_reason.skip_message
    assert len(json.loads(sensor.cursor)["files"]) == 5
    # The log says why it skipped, so the tick's *View logs* is not empty.
    assert any("first tick" in r.getMessage() for r in sensor.log.records)


def test_first_tick_adds_the_years_of_the_files_as_partitions_oldest_first(
    instance, parquet_reviews
):
    assert instance.get_dynamic_partitions("years") == []
    sensor = SensorHarness(instance, parquet_reviews)
    sensor.tick()
    assert instance.get_dynamic_partitions("years") == [str(y) for y in range(1995, 2016)]
    write_parquet_file(
        parquet_reviews / "product_category=Books" / "part-2016.parquet", [review("2016-01-05")]
    )
    sensor.tick()
    assert instance.get_dynamic_partitions("years")[-2:] == ["2015", "2016"]


def yearly_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    """A run of the yearly job that has not started yet (the real run queue: test_run_queue.py)."""
    job = dg.Definitions(
        assets=ALL_ASSETS, jobs=[yearly_job], resources=local_test_resources("r", "s")
    ).resolve_job_def("yearly_job")
    return instance.create_run_for_job(
        job_def=job,
        tags=tags,
        status=dg.DagsterRunStatus.NOT_STARTED,
        asset_selection=frozenset(k for a in YEARLY_ASSETS for k in a.keys),
    )


def test_years_a_queued_or_running_run_will_write_wait_for_it(instance, tsv_reviews):
    sensor = SensorHarness(instance, tsv_reviews)
    sensor.tick()
    single = yearly_run(instance, {"dagster/partition": "2003"})
    ranged = yearly_run(
        instance,
        {
            "dagster/asset_partition_range_start": "2010",
            "dagster/asset_partition_range_end": "2011",
        },
    )
    instance.handle_run_event(  # the range run has started
        ranged.run_id,
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_START.value, job_name=ranged.job_name
        ),
    )
    assert instance.get_run_by_id(ranged.run_id).status == dg.DagsterRunStatus.STARTED
    assert years_in_flight(instance, [dg.AssetKey("word_clouds")]).keys() == {2003, 2010, 2011}

    write_tsv_file(
        tsv_reviews / "amazon_reviews_us_Books_v1_11.tsv.gz",
        [review("2003-01-01"), review("2004-01-01"), review("2011-05-05")],
    )
    result = sensor.tick()
    assert requested_years(result) == [("2004", "2004")]
    assert json.loads(sensor.cursor)["pending"] == "2003,2011"
    waits = [r.getMessage() for r in sensor.log.records if "waits" in r.getMessage()]
    assert any(single.run_id in w for w in waits) and any(ranged.run_id in w for w in waits)

    # Still in flight: nothing more. Once both runs end, the waiting years run, under a new run key.
    assert not sensor.tick().run_requests
    instance.report_run_canceled(single)
    instance.report_run_failed(instance.get_run_by_id(ranged.run_id))
    later = sensor.tick()
    assert requested_years(later) == [("2003", "2011")]
    assert not {r.run_key for r in later.run_requests} & {r.run_key for r in result.run_requests}
    assert "pending" not in json.loads(sensor.cursor)
    assert not sensor.tick().run_requests
