"""The Maven packages Spark resolves for the scripts, and the settings that switch them on.

One place for every launcher: the local session's ``spark.jars.packages``, ``spark-submit --packages`` and
an EMR step's ``--packages``/``--conf``. Spark resolves the coordinates from Maven Central into the Ivy cache
(``~/.ivy2``) on first use; later sessions reuse the cache. Versions follow pyspark 3.5.6 (Scala 2.12), the
Spark of the default EMR release.
"""

from __future__ import annotations

SCALA_VERSION = "2.12"

# Delta Lake 3.3 is the line built for Spark 3.5; EMR 7 ships the same line natively.
DELTA_VERSION = "3.3.2"
DELTA = f"io.delta:delta-spark_{SCALA_VERSION}:{DELTA_VERSION}"
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


# S3A, the Hadoop S3 connector of pyspark 3.5.6's bundled Hadoop (3.3.4; versions must match exactly). Its
# aws-java-sdk-bundle comes with it from Maven. EMR reads s3:// through its own EMRFS instead: the tests'
# emulated cluster puts this on the classpath in EMRFS's place (wordcloud_pipeline_tests/aws/emr_image.py).
HADOOP_VERSION = "3.3.4"
HADOOP_AWS = f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}"


def packages_conf(*coordinates: str) -> dict[str, str]:
    """``spark.jars.packages`` for ``coordinates`` (duplicates dropped, order kept)."""
    return {"spark.jars.packages": ",".join(dict.fromkeys(coordinates))}


def submit_args(*coordinates: str, conf: dict[str, str] | None = None) -> list[str]:
    """``spark-submit`` options that load ``coordinates`` (Delta by default) and switch them on.

    A script started by ``spark-submit`` gets its JVM before any Python runs, so the packages must be on
    the command line; a session the scripts build themselves would be too late to add jars.
    """
    settings = {**DELTA_CONF, **(conf or {})}
    args = ["--packages", ",".join(dict.fromkeys(coordinates or (DELTA,)))]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    return args
