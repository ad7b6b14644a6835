"""What an EMR release provides on its nodes without being asked, emulated for the standalone cluster.

EMR writes the cluster's ``spark-defaults`` classification into ``/etc/spark/conf/spark-defaults.conf`` and
adds its own settings there; ``spark-submit`` reads that file from ``SPARK_CONF_DIR``. The emulation writes
the same file per cluster, from the ``Configurations`` the cluster was created with (read from moto), plus:

- **EMRFS** (EMR's ``s3://`` file system): hadoop-aws's S3A in its place, pointed at the moto server
  (path-style, plain HTTP); credentials come from the environment, as an instance profile's would.
- **Delta Lake**: EMR 7 puts its Delta jars on the classpath when the ``delta-defaults`` classification has
  ``delta.enabled=true`` (EMR release guide, "Use a Delta Lake cluster with Spark"); so does the emulation,
  with delta-spark from Maven. Like EMR it does not set ``spark.sql.extensions``: the job or the cluster's
  spark-defaults must.
- **The master**: a standalone ``spark://`` master instead of YARN.

Both jar sets are resolved from Maven Central (coordinates in ``spark_scripts.spark_packages``) once per
session with the Ivy that ships in pyspark, into the shared ``~/.ivy2`` cache, and put on the driver's and
executors' class path by local path, where EMR puts ``/usr/share/aws/...``. Not through
``spark.jars.packages``: a step's own ``--packages`` would replace it, and every executor would fetch the
280 MB AWS SDK from the driver.

Resource sizing (executor/driver memory, cores, dynamic allocation) is replaced by small values that fit a
shared 2-core machine; every other spark-defaults property of the cluster is kept as given.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from spark_scripts import spark_packages
from wordcloud_pipeline_tests.aws.spark_standalone import SPARK_HOME

IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="central"/>
  <caches defaultCacheDir="${user.home}/.ivy2/cache"/>
  <resolvers>
    <ibiblio name="central" m2compatible="true" root="https://repo1.maven.org/maven2/"/>
  </resolvers>
</ivysettings>
"""
# The emulation's sizes, replacing the cluster's (which are sized for m5.2xlarge nodes).
SIZING = {
    "spark.executor.memory": "1g",
    "spark.executor.cores": "2",
    "spark.cores.max": "2",
    "spark.driver.memory": "1g",
    "spark.dynamicAllocation.enabled": "false",
    # Few cores: EMR's default of 200 tiny shuffle tasks (and 50 for Delta's log) would dominate.
    "spark.sql.shuffle.partitions": "4",
    "spark.databricks.delta.snapshotPartitions": "2",
}
SIZING_KEYS = (*SIZING, "spark.executor.memoryOverhead", "spark.executor.instances")
# No UI ports to collide with other tests; the driver on loopback like the daemons.
EMULATION_ONLY = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
}


def resolve(coordinate: str, workdir: Path) -> list[Path]:
    """The jars of a Maven coordinate and its runtime dependencies (Scala itself is Spark's)."""
    group, artifact, version = coordinate.split(":")
    workdir.mkdir(parents=True, exist_ok=True)
    ivy_jar = next((SPARK_HOME / "jars").glob("ivy-*.jar"))
    settings = workdir / "ivysettings.xml"
    settings.write_text(IVY_SETTINGS)
    with tempfile.NamedTemporaryFile("r", dir=workdir, suffix=".classpath") as out:
        done = subprocess.run(
            [
                *("java", "-jar", str(ivy_jar), "-settings", str(settings)),
                *("-dependency", group, artifact, version, "-confs", "default"),
                *("-cachepath", out.name),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise RuntimeError(f"could not resolve {coordinate}:\n{done.stdout[-3000:]}")
        jars = [Path(p) for p in out.read().strip().split(":") if p]
    return [jar for jar in jars if "/org.scala-lang/" not in jar.as_posix()]


def resolve_native_jars(workdir: Path) -> dict[str, list[Path]]:
    """``{"emrfs": hadoop-aws jars, "delta": delta-spark jars}``, resolved side by side."""
    wanted = {"emrfs": spark_packages.HADOOP_AWS, "delta": spark_packages.DELTA}
    with ThreadPoolExecutor(len(wanted)) as pool:
        futures = {
            name: pool.submit(resolve, coordinate, workdir / name)
            for name, coordinate in wanted.items()
        }
        return {name: future.result() for name, future in futures.items()}


def classification(configurations: Sequence[Mapping[str, Any]], name: str) -> dict[str, str]:
    """The properties of a top-level classification of a RunJobFlow ``Configurations`` list."""
    for entry in configurations:
        if entry.get("Classification") == name:
            return dict(entry.get("Properties") or {})
    return {}


def spark_env_exports(configurations: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The ``export`` properties of the ``spark-env`` classification (e.g. ``PYSPARK_PYTHON``)."""
    for entry in configurations:
        if entry.get("Classification") == "spark-env":
            for nested in entry.get("Configurations") or []:
                if nested.get("Classification") == "export":
                    return dict(nested.get("Properties") or {})
    return {}


def delta_enabled(configurations: Sequence[Mapping[str, Any]]) -> bool:
    return classification(configurations, "delta-defaults").get("delta.enabled") == "true"


def spark_defaults(
    configurations: Sequence[Mapping[str, Any]],
    *,
    master_url: str,
    s3_endpoint: str,
    jars: Mapping[str, Sequence[Path]],
) -> dict[str, str]:
    """The emulated node's spark-defaults.conf: the cluster's own properties plus what EMR adds."""
    cluster = classification(configurations, "spark-defaults")
    properties = {k: v for k, v in cluster.items() if k not in SIZING_KEYS}
    classpath = [*jars["emrfs"], *(jars["delta"] if delta_enabled(configurations) else [])]
    joined = ":".join(str(jar) for jar in classpath)
    native = {
        "spark.master": master_url,
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint": s3_endpoint,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "com.amazonaws.auth.EnvironmentVariableCredentialsProvider"
        ),
        # A user's extra class path would be replaced, as EMR's own entries would: say so loudly.
        "spark.driver.extraClassPath": joined,
        "spark.executor.extraClassPath": joined,
    }
    clash = sorted(
        set(properties) & {"spark.driver.extraClassPath", "spark.executor.extraClassPath"}
    )
    if clash:
        raise ValueError(f"the emulation cannot merge the cluster's own {clash} yet")
    return {**properties, **native, **SIZING, **EMULATION_ONLY}


def write_conf_dir(conf_dir: Path, defaults: Mapping[str, str]) -> Path:
    conf_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by the EMR emulation (wordcloud_pipeline_tests/aws/emr_image.py):",
        "# the cluster's spark-defaults classification plus what EMR adds, as on /etc/spark/conf.",
        *(f"{key} {value}" for key, value in sorted(defaults.items())),
    ]
    (conf_dir / "spark-defaults.conf").write_text("\n".join(lines) + "\n")
    (conf_dir / "log4j2.properties").write_text(LOG4J)
    return conf_dir


# EMR's steps log Spark at INFO; WARN keeps the uploaded stderr short enough to read in a test failure.
LOG4J = """rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""
