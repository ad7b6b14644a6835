"""Spot interruptions: recognise a step that failed because instances were lost, and restore capacity.

EMR reports lost instances in state-change reasons: the step's (``FailureDetails``, ``StateChangeReason``),
the cluster's, and each instance fleet's (``ListInstanceFleets``); and each instance's end time
(``ListInstances``). A step that failed because its own instances went (its reason says so, or spot
instances ended while it ran) is worth one retry. Before it, the fleets that run spot get a chance to refill; a fleet whose spot capacity does not come
back in time is moved to on-demand by ``ModifyInstanceFleet`` (its spot target becomes on-demand target),
so the retry does not meet the same shortage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

# What EMR and EC2 write when instances go away under a step (matched case-insensitively).
LOST_INSTANCES = re.compile(
    r"spot[\w ]*interrupt"
    r"|spot instance[s]? (was |were )?(terminated|reclaimed)"
    r"|instance fleet[\w ]*lost"
    r"|lost (spot )?capacity"
    r"|insufficient (spot )?capacity"
    r"|instances? (was |were )?lost"
    r"|lost (the )?(node|instance)s?"
    r"|SPOT_INSTANCE",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RefillPolicy:
    """How long the spot fleets get to refill before they are moved to on-demand."""

    checks: int = 10
    wait_seconds: float = 30.0


def _reason_texts(status: dict[str, Any]) -> list[str]:
    texts = []
    for key in ("StateChangeReason", "FailureDetails"):
        part = status.get(key) or {}
        texts += [str(part.get(k) or "") for k in ("Code", "Reason", "Message")]
    return [t for t in texts if t]


def instance_fleets(emr: Any, cluster_id: str) -> list[dict[str, Any]]:
    """The cluster's instance fleets; empty when EMR (or an emulator) cannot list them."""
    try:
        pages = emr.get_paginator("list_instance_fleets").paginate(ClusterId=cluster_id)
        return [f for page in pages for f in page.get("InstanceFleets", [])]
    except ClientError:
        return []


def spot_instances_ended_since(emr: Any, cluster_id: str, since: datetime) -> list[str]:
    """The cluster's spot instances that ended at or after ``since``; empty when EMR cannot list them."""
    try:
        pages = emr.get_paginator("list_instances").paginate(
            ClusterId=cluster_id, InstanceStates=["TERMINATED"]
        )
        instances = [i for page in pages for i in page.get("Instances", [])]
    except ClientError:
        return []
    ended = []
    for instance in instances:
        status = instance.get("Status") or {}
        end = (status.get("Timeline") or {}).get("EndDateTime")
        if instance.get("Market") == "SPOT" and status.get("State") == "TERMINATED" and end:
            if end >= since:
                ended.append(instance.get("Ec2InstanceId") or instance.get("Id", "?"))
    return ended


def lost_instances_reason(emr: Any, cluster_id: str, step: dict[str, Any]) -> str | None:
    """Why the step lost its own instances, or None for any other failure.

    The step's own state-change reason counts as it is. A fleet's or the cluster's reason does not on its
    own: it may date from provisioning, long before the step (an "insufficient spot capacity" while the
    fleet filled), and retrying a code error on on-demand would only double its cost. It counts when
    spot instances of the cluster ended while the step ran (``ListInstances``' end times).
    """
    status = step["Status"]
    own = next((t for t in _reason_texts(status) if LOST_INSTANCES.search(t)), None)
    if own is not None:
        return own
    started = (status.get("Timeline") or {}).get("StartDateTime")
    ended = spot_instances_ended_since(emr, cluster_id, started) if started else []
    if not ended:
        return None
    texts = _reason_texts(emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"])
    for fleet in instance_fleets(emr, cluster_id):
        texts += [
            f"{fleet.get('InstanceFleetType', '')} fleet: {t}"
            for t in _reason_texts(fleet["Status"])
        ]
    said = next((t for t in texts if LOST_INSTANCES.search(t)), None)
    lost = f"{len(ended)} spot instance(s) ended while the step ran ({', '.join(ended[:5])})"
    return f"{lost}: {said}" if said else lost


def spot_shortfall(fleets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Worker fleets that run fewer spot units than they asked for."""
    return [
        f
        for f in fleets
        if f.get("InstanceFleetType") != "MASTER"
        and f.get("ProvisionedSpotCapacity", 0) < f.get("TargetSpotCapacity", 0)
    ]


def restore_capacity(
    emr: Any,
    cluster_id: str,
    policy: RefillPolicy,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Waits for the spot fleets to refill; moves those that do not to on-demand. Returns their ids."""
    short = spot_shortfall(instance_fleets(emr, cluster_id))
    for _ in range(policy.checks):
        if not short:
            return []
        sleep(policy.wait_seconds)
        short = spot_shortfall(instance_fleets(emr, cluster_id))
    moved = []
    for fleet in short:
        on_demand = fleet.get("TargetOnDemandCapacity", 0) + fleet["TargetSpotCapacity"]
        emr.modify_instance_fleet(
            ClusterId=cluster_id,
            InstanceFleet={
                "InstanceFleetId": fleet["Id"],
                "TargetOnDemandCapacity": on_demand,
                "TargetSpotCapacity": 0,
            },
        )
        log(
            f"{fleet['InstanceFleetType'].lower()} fleet {fleet['Id']} of {cluster_id} had "
            f"{fleet.get('ProvisionedSpotCapacity', 0)} of {fleet['TargetSpotCapacity']} spot units "
            f"after {policy.checks} check(s): moved to {on_demand} on-demand units for the retry"
        )
        moved.append(fleet["Id"])
    return moved
