"""``EmrServerlessSparkLauncher``: each Spark asset becomes one job run on an EMR Serverless application.

The same scripts and typed ``SparkJob`` as the EMR steps (``steps.ship_code`` uploads them under the same
content-addressed keys); the nodes' Python is the packed environment ``wordcloud-infra up --serverless``
uploaded for the current requirement list, Delta comes from the image's jars (``job_run``).

Pipes through dagster-aws's ``PipesEMRServerlessClient``: it opens the session, passes its params as the
driver's environment (the scripts read ``DAGSTER_PIPES_*`` there), tags the job run with the Dagster run,
starts it, and cancels it when the Dagster run is interrupted. Three of its parts are replaced, each for a
reason (``ServerlessPipesClient``):

- messages go through S3 (``PipesS3ContextInjector`` and the EMR launcher's run-scoped
  ``PipesS3MessageReader``) rather than CloudWatch, which dagster-aws reads only once the job has ended: stage
  lines reach the run's log while the job runs, the objects sit under the run's prefix of the project bucket
  (lifecycle, job role grants), and the driver's S3 logs are tailed from the start;
- the wait backs off (dagster-aws polls every 5 s for hours and asks for a dashboard URL each time the job
  starts or ends), gives up after ``execution_timeout_minutes`` and cancels the job run on any error, not
  only an interrupt;
- an ended job run that did not succeed raises a ``dagster.Failure`` with EMR Serverless's state details and
  the tail of the driver's stdout and stderr (dagster-aws raises a bare ``RuntimeError``), or the script's own
  year-gate refusal.

Cleanup: a cancelled Dagster run cancels its job run (dagster-aws's ``forward_termination``); a job run left
by a killed Dagster process is cancelled by ``serverless_run_end_sensor`` once the run is marked failed (the
dead-run sensor does that), and ends at ``executionTimeoutMinutes`` at the latest; the application stops its workers after
its idle timeout (``wordcloud-infra up --serverless`` sets auto-stop) and never runs more than its maximum
capacity.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import dagster as dg
from botocore.exceptions import ClientError
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster_aws.pipes import PipesEMRServerlessClient, PipesS3ContextInjector, PipesS3LogReader
from dagster_aws.pipes.message_readers import gzip_log_decode_fn
from pydantic import Field, field_validator

from spark_scripts.job_contract import Metrics
from spark_scripts.year_gate import refusal_from_messages
from wordcloud_pipeline.aws import clients, estimate
from wordcloud_pipeline.aws.emr import steps
from wordcloud_pipeline.aws.emr.config import BOOTSTRAP_PACKAGES, check_requirement
from wordcloud_pipeline.aws.emr.job_flow import bootstrap_script
from wordcloud_pipeline.aws.emr.launcher import RunScopedS3MessageReader, check_locations
from wordcloud_pipeline.aws.layout import BucketLayout
from wordcloud_pipeline.aws.serverless import cost, job_run
from wordcloud_pipeline.aws.serverless.packed_env import environment_key
from wordcloud_pipeline.resources.spark_conf_policy import check_spark_conf
from wordcloud_pipeline.resources.spark_launcher import (
    SparkJob,
    SparkJobLauncher,
    command_line,
    metrics_of_session,
)

# The packed environment's interpreter: the scripts need 3.10+, the EMR nodes run 3.11.
PACKED_PYTHON_VERSION = "3.11"
SUCCESS, FAILED_STATES = "SUCCESS", frozenset({"FAILED", "CANCELLED"})


class ServerlessConfigError(ValueError):
    """A setting the serverless launcher needs is missing or wrong."""


class JobRunEnded(Exception):
    """The job run ended in another state than SUCCESS (raised inside the Pipes session)."""

    def __init__(self, job_run: dict[str, Any]):
        super().__init__(job_run.get("state"))
        self.job_run = job_run


def requirements(extra: list[str]) -> list[str]:
    """The packed environment's requirement list: the EMR bootstrap's, then the configured extras."""
    return [*BOOTSTRAP_PACKAGES, *(str(check_requirement(p)) for p in extra)]


class ServerlessPipesClient(PipesEMRServerlessClient):
    """dagster-aws's client with its message reading, waiting and failure replaced (module docstring)."""

    def __init__(self, *, launcher: EmrServerlessSparkLauncher, s3: Any, **kwargs: Any):
        super().__init__(forward_termination=True, **kwargs)
        self.launcher = launcher
        self.s3 = s3
        self.session: dg.PipesSession | None = None
        self.job_run_id: str | None = None

    def _enrich_start_params(self, context, session, params):  # type: ignore[override]
        self.session = session
        return super()._enrich_start_params(context, session, params)

    def _start(self, context, params):  # type: ignore[override]
        response = super()._start(context, params)
        self.job_run_id = response["jobRunId"]
        for stream, target in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            uri = job_run.driver_log_uri(
                self.launcher.log_uri(), response["applicationId"], response["jobRunId"], stream
            )
            bucket, key = steps.split_s3(uri)
            self.message_reader.add_log_reader(
                PipesS3LogReader(
                    bucket=bucket,
                    key=key,
                    client=self.s3,
                    interval=self.launcher.pipes_poll_seconds,
                    target_stream=target,
                    decode_fn=gzip_log_decode_fn,
                )
            )
        return response

    def _wait_for_completion(self, context, start_response):  # type: ignore[override]
        app, run_id = start_response["applicationId"], start_response["jobRunId"]
        delay = self.launcher.poll_initial_seconds
        deadline = time.monotonic() + self.launcher.execution_timeout_minutes * 60 + 600
        last = None
        try:
            while True:
                try:
                    described = self.client.get_job_run(applicationId=app, jobRunId=run_id)[
                        "jobRun"
                    ]
                except ClientError as error:
                    if not steps.is_throttling(error):
                        raise
                    delay = min(self.launcher.poll_max_seconds, delay * 2)
                    time.sleep(delay)
                    continue
                state = described["state"]
                if state != last:
                    context.log.info(f"job run {run_id} on {app}: {state}")
                    last = state
                if state == SUCCESS:
                    return {"jobRun": described}
                if state in FAILED_STATES:
                    raise JobRunEnded(described)
                if time.monotonic() > deadline:
                    raise steps.StepTimeoutError(f"job run {run_id} still {state}")
                time.sleep(delay)
                delay = min(self.launcher.poll_max_seconds, delay * 1.5)
        except (JobRunEnded, DagsterExecutionInterruptedError):
            raise  # ended by itself, or cancelled by run() (forward_termination)
        except BaseException:
            self._terminate(context, start_response)
            raise

    def _read_messages(self, context, session, response) -> None:  # type: ignore[override]
        """Nothing to add: the S3 reader has read the messages since the session opened, and the
        driver's logs are tailed since the job run started (``_start``)."""


class EmrServerlessSparkLauncher(SparkJobLauncher):
    """Runs each Spark job as a job run of the project's EMR Serverless application.

    Unset fields fall back to environment variables read when used (never at import):
    WORDCLOUD_EMR_BUCKET, WORDCLOUD_EMR_REGION (else AWS_REGION), WORDCLOUD_SERVERLESS_APPLICATION_ID and
    WORDCLOUD_SERVERLESS_JOB_ROLE_ARN (both printed by ``wordcloud-infra up --serverless``).
    """

    bucket: str | None = Field(default=None, description="project bucket (code, logs, Pipes)")
    prefix: str = Field(default="wordcloud", description="key prefix inside the bucket")
    region: str | None = Field(default=None, description="AWS region")
    application_id: str | None = Field(default=None, description="the EMR Serverless application")
    job_role_arn: str | None = Field(default=None, description="the job runs' execution role")
    architecture: str = Field(
        default="x86_64",
        description="the application's architecture, which the packed Python matches",
    )
    python_packages: list[str] = Field(
        default_factory=list, description="extra PEP 508 requirements of the packed environment"
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="extra --conf per job run (vetted keys only)"
    )
    execution_timeout_minutes: int = Field(
        default=720, ge=5, description="EMR Serverless cancels a job run still going after this"
    )
    poll_initial_seconds: float = Field(default=5.0, gt=0, description="first wait between checks")
    poll_max_seconds: float = Field(default=60.0, gt=0, description="longest wait between checks")
    pipes_poll_seconds: float = Field(
        default=10.0, gt=0, description="S3 reads of messages and logs"
    )
    log_tail_lines: int = Field(default=60, ge=1, description="driver log lines shown on failure")
    prices: cost.ServerlessPrices = Field(default=cost.ServerlessPrices(), description="rates")

    @field_validator("spark_conf")
    @classmethod
    def _vetted_spark_conf(cls, conf: dict[str, str]) -> dict[str, str]:
        return check_spark_conf(conf)

    # -- settings resolved at use ------------------------------------------------------------
    def _setting(self, value: str | None, variable: str, what: str) -> str:
        resolved = value or os.environ.get(variable)
        if not resolved:
            raise ServerlessConfigError(
                f"the emr-serverless launcher needs {what}: set {variable} "
                "(`wordcloud-infra up --serverless` prints it)"
            )
        return resolved

    def application(self) -> str:
        return self._setting(
            self.application_id, "WORDCLOUD_SERVERLESS_APPLICATION_ID", "its application id"
        )

    def region_name(self) -> str:
        return clients.region_name(self.region)

    def bucket_name(self) -> str:
        return self._setting(self.bucket, "WORDCLOUD_EMR_BUCKET", "the project bucket")

    def layout(self) -> BucketLayout:
        return BucketLayout(self.bucket_name(), self.prefix)

    def root_uri(self) -> str:
        return self.layout().root_uri

    def log_uri(self) -> str:
        """Beside the EMR logs, under the prefix whose lifecycle rule expires them."""
        return f"s3://{self.layout().bucket}/{self.layout().log_key_prefix}serverless/"

    def environment_uri(self) -> str:
        key = environment_key(
            requirements(self.python_packages), PACKED_PYTHON_VERSION, self.architecture
        )
        return f"{self.layout().code_root_uri}/environments/{key}.tar.gz"

    def client(self, service: str) -> Any:
        return clients.client(service, self.region_name())

    # -- one job ---------------------------------------------------------------------------------
    def run(self, context: dg.AssetExecutionContext, job: SparkJob) -> Metrics:
        check_locations(job)
        if job.backend == "sparknlp":
            raise ServerlessConfigError(
                f"{job.name}: the sparknlp backend downloads its jar from Maven Central at run time, "
                "which an EMR Serverless application without a VPC cannot reach: use backend sparkml, "
                "or the emr launcher"
            )
        application_id = self.application()
        role = self._setting(
            self.job_role_arn, "WORDCLOUD_SERVERLESS_JOB_ROLE_ARN", "its job role ARN"
        )
        s3, serverless = self.client("s3"), self.client("emr-serverless")
        if job.script == "ingest_reviews":  # the run's first job: what the run will take and cost
            context.log.info(estimate.run_start_line(job.input, s3))
        environment = self.environment_uri()
        bucket, key = steps.split_s3(environment)
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            raise ServerlessConfigError(
                f"no packed Python at {environment} for this requirement list: run "
                "`wordcloud-infra up --serverless` (it builds and uploads it)"
            ) from None
        code = steps.ship_code(
            s3,
            self.layout().code_root_uri,
            bootstrap_script(requirements(self.python_packages)),
            context.log.info,
        )
        request = job_run.start_job_run_request(
            job=job,
            application_id=application_id,
            execution_role_arn=role,
            script_uri=code.script_uri(job.script),
            py_files_uri=code.py_files_uri,
            environment_uri=environment,
            log_uri=self.log_uri(),
            spark_conf=self.spark_conf,
            timeout_minutes=self.execution_timeout_minutes,
            tags={"wordcloud:project": "wordcloud_pipeline"},
        )
        prefix = self.layout().pipes_key_prefix(context.run.run_id)
        client = ServerlessPipesClient(
            launcher=self,
            s3=s3,
            client=serverless,
            context_injector=PipesS3ContextInjector(
                bucket=bucket, client=s3, key_prefix=f"{prefix}/context-"
            ),
            message_reader=RunScopedS3MessageReader(
                key_prefix=prefix, bucket=bucket, client=s3, interval=self.pipes_poll_seconds
            ),
            poll_interval=self.poll_initial_seconds,
        )
        context.log.info(
            f"{job.name}: job run on {application_id}, equivalent to `{command_line(job)}`"
        )
        try:
            client.run(context=context, start_job_run_params=request)
        except JobRunEnded as ended:
            session = client.session
            refused = refusal_from_messages(session.get_custom_messages()) if session else None
            if refused is not None:
                raise refused from None
            raise self._failure(s3, ended.job_run, job) from None
        described = serverless.get_job_run(applicationId=application_id, jobRunId=client.job_run_id)
        assert client.session is not None  # set when the session opened
        metrics = metrics_of_session(client.session, job)
        context.add_output_metadata(
            cost.job_run_metadata(described["jobRun"], self.prices)
            | {"serverless_request": dg.MetadataValue.json(request)},
            output_name=context.assets_def.get_output_name_for_asset_key(context.asset_key),
        )
        return metrics

    def _failure(self, s3: Any, described: dict[str, Any], job: SparkJob) -> dg.Failure:
        app, run_id = described["applicationId"], described["jobRunId"]
        shown = []
        for stream in ("stderr", "stdout"):
            uri = job_run.driver_log_uri(self.log_uri(), app, run_id, stream)
            tail = steps.read_log_tail(s3, uri, self.log_tail_lines)
            if tail.text and tail.text.strip():
                shown.append(
                    f"--- last {self.log_tail_lines} lines of the driver's {stream} ({uri}) ---\n{tail.text}"
                )
        details = described.get("stateDetails") or ""
        return dg.Failure(
            description=(
                f"EMR Serverless job run {run_id} ({job.name}) on {app} ended {described['state']}"
                + (f": {details}" if details else "")
                + ("\n" + "\n".join(shown) if shown else "\n(no driver log in S3)")
            ),
            metadata={"serverless_application_id": app, "serverless_job_run_id": run_id},
        )
