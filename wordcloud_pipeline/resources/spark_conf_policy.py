"""Which Spark settings run config may set: an allowlist shared by the local and the EMR launcher.

Spark settings are code in disguise: ``spark.driver.extraJavaOptions=-XX:OnOutOfMemoryError="..."`` runs a
command on the host, ``spark.jars`` / ``spark.*.extraClassPath`` / ``spark.sql.extensions`` load classes,
``spark.python.worker.*`` and ``spark.pyspark.python`` name programs to execute. Anyone who can launch a run
in the UI can set run config, so only vetted keys are accepted, each with the shape of value it takes
(a size, a number, a boolean, ...): a value cannot smuggle a path or a command into an allowed key either.
Settings the project itself needs (Delta, Maven packages) live in code, not in run config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_INT = re.compile(r"\d{1,9}")
_SIZE = re.compile(r"\d{1,9}[kKmMgGtT]?[bB]?")
_BOOL = re.compile(r"true|false")
_FRACTION = re.compile(r"0?\.\d{1,6}|0|1(\.0*)?")
_DURATION = re.compile(r"\d{1,9}(ms|s|m|min|h|d)?")
_TIME_ZONE = re.compile(r"UTC|GMT|[A-Za-z]{1,20}/[A-Za-z_]{1,30}|[+-]\d{2}:\d{2}")
_LOCAL_MASTER = re.compile(r"local(\[(\d{1,3}|\*)\])?")
_OVERWRITE_MODE = re.compile(r"static|dynamic")

VALUE_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "int": (_INT, "a whole number"),
    "size": (_SIZE, "a size such as 512m or 4g"),
    "bool": (_BOOL, "true or false"),
    "fraction": (_FRACTION, "a number between 0 and 1"),
    "duration": (_DURATION, "a duration such as 120s"),
    "time_zone": (_TIME_ZONE, "a time zone such as UTC or Europe/Paris"),
    "local_master": (_LOCAL_MASTER, "local, local[N] or local[*]"),
    "overwrite_mode": (_OVERWRITE_MODE, "static or dynamic"),
}

# Exact keys run config may set, with the shape of their value.
ALLOWED_KEYS: dict[str, str] = {
    "spark.sql.shuffle.partitions": "int",
    "spark.default.parallelism": "int",
    "spark.sql.files.maxPartitionBytes": "size",
    "spark.sql.autoBroadcastJoinThreshold": "size",
    "spark.sql.broadcastTimeout": "duration",
    "spark.sql.session.timeZone": "time_zone",
    "spark.sql.sources.partitionOverwriteMode": "overwrite_mode",
    "spark.executor.memory": "size",
    "spark.executor.memoryOverhead": "size",
    "spark.executor.cores": "int",
    "spark.executor.instances": "int",
    "spark.driver.memory": "size",
    "spark.driver.memoryOverhead": "size",
    "spark.driver.cores": "int",
    "spark.driver.maxResultSize": "size",
    "spark.memory.fraction": "fraction",
    "spark.memory.storageFraction": "fraction",
    "spark.task.cpus": "int",
    "spark.task.maxFailures": "int",
    "spark.network.timeout": "duration",
    "spark.speculation": "bool",
    "spark.kryoserializer.buffer.max": "size",
    "spark.ui.enabled": "bool",
    "spark.ui.showConsoleProgress": "bool",
    "spark.databricks.delta.snapshotPartitions": "int",
    # Only a local master: a URL would send the job (and the data) to another cluster.
    "spark.master": "local_master",
}
# Families of keys whose every member is a number, size, duration or boolean.
ALLOWED_PREFIXES: tuple[str, ...] = ("spark.sql.adaptive.", "spark.dynamicAllocation.")
_PREFIX_VALUE = re.compile(r"true|false|\d{1,9}(\.\d{1,6})?([kKmMgGtT][bB]?|ms|s|m|min|h)?")

# Refused with a specific reason, checked before the allowlist so the message says why.
_REFUSED: list[tuple[Callable[[str], bool], str]] = [
    (
        lambda k: k.endswith(("extraJavaOptions", "defaultJavaOptions")),
        "JVM options can run commands",
    ),
    (lambda k: "extraClassPath" in k or "extraLibraryPath" in k, "it loads code from a path"),
    (lambda k: k.startswith(("spark.jars", "spark.files", "spark.archives")), "it loads code"),
    (lambda k: k.startswith("spark.sql.extensions") or ".plugins" in k, "it loads classes"),
    (lambda k: "python" in k.lower() or k.startswith("spark.r."), "it names a program to execute"),
]


class SparkConfError(ValueError):
    """A Spark setting that run config may not set; the message names it and says why."""


def check_spark_conf(conf: Mapping[str, str], field: str = "spark_conf") -> dict[str, str]:
    """Returns ``conf`` if every key is vetted and every value has its key's shape; else raises.

    Used as a pydantic field validator by every config field that sets Spark settings (both launchers'
    ``spark_conf``, the EMR cluster's ``spark_defaults``; ``field`` names it in the message), so a bad
    setting fails when the run's config is checked, before any Spark (or cluster) starts.
    """
    problems = []
    for key, value in conf.items():
        value = str(value)
        reason = next((why for refused, why in _REFUSED if refused(key)), None)
        if reason is not None:
            problems.append(f"{key} is refused: {reason}")
            continue
        if key in ALLOWED_KEYS:
            pattern, shape = VALUE_SHAPES[ALLOWED_KEYS[key]]
            if not pattern.fullmatch(value.strip()):
                problems.append(f"{key}={value!r} is refused: expected {shape}")
            continue
        if key.startswith(ALLOWED_PREFIXES):
            if not _PREFIX_VALUE.fullmatch(value.strip()):
                problems.append(f"{key}={value!r} is refused: expected a number, size or boolean")
            continue
        problems.append(f"{key} is not an allowed setting")
    if problems:
        allowed = ", ".join([*ALLOWED_KEYS, *(f"{p}*" for p in ALLOWED_PREFIXES)])
        raise SparkConfError(f"{field}: " + "; ".join(problems) + f". Allowed settings: {allowed}")
    return dict(conf)
