"""ingested_reviews: the raw review files in one Delta table partitioned by year, fed by source file.

Unpartitioned on purpose: it is a sync of a folder, not a year's computation. Each run reads only the files
that are new or changed since the last one and withdraws the rows of removed files
(``spark_scripts/ingest_reviews.py``), so it is cheap to run first in every run of ``yearly_job``; the
years below then read only their own partition. When no file is new, changed or removed, it records the
table's same version without starting Spark (``reviews_table``). Its metadata names the years whose reviews changed.
"""

import dagster as dg

from spark_scripts.job_contract import IngestMetrics, IngestOptions, SparkJob
from wordcloud_pipeline import files, metadata, reviews_table
from wordcloud_pipeline.assets.raw_reviews import raw_reviews
from wordcloud_pipeline.checks import data_quality
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import YEAR_RANGE_IN_ONE_RUN
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.spark_launcher import SparkJobLauncher
from wordcloud_pipeline.resources.storage import INPUT_METADATA, REVIEWS_LOCATION, PipelineStorage
from wordcloud_pipeline.sample_data import DEMO_SAMPLE_ROWS, write_sample


@dg.asset(
    deps=[raw_reviews],
    metadata={INPUT_METADATA: REVIEWS_LOCATION},
    # One run for any range of years: `dagster asset materialize --partition-range` takes a selection
    # only when every asset in it runs a range as one run; unpartitioned, it runs once in that run.
    backfill_policy=YEAR_RANGE_IN_ONE_RUN,
    group_name="wordcloud",
    pool=writer_pool("ingested_reviews"),
    code_version="1",  # bump when this asset computes differently: marks it and downstream stale
    kinds={"spark", "delta"},
    check_specs=[data_quality.INGEST_ROWS_ACCOUNTED_SPEC],
)
def ingested_reviews(
    context: dg.AssetExecutionContext,
    spark_jobs: SparkJobLauncher,
    storage: PipelineStorage,
    title_processing: TitleProcessing,
    quality_gates: QualityGates,
) -> dg.MaterializeResult:
    """The category's reviews by year and source file; only new or changed files are read."""
    reviews = storage.input_location(context)
    if storage.uses_default_reviews() and not files.has_files(reviews):
        context.log.info(f"no reviews at {reviews}: writing a {DEMO_SAMPLE_ROWS:,}-review sample")
        write_sample(files.local_path(reviews), DEMO_SAMPLE_ROWS)
    output = storage.asset_location(context.asset_key)
    files.check_writable(output)
    # Most runs find nothing new: that is known from a listing and the table's log, without a JVM.
    metrics = reviews_table.nothing_to_ingest(reviews, output, title_processing.category)
    if metrics is None:
        job = SparkJob(
            script="ingest_reviews",
            input=reviews,
            output=output,
            years=(),
            options=IngestOptions(
                category=title_processing.category,
                max_withdraw_fraction=quality_gates.max_row_drop_fraction,
            ),
            name=context.asset_key.to_user_string(),
        )
        metrics = spark_jobs.run(context, job)
    else:
        context.log.info("no review file is new, changed or removed: Spark not started")
    assert isinstance(metrics, IngestMetrics)
    context.log.info(
        f"{metrics.files_read} new or changed files read ({metrics.rows_read:,} rows, "
        f"{metrics.rows_kept:,} kept), {len(metrics.files_removed)} removed, "
        f"{metrics.files_listed - metrics.files_read} unchanged; years changed: "
        f"{', '.join(map(str, metrics.years_changed)) or 'none'}"
    )
    return dg.MaterializeResult(
        metadata=metadata.ingest_metadata(metrics),
        # The table's version: a run that found nothing new leaves the years below fresh.
        data_version=dg.DataVersion(f"v{metrics.table_version}"),
        check_results=[data_quality.ingest_rows_accounted_result(metrics)],
    )
