"""Instance-hours, spot share and an estimated price, per step and per run.

EMR bills EC2 per instance-second plus an EMR fee per instance-hour, and the fleets' EBS volumes per
GB-month. The instances come from
``ListInstances`` (type, market, start and end); when that lists nothing (an emulator, or fleets still
provisioning) the requested fleet capacity is used instead and the metadata says so. Prices are a table the
user overrides; the defaults are approximate us-east-1 on-demand list prices and a flat spot discount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
from botocore.exceptions import ClientError
from pydantic import Field

from wordcloud_pipeline.aws.emr.config import ClusterConfig

# Approximate us-east-1 Linux on-demand and EMR prices (USD per instance-hour); override per region.
DEFAULT_ON_DEMAND_USD = {
    "m5.xlarge": 0.192,
    "m5a.xlarge": 0.172,
    "m6i.xlarge": 0.192,
    "m4.xlarge": 0.200,
    "m5.2xlarge": 0.384,
    "m5a.2xlarge": 0.344,
    "m5d.2xlarge": 0.452,
    "m6i.2xlarge": 0.384,
    "m4.2xlarge": 0.400,
    "m5.4xlarge": 0.768,
    "r5.xlarge": 0.252,
    "r5.2xlarge": 0.504,
    "c5.2xlarge": 0.340,
}
# The EMR fee per instance-hour (us-east-1, EMR pricing page). Not a fixed share of the EC2 price: m4 is
# billed 0.06 / 0.12 USD (xlarge / 2xlarge), more than a quarter of its EC2 price.
DEFAULT_EMR_FEE_USD = {
    "m5.xlarge": 0.048,
    "m5a.xlarge": 0.048,
    "m6i.xlarge": 0.048,
    "m4.xlarge": 0.060,
    "m5.2xlarge": 0.096,
    "m5a.2xlarge": 0.096,
    "m5d.2xlarge": 0.113,
    "m6i.2xlarge": 0.096,
    "m4.2xlarge": 0.120,
    "m5.4xlarge": 0.192,
    "r5.xlarge": 0.063,
    "r5.2xlarge": 0.126,
    "c5.2xlarge": 0.085,
}
# gp3 storage, USD per GB-month (us-east-1); EBS is billed per second like the instances.
DEFAULT_GP3_USD_PER_GB_MONTH = 0.08
HOURS_PER_MONTH = 730.0


class PriceTable(dg.Config):
    """USD per instance-hour. ``spot_fraction`` approximates the spot price as a share of on-demand."""

    on_demand_usd_per_hour: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_ON_DEMAND_USD),
        description="on-demand price per instance type, USD per hour",
    )
    emr_fee_usd_per_hour: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_EMR_FEE_USD),
        description="EMR's fee per instance type, USD per hour, on top of the instance price",
    )
    spot_fraction: float = Field(
        default=0.4, gt=0, le=1, description="spot price estimated as this share of on-demand"
    )
    ebs_usd_per_gb_month: float = Field(
        default=DEFAULT_GP3_USD_PER_GB_MONTH, ge=0, description="the fleets' gp3 volumes"
    )

    def hourly(self, instance_type: str, market: str) -> float | None:
        on_demand = self.on_demand_usd_per_hour.get(instance_type)
        if on_demand is None:
            return None
        ec2 = on_demand * (self.spot_fraction if market == "SPOT" else 1.0)
        return ec2 + self.emr_fee_usd_per_hour.get(instance_type, 0.0)

    def ebs_hourly(self, gb: int) -> float:
        return gb * self.ebs_usd_per_gb_month / HOURS_PER_MONTH


@dataclass(frozen=True)
class InstanceUsage:
    instance_type: str
    market: str
    start: datetime
    end: datetime | None
    ebs_gb: int = 0


@dataclass(frozen=True)
class CostSummary:
    instance_hours: float
    spot_instance_hours: float
    cost_usd: float
    unpriced_types: tuple[str, ...]
    basis: str

    @property
    def spot_share(self) -> float:
        return self.spot_instance_hours / self.instance_hours if self.instance_hours else 0.0

    def metadata(self, prefix: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            f"{prefix}_instance_hours": dg.MetadataValue.float(round(self.instance_hours, 4)),
            f"{prefix}_spot_share": dg.MetadataValue.float(round(self.spot_share, 4)),
            f"{prefix}_cost_usd_estimate": dg.MetadataValue.float(round(self.cost_usd, 4)),
            f"{prefix}_cost_basis": self.basis,
        }
        if self.unpriced_types:
            result[f"{prefix}_unpriced_types"] = ", ".join(self.unpriced_types)
        return result


def ebs_by_type(config: ClusterConfig) -> dict[str, int]:
    """EBS GB per instance of each type, from the fleet that lists it (ListInstances has no sizes)."""
    sizes: dict[str, int] = {}
    for fleet in config.fleets().values():
        for instance_type in fleet.instance_types:
            sizes.setdefault(instance_type, fleet.ebs_gb)
    return sizes


def usages_from_instances(
    instances: list[dict[str, Any]], ebs_gb: dict[str, int] | None = None
) -> list[InstanceUsage]:
    usages = []
    for inst in instances:
        timeline = inst.get("Status", {}).get("Timeline", {})
        # Billed from launch: boot and bootstrap minutes cost what the rest does.
        start = timeline.get("CreationDateTime") or timeline.get("ReadyDateTime")
        if start is None:
            continue
        usages.append(
            InstanceUsage(
                instance_type=inst.get("InstanceType", "unknown"),
                market=inst.get("Market", "ON_DEMAND"),
                start=start,
                end=timeline.get("EndDateTime"),
                ebs_gb=(ebs_gb or {}).get(inst.get("InstanceType", ""), 0),
            )
        )
    return usages


def usages_from_config(
    config: ClusterConfig, start: datetime, end: datetime | None
) -> list[InstanceUsage]:
    """The requested capacity as instances of each fleet's first type (an estimate)."""
    usages = []
    for fleet in config.fleets().values():
        first, weight = next(iter(fleet.instance_types.items()))
        for market, units in (("ON_DEMAND", fleet.on_demand_units), ("SPOT", fleet.spot_units)):
            count = math.ceil(units / weight)
            usages += [InstanceUsage(first, market, start, end, fleet.ebs_gb)] * count
    return usages


def cluster_usages(
    emr: Any, cluster: dict[str, Any], config: ClusterConfig
) -> tuple[list[InstanceUsage], str]:
    """The cluster's instances and where they came from ("instances" or "requested capacity")."""
    try:
        pages = emr.get_paginator("list_instances").paginate(ClusterId=cluster["Id"])
        instances = [i for page in pages for i in page.get("Instances", [])]
    except ClientError:
        instances = []
    usages = usages_from_instances(instances, ebs_by_type(config))
    if usages:
        return usages, "instances listed by EMR"
    timeline = cluster["Status"]["Timeline"]
    start = timeline["CreationDateTime"]  # billed from launch, bootstrap included
    return usages_from_config(config, start, timeline.get("EndDateTime")), "requested capacity"


def summarize(
    usages: list[InstanceUsage],
    window_start: datetime,
    window_end: datetime,
    prices: PriceTable,
    basis: str,
) -> CostSummary:
    """Instance-hours and cost of ``usages`` that fall within the window (a step, or a whole run)."""
    hours = spot_hours = cost = 0.0
    unpriced: set[str] = set()
    for usage in usages:
        start = max(usage.start, window_start)
        end = min(usage.end or window_end, window_end)
        overlap = max(0.0, (end - start).total_seconds() / 3600)
        hours += overlap
        if usage.market == "SPOT":
            spot_hours += overlap
        cost += overlap * prices.ebs_hourly(usage.ebs_gb)
        hourly = prices.hourly(usage.instance_type, usage.market)
        if hourly is None:
            unpriced.add(usage.instance_type)
        else:
            cost += overlap * hourly
    return CostSummary(hours, spot_hours, cost, tuple(sorted(unpriced)), basis)
