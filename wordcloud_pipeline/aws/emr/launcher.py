"""``EmrSparkLauncher``: each Spark asset becomes one step on the run's EMR cluster, under Dagster Pipes.

The launcher ships the scripts, finds or creates the cluster by tag, opens a Pipes session whose context and
messages live in the emr resource's bucket (dagster-aws's ``PipesS3ContextInjector`` and
``PipesS3MessageReader``, with ``PipesS3LogReader``s on the step's stdout and stderr logs), submits
``spark-submit`` with the job's arguments plus the session's ``--dagster-pipes-*`` bootstrap arguments,
waits with backoff, and returns the typed metrics the script reported. The script's stage logs reach the
run's log while the step runs; the step's stdout and stderr reach the run's captured output once EMR has
uploaded them.

Why not dagster-aws's ``PipesEMRClient``: its ``run`` always calls ``RunJobFlow`` (one new cluster per call,
so per asset) and waits with botocore's default waiter; this project keeps one cluster per run, shared by
the run's steps, so it opens the Pipes session itself on the existing cluster.

A failed step raises a ``dagster.Failure`` carrying the tail of the step's stderr; a step that failed
because instances were lost (a spot interruption) is retried once, in a new Pipes session, after the spot
fleets refilled or were moved to on-demand. An interrupted run cancels its step and ends a run-owned cluster
at once (the run-end sensor and EMR's idle timeout are the backstops); closing its Pipes session afterwards
still waits, as dagster does for every session, up to 10 s for late messages and 60 s for step logs that
never came.
"""

from __future__ import annotations

import random
import string
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import dagster as dg
from dagster_aws.pipes import PipesS3ContextInjector, PipesS3LogReader, PipesS3MessageReader
from dagster_aws.pipes.message_readers import gzip_log_decode_fn
from pydantic import Field, field_validator

from spark_scripts import spark_packages
from spark_scripts.job_contract import Metrics
from spark_scripts.year_gate import refusal_from_messages
from wordcloud_pipeline.aws import estimate
from wordcloud_pipeline.aws.emr import cost, spot, steps
from wordcloud_pipeline.aws.emr.cluster import utcnow
from wordcloud_pipeline.aws.emr.config import (
    ClusterConfig,
    bootstrap_requirements,
    spark_nlp_coordinate,
)
from wordcloud_pipeline.aws.emr.job_flow import bootstrap_script
from wordcloud_pipeline.aws.emr.settings import EmrClusterResource
from wordcloud_pipeline.resources.spark_conf_policy import check_spark_conf
from wordcloud_pipeline.resources.spark_launcher import (
    SparkJob,
    SparkJobLauncher,
    command_line,
    metrics_of_session,
)

ENDED_CLUSTER_STATES = frozenset({"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"})


class EmrLocationError(ValueError):
    """A job reads or writes a local path, which no EMR node can see."""


def check_locations(job: SparkJob) -> None:
    for flag, value in job.locations.items():
        if not value.startswith("s3://"):
            raise EmrLocationError(
                f"{job.name}: {flag} {value} is not an s3:// location; in EMR mode set "
                "WORDCLOUD_REVIEWS_URI and WORDCLOUD_STORAGE_URI to s3:// prefixes"
            )


class RunScopedS3MessageReader(PipesS3MessageReader):
    """dagster-aws's S3 message reader, with the chunks under the run's prefix of the project bucket.

    ``PipesS3MessageReader`` puts them under a random key at the bucket's root; here they sit beside
    the run's other objects (``<prefix>/runs/<run>/pipes/<random>/<n>.json``), where the bucket's
    lifecycle and the instance role's grants already apply.
    """

    def __init__(self, *, key_prefix: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.key_prefix = key_prefix.strip("/")

    @contextmanager
    def get_params(self) -> Iterator[dict[str, Any]]:
        with super().get_params() as params:
            token = "".join(random.choices(string.ascii_letters, k=16))
            yield {**params, "key_prefix": f"{self.key_prefix}/{token}"}


def with_backend_needs(
    job: SparkJob, config: ClusterConfig, code: steps.ShippedCode
) -> tuple[SparkJob, list[str], dict[str, str]]:
    """A sparknlp job gets the spark-nlp jar (``--packages``, engines excluded) and the shipped lemma
    dictionary (``--lemma-dictionary``); other jobs are returned as they are."""
    if job.backend != "sparknlp":
        return job, [], {}
    coordinate = spark_nlp_coordinate(config)
    conf = spark_packages.packages_conf(coordinate)
    conf.pop("spark.jars.packages")
    return job.with_options(lemma_dictionary=code.lemma_dictionary_uri), [coordinate], conf


class EmrStepFailure(dg.Failure):
    """An EMR step ended in another state than COMPLETED."""


class EmrSparkLauncher(SparkJobLauncher):
    """Runs each Spark job as an EMR step on the cluster the emr resource owns for the run."""

    emr: EmrClusterResource
    poll_initial_seconds: float = Field(
        default=5.0, gt=0, description="first wait between two checks of a running step"
    )
    poll_max_seconds: float = Field(
        default=60.0,
        gt=0,
        description="longest wait between two checks (the wait doubles up to it)",
    )
    stderr_tail_lines: int = Field(
        default=60, ge=1, description="lines of a failed step's stderr shown in the error"
    )
    log_wait_attempts: int = Field(
        default=12, ge=1, description="EMR copies step logs to S3 a few minutes after a failure"
    )
    log_wait_seconds: float = Field(
        default=20.0, ge=0, description="wait between two looks for a failed step's logs"
    )
    spot_refill_checks: int = Field(
        default=10, ge=0, description="after lost instances: checks for the spot fleets to refill"
    )
    spot_refill_wait_seconds: float = Field(
        default=30.0, ge=0, description="wait between two of those checks"
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="extra --conf per step (vetted keys only: spark_conf_policy)",
    )
    pipes_poll_seconds: float = Field(
        default=10.0,
        gt=0,
        description="how often the run looks in S3 for the step's Pipes messages and logs",
    )

    @field_validator("spark_conf")
    @classmethod
    def _vetted_spark_conf(cls, conf: dict[str, str]) -> dict[str, str]:
        return check_spark_conf(conf)

    def poll_policy(self, timeout_seconds: float) -> steps.PollPolicy:
        return steps.PollPolicy(
            initial_seconds=self.poll_initial_seconds,
            max_seconds=self.poll_max_seconds,
            timeout_seconds=timeout_seconds,
        )

    def step_timeout(self, s3: Any, job: SparkJob, log: Callable[[str], None]) -> float:
        """The step's timeout in seconds, from the size of its input when none is set."""
        size = None
        if self.emr.step_timeout_hours is None:
            try:
                size = estimate.input_bytes(job.input, s3)
            except Exception as error:  # the ceiling applies; a listing must not fail the run
                log(f"{job.name}: could not size {job.input} for its step timeout ({error})")
        seconds = self.emr.step_timeout_seconds(size)
        sized = f" for {size / estimate.GB:.2f} GB of input" if size is not None else ""
        log(f"{job.name}: step timeout {seconds / 60:.0f} min{sized}")
        return seconds

    def step_conf(self) -> dict[str, str]:
        """``--conf`` of every step: Delta's session settings (EMR has its jar), then the vetted extras."""
        return {**spark_packages.DELTA_CONF, **self.spark_conf}

    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> Metrics:
        # Everything that needs no AWS call first: a bad setting must not cost a cluster.
        self.emr.validate()
        check_locations(job)
        log = context.log.info
        run_id = context.run.run_id
        s3, emr = self.emr.client("s3"), self.emr.client("emr")
        config = self.emr.cluster_config()
        if job.backend == "sparknlp":
            # A release whose Spark has no spark-nlp build fails here, before any AWS request.
            spark_nlp_coordinate(config)
        if job.script == "ingest_reviews":  # the run's first job: what the run will take and cost
            log(estimate.run_start_line(job.input, s3))
        timeout = self.step_timeout(s3, job, log)

        code = steps.ship_code(
            s3,
            self.emr.layout().code_root_uri,
            bootstrap_script(bootstrap_requirements(config)),
            log,
        )
        job, packages, nlp_conf = with_backend_needs(job, config, code)
        spark_conf = {**nlp_conf, **self.step_conf()}
        submitted = utcnow()
        attempts = 0
        while True:
            attempts += 1
            # One Pipes session per attempt: a retried step writes its messages afresh.
            with self._pipes_session(context, s3) as (session, reader):
                args = steps.spark_submit_args(
                    job,
                    code,
                    pipes=session.get_bootstrap_cli_arguments(),
                    packages=packages,
                    spark_conf=spark_conf,
                )
                # Found again for a retry: a cluster that died with its instances is replaced.
                cluster = self.emr.lifecycle().ensure_cluster(emr, run_id, code.bootstrap_uri, log)
                step_id = emr.add_job_flow_steps(
                    JobFlowId=cluster.id, Steps=[steps.step_request(job, args)]
                )["StepIds"][0]
                log(
                    f"{job.name}: step {step_id} on {cluster.id}, equivalent to `{command_line(job)}`"
                )
                self._read_step_logs(reader, s3, cluster.id, step_id)
                step = self._wait(emr, cluster.id, step_id, run_id, timeout, log)
            if step["Status"]["State"] == "COMPLETED":
                break
            # The gate's refusal, reported by the script before it failed the step, is the error.
            refused = refusal_from_messages(session.get_custom_messages())
            if refused is not None:
                raise refused
            lost = spot.lost_instances_reason(emr, cluster.id, step) if attempts == 1 else None
            if lost is None:
                raise self._failure(s3, emr, cluster.id, step, job, attempts)
            log(
                f"{job.name}: step {step_id} failed because instances were lost ({lost}); retrying once"
            )
            spot.restore_capacity(
                emr,
                cluster.id,
                spot.RefillPolicy(self.spot_refill_checks, self.spot_refill_wait_seconds),
                log,
            )
        finished = utcnow()

        metrics = metrics_of_session(session, job)
        context.add_output_metadata(
            self._cost_metadata(emr, cluster.id, step, submitted, finished)
            | {
                "emr_cluster_id": cluster.id,
                "emr_step_id": step_id,
                "emr_step_attempts": attempts,
                "emr_step_args": dg.MetadataValue.json(steps.redact_pipes_args(args)),
            },
            # Assets with checks have an output per check besides the asset's own.
            output_name=context.assets_def.get_output_name_for_asset_key(context.asset_key),
        )
        return metrics

    @contextmanager
    def _pipes_session(
        self, context: dg.AssetExecutionContext, s3: Any
    ) -> Iterator[tuple[dg.PipesSession, PipesS3MessageReader]]:
        """A Pipes session whose context and messages are objects under the run's S3 prefix."""
        layout = self.emr.layout()
        bucket = layout.bucket
        prefix = layout.pipes_key_prefix(context.run.run_id)
        reader = RunScopedS3MessageReader(
            key_prefix=prefix, bucket=bucket, client=s3, interval=self.pipes_poll_seconds
        )
        injector = PipesS3ContextInjector(bucket=bucket, client=s3, key_prefix=f"{prefix}/context-")
        with dg.open_pipes_session(
            context=context, context_injector=injector, message_reader=reader
        ) as session:
            yield session, reader

    def _read_step_logs(
        self, reader: PipesS3MessageReader, s3: Any, cluster_id: str, step_id: str
    ) -> None:
        """The step's stdout and stderr into the run's captured output, from where EMR uploads them
        (``<LogUri>/<cluster>/steps/<step>/``, gzipped, rewritten every few minutes while it runs)."""
        for stream, target in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            bucket, key = steps.split_s3(
                steps.step_log_uri(self.emr.layout().log_uri, cluster_id, step_id, stream)
            )
            reader.add_log_reader(
                PipesS3LogReader(
                    bucket=bucket,
                    key=key,
                    client=s3,
                    interval=self.pipes_poll_seconds,
                    target_stream=target,
                    decode_fn=gzip_log_decode_fn,
                )
            )

    def _wait(
        self, emr: Any, cluster_id: str, step_id: str, run_id: str, timeout: float, log: Callable
    ) -> dict:
        try:
            return steps.wait_for_step(emr, cluster_id, step_id, self.poll_policy(timeout), log)
        except BaseException:
            # The run was cancelled (Dagster interrupts the step process) or polling broke: stop the
            # step, and end a run-owned cluster now rather than when the sensor next looks.
            steps.cancel_step(self.emr.client("emr", max_attempts=2), cluster_id, step_id, log)
            if self.emr.mode() == "per_run":
                self.emr.lifecycle().terminate_run_clusters(
                    emr, run_id, "its run was interrupted", log
                )
            raise

    def _failure(
        self,
        s3: Any,
        emr: Any,
        cluster_id: str,
        step: dict[str, Any],
        job: SparkJob,
        attempts: int = 1,
    ) -> EmrStepFailure:
        status = step["Status"]
        details = status.get("FailureDetails") or {}
        reason = (
            details.get("Message")
            or details.get("Reason")
            or (status.get("StateChangeReason") or {}).get("Message")
            or ""
        )
        cluster_status = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
        cluster_reason = cluster_status.get("StateChangeReason", {}).get("Message") or ""
        if status["State"] == "CANCELLED":
            reason = reason or cluster_reason
        log_uri = steps.step_log_uri(self.emr.layout().log_uri, cluster_id, step["Id"])
        cluster_ended = cluster_status["State"] in ENDED_CLUSTER_STATES
        started = bool(status.get("Timeline", {}).get("StartDateTime"))
        if cluster_ended and not started:
            # The cluster failed before the step ran: there is no stderr to wait for.
            tail = steps.LogTail(
                None,
                f"the step never started: cluster {cluster_id} is {cluster_status['State']}"
                + (f" ({cluster_reason})" if cluster_reason else ""),
            )
        else:
            # A cluster that has ended uploads no more logs: look once instead of waiting minutes.
            tail = steps.read_log_tail(
                s3,
                log_uri,
                self.stderr_tail_lines,
                1 if cluster_ended else self.log_wait_attempts,
                self.log_wait_seconds,
            )
        shown = tail.text if tail.text is not None else f"({tail.missing})"
        # A PySpark driver's traceback is in the step's stdout, not its stderr: spark-submit merges the
        # Python process's stderr into its own stdout. EMR uploads both logs together: no extra wait.
        stdout_uri = steps.step_log_uri(self.emr.layout().log_uri, cluster_id, step["Id"], "stdout")
        stdout = (
            steps.read_log_tail(s3, stdout_uri, self.stderr_tail_lines).text
            if tail.text is not None
            else None
        )
        return EmrStepFailure(
            description=(
                f"EMR step {step['Id']} ({job.name}) on {cluster_id} ended {status['State']}"
                + (f": {reason}" if reason else "")
                + (f" (attempt {attempts})" if attempts > 1 else "")
                + f"\n--- last {self.stderr_tail_lines} lines of stderr ({log_uri}) ---\n{shown}"
                + (
                    f"\n--- last {self.stderr_tail_lines} lines of stdout ({stdout_uri}) ---\n{stdout}"
                    if stdout and stdout.strip()
                    else ""
                )
            ),
            metadata={
                "emr_cluster_id": cluster_id,
                "emr_step_id": step["Id"],
                "emr_step_attempts": attempts,
                "stderr_tail": dg.MetadataValue.text(shown),
                "stderr_log": dg.MetadataValue.url(log_uri),
            },
        )

    def _cost_metadata(
        self,
        emr: Any,
        cluster_id: str,
        step: dict[str, Any],
        submitted: datetime,
        finished: datetime,
    ) -> dict[str, Any]:
        """This step's and the run-so-far's instance-hours, spot share and estimated cost."""
        described = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        usages, basis = cost.cluster_usages(emr, described, self.emr.cluster_config())
        timeline = step["Status"].get("Timeline", {})
        step_start = timeline.get("StartDateTime") or submitted
        step_end = timeline.get("EndDateTime") or finished
        cluster_start = described["Status"]["Timeline"]["CreationDateTime"]
        step_cost = cost.summarize(usages, step_start, step_end, self.emr.prices, basis)
        so_far = cost.summarize(usages, cluster_start, finished, self.emr.prices, basis)
        return {
            "emr_step_seconds": dg.MetadataValue.float(
                round((step_end - step_start).total_seconds(), 1)
            ),
            **step_cost.metadata("emr_step"),
            **so_far.metadata("emr_cluster_so_far"),
        }
