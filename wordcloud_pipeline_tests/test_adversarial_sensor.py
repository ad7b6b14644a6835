"""Adversarial cases of the new-reviews sensor's year bookkeeping: every year whose reviews changed is
requested, exactly once while a run holds it, and a broken year column is named, not a crashed tick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wordcloud_pipeline.review_years import UnreadableReviewFile, years_in_file
from wordcloud_pipeline_tests.test_new_reviews_sensor import (
    SensorHarness,
    requested_years,
    review,
    write_tsv_file,
)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def parquet_with(path: Path, columns: dict[str, pa.Array]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return str(path)


def test_year_statistics_are_read_from_the_year_column_after_a_struct(tmp_path):
    n = 3
    struct = pa.array(
        [{"a": 2011, "b": 2011}] * n, pa.struct([("a", pa.int32()), ("b", pa.int32())])
    )
    columns = {"meta": struct, "product_title": pa.array(["T"] * n)}
    columns |= {
        "product_category": pa.array(["Books"] * n),
        "year": pa.array([2005] * n, pa.int32()),
    }
    uri = parquet_with(tmp_path / "r.parquet", columns)
    assert years_in_file(uri, None) == {2005}


@pytest.mark.parametrize("bad", [2005.5, float("nan")])
def test_a_float_year_that_is_no_whole_year_is_an_unreadable_file_not_a_crash(tmp_path, bad):
    columns = {"product_title": pa.array(["T", "U"]), "product_category": pa.array(["Books"] * 2)}
    uri = parquet_with(tmp_path / "r.parquet", {**columns, "year": pa.array([2005.0, bad])})
    with pytest.raises(UnreadableReviewFile, match=r"r\.parquet.*'year'"):
        years_in_file(uri, None)


def test_whole_float_years_are_years(tmp_path):
    columns = {"product_title": pa.array(["T", "U"]), "product_category": pa.array(["Books"] * 2)}
    uri = parquet_with(tmp_path / "r.parquet", {**columns, "year": pa.array([2005.0, 2006.0])})
    assert years_in_file(uri, None) == {2005, 2006}


def launch_requested(instance: dg.DagsterInstance, sensor: SensorHarness, result) -> list:
    """Creates the runs the tick requested as the daemon does: yearly_job runs, asset_selection None."""
    job = sensor.defs.resolve_job_def("yearly_job")
    runs = []
    for request in result.run_requests or []:
        tags = dict(request.tags)
        if request.partition_key is not None:
            tags["dagster/partition"] = request.partition_key
        tags["dagster/run_key"] = request.run_key
        runs.append(
            instance.create_run_for_job(
                job_def=job, tags=tags, status=dg.DagsterRunStatus.NOT_STARTED
            )
        )
    return runs


def test_the_sensors_own_queued_run_holds_its_year(instance, tmp_path):
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    write_tsv_file(reviews / "a.tsv.gz", [review("2001-01-01")])
    sensor = SensorHarness(instance, reviews)
    sensor.tick()
    write_tsv_file(reviews / "b.tsv.gz", [review("2003-01-01")])
    first = sensor.tick()
    assert requested_years(first) == [("2003", "2003")]
    (run,) = launch_requested(instance, sensor, first)
    assert run.asset_selection is None
    write_tsv_file(reviews / "c.tsv.gz", [review("2003-02-02")])
    second = sensor.tick()
    assert not second.run_requests  # 2003 waits for the queued run
    instance.report_run_failed(run)
    third = sensor.tick()
    assert requested_years(third) == [("2003", "2003")]


def ingest_materialized(instance: dg.DagsterInstance, run: dg.DagsterRun, years: str) -> None:
    """What the run's ingested_reviews step records: its materialization with the years changed."""
    import time

    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    materialization = dg.AssetMaterialization("ingested_reviews", metadata={"years_changed": years})
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name=run.job_name,
        event_specific_data=StepMaterializationData(materialization),
    )
    instance.handle_new_event(
        EventLogEntry(
            error_info=None,
            level="INFO",
            user_message="",
            run_id=run.run_id,
            timestamp=time.time(),
            dagster_event=event,
        )
    )


def run_succeeded(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    for kind in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS):
        instance.handle_run_event(
            run.run_id, dg.DagsterEvent(event_type_value=kind.value, job_name=run.job_name)
        )


def test_a_failed_runs_file_committed_by_the_next_run_gets_its_years_recomputed(instance, tmp_path):
    reviews = tmp_path / "reviews"
    reviews.mkdir()
    write_tsv_file(reviews / "a.tsv.gz", [review("2001-01-01")])
    sensor = SensorHarness(instance, reviews)
    sensor.tick()
    write_tsv_file(reviews / "b.tsv.gz", [review("2003-01-01")])
    (failed,) = launch_requested(instance, sensor, sensor.tick())
    instance.report_run_failed(failed)  # its ingest failed: b.tsv.gz is not in the table yet
    write_tsv_file(reviews / "c.tsv.gz", [review("2005-01-01")])
    second = sensor.tick()
    assert requested_years(second) == [("2005", "2005")]
    (run,) = launch_requested(instance, sensor, second)
    ingest_materialized(instance, run, "2003, 2005")  # it ingested b.tsv.gz too
    run_succeeded(instance, run)
    third = sensor.tick()
    assert requested_years(third) == [("2003", "2003")]
    assert not sensor.tick().run_requests  # once


def test_many_small_files_take_one_tick_and_one_run(instance, tmp_path):
    from wordcloud_pipeline.sensors.new_reviews_sensor import MAX_FILES_PER_TICK

    reviews = tmp_path / "reviews"
    reviews.mkdir()
    write_tsv_file(reviews / "first.tsv.gz", [review("2001-01-01")])
    sensor = SensorHarness(instance, reviews)
    sensor.tick()
    count = MAX_FILES_PER_TICK * 5  # scaled down from 2,000: the same per-tick budget applies
    for i in range(count):
        year = 1996 + (i * 7) % 20
        write_tsv_file(reviews / f"small-{i:04d}.tsv.gz", [review(f"{year}-03-04")])
    result = sensor.tick()
    assert requested_years(result) == [("1996", "2015")]  # every changed year, one run
    assert not sensor.tick().run_requests
