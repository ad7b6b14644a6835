"""The ``RunJobFlow`` request for a cluster, built from ``ClusterConfig`` without touching AWS.

Kept apart from the lifecycle code so a test can read the whole request (fleets, spot specifications,
configurations, bootstrap action, tags, auto-termination) as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wordcloud_pipeline.resources.emr.config import (
    CLUSTER_PYTHON,
    ClusterConfig,
    ClusterMode,
    FleetConfig,
)

PROJECT_TAG = "wordcloud:project"
PROJECT = "wordcloud_pipeline"
MODE_TAG = "wordcloud:cluster-mode"
RUN_TAG = "dagster/run_id"
FINGERPRINT_TAG = "wordcloud:config"
# AmazonEMRServicePolicy_v2 only lets EMR act on resources carrying this tag.
EMR_MANAGED_POLICY_TAG = {"for-use-with-amazon-emr-managed-policies": "true"}


def bootstrap_script(packages: list[str]) -> str:
    """The bootstrap action: the Python the scripts run on, with the packages they import."""
    pip = " ".join(packages)
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
    launch: dict[str, Any] = {}
    if fleet.spot_units:
        launch["SpotSpecification"] = {
            "TimeoutDurationMinutes": spot_timeout_minutes,
            # No spot capacity in time: fall back to on-demand rather than failing the cluster.
            "TimeoutAction": "SWITCH_TO_ON_DEMAND",
            "AllocationStrategy": "capacity-optimized",
        }
    if fleet.on_demand_units:
        launch["OnDemandSpecification"] = {"AllocationStrategy": "lowest-price"}
    if launch:
        request["LaunchSpecifications"] = launch
    return request


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
        return f"wordcloud-run-{run_id[:8]}"
    return f"wordcloud-shared-{fingerprint[:8]}"


def run_job_flow_request(
    config: ClusterConfig,
    *,
    mode: ClusterMode,
    run_id: str | None,
    log_uri: str,
    bootstrap_uri: str,
    security_groups: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``emr.run_job_flow`` for this configuration."""
    instances: dict[str, Any] = {
        "InstanceFleets": [
            _fleet(role, fleet, config.spot_timeout_minutes)
            for role, fleet in config.fleets().items()
        ],
        # Steps are added one per asset after the cluster starts; without this EMR would end it at once.
        "KeepJobFlowAliveWhenNoSteps": True,
        "TerminationProtected": False,
    }
    if config.subnet_ids:
        instances["Ec2SubnetIds"] = list(config.subnet_ids)
    groups = {
        "EmrManagedMasterSecurityGroup": config.master_security_group,
        "EmrManagedSlaveSecurityGroup": config.worker_security_group,
        "ServiceAccessSecurityGroup": config.service_access_security_group,
        **(security_groups or {}),
    }
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
