"""Runs Spark jobs on a local Spark session inside the Dagster run."""

from __future__ import annotations

import importlib
import time
from typing import Any

import dagster as dg
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field, PrivateAttr

from spark_scripts import spark_packages
from wordcloud_pipeline.resources.spark_launcher import SparkJob, SparkJobLauncher

DEFAULT_LOCAL_SPARK_CONF = {
    **spark_packages.packages_conf(spark_packages.DELTA),
    **spark_packages.DELTA_CONF,
    # Delta rebuilds a table's state from its log with this many tasks (default 50): tiny tasks here.
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.master": "local[*]",
    "spark.driver.memory": "4g",
    # Few cores here: many tiny shuffle tasks cost more than they parallelize.
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


class LocalSparkLauncher(SparkJobLauncher):
    """Calls each script's main() with its CLI arguments on one Spark session per run process.

    The session is started on first use (runs that need no Spark start no JVM) and shared by every asset of
    the run, which the in-process executor keeps in one process: one JVM per run, not per asset.
    """

    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="Spark settings over the local defaults"
    )
    log_level: str = Field(
        default="WARN", description="Spark's log level in the run (ERROR, WARN, INFO, DEBUG)"
    )

    _session: Any = PrivateAttr(default=None)

    def session(self):
        if self._session is None:
            conf = {**DEFAULT_LOCAL_SPARK_CONF, **self.spark_conf}
            self._session = spark_session_from_config(conf)
            self._session.sparkContext.setLogLevel(self.log_level)
        return self._session

    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> dict[str, Any]:
        context.log.info(f"{job.name}: running locally, equivalent to `{job.command_line()}`")
        started = time.monotonic()
        self.session()
        script = importlib.import_module(f"spark_scripts.{job.script}")
        metrics = script.main(list(job.args))
        context.log.info(f"{job.name}: finished in {time.monotonic() - started:.1f} s")
        return metrics
