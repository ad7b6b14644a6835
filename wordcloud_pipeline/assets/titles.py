"""preprocessed_titles: the words of each year's titles, from that year's partition of the reviews table."""

import dagster as dg

from spark_scripts.job_contract import TitlesMetrics
from wordcloud_pipeline import files, metadata, tables
from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.checks import data_quality
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import year_partitions
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.spark_launcher import SparkJobLauncher, yearly_spark_job
from wordcloud_pipeline.resources.storage import PipelineStorage


@dg.asset(
    partitions_def=year_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[ingested_reviews],
    group_name="wordcloud",
    pool=writer_pool("preprocessed_titles"),
    code_version="1",  # bump when this asset computes differently: marks it and downstream stale
    kinds={"spark", "delta"},
    check_specs=[data_quality.years_not_collapsed_spec("preprocessed_titles")],
)
def preprocessed_titles(
    context: dg.AssetExecutionContext,
    spark_jobs: SparkJobLauncher,
    storage: PipelineStorage,
    title_processing: TitleProcessing,
    quality_gates: QualityGates,
) -> dg.MaterializeResult:
    """Words of each year's book titles: cleaned, tokenized, stop words dropped, lemmatized."""
    # The reviews table: only this run's years are read from it.
    reviews = storage.input_location(context)
    if tables.open_table(reviews) is None:
        raise dg.Failure(
            f"no reviews table at {reviews}: materialize ingested_reviews first (yearly_job runs it "
            "before the years)"
        )
    output = storage.asset_location(context.asset_key)
    files.check_writable(output)
    job = yearly_spark_job(
        context,
        "preprocess_titles",
        reviews,
        output,
        title_processing.options(),
        quality_gates.max_row_drop_fraction,
    )
    metrics = spark_jobs.run_gated(context, job)
    assert isinstance(metrics, TitlesMetrics)
    # One version for the run's years: the settings and each year's word figures (a range run
    # reports one materialization per year, all with this version).
    version = metadata.data_version(
        title_processing.script_args(), metrics.tokens_by_year, metrics.distinct_words_by_year
    )
    return dg.MaterializeResult(
        metadata=metadata.preprocess_metadata(metrics),
        data_version=version,
        check_results=[data_quality.years_not_collapsed_result(metrics.commit)],
    )
