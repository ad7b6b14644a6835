"""words_by_year: the second Spark job, reading what preprocessed_titles wrote."""

from collections.abc import Iterator

import dagster as dg

from spark_scripts.job_contract import CountsMetrics
from wordcloud_pipeline import files, metadata
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.checks import data_quality
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import YEAR_RANGE_IN_ONE_RUN, year_partitions
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.spark_launcher import SparkJobLauncher, yearly_spark_job
from wordcloud_pipeline.resources.storage import PipelineStorage


@dg.asset(
    partitions_def=year_partitions,
    backfill_policy=YEAR_RANGE_IN_ONE_RUN,
    deps=[preprocessed_titles],
    automation_condition=dg.AutomationCondition.eager(),
    group_name="wordcloud",
    pool=writer_pool("words_by_year"),
    code_version="1",  # bump when this asset computes differently: marks it and downstream stale
    kinds={"spark", "delta"},
    check_specs=[
        data_quality.years_not_collapsed_spec("words_by_year"),
        data_quality.COUNTS_MATCH_TITLES_SPEC,
    ],
)
def words_by_year(
    context: dg.AssetExecutionContext,
    spark_jobs: SparkJobLauncher,
    storage: PipelineStorage,
    quality_gates: QualityGates,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """How often each word appears in each year's titles, ranked."""
    titles, output = storage.input_location(context), storage.asset_location(context.asset_key)
    files.check_writable(output)
    job = yearly_spark_job(
        context,
        "count_words",
        titles,
        output,
        max_row_drop_fraction=quality_gates.max_row_drop_fraction,
    )
    metrics = spark_jobs.run_gated(context, job)
    assert isinstance(metrics, CountsMetrics)
    # Each year's version from what it holds (its figures, top words and settings): see titles.py.
    by_year = metrics.to_dict()["by_year"]
    yield from metadata.yearly_results(
        context,
        metadata.counts_metadata_by_year(metrics),
        metadata.counts_metadata(metrics),
        {int(year): metadata.data_version(counts) for year, counts in by_year.items()},
        [
            data_quality.years_not_collapsed_result(metrics.commit),
            data_quality.counts_match_titles_result(titles, output, metrics),
        ],
    )
