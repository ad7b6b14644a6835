"""A 21-year backfill in EMR mode: one cluster, one step per Spark asset, 21 word clouds in S3.

Against moto and the step harness (see step_harness.py: moto never runs a step, so the harness runs each
step with a real spark-submit on a Spark standalone cluster, S3 through S3A). The backfill is launched as a single-run range, which is
what the UI's asset backfill, `dagster asset materialize --partition-range` and the automation sensor's
backfills do with the yearly assets' single-run backfill policy.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import dagster as dg
import pytest

from wordcloud_pipeline import tables
from wordcloud_pipeline.aws.emr.run_end_sensor import emr_run_end_sensor
from wordcloud_pipeline.definitions import YEARLY_ASSETS
from wordcloud_pipeline.partitions import FIRST_YEAR, LAST_YEAR, range_tags
from wordcloud_pipeline_tests.aws.conftest import (
    BUCKET,
    active_clusters,
    emr_test_resources,
    upload_folder,
)
from wordcloud_pipeline_tests.aws.step_harness import StepHarness
from wordcloud_pipeline_tests.conftest import instance_with_years

pytestmark = pytest.mark.slow
YEARS = range(FIRST_YEAR, LAST_YEAR + 1)


def end_finished_runs(instance: dg.DagsterInstance, emr: object) -> str:
    """One tick of the run-end sensor, which terminates the clusters of finished runs."""
    with dg.build_sensor_context(instance=instance, resources={"emr": emr}) as context:
        return emr_run_end_sensor(context).skip_message


@pytest.fixture
def reviews_in_s3(bucket: str, sample_tsv: Path) -> str:
    return upload_folder(sample_tsv, bucket)


def test_21_year_backfill_is_one_cluster_one_step_per_spark_asset_and_21_pngs(
    emr_emulation, reviews_in_s3, sent
):
    resources = emr_test_resources(reviews_in_s3)
    with dg.instance_for_test() as instance:
        instance_with_years(instance)
        with StepHarness(emr_emulation, instance) as harness:
            result = dg.materialize(
                YEARLY_ASSETS,
                resources=resources,
                instance=instance,
                tags=range_tags(FIRST_YEAR, LAST_YEAR),
            )
        assert result.success
        assert len(instance.get_runs()) == 1

        emr = boto3.client("emr")
        assert sent.count("RunJobFlow") == 1
        (cluster,) = emr.list_clusters()["Clusters"]
        steps = emr.list_steps(ClusterId=cluster["Id"])["Steps"]
        assert sorted(s["Name"] for s in steps) == [
            "ingested_reviews",
            "preprocessed_titles[1995-2015]",
            "words_by_year[1995-2015]",
        ]
        assert sent.count("AddJobFlowSteps") == 3
        assert [h.outcome for h in harness.handled] == ["run", "run", "run"]

        s3 = boto3.client("s3")
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="storage/word_clouds/")["Contents"]
        pngs = sorted(o["Key"] for o in listed if o["Key"].endswith(".png"))
        assert pngs == [f"storage/word_clouds/{year}.png" for year in YEARS]
        for key in (pngs[0], pngs[-1]):
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().startswith(b"\x89PNG")
        for name in ("preprocessed_titles", "words_by_year", "word_clouds"):
            assert instance.get_materialized_partitions(dg.AssetKey(name)) == {
                str(y) for y in YEARS
            }

        # Every year's counts are in the bucket, readable as word_clouds read them.
        counts_uri = f"s3://{BUCKET}/storage/words_by_year"
        assert all(tables.top_words_by_year(counts_uri, YEARS, 3).values())

        assert cluster["Id"] in end_finished_runs(instance, resources["emr"])
        assert active_clusters(emr) == []
