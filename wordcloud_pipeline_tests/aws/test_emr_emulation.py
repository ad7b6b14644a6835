"""The emulated EMR nodes themselves: steps run by spark-submit on a standalone cluster, S3 through S3A,
and the nodes' Python built from the bootstrap's own package list (see step_harness.py).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import boto3
import dagster as dg
import pytest

from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.aws.emr import config as emr_config
from wordcloud_pipeline.aws.emr.config import CLUSTER_PYTHON, ClusterConfig
from wordcloud_pipeline.aws.emr.job_flow import bootstrap_script
from wordcloud_pipeline.aws.emr.steps import split_s3, step_log_uri
from wordcloud_pipeline_tests.aws import emr_image, node_python
from wordcloud_pipeline_tests.aws.conftest import (
    BUCKET,
    emr_test_launcher,
    emr_test_resource,
    emr_test_resources,
    upload_folder,
)
from wordcloud_pipeline_tests.aws.step_harness import StepHarness
from wordcloud_pipeline_tests.conftest import instance_with_years

# The packages the EMR bootstrap installs before issue 13's fix: no numpy (defect 2).
WITHOUT_NUMPY = [p for p in emr_config.BOOTSTRAP_PACKAGES if not p.startswith("numpy==")]


@pytest.fixture
def reviews_in_s3(bucket: str, sample_parquet: Path) -> str:
    return upload_folder(sample_parquet, bucket)


def cluster_installing(monkeypatch: pytest.MonkeyPatch, packages: list[str]) -> ClusterConfig:
    """A cluster whose bootstrap pip-installs exactly ``packages``."""
    if hasattr(
        emr_config, "BOOTSTRAP_PACKAGES"
    ):  # the scripts' own minimum, installed before extras
        monkeypatch.setattr(emr_config, "BOOTSTRAP_PACKAGES", tuple(packages))
        return ClusterConfig(python_packages=[])
    return ClusterConfig(python_packages=packages)


def titles_for_2004(emulation, reviews_uri: str, cluster: ClusterConfig):
    """Two EMR steps (ingested_reviews, then preprocessed_titles for 2004) on a cluster configured as
    ``cluster``."""
    emr = emr_test_resource(cluster=cluster)
    resources = {
        **emr_test_resources(reviews_uri),
        "emr": emr,
        "spark_jobs": emr_test_launcher(emr),
    }
    with dg.instance_for_test() as instance, StepHarness(emulation, instance) as harness:
        instance_with_years(instance)
        result = dg.materialize(
            [ingested_reviews, preprocessed_titles],
            resources=resources,
            instance=instance,
            partition_key="2004",
            raise_on_error=False,
        )
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    return result, harness, emr, logs


def test_the_nodes_python_comes_from_the_generated_bootstrap_script():
    script = bootstrap_script(["spark-nlp==7.0.0", "numpy==2.2.6"])
    wanted = node_python.parse_bootstrap(script)
    assert wanted.python == CLUSTER_PYTHON
    assert wanted.packages == ("spark-nlp==7.0.0", "numpy==2.2.6")
    assert wanted.version == (3, 11)
    # A bootstrap that pip-installs nothing still provides the dnf-installed interpreter, bare.
    assert node_python.parse_bootstrap(bootstrap_script([])).packages == ()


def test_spark_defaults_are_the_clusters_own_plus_what_emr_adds():
    jars = {"emrfs": [Path("/jars/hadoop-aws.jar")], "delta": [Path("/jars/delta-spark.jar")]}
    spark_defaults = {
        "Classification": "spark-defaults",
        "Properties": {"spark.sql.session.timeZone": "UTC", "spark.executor.memory": "18g"},
    }
    delta = {"Classification": "delta-defaults", "Properties": {"delta.enabled": "true"}}
    common = {"master_url": "spark://127.0.0.1:7077", "s3_endpoint": "http://127.0.0.1:5000"}

    with_delta = emr_image.spark_defaults([spark_defaults, delta], jars=jars, **common)
    assert with_delta["spark.sql.session.timeZone"] == "UTC"  # the cluster's own, kept
    assert with_delta["spark.executor.memory"] == emr_image.SIZING["spark.executor.memory"]
    assert with_delta["spark.master"] == "spark://127.0.0.1:7077"
    assert with_delta["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert with_delta["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5000"
    assert with_delta["spark.driver.extraClassPath"] == "/jars/hadoop-aws.jar:/jars/delta-spark.jar"
    # Like EMR, Delta's jars only with delta-defaults' delta.enabled; the session settings never.
    without = emr_image.spark_defaults([spark_defaults], jars=jars, **common)
    assert without["spark.executor.extraClassPath"] == "/jars/hadoop-aws.jar"
    assert "spark.sql.extensions" not in with_delta


def test_step_runs_as_spark_submit_on_the_standalone_cluster_through_s3a(
    emr_emulation, reviews_in_s3, monkeypatch
):
    cluster = cluster_installing(monkeypatch, list(emr_config.BOOTSTRAP_PACKAGES))
    apps_before = len(emr_emulation.cluster.master_state()["completedapps"])

    result, harness, emr, logs = titles_for_2004(emr_emulation, reviews_in_s3, cluster)

    assert result.success, harness.handled
    assert [(h.outcome, h.returncode) for h in harness.handled] == [("run", 0), ("run", 0)]
    step = harness.handled[-1]  # preprocessed_titles
    # The drivers were spark-submit applications of the standalone master, not this process.
    assert len(emr_emulation.cluster.master_state()["completedapps"]) == apps_before + 2

    # Only Spark, through S3A, writes the titles; they are in (moto) S3.
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="storage/preprocessed_titles/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert any("year=2004/" in key and key.endswith(".parquet") for key in keys), keys
    assert not any("year=2003/" in key for key in keys)

    # EMR's log layout: the launcher could read this stderr, and it is spark-submit's own.
    log_bucket, log_key = split_s3(
        step_log_uri(emr.layout().log_uri, step.cluster_id, step.step_id)
    )
    uploaded = gzip.decompress(s3.get_object(Bucket=log_bucket, Key=log_key)["Body"].read())
    assert uploaded.decode() == step.stderr

    # The cluster's spark-defaults classification applied with its keys as sent (moto snake_cases them).
    conf = emr_emulation.workdir / "clusters" / step.cluster_id / "conf" / "spark-defaults.conf"
    assert "spark.sql.session.timeZone UTC" in conf.read_text().splitlines()

    # The nodes' Python is bare: the bootstrap's packages and nothing of the test's venv.
    python = harness.node_pythons[step.cluster_id]
    names = node_python.installed(python)
    assert {"spark-nlp", "numpy", "dagster-pipes", "boto3"} <= names
    assert not {"dagster", "pyarrow", "pyspark", "pytest"} & names

    # Dagster Pipes end to end: the spark-submit'd script wrote its messages into (moto) S3 under the
    # run's prefix; the launcher's S3 message reader turned them into the run's log and the metrics.
    pipes = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"wordcloud/runs/{result.run_id}/pipes/")
    chunks = [o["Key"] for o in pipes.get("Contents", []) if o["Key"].endswith(".json")]
    assert chunks, "no Pipes messages in S3"
    metadata = result.asset_materializations_for_node("preprocessed_titles")[0].metadata
    rows_read, tokens = metadata["rows_read"].value, metadata["tokens"].value
    assert rows_read > 0 and tokens > 0
    ingested = result.asset_materializations_for_node("ingested_reviews")[0].metadata["rows_read"]
    assert any(re.match(rf"^read {ingested.value:,} rows from \d+ parquet file", m) for m in logs)
    assert any(m.startswith(f"read {rows_read:,} rows from the reviews table's") for m in logs)
    assert f"wrote {tokens:,} words for 2004 (was 0)" in logs
    # The same stage lines are in the step's own stdout, which the log readers forwarded too.
    stdout_key = split_s3(
        step_log_uri(emr.layout().log_uri, step.cluster_id, step.step_id, "stdout")
    )[1]
    stdout = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=stdout_key)["Body"].read()).decode()
    assert f"[preprocess_titles] wrote {tokens:,} words for 2004 (was 0)" in stdout
    assert not any("[pipes] did not receive" in m for m in logs)


def test_step_importing_what_the_bootstrap_does_not_install_fails_with_its_traceback(
    emr_emulation, reviews_in_s3, monkeypatch
):
    """Issue 13, defect 2: pyspark.ml needs numpy, which a spark-nlp-only bootstrap never installs.

    The traceback is in the step's stdout.gz, not stderr.gz (spark-submit merges the Python driver's
    stderr into its own stdout), so the launcher must show both tails.
    """
    cluster = cluster_installing(monkeypatch, WITHOUT_NUMPY)
    result, harness, emr, _ = titles_for_2004(emr_emulation, reviews_in_s3, cluster)

    assert not result.success
    # The ingest needs no numpy; preprocessing (pyspark.ml) does.
    ingest, step = harness.handled
    assert ingest.outcome == "run"
    assert step.outcome == "script-failed" and step.returncode != 0
    missing = "ModuleNotFoundError: No module named 'numpy'"
    s3 = boto3.client("s3")
    log_bucket, stdout_key = split_s3(
        step_log_uri(emr.layout().log_uri, step.cluster_id, step.step_id, "stdout")
    )
    stdout = gzip.decompress(s3.get_object(Bucket=log_bucket, Key=stdout_key)["Body"].read())
    assert missing in stdout.decode()
    assert missing not in step.stderr

    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "ended FAILED" in message
    assert missing in message
