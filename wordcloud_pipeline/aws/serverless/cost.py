"""What an EMR Serverless job run cost: its billed vCPU-hours, memory GB-hours and storage GB-hours
(``GetJobRun``'s ``billedResourceUtilization``, which already rounds each worker up to one minute and
leaves out the free 20 GB of storage per worker) at the published rates.

Rates are us-east-1's x86 list prices (EMR Serverless pricing page): 0.052624 USD per vCPU-hour,
0.0057785 USD per GB-hour of memory, 0.000111 USD per GB-hour of storage. Override them for another
region or for arm64 (about 20 % less) in the launcher's ``prices``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field


class ServerlessPrices(dg.Config):
    vcpu_hour_usd: float = Field(default=0.052624, ge=0, description="per vCPU-hour")
    memory_gb_hour_usd: float = Field(default=0.0057785, ge=0, description="per GB-hour of memory")
    storage_gb_hour_usd: float = Field(
        default=0.000111, ge=0, description="per GB-hour of storage beyond the free 20 GB a worker"
    )

    def usd(
        self, vcpu_hours: float, memory_gb_hours: float, storage_gb_hours: float = 0.0
    ) -> float:
        return (
            vcpu_hours * self.vcpu_hour_usd
            + memory_gb_hours * self.memory_gb_hour_usd
            + storage_gb_hours * self.storage_gb_hour_usd
        )


def job_run_metadata(job_run: Mapping[str, Any], prices: ServerlessPrices) -> dict[str, Any]:
    """The job run's ids, duration, billed usage and its price, for the materialization."""
    billed = job_run.get("billedResourceUtilization") or {}
    vcpu = float(billed.get("vCPUHour", 0.0))
    memory = float(billed.get("memoryGBHour", 0.0))
    storage = float(billed.get("storageGBHour", 0.0))
    return {
        "serverless_application_id": job_run["applicationId"],
        "serverless_job_run_id": job_run["jobRunId"],
        "serverless_seconds": dg.MetadataValue.float(
            float(job_run.get("totalExecutionDurationSeconds", 0))
        ),
        "serverless_vcpu_hours": dg.MetadataValue.float(round(vcpu, 4)),
        "serverless_memory_gb_hours": dg.MetadataValue.float(round(memory, 4)),
        "serverless_storage_gb_hours": dg.MetadataValue.float(round(storage, 4)),
        "serverless_cost_usd_estimate": dg.MetadataValue.float(
            round(prices.usd(vcpu, memory, storage), 4)
        ),
        "serverless_cost_basis": (
            f"billedResourceUtilization at {prices.vcpu_hour_usd} USD/vCPU-h, "
            f"{prices.memory_gb_hour_usd} USD/GB-h, {prices.storage_gb_hour_usd} USD/storage GB-h"
        ),
    }
