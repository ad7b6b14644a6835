"""The yearly assets materialized in EMR mode, end to end, against moto and the step harness.

Emulated (see step_harness.py): moto never runs a step, so the harness runs each step's command line with a
real spark-submit on a Spark standalone cluster, reading and writing s3:// through S3A against moto.
Real: the launcher, cluster lifecycle, every AWS request (boto3 over HTTP), the metrics read back from S3,
and the word clouds drawn from counts read with pyarrow from (moto) S3 and written back there.
Small on purpose: the 4,000-review sample and three years.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import dagster as dg
import pytest

from wordcloud_pipeline.assets.clouds import word_clouds
from wordcloud_pipeline.assets.counts import words_by_year
from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.aws.emr.run_end_sensor import emr_run_end_sensor
from wordcloud_pipeline_tests.aws.conftest import (
    BUCKET,
    active_clusters,
    emr_test_resources,
    upload_folder,
)
from wordcloud_pipeline_tests.aws.step_harness import StepHarness
from wordcloud_pipeline_tests.conftest import instance_with_years

YEARS = ("2003", "2005")
ASSETS = [ingested_reviews, preprocessed_titles, words_by_year, word_clouds]
RANGE_TAGS = {
    "dagster/asset_partition_range_start": YEARS[0],
    "dagster/asset_partition_range_end": YEARS[1],
}


@pytest.fixture
def reviews_in_s3(bucket: str, sample_parquet: Path) -> str:
    return upload_folder(sample_parquet, bucket)


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield instance_with_years(test_instance)


def end_finished_runs(instance: dg.DagsterInstance, resources: dict[str, object]) -> str:
    with dg.build_sensor_context(instance=instance, resources={"emr": resources["emr"]}) as ctx:
        return emr_run_end_sensor(ctx).skip_message


def all_clusters(emr) -> list[dict]:
    return emr.list_clusters()["Clusters"]


def test_whole_graph_runs_on_one_cluster_one_step_per_spark_asset(
    emr_emulation, reviews_in_s3, instance, sent
):
    resources = emr_test_resources(reviews_in_s3)
    with StepHarness(emr_emulation, instance) as harness:
        result = dg.materialize(ASSETS, resources=resources, instance=instance, tags=RANGE_TAGS)
    assert result.success

    emr = boto3.client("emr")
    (cluster,) = all_clusters(emr)
    cluster_steps = emr.list_steps(ClusterId=cluster["Id"])["Steps"]
    assert sorted(s["Name"] for s in cluster_steps) == [
        "ingested_reviews",
        "preprocessed_titles[2003-2005]",
        "words_by_year[2003-2005]",
    ]
    assert {s["Status"]["State"] for s in cluster_steps} == {"COMPLETED"}
    assert [h.outcome for h in harness.handled] == ["run", "run", "run"]
    assert sent.count("RunJobFlow") == 1
    # The run's first word from the launcher: what it will take and cost on both routes; then each
    # step's timeout, from its input's size.
    logged = [e.user_message for e in instance.all_logs(result.run_id)]
    estimate = next(line for line in logged if line.startswith("estimate for "))
    assert "EMR (default fleet): about" in estimate and "EMR Serverless: about" in estimate
    assert any(line.startswith("ingested_reviews: step timeout 60 min for") for line in logged)

    ingest_args, titles_args = (
        request["Steps"][0]["HadoopJarStep"]["Args"]
        for request in sent.by_operation["AddJobFlowSteps"][:2]
    )
    # The ingest reads the raw reviews; the yearly steps read the reviews table it wrote.
    assert ingest_args[ingest_args.index("--input") + 1] == reviews_in_s3
    assert "--years" not in ingest_args
    assert titles_args[:3] == ["spark-submit", "--deploy-mode", "client"]
    assert "--packages" not in titles_args  # sparkml backend: no spark-nlp jar
    assert titles_args[titles_args.index("--input") + 1] == (
        f"s3://{BUCKET}/storage/ingested_reviews"
    )
    assert titles_args[titles_args.index("--years") + 1] == "2003-2005"
    assert titles_args[titles_args.index("--output") + 1] == (
        f"s3://{BUCKET}/storage/preprocessed_titles"
    )

    s3 = boto3.client("s3")
    clouds = s3.list_objects_v2(Bucket=BUCKET, Prefix="storage/word_clouds/")["Contents"]
    # (pyarrow also writes a "storage/word_clouds/" directory marker)
    assert sorted(o["Key"] for o in clouds if not o["Key"].endswith("/")) == [
        f"storage/word_clouds/{year}.png" for year in (2003, 2004, 2005)
    ]
    png = s3.get_object(Bucket=BUCKET, Key="storage/word_clouds/2004.png")["Body"].read()
    assert png.startswith(b"\x89PNG")

    counts = result.asset_materializations_for_node("words_by_year")[0].metadata
    assert counts["tokens"].value > 0
    assert counts["emr_cluster_id"].value == cluster["Id"]
    assert counts["emr_step_cost_basis"].value == "requested capacity"
    assert 0 < counts["emr_step_spot_share"].value < 1

    # The run is over: the run-end sensor leaves nothing running and bills the run.
    assert cluster["Id"] in end_finished_runs(instance, resources)
    assert active_clusters(emr) == []
    assert instance.get_run_by_id(result.run_id).tags["wordcloud/emr_cluster_id"] == cluster["Id"]


def test_failed_step_puts_its_stderr_tail_in_the_dagster_error(
    emr_emulation, reviews_in_s3, instance
):
    resources = emr_test_resources(reviews_in_s3)
    stderr = "\n".join(
        [*(f"INFO noise line {i}" for i in range(100)), "ReviewDataError: year column 42 is bad"]
    )
    with StepHarness(emr_emulation, instance) as harness:
        harness.fail_next(stderr)
        result = dg.materialize(
            ASSETS, resources=resources, instance=instance, tags=RANGE_TAGS, raise_on_error=False
        )

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "ended FAILED" in message
    assert "ReviewDataError: year column 42 is bad" in message
    assert "INFO noise line 99" in message and "INFO noise line 5\n" not in message  # only the tail
    emr = boto3.client("emr")
    (cluster,) = all_clusters(emr)
    assert len(emr.list_steps(ClusterId=cluster["Id"])["Steps"]) == 1  # downstream never submitted

    end_finished_runs(instance, resources)
    assert active_clusters(emr) == []


def test_cancelled_run_cancels_its_step_and_ends_its_cluster(
    emr_emulation, reviews_in_s3, instance, sent
):
    resources = emr_test_resources(reviews_in_s3)
    with StepHarness(emr_emulation, instance) as harness:
        harness.cancel_next()
        result = dg.materialize(
            ASSETS, resources=resources, instance=instance, tags=RANGE_TAGS, raise_on_error=False
        )

    assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.CANCELED
    assert [h.outcome for h in harness.handled] == ["cancel"]
    # CancelSteps was sent for the step (moto does not implement it: the launcher logs and goes on).
    (step_id,) = {h.step_id for h in harness.handled}
    assert sent.by_operation["CancelSteps"][0]["StepIds"] == [step_id]
    emr = boto3.client("emr")
    assert len(all_clusters(emr)) == 1
    # Ended by the interrupted step itself, before any sensor tick.
    assert active_clusters(emr) == []
    assert "no cluster" in end_finished_runs(instance, resources)


def test_the_ingest_step_reads_only_the_new_s3_object(
    emr_emulation, reviews_in_s3, instance, sample_parquet, tmp_path
):
    """Two runs of the ingest as EMR steps: the second, after one object landed, reads that object alone
    (listed through S3A, compared with the file records of the reviews table in S3)."""
    from wordcloud_pipeline_tests.test_new_reviews_sensor import review, write_parquet_file

    resources = emr_test_resources(reviews_in_s3)
    with StepHarness(emr_emulation, instance) as harness:
        first = dg.materialize([ingested_reviews], resources=resources, instance=instance)
        new = tmp_path / "part-new.parquet"
        write_parquet_file(new, [review("2014-06-01", title="Zombie Outbreak")] * 3)
        key = "reviews/product_category=Books/part-new.parquet"
        boto3.client("s3").upload_file(str(new), BUCKET, key)
        second = dg.materialize([ingested_reviews], resources=resources, instance=instance)
    assert first.success and second.success
    assert [h.outcome for h in harness.handled] == ["run", "run"]

    before = first.asset_materializations_for_node("ingested_reviews")[0].metadata
    after = second.asset_materializations_for_node("ingested_reviews")[0].metadata
    assert before["files_read"].value == len(list(sample_parquet.rglob("*.parquet")))
    assert after["files_read"].value == 1
    assert after["files_new"].value == "product_category=Books/part-new.parquet"
    assert (after["rows_read"].value, after["years_changed"].value) == (3, "2014")
    assert after["table_version"].value == before["table_version"].value + 1
