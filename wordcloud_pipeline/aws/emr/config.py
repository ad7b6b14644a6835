"""Typed EMR cluster settings and the checks that run before any AWS call.

Every field has a default that works in a real account; the fleets mirror the original template (on-demand
master, core on-demand + spot, optional spot-only task fleet) with several instance types per fleet so spot
capacity can come from whichever pool has room. ``check_memory`` turns the classic "executor does not fit in
a YARN container" failure, which on EMR shows up minutes later as a hung step, into an immediate error that
names the numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

import dagster as dg
from packaging.requirements import InvalidRequirement, Requirement
from pydantic import Field, field_validator

from spark_scripts import spark_packages
from wordcloud_pipeline.aws.names import DEFAULT_NAMES
from wordcloud_pipeline.resources.spark_conf_policy import check_spark_conf

# The default EMR release: Spark 3.5.6 / Scala 2.12, the same Spark minor as the local pyspark 3.5.6.
DEFAULT_RELEASE_LABEL = "emr-7.12.0"
# Spark and Scala of the releases we know (EMR release guide, "Spark release history"); a release not
# listed here needs ``spark_version`` set.
RELEASE_SPARK_VERSIONS: dict[str, tuple[str, str]] = {
    "emr-7.12.0": ("3.5.6", "2.12"),
    "emr-7.11.0": ("3.5.6", "2.12"),
    "emr-7.10.0": ("3.5.5", "2.12"),
}
# The bootstrap's spark-nlp Python package matches the jar the steps load (spark_packages).
SPARK_NLP_VERSION = spark_packages.SPARK_NLP_VERSION
# The cluster's Python: the scripts use 3.10+ syntax and AL2023 ships python3.11 as a package.
CLUSTER_PYTHON = "/usr/bin/python3.11"
# What the bootstrap pip-installs into CLUSTER_PYTHON on every node: the minimum the spark_scripts import
# beyond what EMR itself puts on the Python path (pyspark and py4j from /usr/lib/spark/python).
# numpy: ``pyspark.ml`` (the sparkml backend's StopWordsRemover) imports it; spark-nlp: the Python side of
# the sparknlp backend; dagster-pipes (the scripts' only Dagster dependency, the version pyproject pins)
# and boto3 (its S3 context loader and message writer; the dnf-installed python3.11 has no boto3): the
# scripts report to the run through Pipes. The Dagster-side readers (deltalake, pyarrow) never run on
# the nodes. This is the one list: the emulation builds its "nodes' Python" from it.
DAGSTER_PIPES_VERSION = "1.13.27"
BOOTSTRAP_PACKAGES: tuple[str, ...] = (
    "numpy==2.2.6",
    f"spark-nlp=={SPARK_NLP_VERSION}",
    f"dagster-pipes=={DAGSTER_PIPES_VERSION}",
    "boto3==1.44.8",
)
MIN_EXECUTOR_OVERHEAD_MB = 384
# What a YARN node keeps for the OS and daemons when the user overrides the node memory.
NODE_RESERVED_MB = 2048


@dataclass(frozen=True)
class InstanceSpec:
    """What the memory check needs to know about an instance type.

    ``yarn_memory_mb`` is EMR's default ``yarn.nodemanager.resource.memory-mb`` for the type (EMR release
    guide, "Task configuration").
    """

    vcpus: int
    memory_mb: int
    yarn_memory_mb: int


INSTANCE_CATALOG: dict[str, InstanceSpec] = {
    "m5.xlarge": InstanceSpec(4, 16_384, 12_288),
    "m5a.xlarge": InstanceSpec(4, 16_384, 12_288),
    "m6i.xlarge": InstanceSpec(4, 16_384, 12_288),
    "m4.xlarge": InstanceSpec(4, 16_384, 12_288),
    "m5.2xlarge": InstanceSpec(8, 32_768, 24_576),
    "m5a.2xlarge": InstanceSpec(8, 32_768, 24_576),
    "m5d.2xlarge": InstanceSpec(8, 32_768, 24_576),
    "m6i.2xlarge": InstanceSpec(8, 32_768, 24_576),
    "m4.2xlarge": InstanceSpec(8, 32_768, 24_576),
    "m5.4xlarge": InstanceSpec(16, 65_536, 57_344),
    "r5.xlarge": InstanceSpec(4, 32_768, 24_576),
    "r5.2xlarge": InstanceSpec(8, 65_536, 57_344),
    "c5.2xlarge": InstanceSpec(8, 16_384, 12_288),
}


class EmrConfigError(ValueError):
    """The EMR settings cannot work; raised before anything is created, the message says what to change."""


class FleetConfig(dg.Config):
    """An instance fleet: capacity targets in units, filled from any of ``instance_types``.

    ``instance_types`` maps each type to its weighted capacity (how many units one instance counts for).
    """

    instance_types: dict[str, int] = Field(
        description="instance type -> weighted capacity: how many units one instance counts for"
    )
    on_demand_units: int = Field(default=0, ge=0, description="on-demand capacity target, in units")
    spot_units: int = Field(default=0, ge=0, description="spot capacity target, in units")
    ebs_gb: int = Field(default=64, ge=0, description="gp3 volume per instance; 0 for none")


def default_master_fleet() -> FleetConfig:
    return FleetConfig(
        instance_types={"m5.xlarge": 1, "m5a.xlarge": 1, "m6i.xlarge": 1}, on_demand_units=1
    )


WORKER_TYPES = {"m5.2xlarge": 1, "m5a.2xlarge": 1, "m6i.2xlarge": 1, "m5.4xlarge": 2}


def default_core_fleet() -> FleetConfig:
    """On-demand only: core nodes hold HDFS and YARN's state, and losing one can fail the step."""
    return FleetConfig(instance_types=dict(WORKER_TYPES), on_demand_units=2)


def default_task_fleet() -> FleetConfig:
    """Spot only: task nodes hold no HDFS data, so an interruption costs only their running tasks."""
    return FleetConfig(instance_types=dict(WORKER_TYPES), spot_units=4)


class SparkSettings(dg.Config):
    """Executor sizing and extra Spark/YARN settings, checked against the fleets' instance types."""

    executor_memory_mb: int = Field(
        default=9_216, ge=512, description="heap of each Spark executor (spark.executor.memory), MB"
    )
    executor_memory_overhead_mb: int | None = Field(
        default=None, description="default: max(384, 10% of executor memory), as Spark does"
    )
    executor_cores: int = Field(default=4, ge=1, description="cores of each Spark executor")
    driver_memory_mb: int = Field(
        default=4_096, ge=512, description="heap of the Spark driver on the master node, MB"
    )
    yarn_node_memory_mb: int | None = Field(
        default=None,
        description="yarn.nodemanager.resource.memory-mb for every node; default: EMR's per-type value",
    )
    spark_defaults: dict[str, str] = Field(
        default_factory=dict,
        description="extra spark-defaults properties (vetted keys only, as spark_jobs.spark_conf)",
    )

    @field_validator("spark_defaults")
    @classmethod
    def _vetted_spark_defaults(cls, conf: dict[str, str]) -> dict[str, str]:
        # The cluster's spark-defaults reach every step: the same allowlist as a step's --conf.
        return check_spark_conf(conf, "cluster.spark.spark_defaults")

    def overhead_mb(self) -> int:
        if self.executor_memory_overhead_mb is not None:
            return self.executor_memory_overhead_mb
        return max(MIN_EXECUTOR_OVERHEAD_MB, self.executor_memory_mb // 10)

    def container_mb(self) -> int:
        """What YARN must grant one executor: heap plus overhead."""
        return self.executor_memory_mb + self.overhead_mb()


class ClusterConfig(dg.Config):
    """Everything that decides what ``RunJobFlow`` asks for (names of roles and groups come from infra)."""

    release_label: str = Field(
        default=DEFAULT_RELEASE_LABEL, description="EMR release, e.g. emr-7.12.0 (Spark 3.5)"
    )
    spark_version: str | None = Field(
        default=None, description="the release's Spark, when the release is not in the known table"
    )
    master_fleet: FleetConfig = Field(
        default=default_master_fleet(), description="the master node: exactly one instance"
    )
    core_fleet: FleetConfig = Field(
        default=default_core_fleet(),
        description="core nodes (HDFS and YARN state): on-demand",
    )
    task_fleet: FleetConfig = Field(
        default=default_task_fleet(),
        description="spot only; 0 units for none yet (it can still be resized later)",
    )
    spot_timeout_minutes: int = Field(
        default=10,
        ge=5,
        le=1440,
        description="how long to wait for spot capacity before switching to on-demand",
    )
    spark: SparkSettings = Field(
        default=SparkSettings(), description="executor sizing and extra Spark settings"
    )
    idle_timeout_minutes: int = Field(
        default=30, ge=1, le=10_080, description="EMR auto-termination: the last guard"
    )
    subnet_ids: list[str] = Field(default_factory=list, description="empty: the default VPC")
    master_security_group: str | None = Field(
        default=None, description="EMR-managed security group of the master; unset: EMR creates one"
    )
    worker_security_group: str | None = Field(
        default=None,
        description="EMR-managed security group of the other nodes; unset: EMR creates one",
    )
    service_access_security_group: str | None = Field(
        default=None, description="security group for EMR service access in a private subnet"
    )
    service_role: str = Field(
        default=DEFAULT_NAMES.service_role,
        description="IAM role EMR acts as (wordcloud-infra up)",
    )
    instance_profile: str = Field(
        default=DEFAULT_NAMES.instance_profile,
        description="IAM instance profile of the nodes (wordcloud-infra up)",
    )
    python_packages: list[str] = Field(
        default_factory=list,
        description="extra PEP 508 requirements pip-installed on every node by the bootstrap action, "
        "after BOOTSTRAP_PACKAGES (index packages only: no URLs, no pip options)",
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="extra tags on the cluster and its instances"
    )

    @field_validator("python_packages")
    @classmethod
    def _requirements_only(cls, packages: list[str]) -> list[str]:
        for package in packages:
            check_requirement(package)
        return packages

    def spark_and_scala(self) -> tuple[str, str]:
        if self.spark_version:
            return self.spark_version, "2.12" if self.spark_version.startswith("3.") else "2.13"
        if self.release_label not in RELEASE_SPARK_VERSIONS:
            raise EmrConfigError(
                f"release {self.release_label!r} is not in the known table "
                f"({', '.join(RELEASE_SPARK_VERSIONS)}); set spark_version to its Spark version"
            )
        return RELEASE_SPARK_VERSIONS[self.release_label]

    def fleets(self) -> dict[str, FleetConfig]:
        return {"MASTER": self.master_fleet, "CORE": self.core_fleet, "TASK": self.task_fleet}

    def fingerprint(self) -> str:
        """A short hash of everything that shapes the cluster: a shared cluster is reused only on a match."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_requirement(text: str) -> Requirement:
    """``text`` as a PEP 508 requirement on a package index, or ``EmrConfigError``.

    The bootstrap runs as root on every node; a package setting is data for pip, never shell. A direct URL
    (``name @ https://...``) would fetch code from outside the index, so it is refused too.
    """
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise EmrConfigError(
            f"python_packages entry {text!r} is not a PEP 508 requirement "
            f"(for example 'langdetect==1.0.9'): {error}"
        ) from None
    if requirement.url:
        raise EmrConfigError(
            f"python_packages entry {text!r} names a URL; only packages from the index are installed"
        )
    return requirement


def bootstrap_requirements(config: ClusterConfig) -> list[str]:
    """Everything the bootstrap installs: the scripts' own minimum, then the configured extras."""
    return [*BOOTSTRAP_PACKAGES, *config.python_packages]


def spark_nlp_coordinate(config: ClusterConfig) -> str:
    """The spark-nlp jar for the release's Spark, by the one rule in ``spark_packages``."""
    spark, _ = config.spark_and_scala()
    return spark_packages.spark_nlp_coordinate(spark)


def _spec(instance_type: str, yarn_override: int | None) -> InstanceSpec:
    known = INSTANCE_CATALOG.get(instance_type)
    if known is None and yarn_override is None:
        raise EmrConfigError(
            f"instance type {instance_type!r} is not in the catalog ({', '.join(INSTANCE_CATALOG)}); "
            "set spark.yarn_node_memory_mb so its executors can be checked"
        )
    return known or InstanceSpec(vcpus=0, memory_mb=0, yarn_memory_mb=yarn_override or 0)


def check_fleets(config: ClusterConfig) -> None:
    """Fleet shapes EMR would reject anyway, reported before a request is made."""
    master = config.master_fleet
    if master.on_demand_units + master.spot_units != 1:
        raise EmrConfigError(
            "the master fleet runs exactly one instance: set on_demand_units=1 (or spot_units=1), "
            f"not {master.on_demand_units} on-demand + {master.spot_units} spot"
        )
    if config.core_fleet.on_demand_units + config.core_fleet.spot_units < 1:
        raise EmrConfigError("the core fleet needs at least one capacity unit")
    if config.task_fleet.on_demand_units:
        raise EmrConfigError(
            f"the task fleet is spot only: on_demand_units is {config.task_fleet.on_demand_units}"
        )
    for role, fleet in config.fleets().items():
        if not fleet.instance_types:
            raise EmrConfigError(f"the {role.lower()} fleet lists no instance type")
        if len(fleet.instance_types) > 30:
            raise EmrConfigError(f"the {role.lower()} fleet lists more than 30 instance types")
        if any(w < 1 for w in fleet.instance_types.values()):
            raise EmrConfigError(f"the {role.lower()} fleet has a weighted capacity below 1")
        if role == "MASTER" and any(w != 1 for w in fleet.instance_types.values()):
            raise EmrConfigError("master fleet instance types must have weighted_capacity 1")


def check_memory(config: ClusterConfig) -> None:
    """Fails unless one executor fits in YARN on every worker instance type, naming the numbers.

    YARN grants an executor ``spark.executor.memory + spark.executor.memoryOverhead``; a node offers
    ``yarn.nodemanager.resource.memory-mb``. If the container does not fit, YARN never starts an executor
    and the step waits forever. An explicit node memory must also leave the OS ``NODE_RESERVED_MB``.
    """
    spark = config.spark
    container = spark.container_mb()
    override = spark.yarn_node_memory_mb
    workers = [config.core_fleet, config.task_fleet]
    for fleet in workers:
        for instance_type in fleet.instance_types:
            spec = _spec(instance_type, override)
            node = override if override is not None else spec.yarn_memory_mb
            if (
                spec.memory_mb
                and override is not None
                and override > spec.memory_mb - NODE_RESERVED_MB
            ):
                raise EmrConfigError(
                    f"yarn.nodemanager.resource.memory-mb={override} MB leaves {instance_type} "
                    f"({spec.memory_mb} MB) less than {NODE_RESERVED_MB} MB for the OS and daemons"
                )
            if not container < node:
                raise EmrConfigError(
                    f"executor memory {spark.executor_memory_mb} MB + memoryOverhead "
                    f"{spark.overhead_mb()} MB = {container} MB does not fit "
                    f"yarn.nodemanager.resource.memory-mb = {node} MB on {instance_type}: "
                    "lower spark.executor_memory_mb or choose larger instance types"
                )
            if spec.vcpus and spark.executor_cores > spec.vcpus:
                raise EmrConfigError(
                    f"spark.executor.cores={spark.executor_cores} exceeds the {spec.vcpus} vCPUs "
                    f"of {instance_type}"
                )
    # Steps run spark-submit in client mode, so the driver lives on the master node.
    driver = spark.driver_memory_mb + max(MIN_EXECUTOR_OVERHEAD_MB, spark.driver_memory_mb // 10)
    for instance_type in config.master_fleet.instance_types:
        spec = INSTANCE_CATALOG.get(instance_type)
        if spec and driver > spec.memory_mb - NODE_RESERVED_MB:
            raise EmrConfigError(
                f"driver memory {spark.driver_memory_mb} MB + overhead needs {driver} MB, more than "
                f"{instance_type} ({spec.memory_mb} MB) keeps free after {NODE_RESERVED_MB} MB "
                "for the master's daemons"
            )


def validate(config: ClusterConfig) -> None:
    """Every check that needs no AWS call; called before the first request."""
    check_fleets(config)
    check_memory(config)
    config.spark_and_scala()


ClusterMode = Literal["per_run", "shared"]
