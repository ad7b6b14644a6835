"""The ``StartJobRun`` request of one Spark job on EMR Serverless, and where its driver's logs land.

The job is the same typed ``SparkJob`` the EMR steps run: the entry point is the shipped script, its
arguments are ``job.argv()``, the ``spark_scripts`` zip comes through ``--py-files``. What differs from a step
is only what the image lacks or has:

- **Python**: the packed environment (``packed_env``) through ``spark.archives``, unpacked as
  ``./environment`` on the driver and each executor, named by ``PYSPARK_PYTHON`` (executors) and, through
  EMR Serverless's ``spark.emr-serverless.driverEnv.*``, by the driver's ``PYSPARK_DRIVER_PYTHON``;
- **Delta**: the image's own jars (``/usr/share/aws/delta/lib``, EMR 7 names them ``delta-spark.jar`` and
  ``delta-storage.jar``) with Delta's two session settings, as AWS's guide for EMR Serverless says;
  no ``--packages``: nothing is downloaded at run time;
- **Pipes**: nothing here. dagster-aws's client appends the session's ``DAGSTER_PIPES_*`` values as
  ``spark.emr-serverless.driverEnv`` settings, and the scripts read them from their environment.

``sparkSubmitParameters`` is one string that dagster-aws extends by plain concatenation, so no value may
contain whitespace; a setting that does is refused here, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark_scripts import spark_packages
from spark_scripts.job_contract import SparkJob
from wordcloud_pipeline.aws.serverless.packed_env import ARCHIVE_ALIAS, PYTHON_IN_ARCHIVE

DELTA_JARS = (
    "/usr/share/aws/delta/lib/delta-spark.jar",
    "/usr/share/aws/delta/lib/delta-storage.jar",
)
DRIVER_ENV = "spark.emr-serverless.driverEnv."
DRIVER = "SPARK_DRIVER"
ACTIVE_STATES = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING")


class JobRunRequestError(ValueError):
    """A setting cannot be expressed in the job run's ``sparkSubmitParameters``."""


def python_conf(environment_uri: str) -> dict[str, str]:
    """The packed environment on every node, and the interpreter the driver and executors use."""
    return {
        "spark.archives": f"{environment_uri}#{ARCHIVE_ALIAS}",
        f"{DRIVER_ENV}PYSPARK_DRIVER_PYTHON": PYTHON_IN_ARCHIVE,
        f"{DRIVER_ENV}PYSPARK_PYTHON": PYTHON_IN_ARCHIVE,
        "spark.executorEnv.PYSPARK_PYTHON": PYTHON_IN_ARCHIVE,
    }


def delta_conf() -> dict[str, str]:
    """Delta from the image's jars (EMR 7 releases), with its session extension and catalog."""
    return {"spark.jars": ",".join(DELTA_JARS), **spark_packages.DELTA_CONF}


def spark_submit_parameters(
    py_files_uri: str, environment_uri: str, spark_conf: Mapping[str, str]
) -> str:
    settings = {**python_conf(environment_uri), **delta_conf(), **spark_conf}
    parts = ["--py-files", py_files_uri]
    for key, value in sorted(settings.items()):
        if any(c.isspace() for c in f"{key}{value}"):
            raise JobRunRequestError(
                f"spark_conf {key}={value!r}: EMR Serverless's sparkSubmitParameters is one string "
                "split on spaces; remove the whitespace"
            )
        parts += ["--conf", f"{key}={value}"]
    return " ".join(parts)


def start_job_run_request(
    *,
    job: SparkJob,
    application_id: str,
    execution_role_arn: str,
    script_uri: str,
    py_files_uri: str,
    environment_uri: str,
    log_uri: str,
    spark_conf: Mapping[str, str],
    timeout_minutes: int,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The ``StartJobRun`` parameters; dagster-aws adds the Pipes settings and its own tags."""
    return {
        "applicationId": application_id,
        "executionRoleArn": execution_role_arn,
        "name": job.name[:256],
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": script_uri,
                "entryPointArguments": job.argv(),
                "sparkSubmitParameters": spark_submit_parameters(
                    py_files_uri, environment_uri, spark_conf
                ),
            }
        },
        "configurationOverrides": {
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": log_uri}}
        },
        # The last guard: EMR Serverless cancels a job run still going after this long.
        "executionTimeoutMinutes": timeout_minutes,
        "tags": dict(tags),
    }


def driver_log_uri(log_uri: str, application_id: str, job_run_id: str, stream: str) -> str:
    """Where EMR Serverless writes the driver's logs: ``<logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/``."""
    return f"{log_uri.rstrip('/')}/applications/{application_id}/jobs/{job_run_id}/{DRIVER}/{stream}.gz"


def parse_spark_submit_parameters(parameters: str) -> tuple[list[str], dict[str, str]]:
    """``sparkSubmitParameters`` back into spark-submit's options and its ``--conf`` settings."""
    words = parameters.split()
    options: list[str] = []
    conf: dict[str, str] = {}
    i = 0
    while i < len(words):
        if words[i] == "--conf":
            key, _, value = words[i + 1].partition("=")
            conf[key] = value
            i += 2
        else:
            options.append(words[i])
            i += 1
    return options, conf
