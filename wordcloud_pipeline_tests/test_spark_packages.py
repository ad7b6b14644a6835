"""Maven packages: which backend loads what, and the error an offline machine gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from spark_scripts import spark_packages
from wordcloud_pipeline.resources.local_spark import DEFAULT_LOCAL_SPARK_CONF, session_conf

# Ivy settings with one repository nobody listens on: a machine without network, whatever this one has.
OFFLINE_IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="offline"/>
  <resolvers><ibiblio name="offline" m2compatible="true" root="http://127.0.0.1:9/maven2/"/></resolvers>
</ivysettings>
"""


def test_only_the_sparknlp_backend_loads_the_spark_nlp_jar():
    nlp = spark_packages.local_spark_nlp()
    assert nlp == f"com.johnsnowlabs.nlp:spark-nlp_2.12:{spark_packages.SPARK_NLP_VERSION}"
    assert spark_packages.backend_packages("sparkml") == ()
    assert nlp not in DEFAULT_LOCAL_SPARK_CONF["spark.jars.packages"]
    conf = session_conf({"spark.master": "local[1]"}, spark_packages.backend_packages("sparknlp"))
    assert conf["spark.jars.packages"] == f"{spark_packages.DELTA},{nlp}"
    assert "com.johnsnowlabs.nlp:tensorflow-cpu_2.12" in conf["spark.jars.excludes"]
    assert conf["spark.master"] == "local[1]"


def test_offline_the_session_fails_naming_the_coordinate_and_how_to_provide_it(tmp_path):
    """A fresh JVM (the test session's own is already up) with an empty Ivy cache and no repository."""
    settings = tmp_path / "ivysettings.xml"
    settings.write_text(OFFLINE_IVY_SETTINGS)
    # Where Ivy looks is the machine's setting, not run config (the spark_conf allowlist refuses
    # spark.jars.*): given to the JVM's launch the way an operator would, through PYSPARK_SUBMIT_ARGS.
    conf = {"spark.master": "local[1]"}
    submit_args = (
        f"--conf spark.jars.ivy={tmp_path / 'empty-ivy'} "
        f"--conf spark.jars.ivySettings={settings} pyspark-shell"
    )
    script = textwrap.dedent(
        f"""
        from spark_scripts import spark_packages
        from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
        try:
            LocalSparkLauncher(spark_conf={json.dumps(conf)}).session(
                spark_packages.backend_packages("sparknlp")
            )
        except spark_packages.PackageResolutionError as error:
            print("RESOLUTION_ERROR", error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYSPARK_SUBMIT_ARGS": submit_args},
    )
    message = done.stdout.partition("RESOLUTION_ERROR ")[2]
    assert message, done.stdout + done.stderr[-3000:]
    assert spark_packages.local_spark_nlp() in message
    assert "spark.jars" in message and str(tmp_path / "empty-ivy") in message
    assert "sparkml backend" in message
    # Spark's own report, above it, names the module it could not resolve.
    assert "unresolved dependency" in done.stderr
