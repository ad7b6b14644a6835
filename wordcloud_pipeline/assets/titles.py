"""preprocessed_titles: the words of each year's titles, from that year's partition of the reviews table."""

from collections.abc import Iterator

import dagster as dg

from spark_scripts.job_contract import TitlesMetrics
from wordcloud_pipeline import files, metadata, tables
from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.checks import data_quality
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import YEAR_RANGE_IN_ONE_RUN, year_partitions
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.spark_launcher import SparkJobLauncher, yearly_spark_job
from wordcloud_pipeline.resources.storage import PipelineStorage


@dg.asset(
    partitions_def=year_partitions,
    backfill_policy=YEAR_RANGE_IN_ONE_RUN,
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
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
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
    # Each year's version from what it holds: the settings and its word figures, so re-running a
    # year on the same data gives it the version it had, whether it last ran alone or in a range.
    versions = {
        int(year): metadata.data_version(
            title_processing.script_args(),
            metrics.tokens_by_year[year],
            metrics.distinct_words_by_year[year],
        )
        for year in map(str, metrics.years)
    }
    yield from metadata.yearly_results(
        context,
        metadata.preprocess_metadata_by_year(metrics),
        metadata.preprocess_metadata(metrics),
        versions,
        [data_quality.years_not_collapsed_result(metrics.commit)],
    )
