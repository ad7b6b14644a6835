"""Run config may set only vetted Spark settings, in both launchers, refused when the config is checked."""

from __future__ import annotations

import pytest

from wordcloud_pipeline.aws.emr import EmrClusterResource, EmrSparkLauncher
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
from wordcloud_pipeline.resources.spark_conf_policy import SparkConfError, check_spark_conf

ISSUE_10_ATTEMPT = {
    "spark.driver.extraJavaOptions": '-XX:OnOutOfMemoryError="touch /tmp/pwned"',
    "spark.driver.memory": "16m",
}


def launchers(conf: dict[str, str]):
    yield lambda: LocalSparkLauncher(spark_conf=conf)
    yield lambda: EmrSparkLauncher(emr=EmrClusterResource(bucket="b"), spark_conf=conf)


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
