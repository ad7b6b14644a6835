"""A run of ingested_reviews with nothing to do answers from a listing and the Delta log, without Spark."""

import os
import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from spark_scripts import delta_table, hadoop_fs, ingest_reviews
from spark_scripts.job_contract import Metrics, SparkJob
from wordcloud_pipeline import reviews_table
from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.assets.raw_reviews import raw_reviews
from wordcloud_pipeline.resources.spark_launcher import SparkJobLauncher
from wordcloud_pipeline_tests.conftest import local_test_resources


class NoSparkLauncher(SparkJobLauncher):
    """Fails any run that would start a Spark job."""

    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> Metrics:
        raise AssertionError(f"{job.name}: Spark was asked to run")


@pytest.fixture()
def ingested(spark, sample_tsv, tmp_path) -> tuple[Path, Path, dict, dg.DagsterInstance]:
    """A copy of the sample, ingested once by the Spark job (as the first run of a user)."""
    reviews = tmp_path / "reviews"
    shutil.copytree(sample_tsv, reviews)
    resources = local_test_resources(reviews, tmp_path / "storage")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(resources, instance)
    assert result.success
    return reviews, tmp_path / "storage" / "ingested_reviews", resources, instance


def materialize(resources: dict, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [raw_reviews, ingested_reviews],
        resources=resources,
        instance=instance,
        selection=[ingested_reviews],
    )


def data_version(instance: dg.DagsterInstance) -> str | None:
    record = instance.get_latest_materialization_event(ingested_reviews.key)
    return record.asset_materialization.tags.get("dagster/data_version")


def test_nothing_new_records_the_same_version_without_starting_spark(ingested):
    reviews, _, resources, instance = ingested
    first = data_version(instance)
    result = materialize({**resources, "spark_jobs": NoSparkLauncher()}, instance)
    assert result.success
    assert data_version(instance) == first
    meta = instance.get_latest_materialization_event(
        ingested_reviews.key
    ).asset_materialization.metadata
    assert meta["files_read"].value == 0
    assert meta["files_listed"].value == len(list(reviews.glob("*.tsv.gz")))


@pytest.mark.parametrize("change", ["new", "touched", "removed", "category"])
def test_any_change_leaves_the_run_to_spark(ingested, change):
    reviews, table, _, _ = ingested
    category = "Books"
    some_file = sorted(reviews.glob("*.tsv.gz"))[0]
    if change == "new":
        shutil.copy(some_file, reviews / "more.tsv.gz")
    elif change == "touched":
        os.utime(some_file, ns=(1, 2_000_000_000_000_000_000))
    elif change == "removed":
        some_file.unlink()
    else:
        category = "Music"
    assert reviews_table.nothing_to_ingest(str(reviews), str(table), category) is None


def test_no_table_yet_leaves_the_run_to_spark(sample_tsv, tmp_path):
    assert reviews_table.nothing_to_ingest(str(sample_tsv), str(tmp_path / "none"), "Books") is None


def test_listing_and_records_agree_with_what_the_spark_job_compares(spark, ingested):
    reviews, table, _, _ = ingested
    assert reviews_table.listing(str(reviews)) == {
        name: (size, modified)
        for name, size, modified in hadoop_fs.list_file_statuses(spark, str(reviews))
    }
    version, records = reviews_table.file_records(str(table))
    assert records == ingest_reviews.file_records(spark, str(table))
    assert version == delta_table.latest_version(spark, str(table))
    assert sum(sum(r.kept_by_year.values()) for r in records.values()) > 0


def test_the_documented_range_command_accepts_the_ingest_with_the_years():
    """`dagster asset materialize --select ingested_reviews,... --partition-range A...B` refuses a
    selection holding an asset without a single-run backfill policy (a CheckError trace)."""
    from dagster._core.definitions.backfill_policy import BackfillPolicyType

    from wordcloud_pipeline.jobs import YEARLY_ASSETS

    policies = {a.key.to_user_string(): a.backfill_policy for a in YEARLY_ASSETS}
    assert "ingested_reviews" in policies
    assert {
        name: policy is not None and policy.policy_type == BackfillPolicyType.SINGLE_RUN
        for name, policy in policies.items()
    } == dict.fromkeys(policies, True)


@pytest.mark.parametrize("with_stats", [True, False])
def test_rows_per_year_from_the_log_equal_a_spark_count(spark, tmp_path, with_stats):
    """From each file's numRecords; without statistics (a writer that collects none), from footers."""
    from pyspark.sql import functions as F

    from wordcloud_pipeline import tables

    uri = str(tmp_path / "t")
    key = "spark.databricks.delta.stats.collect"
    spark.conf.set(key, str(with_stats).lower())
    try:
        frame = spark.range(1_000).select(
            (2000 + F.col("id") % 7).cast("int").alias("year"), F.col("id")
        )
        delta_table.replace_years(frame.repartition(3), uri, list(range(2000, 2007)))
    finally:
        spark.conf.unset(key)
    stats = pa_num_records(uri)
    assert (None in stats) is not with_stats
    years = [1999, *range(2000, 2007)]
    counted = {
        int(row["year"]): int(row["count"])
        for row in delta_table.read(spark, uri).groupBy("year").count().collect()
    }
    assert sum(counted.values()) == 1_000
    # The year gate's (Delta's log through the JVM) and the checks' (delta-rs), both from the log.
    assert delta_table.rows_per_year(spark, uri, years) == counted
    assert tables.rows_per_year(uri, years) == {1999: 0, **counted}
    # Only the years asked for.
    assert delta_table.rows_per_year(spark, uri, [2003, 2005]) == {
        2003: counted[2003],
        2005: counted[2005],
    }


def pa_num_records(uri: str) -> list:
    from wordcloud_pipeline import tables

    table = tables.open_table(uri)
    return pa.table(table.get_add_actions(flatten=True)).column("num_records").to_pylist()
