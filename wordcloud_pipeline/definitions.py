"""The one place that wires assets, resources and the executor together."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from wordcloud_pipeline.assets.raw_reviews import raw_reviews
from wordcloud_pipeline.aws.emr import EmrClusterResource, EmrSparkLauncher
from wordcloud_pipeline.aws.emr.cost_guard_sensor import emr_cost_guard_sensor
from wordcloud_pipeline.aws.emr.run_end_sensor import emr_run_end_sensor
from wordcloud_pipeline.jobs import (
    SUMMARY_ASSETS,
    YEARLY_ASSETS,
    pictures_job,
    spark_steps_per_run,
    yearly_job,
)
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.sensors.automation_sensor import wordcloud_automation_sensor
from wordcloud_pipeline.sensors.dead_run_sensor import dead_run_sensor
from wordcloud_pipeline.sensors.new_reviews_sensor import new_reviews_sensor

LAUNCHERS = ("local", "emr", "emr-serverless")
ALL_ASSETS = [raw_reviews, *YEARLY_ASSETS, *SUMMARY_ASSETS]


def local_resources() -> dict[str, Any]:
    """Everything on this machine: a local Spark session, outputs under the storage root."""
    return {
        "spark_jobs": LocalSparkLauncher(),
        "storage": PipelineStorage(),
        "quality_gates": QualityGates(),
        "title_processing": TitleProcessing(),
        "cloud_style": CloudStyle(),
    }


def emr_resources() -> dict[str, Any]:
    """Spark assets as steps on an EMR cluster the ``emr`` resource owns (settings: docs/emr.md)."""
    # The bucket comes from the environment when the resource is used; the step count from the jobs,
    # so the cost guard's age limit follows the assets.
    emr = EmrClusterResource(
        bucket=dg.EnvVar("WORDCLOUD_EMR_BUCKET"), spark_steps_per_run=spark_steps_per_run()
    )
    return {
        "emr": emr,
        "spark_jobs": EmrSparkLauncher(emr=emr),
        "storage": PipelineStorage(),
        "quality_gates": QualityGates(),
        # The same default backend as locally: the launcher never changes the words.
        "title_processing": TitleProcessing(),
        "cloud_style": CloudStyle(),
    }


def serverless_resources() -> dict[str, Any]:
    """Spark assets as job runs of the project's EMR Serverless application (docs/emr.md)."""
    from wordcloud_pipeline.aws.serverless import EmrServerlessSparkLauncher

    return {**local_resources(), "spark_jobs": EmrServerlessSparkLauncher()}


def sensors_for(launcher: str) -> list[dg.SensorDefinition]:
    """The remote routes add the sensors that end what a finished run left: every cluster the EMR mode
    starts (per-run and orphaned), the job runs of EMR Serverless."""
    if launcher == "emr":
        return [emr_run_end_sensor, emr_cost_guard_sensor]
    if launcher == "emr-serverless":
        from wordcloud_pipeline.aws.serverless.run_end_sensor import serverless_run_end_sensor

        return [serverless_run_end_sensor]
    return []


def resources_for(launcher: str) -> dict[str, Any]:
    if launcher == "local":
        return local_resources()
    if launcher == "emr":
        return emr_resources()
    if launcher == "emr-serverless":
        return serverless_resources()
    raise ValueError(f"WORDCLOUD_LAUNCHER must be one of {LAUNCHERS}, not {launcher!r}")


def build_defs(launcher: str | None = None) -> dg.Definitions:
    """Definitions for ``launcher`` (default: ``WORDCLOUD_LAUNCHER``, else 'local')."""
    launcher = launcher or os.environ.get("WORDCLOUD_LAUNCHER", "local")
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[yearly_job, pictures_job],
        resources=resources_for(launcher),
        sensors=[
            new_reviews_sensor,
            wordcloud_automation_sensor,
            dead_run_sensor,
            *sensors_for(launcher),
        ],
        # Locally, one process per run shares one Spark session across assets; Spark itself
        # uses every core, so Dagster-level step parallelism would only compete for them.
        executor=dg.in_process_executor,
    )


defs = build_defs()
