"""Run config may set only vetted Spark settings, in both launchers, refused when the config is checked."""

from __future__ import annotations

import dagster as dg
import pytest

from wordcloud_pipeline.aws.emr import EmrClusterResource, EmrSparkLauncher
from wordcloud_pipeline.aws.emr.config import ClusterConfig, SparkSettings
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
from wordcloud_pipeline.resources.spark_conf_policy import SparkConfError, check_spark_conf

ISSUE_10_ATTEMPT = {
    "spark.driver.extraJavaOptions": '-XX:OnOutOfMemoryError="touch /tmp/pwned"',
    "spark.driver.memory": "16m",
}


def launchers(conf: dict[str, str]):
    yield lambda: LocalSparkLauncher(spark_conf=conf)
    yield lambda: EmrSparkLauncher(emr=EmrClusterResource(bucket="b"), spark_conf=conf)
    # The cluster's spark-defaults reach every step too.
    yield lambda: EmrClusterResource(
        bucket="b", cluster=ClusterConfig(spark=SparkSettings(spark_defaults=conf))
    )


@pytest.mark.parametrize("make", list(launchers(ISSUE_10_ATTEMPT)))
def test_the_on_out_of_memory_command_is_refused_at_config_time(make):
    with pytest.raises(
        Exception, match="extraJavaOptions is refused: JVM options can run commands"
    ):
        make()


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("spark.executor.extraJavaOptions", "-Dx=1", "JVM options"),
        ("spark.driver.extraClassPath", "/tmp/evil.jar", "loads code from a path"),
        ("spark.jars", "https://evil.example/x.jar", "loads code"),
        ("spark.jars.packages", "evil:evil:1.0", "loads code"),
        ("spark.sql.extensions", "evil.Extension", "loads classes"),
        ("spark.plugins", "evil.Plugin", "loads classes"),
        ("spark.pyspark.python", "/tmp/evil.sh", "names a program"),
        ("spark.python.worker.reuse", "true", "names a program"),
        ("spark.master", "spark://elsewhere:7077", "expected local"),
        ("spark.executor.memory", "4g; rm -rf /", "expected a size"),
        ("spark.sql.adaptive.customCostEvaluatorClass", "evil.Cost", "a number, size or boolean"),
        ("spark.hadoop.fs.s3a.endpoint", "http://evil", "not an allowed setting"),
    ],
)
def test_refused_settings_say_why(key, value, why):
    with pytest.raises(SparkConfError, match=why):
        check_spark_conf({key: value})


def test_vetted_settings_pass_unchanged():
    conf = {
        "spark.sql.shuffle.partitions": "64",
        "spark.executor.memory": "9216m",
        "spark.driver.memory": "4g",
        "spark.sql.adaptive.enabled": "true",
        "spark.dynamicAllocation.maxExecutors": "20",
        "spark.sql.session.timeZone": "UTC",
        "spark.master": "local[2]",
    }
    assert check_spark_conf(conf) == conf
    assert LocalSparkLauncher(spark_conf=conf).spark_conf == conf


def test_the_cluster_spark_defaults_refuse_code_loading_keys_in_run_config():
    spark = {"spark_defaults": {"spark.jars": "https://evil/x.jar"}}
    run_config = {"resources": {"emr": {"config": {"bucket": "b", "cluster": {"spark": spark}}}}}
    with pytest.raises(Exception) as error:
        dg.materialize(
            [needs_emr],
            resources={"emr": EmrClusterResource.configure_at_launch()},
            run_config=run_config,
        )
    causes = []
    cause: BaseException | None = error.value
    while cause is not None:
        causes.append(str(cause))
        cause = cause.__cause__
    assert any("cluster.spark.spark_defaults: spark.jars is refused" in c for c in causes), causes


@dg.asset
def needs_emr(emr: EmrClusterResource) -> None:
    """Only its config matters: the run must fail before it starts."""
