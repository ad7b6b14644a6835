"""words_by_year: the second Spark job, reading what preprocessed_titles wrote."""

import dagster as dg

from wordcloud_pipeline import metadata
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.automation import follows_upstream_years
from wordcloud_pipeline.partitions import year_partitions
from wordcloud_pipeline.resources.spark_launcher import SparkJobLauncher, yearly_job
from wordcloud_pipeline.resources.storage import PipelineStorage


@dg.asset(
    partitions_def=year_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[preprocessed_titles],
    automation_condition=follows_upstream_years(),
    group_name="wordcloud",
    kinds={"spark", "parquet"},
)
def words_by_year(
    context: dg.AssetExecutionContext, spark_jobs: SparkJobLauncher, storage: PipelineStorage
) -> dg.MaterializeResult:
    """How often each word appears in each year's titles, ranked."""
    job = yearly_job(
        context,
        "count_words",
        storage.upstream_location(context),
        storage.asset_location(context.asset_key),
    )
    metrics = spark_jobs.run(context, job)
    return dg.MaterializeResult(metadata=metadata.counts_metadata(metrics))
