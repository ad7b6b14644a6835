"""The seam between assets and where Spark runs: a local session or an EMR step.

Assets describe a job (which script of ``spark_scripts/``, which arguments) and get its metrics back; they
never know which launcher runs it. Switching launchers is a swap of this resource.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from spark_scripts import spark_packages
from spark_scripts.job_cli import format_years
from wordcloud_pipeline.partitions import partition_years


@dataclass(frozen=True)
class SparkJob:
    """One run of a ``spark_scripts/<script>.py`` program with its command-line arguments."""

    script: str
    args: Sequence[str]
    name: str

    def option(self, flag: str) -> str | None:
        """The value given to ``flag`` (``--backend``), or None."""
        args = list(self.args)
        return args[args.index(flag) + 1] if flag in args[:-1] else None

    def command_line(self) -> str:
        """The equivalent ``spark-submit`` command, logged so any run can be reproduced by hand."""
        return shlex.join(
            [
                "spark-submit",
                *spark_packages.submit_args(
                    spark_packages.DELTA,
                    *spark_packages.backend_packages(self.option("--backend")),
                ),
                f"spark_scripts/{self.script}.py",
                *self.args,
            ]
        )


def yearly_job(
    context: dg.AssetExecutionContext,
    script: str,
    input_uri: str,
    output_uri: str,
    extra_args: Sequence[str] = (),
) -> SparkJob:
    """The job that (re)computes this run's years of the asset: every script takes these three flags."""
    years = format_years(partition_years(context))
    return SparkJob(
        script=script,
        args=["--input", input_uri, "--output", output_uri, "--years", years, *extra_args],
        name=f"{context.asset_key.to_user_string()}[{years}]",
    )


class SparkJobLauncher(dg.ConfigurableResource, ABC):
    """Runs a ``SparkJob`` to completion and returns the metrics its script reported."""

    @abstractmethod
    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> dict[str, Any]: ...
