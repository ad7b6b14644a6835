"""A moto server on 127.0.0.1 for every AWS test, with fake credentials so nothing can reach real AWS.

The server runs in this process (``ThreadedMotoServer``) so tests can also reach moto's backend objects,
which is how the step harness completes steps moto would leave RUNNING forever. Real boto3 (and pyarrow's
S3 filesystem) talk to it over HTTP through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
import requests
from moto.server import ThreadedMotoServer

from spark_scripts.job_contract import SparkJob
from wordcloud_pipeline.aws.emr import EmrClusterResource, EmrSparkLauncher
from wordcloud_pipeline.aws.infra.network import ensure_security_groups, project_security_groups
from wordcloud_pipeline.aws.infra.settings import InfraSettings, Report
from wordcloud_pipeline.jobs import spark_steps_per_run
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline_tests.aws.step_harness import (  # emr_emulation: the session's EMR nodes
    REGION,
    emr_emulation,  # noqa: F401
)

BUCKET = "wordcloud-test-project"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def enforce_iam(moto_endpoint: str):
    """Switches moto's IAM access control on (from the next request) and off again afterwards."""

    def switch_on() -> None:
        requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"0", timeout=10)

    yield switch_on
    requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)


@pytest.fixture(autouse=True)
def fake_aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> str:
    """Fake credentials and the moto endpoint for every AWS client; a clean moto state per test."""
    empty = tmp_path_factory.mktemp("aws_config")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for name in ("WORDCLOUD_EMR_BUCKET", "WORDCLOUD_EMR_CLUSTER_MODE", "WORDCLOUD_EMR_SUBNET_IDS"):
        monkeypatch.delenv(name, raising=False)
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return moto_endpoint


@pytest.fixture(autouse=True)
def quick_pipes_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a Pipes session closes, dagster keeps looking for late messages (10 s) and for step logs
    that are not there yet (60 s), for clouds that upload late. moto holds every object as soon as it
    is written, so only a step without logs (scripted failures, a cancel) would wait: 3 s and 2 s."""
    from dagster._core.pipes import utils as pipes_utils

    monkeypatch.setattr(pipes_utils, "WAIT_FOR_LOGS_AFTER_EXECUTION_INTERVAL", 3)
    monkeypatch.setattr(pipes_utils, "WAIT_FOR_LOGS_TIMEOUT", 2)


@pytest.fixture
def bucket(fake_aws: str) -> str:
    """The project bucket, and the security groups `wordcloud-infra up` makes in the default VPC
    (a cluster is refused without them)."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    provision_security_groups()
    return BUCKET


def provision_security_groups(vpc_id: str | None = None) -> dict[str, str]:
    """The project's tagged security groups in ``vpc_id`` (default VPC), as `wordcloud-infra up` makes
    them; their ids by role."""
    ec2 = boto3.client("ec2")
    settings = InfraSettings(region=REGION, bucket=BUCKET, vpc_id=vpc_id)
    ensure_security_groups(ec2, settings, Report())
    return {role: g["GroupId"] for role, g in project_security_groups(ec2, vpc_id).items()}


@pytest.fixture
def emr_client(fake_aws: str):
    return boto3.client("emr")


def emr_test_resource(**overrides) -> EmrClusterResource:
    """The EMR settings the definitions make, with the test bucket."""
    overrides.setdefault("spark_steps_per_run", spark_steps_per_run())
    overrides.setdefault("bucket", BUCKET)
    return EmrClusterResource(**overrides)


def emr_test_launcher(emr: EmrClusterResource | None = None, **overrides) -> EmrSparkLauncher:
    """A launcher that polls every few milliseconds and does not wait for logs that never come."""
    return EmrSparkLauncher(
        emr=emr or emr_test_resource(),
        poll_initial_seconds=0.02,
        poll_max_seconds=0.1,
        pipes_poll_seconds=0.5,
        log_wait_attempts=1,
        log_wait_seconds=0,
        **overrides,
    )


def active_clusters(emr) -> list[dict]:
    return emr.list_clusters(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"])[
        "Clusters"
    ]


class SentRequests:
    """Every AWS request body as botocore sent it over HTTP, by operation name (e.g. 'RunJobFlow')."""

    def __init__(self) -> None:
        self.by_operation: dict[str, list[dict]] = {}

    def __call__(self, request, event_name: str, **_) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        body = request.body or b""
        parsed: dict = {}
        if isinstance(body, bytes | str) and body[:1] in (b"{", "{"):
            parsed = json.loads(body)
        self.by_operation.setdefault(operation, []).append(parsed)

    def count(self, operation: str) -> int:
        return len(self.by_operation.get(operation, []))

    def total(self) -> int:
        return sum(len(v) for v in self.by_operation.values())


@pytest.fixture
def sent(fake_aws: str) -> Iterator[SentRequests]:
    """Records requests of every boto3 client created after this fixture (they copy the session's hooks)."""
    recorder = SentRequests()
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-send", recorder)
    yield recorder
    boto3.DEFAULT_SESSION.events.unregister("before-send", recorder)


def emr_test_resources(reviews_uri: str) -> dict[str, object]:
    """The EMR resource set with outputs in the test bucket and small clouds; spark-nlp's jar cannot be
    downloaded here, so the harness runs the native backend."""
    emr = emr_test_resource()
    return {
        "emr": emr,
        "spark_jobs": emr_test_launcher(emr),
        "storage": PipelineStorage(reviews_uri=reviews_uri, storage_uri=f"s3://{BUCKET}/storage"),
        "quality_gates": QualityGates(),
        "title_processing": TitleProcessing(backend="sparkml"),
        "cloud_style": CloudStyle(width=300, height=200, max_words=60),
    }


def upload_folder(folder: Path, bucket: str, prefix: str = "reviews") -> str:
    """Every file below ``folder`` under ``s3://bucket/prefix/`` (same relative keys); the prefix's URI."""
    s3 = boto3.client("s3")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return f"s3://{bucket}/{prefix}"


@dataclass
class Launched:
    """What ``launch_in_asset`` saw: the metrics returned, the run's log lines, the output metadata."""

    metrics: Any
    logs: list[str]
    metadata: dict[str, Any]
    run_id: str


def launch_in_asset(
    launcher: EmrSparkLauncher, job: SparkJob, instance: dg.DagsterInstance | None = None
) -> Launched:
    """``launcher.run(context, job)`` inside a real asset of a real run (a Pipes session needs one).

    The launcher's errors are raised as they are (``dg.materialize`` re-raises the asset's own).
    """
    seen: dict[str, Any] = {}

    @dg.asset(name="words_by_year")
    def probe(context) -> dg.MaterializeResult:  # no annotation: this module has lazy annotations
        seen["metrics"] = launcher.run(context, job)
        return dg.MaterializeResult()

    with ExitStack() as stack:
        if instance is None:
            instance = stack.enter_context(dg.instance_for_test())
        result = dg.materialize([probe], instance=instance)
        (materialization,) = result.asset_materializations_for_node("words_by_year")
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    return Launched(seen["metrics"], logs, metadata, result.run_id)


def pipes_messages_of(step_args: list[str]) -> dict[str, str]:
    """The Pipes bootstrap arguments of a step, as the script's params loader reads them."""
    from spark_scripts.job_cli import pipes_params

    params = pipes_params(step_args)
    assert params is not None, f"the step carries no Pipes arguments: {step_args}"
    return params


def report_through_pipes(step_args: list[str], *payloads: Any) -> None:
    """Plays a script's Pipes side for a step that is not really run: loads the context from S3 and
    writes ``payloads`` as custom messages with dagster-pipes' own S3 writer, as job_cli does."""
    from dagster_pipes import (
        PipesContext,
        PipesMappingParamsLoader,
        PipesS3ContextLoader,
        PipesS3MessageWriter,
    )

    s3 = boto3.client("s3")
    loader = PipesMappingParamsLoader(pipes_messages_of(step_args))
    with PipesContext(
        loader, PipesS3ContextLoader(s3), PipesS3MessageWriter(s3, interval=0)
    ) as pipes:
        pipes.log.info("fake step: reporting")
        for payload in payloads:
            pipes.report_custom_message(payload)
