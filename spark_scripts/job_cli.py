"""What every script's entry point shares: the typed job from argv, the gated commit of years, and
reporting progress and metrics, through Dagster Pipes when a launcher opened a session.

A script is launched in one of three ways, and reports the same lines in each:
- by ``LocalSparkLauncher``, in-process: the session's params come as a mapping (``PipesMappingParamsLoader``);
  context and messages are local temp files (``PipesDefaultContextLoader`` / ``PipesDefaultMessageWriter``);
- by ``EmrSparkLauncher``, as an EMR step: the params come as the ``--dagster-pipes-context`` /
  ``--dagster-pipes-messages`` arguments of the step; context and messages are S3 objects
  (``PipesS3ContextLoader`` / ``PipesS3MessageWriter``, boto3 on the node);
- by ``EmrServerlessSparkLauncher``, as an EMR Serverless job run: the same S3 objects, the params in the
  driver's environment (``DAGSTER_PIPES_CONTEXT`` / ``DAGSTER_PIPES_MESSAGES``);
- by hand (``spark-submit spark_scripts/count_words.py --input ...``): no Pipes; progress and a
  ``METRICS {json}`` line go to stdout.
Progress lines go to stdout in every case, so an EMR step's stdout log reads the same as the run's log.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_scripts import delta_table, job_contract, year_gate
from spark_scripts.domain import format_years, parse_years
from spark_scripts.job_contract import Commit, Metrics, SparkJob

__all__ = ["commit_years", "format_years", "parse_years", "pipes_params", "report", "run_main"]

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """The progress of a script called as a function (tests, benchmarks): nothing is printed."""


PIPES_CONTEXT = "DAGSTER_PIPES_CONTEXT"
PIPES_MESSAGES = "DAGSTER_PIPES_MESSAGES"


def commit_years(
    frame: DataFrame,
    output: str,
    years: Sequence[int],
    new_rows: Mapping[int, int],
    max_drop_fraction: float,
) -> Commit:
    """Gate, then replace ``years`` of the Delta table at ``output`` by ``frame`` in one commit.

    ``new_rows`` is each year's row count in ``frame`` (the scripts compute it anyway for their
    metrics). A year that would collapse raises ``YearCollapseError`` before anything is written, so the
    table keeps its previous version. Returns the commit's version and the rows before and after.
    """
    spark = frame.sparkSession
    delta_table.check_writable_target(spark, output)
    before = delta_table.rows_per_year(spark, output, years)
    year_gate.check_years(output, before, new_rows, years, max_drop_fraction)
    version = delta_table.replace_years(frame, output, years)
    return Commit(**delta_table.summary(version, before, {y: new_rows.get(y, 0) for y in years}))


def pipes_params(
    argv: Sequence[str], environ: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """The Pipes bootstrap params a launcher passed, or None (no Pipes session).

    Looked for in ``argv`` first (``--dagster-pipes-context`` / ``--dagster-pipes-messages``, an EMR
    step's), then in ``environ`` (``DAGSTER_PIPES_CONTEXT`` / ``DAGSTER_PIPES_MESSAGES``: dagster-aws's
    EMR Serverless client sets them as the driver's environment). Both are needed for a session.
    dagster-pipes is imported only for argv: a run by hand needs nothing of Dagster installed.
    """
    environ = os.environ if environ is None else environ
    if any(arg.startswith("--dagster-pipes-") for arg in argv):
        from dagster_pipes import DAGSTER_PIPES_CLI_PARSER

        known, _ = DAGSTER_PIPES_CLI_PARSER.parse_known_args(list(argv))
        if known.dagster_pipes_context and known.dagster_pipes_messages:
            return {
                PIPES_CONTEXT: known.dagster_pipes_context,
                PIPES_MESSAGES: known.dagster_pipes_messages,
            }
    if environ.get(PIPES_CONTEXT) and environ.get(PIPES_MESSAGES):
        return {PIPES_CONTEXT: environ[PIPES_CONTEXT], PIPES_MESSAGES: environ[PIPES_MESSAGES]}
    return None


class _Reporter:
    """Progress and metrics to a Pipes session when there is one, and to stdout unless ``echo`` is off.

    stdout is a step's own log on EMR (and all a run by hand has); a script the local launcher runs in
    its own process would only print each line a second time beside the run's log."""

    def __init__(self, script: str, pipes: Any = None, echo: bool = True):
        self.script = script
        self.pipes = pipes
        self.echo = echo or pipes is None

    def log(self, message: str) -> None:
        if self.echo:
            sys.stdout.write(f"[{self.script}] {message}\n")
            sys.stdout.flush()
        if self.pipes is not None:
            self.pipes.log.info(message)

    def metrics(self, metrics: Metrics) -> None:
        payload = job_contract.metrics_message(metrics)
        if self.pipes is not None:
            self.pipes.report_custom_message(payload)
        if self.echo:
            sys.stdout.write(f"METRICS {json.dumps(metrics.to_dict(), sort_keys=True)}\n")

    def refused(self, error: year_gate.YearCollapseError) -> None:
        if self.pipes is not None:
            self.pipes.report_custom_message(year_gate.refusal_message(error))


@contextmanager
def report(script: str, params: Mapping[str, str] | None, echo: bool = True) -> Iterator[_Reporter]:
    """A reporter for one run of ``script``; with ``params``, inside a Pipes session that closes (and
    flushes its messages) when the run ends, reporting the run's exception if it raised.

    The Pipes context is built directly rather than by ``open_dagster_pipes()``: that one keeps a
    process-wide singleton and returns it, closed, to the second script a local run calls in the same
    process. The loader and writer follow the params' shape: an S3 location (``bucket``) as written by
    dagster-aws's ``PipesS3ContextInjector`` / ``PipesS3MessageReader``, else local files.
    """
    if params is None:
        yield _Reporter(script)
        return
    from dagster_pipes import (
        PipesContext,
        PipesDefaultContextLoader,
        PipesDefaultMessageWriter,
        PipesMappingParamsLoader,
        PipesS3ContextLoader,
        PipesS3MessageWriter,
        decode_param,
    )

    loader = PipesMappingParamsLoader(params)
    context_params = decode_param(params[PIPES_CONTEXT])
    if "bucket" in context_params:
        s3 = s3_client_for(context_params["bucket"])
        # Messages are uploaded in chunks: a short interval lets stage logs arrive while the step runs.
        context_loader, writer = PipesS3ContextLoader(s3), PipesS3MessageWriter(s3, interval=5)
    else:
        context_loader, writer = PipesDefaultContextLoader(), PipesDefaultMessageWriter()
    with PipesContext(loader, context_loader, writer) as pipes:
        reporter = _Reporter(script, pipes, echo)
        try:
            yield reporter
        except year_gate.YearCollapseError as error:
            reporter.refused(error)
            raise


def s3_client_for(bucket: str) -> Any:
    """An S3 client in ``bucket``'s own region.

    The nodes (EMR steps, EMR Serverless job runs) have no configured region: a client without one
    signs for us-east-1 and follows a redirect on each call to a bucket elsewhere, and cannot reach one in
    an opt-in region at all. ``HeadBucket`` answers with the bucket's region even when it refuses.
    """
    import boto3  # only remote runs need it: the bootstrap and the packed Python install it
    from botocore.exceptions import ClientError

    session = boto3.session.Session()
    if session.region_name:
        return session.client("s3")
    probe = session.client("s3", region_name="us-east-1")
    try:
        headers = probe.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as error:
        headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return session.client("s3", region_name=headers.get("x-amz-bucket-region") or "us-east-1")


def run_main(
    script: str,
    description: str,
    run: Callable[[SparkSession, SparkJob, Progress], Metrics],
    argv: Sequence[str] | None,
    pipes: Mapping[str, str] | None = None,
) -> Metrics:
    """Parses ``argv`` into the typed job, runs it on the active (or a new) session and reports.

    ``pipes``: the session's bootstrap params when the caller has them as a mapping (the local
    launcher); otherwise they are looked for among ``argv`` (an EMR step's ``--dagster-pipes-*``), then in
    the environment (an EMR Serverless job run's driver).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    job = SparkJob.from_argv(script, argv, description)
    params = pipes if pipes is not None else pipes_params(argv)
    # Params handed over as a mapping come from the local launcher, whose run log shows every line.
    with report(script, params, echo=pipes is None) as reporter:
        # The local launcher's session when it runs the script in its process (asking the builder for
        # it with an app name would log Spark's "Using an existing Spark session" warning every job).
        spark = (
            SparkSession.getActiveSession() or SparkSession.builder.appName(script).getOrCreate()
        )
        reporter.log(f"{job.name}: reading {job.input}, writing {job.output}")
        metrics = run(spark, job, reporter.log)
        reporter.metrics(metrics)
    return metrics
