"""A moto server on 127.0.0.1 for every AWS test, with fake credentials so nothing can reach real AWS.

The server runs in this process (``ThreadedMotoServer``) so tests can also reach moto's backend objects,
which is how the step harness completes steps moto would leave RUNNING forever. Real boto3 (and pyarrow's
S3 filesystem) talk to it over HTTP through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import boto3
import dagster as dg
import pytest
import requests
from moto.server import ThreadedMotoServer

from wordcloud_pipeline.resources.emr import EmrClusterResource, EmrSparkLauncher
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import CloudStyle, TitleProcessing
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


@pytest.fixture
def bucket(fake_aws: str) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def emr_client(fake_aws: str):
    return boto3.client("emr")


def emr_test_resource(**overrides) -> EmrClusterResource:
    return EmrClusterResource(bucket=BUCKET, **overrides)


def emr_test_launcher(emr: EmrClusterResource | None = None, **overrides) -> EmrSparkLauncher:
    """A launcher that polls every few milliseconds and does not wait for logs that never come."""
    return EmrSparkLauncher(
        emr=emr or emr_test_resource(),
        poll_initial_seconds=0.02,
        poll_max_seconds=0.1,
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


def fake_asset_context(run_id: str, log: Callable[[str], None] = lambda _: None) -> SimpleNamespace:
    """What EmrSparkLauncher.run uses of an asset's context, without a Dagster run around it; the
    metadata it adds is kept in ``.metadata``."""
    metadata: dict = {}
    return SimpleNamespace(
        log=SimpleNamespace(info=log),
        run=SimpleNamespace(run_id=run_id),
        add_output_metadata=lambda values, output_name: metadata.update(values),
        metadata=metadata,
        asset_key=dg.AssetKey("preprocessed_titles"),
        assets_def=SimpleNamespace(get_output_name_for_asset_key=lambda _: "result"),
    )
