"""The Maven packages Spark resolves for the scripts, and the settings that switch them on.

One place for every launcher: the local session's ``spark.jars.packages``, ``spark-submit --packages`` and
an EMR step's ``--packages``/``--conf``. Spark resolves the coordinates from Maven Central into the Ivy cache
(``~/.ivy2``) on first use; later sessions reuse the cache. Versions follow pyspark 3.5.6 (Scala 2.12), the
Spark of the default EMR release.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

SCALA_VERSION = "2.12"

# Delta Lake 3.3 is the line built for Spark 3.5; EMR 7 ships the same line natively.
DELTA_VERSION = "3.3.2"
DELTA = f"io.delta:delta-spark_{SCALA_VERSION}:{DELTA_VERSION}"
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

# spark-nlp: the `sparknlp` backend's annotators. 5.5 is the newest line whose Spark 3 build
# (spark-nlp_2.12, for Spark 3.0-3.5) Maven Central serves here; the PyPI package of the same version
# (pinned in pyproject.toml, installed on EMR by the bootstrap) is its Python side and holds no jar.
SPARK_NLP_VERSION = "5.5.3"
# Its deep-learning engines, which the dictionary pipeline never loads and which Maven Central does not
# serve here (resolving them fails). Without them spark-nlp's first download is 92 jars, 287 MB.
SPARK_NLP_EXCLUDES = (
    "com.johnsnowlabs.nlp:tensorflow-cpu_2.12",
    "com.johnsnowlabs.nlp:jsl-llamacpp-cpu_2.12",
    "com.johnsnowlabs.nlp:jsl-openvino-cpu_2.12",
)


def spark_nlp_coordinate(spark_version: str) -> str:
    """The spark-nlp jar built for ``spark_version``: ``spark-nlp_2.12`` serves every Spark 3.x.

    spark-nlp 5.5 has no Spark 4 build; a Spark 4 runtime needs spark-nlp 6+ (``spark-nlp_2.13``).
    """
    major = spark_version.split(".")[0]
    if major != "3":
        raise ValueError(
            f"spark-nlp {SPARK_NLP_VERSION} supports Spark 3.x (Scala 2.12), not Spark {spark_version}: "
            "use an EMR 7 release, or the sparkml backend"
        )
    return f"com.johnsnowlabs.nlp:spark-nlp_{SCALA_VERSION}:{SPARK_NLP_VERSION}"


def local_spark_nlp() -> str:
    """The coordinate for the installed pyspark."""
    import pyspark

    return spark_nlp_coordinate(pyspark.__version__)


def backend_packages(backend: str | None) -> tuple[str, ...]:
    """The Maven packages an NLP backend needs on top of the session's (only ``sparknlp`` needs any)."""
    return (local_spark_nlp(),) if backend == "sparknlp" else ()


# S3A, the Hadoop S3 connector of pyspark 3.5.6's bundled Hadoop (3.3.4; versions must match exactly). Its
# aws-java-sdk-bundle comes with it from Maven. EMR reads s3:// through its own EMRFS instead: the tests'
# emulated cluster puts this on the classpath in EMRFS's place (wordcloud_pipeline_tests/aws/emr_image.py).
HADOOP_VERSION = "3.3.4"
HADOOP_AWS = f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}"


def packages_conf(*coordinates: str) -> dict[str, str]:
    """``spark.jars.packages`` for ``coordinates`` (duplicates dropped, order kept), plus the
    ``spark.jars.excludes`` that keep spark-nlp's unused engines out."""
    conf = {"spark.jars.packages": ",".join(dict.fromkeys(coordinates))}
    if any(":spark-nlp" in c for c in coordinates):
        conf["spark.jars.excludes"] = ",".join(SPARK_NLP_EXCLUDES)
    return conf


def submit_args(*coordinates: str, conf: dict[str, str] | None = None) -> list[str]:
    """``spark-submit`` options that load ``coordinates`` (Delta by default) and switch them on.

    A script started by ``spark-submit`` gets its JVM before any Python runs, so the packages must be on
    the command line; a session the scripts build themselves would be too late to add jars.
    """
    coordinates = coordinates or (DELTA,)
    settings = {**DELTA_CONF, **packages_conf(*coordinates), **(conf or {})}
    args = ["--packages", settings.pop("spark.jars.packages")]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    return args


def configured_packages(conf: dict[str, str]) -> list[str]:
    return [c for c in conf.get("spark.jars.packages", "").split(",") if c]


class PackageResolutionError(RuntimeError):
    """Spark could not start because it could not resolve its Maven packages (typically offline)."""


def resolution_error(coordinates: Sequence[str], conf: dict[str, str]) -> PackageResolutionError:
    """The error to raise when a session with ``coordinates`` failed to start: what, and how to provide it."""
    ivy = conf.get("spark.jars.ivy") or _submit_arg("spark.jars.ivy") or str(Path.home() / ".ivy2")
    listed = ", ".join(coordinates)
    return PackageResolutionError(
        f"Spark could not start with the Maven packages {listed}: resolving them failed (the JVM's "
        "output above names the unresolved module; an offline machine cannot reach Maven Central). "
        f"Provide them in one of these ways: run once where Maven Central is reachable, which fills the "
        f"Ivy cache {ivy} for later offline runs (copy that folder to the offline machine); or download "
        "the jars yourself and give Spark their paths (spark.jars in $SPARK_HOME/conf/spark-defaults.conf, "
        "PYSPARK_SUBMIT_ARGS='--jars ... pyspark-shell', or spark-submit --jars; run config may not set "
        "them); or use the sparkml backend, which needs no spark-nlp jar."
    )


def _submit_arg(key: str) -> str | None:
    """A ``--conf key=value`` given to the JVM's launch through ``PYSPARK_SUBMIT_ARGS``, if any."""
    words = os.environ.get("PYSPARK_SUBMIT_ARGS", "").split()
    for flag, value in itertools.pairwise(words):
        if flag == "--conf" and value.startswith(f"{key}="):
            return value.split("=", 1)[1]
    return None
