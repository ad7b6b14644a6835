"""Runs Spark jobs on a local Spark session inside the Dagster run."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field, PrivateAttr, field_validator
from pyspark.errors import PySparkRuntimeError

from spark_scripts import spark_packages
from spark_scripts.job_contract import Metrics
from wordcloud_pipeline.resources.pipes_messages import DrainingTempFileMessageReader
from wordcloud_pipeline.resources.spark_conf_policy import check_spark_conf
from wordcloud_pipeline.resources.spark_launcher import (
    SparkJob,
    SparkJobLauncher,
    command_line,
    metrics_of_session,
    packages_for_run,
)

LOOPBACK = "127.0.0.1"
DEFAULT_LOCAL_SPARK_CONF = {
    **spark_packages.packages_conf(spark_packages.DELTA),
    **spark_packages.DELTA_CONF,
    # Delta rebuilds a table's state from its log with this many tasks (default 50): tiny tasks here.
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.master": "local[*]",
    # Local Spark serves nobody else: the driver's ports (block manager, RPC) on the loopback only.
    # The UI (when spark.ui.enabled) binds to SPARK_LOCAL_IP, set by LocalSparkLauncher.session.
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.driver.memory": "4g",
    # Few cores here: many tiny shuffle tasks cost more than they parallelize.
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


def session_conf(spark_conf: dict[str, str], packages: Sequence[str] = ()) -> dict[str, str]:
    """The local defaults, the user's settings over them, and ``packages`` added to theirs."""
    conf = {**DEFAULT_LOCAL_SPARK_CONF, **spark_conf}
    conf.update(spark_packages.packages_conf(*spark_packages.configured_packages(conf), *packages))
    return conf


# How it works: each script's main() is called with its command-line arguments on one Spark session per
# run process, inside a Dagster Pipes session.
#
# The Pipes session is the one PipesSubprocessClient would open (a temp-file context and a
# temp-file message reader that tails the file in a thread, ours because dagster's can stop before the
# last lines: see pipes_messages), but the script runs in this process, with
# the session's params handed over as a mapping instead of environment variables: a subprocess would
# start a JVM per asset. So the script's stage logs reach the run's log while it runs, and its metrics
# come back as the same Pipes message an EMR step sends.
#
# The session is started on first use (runs that need no Spark start no JVM) and shared by every asset of
# the run, which the in-process executor keeps in one process: one JVM per run, not per asset. It loads
# the spark-nlp jar (287 MB, 92 jars, and seconds of Ivy resolution at every start) only when a job of
# the run uses the sparknlp backend (``packages_for_run``: known from the run's selection and the
# title_processing settings when its first job starts, since a running JVM cannot load a jar), so a
# sparkml run never pays for it.
class LocalSparkLauncher(SparkJobLauncher):
    """Runs the Spark jobs on this machine: one local Spark session per run, shared by its assets and
    started when the first one needs it, with spark-nlp loaded only for the sparknlp backend. Each job's
    progress appears in the run's log while it runs; the figures it reports become the asset's metadata.
    spark_conf adjusts the session (memory, cores)."""

    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="Spark settings over the local defaults (vetted keys only: spark_conf_policy)",
    )
    log_level: str = Field(
        default="WARN", description="Spark's log level in the run (ERROR, WARN, INFO, DEBUG)"
    )

    _session: Any = PrivateAttr(default=None)

    @field_validator("spark_conf")
    @classmethod
    def _vetted_spark_conf(cls, conf: dict[str, str]) -> dict[str, str]:
        return check_spark_conf(conf)

    def session(self, packages: Sequence[str] = (), log: Callable[[str], None] | None = None):
        """The run's session, with at least ``packages`` on its classpath; ``log`` hears when a JVM
        starts and what it took, since resolving spark-nlp's jars alone can take many seconds.

        A session that is running without a package a later job needs is an error, not a restart: the
        JVM resolves packages once, when the gateway starts, so a new session in it would not have
        them either. ``packages_for_run`` gives the first job every package of the run.
        """
        if self._session is not None:
            loaded = spark_packages.configured_packages(
                dict(self._session.sparkContext.getConf().getAll())
            )
            missing = [p for p in packages if p not in loaded]
            if not missing:
                return self._session
            raise dg.Failure(
                f"this run's Spark session started without {', '.join(missing)}, which a later job "
                "needs; run that asset in a run of its own"
            )
        conf = session_conf(self.spark_conf, packages)
        # Spark's UI listens on SPARK_LOCAL_IP, else on every interface; no setting moves it. The
        # JVM started below inherits this environment (an administrator's own value is kept).
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
        coordinates = spark_packages.configured_packages(conf)
        if log:
            log(
                f"starting the run's local Spark session ({conf.get('spark.master', 'local[*]')}"
                f"{', packages ' + ', '.join(coordinates) if coordinates else ''})"
            )
        started = time.monotonic()
        try:
            self._session = spark_session_from_config(conf)
        except PySparkRuntimeError as error:
            if not coordinates:
                raise
            raise spark_packages.resolution_error(coordinates, conf) from error
        self._session.sparkContext.setLogLevel(self.log_level)
        if log:
            log(f"local Spark session started in {time.monotonic() - started:.1f} s")
        return self._session

    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> Metrics:
        context.log.info(f"{job.name}: running locally, equivalent to `{command_line(job)}`")
        started = time.monotonic()
        self.session(packages_for_run(context, job), context.log.info)
        script = importlib.import_module(f"spark_scripts.{job.script}")
        with dg.open_pipes_session(
            context=context,
            context_injector=dg.PipesTempFileContextInjector(),
            message_reader=DrainingTempFileMessageReader(),
        ) as session:
            script.main(job.argv(), pipes=session.get_bootstrap_env_vars())
        context.log.info(f"{job.name}: finished in {time.monotonic() - started:.1f} s")
        return metrics_of_session(session, job)
