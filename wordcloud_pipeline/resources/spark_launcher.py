"""The seam between assets and where Spark runs: a local session or an EMR step.

Assets describe a job (a typed ``SparkJob`` of ``spark_scripts/job_contract.py``: script, locations, years,
options) and get its typed metrics back; they never know which launcher runs it. Switching launchers is a
swap of this resource. Both launchers run the script under a Dagster Pipes session, so its stage logs reach
the run's log while it runs and its metrics come back as a Pipes message.
"""

from __future__ import annotations

import shlex
import warnings
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import dagster as dg

from spark_scripts import spark_packages
from spark_scripts.domain import format_years
from spark_scripts.job_contract import Metrics, SparkJob, metrics_from_messages
from spark_scripts.year_gate import YearCollapseError, refusal_from_messages
from wordcloud_pipeline.checks import data_quality
from wordcloud_pipeline.partitions import partition_years
from wordcloud_pipeline.resources.user_settings import UserSettings

# Dagster's own Pipes message handler reads every reader's `expected_writer_count`, a property it marks
# as preview, so each Pipes session (every Spark job, whichever launcher) printed a PreviewWarning about
# Dagster's code, not ours. That one warning is silenced; every other stays.
warnings.filterwarnings(
    "ignore",
    message=r"Function `PipesMessageReader\.expected_writer_count`",
    category=dg.PreviewWarning,
)

__all__ = [
    "SparkJob",
    "SparkJobLauncher",
    "command_line",
    "metrics_of_session",
    "packages_for_run",
    "yearly_spark_job",
]


def command_line(job: SparkJob) -> str:
    """The equivalent ``spark-submit`` command, logged so any run can be reproduced by hand."""
    return shlex.join(
        [
            "spark-submit",
            *spark_packages.submit_args(
                spark_packages.DELTA, *spark_packages.backend_packages(job.backend)
            ),
            f"spark_scripts/{job.script}.py",
            *job.argv(),
        ]
    )


def yearly_spark_job(
    context: dg.AssetExecutionContext,
    script: str,
    input_uri: str,
    output_uri: str,
    options: Any = None,
    max_row_drop_fraction: float | None = None,
) -> SparkJob:
    """The job that (re)computes this run's years of the asset, named after the asset and years."""
    years = partition_years(context)
    gate = {} if max_row_drop_fraction is None else {"max_row_drop_fraction": max_row_drop_fraction}
    return SparkJob(
        script=script,
        input=input_uri,
        output=output_uri,
        years=tuple(years),
        options=options,
        name=f"{context.asset_key.to_user_string()}[{format_years(years)}]",
        **gate,
    )


# The asset whose Spark job may need the NLP backend's packages, and the resource that says which backend.
TITLES_ASSET = dg.AssetKey("preprocessed_titles")
TITLE_SETTINGS_RESOURCE = "title_processing"


def packages_for_run(context: dg.AssetExecutionContext, job: SparkJob) -> list[str]:
    """Every package a Spark job of this run will need, known when its first job starts.

    ``job``'s own backend, and the configured backend's when the run materializes ``preprocessed_titles``
    (the ingest, which runs first in ``yearly_job``, takes the same ``title_processing`` resource). A
    session cannot load a jar once its JVM runs, so it must start with all of them.
    """
    packages = list(spark_packages.backend_packages(job.backend))
    # The assets this run executes (the run's own asset_selection is empty for some launches).
    selection = context.job_def.asset_layer.selected_asset_keys
    settings = getattr(context.resources, TITLE_SETTINGS_RESOURCE, None)
    if settings is not None and TITLES_ASSET in selection:
        packages += spark_packages.backend_packages(settings.backend)
    return list(dict.fromkeys(packages))


def metrics_of_session(session: dg.PipesSession, job: SparkJob) -> Metrics:
    """The typed metrics ``job``'s script reported in ``session``.

    A refusal of the year gate reported instead is raised as the script's own ``YearCollapseError``, so
    ``SparkJobLauncher.run_gated`` handles it the same whichever launcher ran the script.
    """
    messages = session.get_custom_messages()
    refused = refusal_from_messages(messages)
    if refused is not None:
        raise refused
    metrics = metrics_from_messages(job.script, messages)
    if metrics is None:
        raise dg.Failure(
            f"{job.name}: the script ended without reporting its metrics through Dagster Pipes "
            "(see the step's stdout and stderr)"
        )
    return metrics


class SparkJobLauncher(UserSettings, ABC):
    """Runs a ``SparkJob`` to completion and returns the metrics its script reported."""

    config_key: ClassVar[str] = "spark_jobs"

    @abstractmethod
    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> Metrics: ...

    def run_gated(self, context: dg.AssetExecutionContext, job: SparkJob) -> Metrics:
        """Runs ``job``; a year-gate refusal becomes a failed check and a run failure naming the years.

        The refusal is the script's ``YearCollapseError``: raised in this process by the local launcher,
        and rebuilt from the script's Pipes message by the EMR launcher."""
        try:
            return self.run(context, job)
        except YearCollapseError as refused:
            changes = {
                str(c.year): {"before": c.before, "after": c.after} for c in refused.collapsed
            }
            context.log_event(
                dg.AssetCheckEvaluation(
                    severity=dg.AssetCheckSeverity.ERROR,
                    target_materialization_data=None,
                    blocking=True,
                    asset_key=context.asset_key,
                    check_name=data_quality.YEARS_NOT_COLLAPSED,
                    passed=False,
                    metadata={
                        "refused_years": dg.MetadataValue.json(changes),
                        "max_row_drop_fraction": dg.MetadataValue.float(refused.max_drop_fraction),
                    },
                    description=str(refused),
                )
            )
            raise dg.Failure(
                description=str(refused),
                metadata={"refused_years": dg.MetadataValue.json(changes)},
            ) from refused
