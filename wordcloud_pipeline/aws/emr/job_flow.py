"""The ``RunJobFlow`` request for a cluster, built from ``ClusterConfig`` without touching AWS.

Kept apart from the lifecycle code so a test can read the whole request (fleets, spot specifications,
configurations, bootstrap action, tags, auto-termination) as data.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from wordcloud_pipeline.aws.emr.config import (
    CLUSTER_PYTHON,
    ClusterConfig,
    ClusterMode,
    EmrConfigError,
    FleetConfig,
    check_requirement,
)
from wordcloud_pipeline.aws.names import (
    CLUSTER_NAME_PREFIX,
    EMR_MANAGED_POLICY_TAG,
    FINGERPRINT_TAG,
    MODE_TAG,
    PROJECT,
    PROJECT_TAG,
    RUN_TAG,
)

# EMR accepts at most this many instance types in a fleet that has no allocation strategy (30 with one).
MAX_TYPES_WITHOUT_ALLOCATION_STRATEGY = 5
MAX_TYPES_WITH_ALLOCATION_STRATEGY = 30


def bootstrap_script(packages: list[str]) -> str:
    """The bootstrap action: the Python the scripts run on, with the packages they import.

    Each package is checked as a PEP 508 requirement and shell-quoted, so a setting can add a package but
    never a command to this script, which runs as root on every node.
    """
    pip = " ".join(shlex.quote(str(check_requirement(p))) for p in packages)
    lines = [
        "#!/bin/bash",
        "# Written by wordcloud_pipeline: the Python 3.11 the spark_scripts run on, on every node.",
        "set -euo pipefail",
        "sudo dnf install -y python3.11 python3.11-pip",
    ]
    if pip:
        lines.append(f"sudo {CLUSTER_PYTHON} -m pip install --quiet {pip}")
    return "\n".join(lines) + "\n"


def _fleet(role: str, fleet: FleetConfig, spot_timeout_minutes: int) -> dict[str, Any]:
    types = []
    for instance_type, weight in fleet.instance_types.items():
        entry: dict[str, Any] = {
            "InstanceType": instance_type,
            "WeightedCapacity": weight,
            # Pay up to the on-demand price for spot: interruptions, not bids, are the real risk.
            "BidPriceAsPercentageOfOnDemandPrice": 100.0,
        }
        if fleet.ebs_gb:
            entry["EbsConfiguration"] = {
                "EbsBlockDeviceConfigs": [
                    {
                        "VolumeSpecification": {"VolumeType": "gp3", "SizeInGB": fleet.ebs_gb},
                        "VolumesPerInstance": 1,
                    }
                ],
                "EbsOptimized": True,
            }
        types.append(entry)
    request: dict[str, Any] = {
        "Name": role.lower(),
        "InstanceFleetType": role,
        "TargetOnDemandCapacity": fleet.on_demand_units,
        "TargetSpotCapacity": fleet.spot_units,
        "InstanceTypeConfigs": types,
    }
    launch: dict[str, Any] = {
        # Always: the allocation strategy lifts EMR's limit of 5 instance types per fleet to 30.
        "OnDemandSpecification": {"AllocationStrategy": "lowest-price"},
    }
    # A task fleet gets the spot specification even at 0 units: it can be resized later, and a fleet of
    # more than 5 types without an allocation strategy is refused by EMR.
    if fleet.spot_units or role == "TASK" or len(types) > MAX_TYPES_WITHOUT_ALLOCATION_STRATEGY:
        launch["SpotSpecification"] = {
            "TimeoutDurationMinutes": spot_timeout_minutes,
            # No spot capacity in time: fall back to on-demand rather than failing the cluster.
            "TimeoutAction": "SWITCH_TO_ON_DEMAND",
            # AWS's recommended spot strategy: the pools least likely to be interrupted, among the
            # cheapest (EC2 User Guide, "Allocation strategies for Spot Instances").
            "AllocationStrategy": "price-capacity-optimized",
        }
    request["LaunchSpecifications"] = launch
    return request


def check_fleet_request(fleet: Mapping[str, Any]) -> None:
    """EMR's rule on instance types per fleet, applied to the request as it will be sent."""
    count = len(fleet["InstanceTypeConfigs"])
    launch = fleet.get("LaunchSpecifications", {})
    strategies = all(
        launch.get(spec, {}).get("AllocationStrategy")
        for spec in ("OnDemandSpecification", "SpotSpecification")
    )
    limit = (
        MAX_TYPES_WITH_ALLOCATION_STRATEGY if strategies else MAX_TYPES_WITHOUT_ALLOCATION_STRATEGY
    )
    if count > limit:
        raise EmrConfigError(
            f"the {fleet['Name']} fleet lists {count} instance types; EMR accepts at most {limit} "
            + ("" if strategies else "without on-demand and spot allocation strategies")
        )


def fleet_requests(config: ClusterConfig) -> list[dict[str, Any]]:
    """The ``InstanceFleets`` of the request, each checked against EMR's limits."""
    fleets = [
        _fleet(role, fleet, config.spot_timeout_minutes) for role, fleet in config.fleets().items()
    ]
    for fleet in fleets:
        check_fleet_request(fleet)
    return fleets


def configurations(config: ClusterConfig) -> list[dict[str, Any]]:
    """spark-defaults (executor sizing), spark-env (the cluster Python) and yarn-site when overridden."""
    spark = config.spark
    defaults = {
        "spark.executor.memory": f"{spark.executor_memory_mb}m",
        "spark.executor.memoryOverhead": f"{spark.overhead_mb()}m",
        "spark.executor.cores": str(spark.executor_cores),
        "spark.driver.memory": f"{spark.driver_memory_mb}m",
        "spark.dynamicAllocation.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        **spark.spark_defaults,
    }
    result: list[dict[str, Any]] = [
        {"Classification": "spark-defaults", "Properties": defaults},
        {
            "Classification": "spark-env",
            "Properties": {},
            "Configurations": [
                {
                    "Classification": "export",
                    "Properties": {
                        "PYSPARK_PYTHON": CLUSTER_PYTHON,
                        "PYSPARK_DRIVER_PYTHON": CLUSTER_PYTHON,
                    },
                }
            ],
        },
    ]
    # EMR 7 ships Delta Lake: this puts its jars on Spark's classpath; the session settings that switch
    # it on (spark_packages.DELTA_CONF) go with every step as --conf.
    result.append({"Classification": "delta-defaults", "Properties": {"delta.enabled": "true"}})
    if spark.yarn_node_memory_mb is not None:
        result.append(
            {
                "Classification": "yarn-site",
                "Properties": {
                    "yarn.nodemanager.resource.memory-mb": str(spark.yarn_node_memory_mb),
                    "yarn.scheduler.maximum-allocation-mb": str(spark.yarn_node_memory_mb),
                },
            }
        )
    return result


def cluster_tags(config: ClusterConfig, mode: ClusterMode, run_id: str | None) -> dict[str, str]:
    tags = {
        **config.tags,
        **EMR_MANAGED_POLICY_TAG,
        PROJECT_TAG: PROJECT,
        MODE_TAG: mode,
        FINGERPRINT_TAG: config.fingerprint(),
    }
    if run_id is not None:
        tags[RUN_TAG] = run_id
    return tags


def cluster_name(mode: ClusterMode, run_id: str | None, fingerprint: str) -> str:
    if mode == "per_run" and run_id:
        return f"{CLUSTER_NAME_PREFIX}run-{run_id[:8]}"
    return f"{CLUSTER_NAME_PREFIX}shared-{fingerprint[:8]}"


def run_job_flow_request(
    config: ClusterConfig,
    *,
    mode: ClusterMode,
    run_id: str | None,
    log_uri: str,
    bootstrap_uri: str,
    security_groups: Mapping[str, str] | None = None,
    private_subnets: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of ``emr.run_job_flow`` for this configuration.

    ``ServiceAccessSecurityGroup`` is sent only for private subnets (``private_subnets``), the only case
    where EMR uses it; in a public subnet EMR reaches the master directly.
    """
    instances: dict[str, Any] = {
        "InstanceFleets": fleet_requests(config),
        # Steps are added one per asset after the cluster starts; without this EMR would end it at once.
        "KeepJobFlowAliveWhenNoSteps": True,
        "TerminationProtected": False,
    }
    if config.subnet_ids:
        instances["Ec2SubnetIds"] = list(config.subnet_ids)
    configured = {
        "EmrManagedMasterSecurityGroup": config.master_security_group,
        "EmrManagedSlaveSecurityGroup": config.worker_security_group,
        "ServiceAccessSecurityGroup": config.service_access_security_group,
    }
    # Groups set in the config win over those looked up by tag.
    groups = {**(security_groups or {}), **{k: v for k, v in configured.items() if v}}
    if not private_subnets:
        groups.pop("ServiceAccessSecurityGroup", None)
    instances.update({k: v for k, v in groups.items() if v})
    tags = cluster_tags(config, mode, run_id)
    return {
        "Name": cluster_name(mode, run_id, tags[FINGERPRINT_TAG]),
        "LogUri": log_uri,
        "ReleaseLabel": config.release_label,
        "Applications": [{"Name": "Hadoop"}, {"Name": "Spark"}],
        "Instances": instances,
        "BootstrapActions": [
            {
                "Name": "install-python-packages",
                "ScriptBootstrapAction": {"Path": bootstrap_uri, "Args": []},
            }
        ],
        "Configurations": configurations(config),
        "ServiceRole": config.service_role,
        "JobFlowRole": config.instance_profile,
        "VisibleToAllUsers": True,
        "StepConcurrencyLevel": 1,
        "AutoTerminationPolicy": {"IdleTimeout": config.idle_timeout_minutes * 60},
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
    }
