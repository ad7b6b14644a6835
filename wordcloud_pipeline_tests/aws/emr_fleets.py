"""Instance fleets for moto's EMR, which accepts them in RunJobFlow but implements neither
``ListInstanceFleets`` nor ``ModifyInstanceFleet``.

``FleetEmulator`` adds both operations to moto's EMR response class for the duration of a test (the server
runs in this process), keeping each cluster's fleets as RunJobFlow asked for them. A test then plays EC2:
``provision`` says how many spot units a fleet actually holds and sets its state-change reason, and
``fail_running_step`` ends the cluster's running step the way EMR does when its instances go away;
``reclaim`` makes ``ListInstances`` list spot instances that ended now.
Real: the requests (boto3 over HTTP, parsed and serialised by moto with botocore's EMR model).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.core.responses import ActionResult, EmptyResult
from moto.emr.models import emr_backends
from moto.emr.responses import ElasticMapReduceResponse

ACCOUNT = "123456789012"
_ids = itertools.count(1)


@dataclass
class FleetEmulator:
    region: str
    fleets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    modified: list[dict[str, Any]] = field(default_factory=list)
    ended: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    # -- what the test does ------------------------------------------------------------------
    def provision(self, cluster_id: str, role: str, spot_units: int, reason: str = "") -> None:
        fleet = self.fleet(cluster_id, role)
        fleet["ProvisionedSpotCapacity"] = spot_units
        fleet["Status"]["StateChangeReason"] = {"Code": "INSTANCE_FAILURE", "Message": reason}

    def reclaim(self, cluster_id: str, role: str, count: int = 1) -> None:
        """EC2 takes back ``count`` spot instances of a fleet now: ``ListInstances`` lists them
        TERMINATED, with this moment as their end time."""
        fleet = self.fleet(cluster_id, role)
        now = datetime.now(UTC)
        # They go from under the running step, which has started by then.
        cluster = emr_backends[ACCOUNT][self.region].clusters[cluster_id]
        step = next(s for s in cluster.steps if s.state in ("PENDING", "RUNNING"))
        step.start_date_time = step.start_date_time or now
        self.ended.setdefault(cluster_id, []).extend(
            {
                "Id": f"ci-{next(_ids):012d}",
                "Ec2InstanceId": f"i-{next(_ids):017d}",
                "InstanceFleetId": fleet["Id"],
                "Market": "SPOT",
                "InstanceType": "m5.xlarge",
                "Status": {
                    "State": "TERMINATED",
                    "StateChangeReason": {"Code": "INSTANCE_FAILURE", "Message": ""},
                    "Timeline": {"CreationDateTime": now, "EndDateTime": now},
                },
            }
            for _ in range(count)
        )

    def fleet(self, cluster_id: str, role: str) -> dict[str, Any]:
        return next(f for f in self.fleets[cluster_id] if f["InstanceFleetType"] == role)

    def fail_running_step(self, cluster_id: str, message: str) -> str:
        cluster = emr_backends[ACCOUNT][self.region].clusters[cluster_id]
        step = next(s for s in cluster.steps if s.state in ("PENDING", "RUNNING"))
        step.state = "FAILED"
        step.start_date_time = step.start_date_time or datetime.now(UTC)
        step.end_date_time = datetime.now(UTC)
        step.last_state_change_reason = message
        return step.id

    def complete_running_step(self, cluster_id: str) -> str:
        cluster = emr_backends[ACCOUNT][self.region].clusters[cluster_id]
        step = next(s for s in cluster.steps if s.state in ("PENDING", "RUNNING"))
        step.state = "COMPLETED"
        step.start_date_time = step.start_date_time or datetime.now(UTC)
        step.end_date_time = datetime.now(UTC)
        return step.id

    # -- the operations moto lacks -----------------------------------------------------------
    def _record(self, response: ElasticMapReduceResponse, cluster_id: str) -> None:
        requested = response._get_param("Instances", {}).get("InstanceFleets", [])
        self.fleets[cluster_id] = [
            {
                "Id": f"if-{next(_ids):012d}",
                "Name": fleet.get("Name", ""),
                "InstanceFleetType": fleet["InstanceFleetType"],
                "TargetOnDemandCapacity": int(fleet.get("TargetOnDemandCapacity", 0)),
                "TargetSpotCapacity": int(fleet.get("TargetSpotCapacity", 0)),
                "ProvisionedOnDemandCapacity": int(fleet.get("TargetOnDemandCapacity", 0)),
                "ProvisionedSpotCapacity": int(fleet.get("TargetSpotCapacity", 0)),
                "Status": {"State": "RUNNING", "StateChangeReason": {}},
            }
            for fleet in requested
        ]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FleetEmulator:
        emulator = self
        original_run = ElasticMapReduceResponse.run_job_flow

        def run_job_flow(response: ElasticMapReduceResponse):
            result = original_run(response)
            emulator._record(response, result.result["JobFlowId"])
            return result

        original_list_instances = ElasticMapReduceResponse.list_instances

        def list_instances(response: ElasticMapReduceResponse):
            ended = emulator.ended.get(response._get_param("ClusterId"))
            return (
                ActionResult({"Instances": ended}) if ended else original_list_instances(response)
            )

        def list_instance_fleets(response: ElasticMapReduceResponse):
            cluster_id = response._get_param("ClusterId")
            return ActionResult({"InstanceFleets": emulator.fleets.get(cluster_id, [])})

        def modify_instance_fleet(response: ElasticMapReduceResponse):
            cluster_id = response._get_param("ClusterId")
            change = response._get_param("InstanceFleet")
            emulator.modified.append({"ClusterId": cluster_id, **change})
            fleet = next(
                f for f in emulator.fleets[cluster_id] if f["Id"] == change["InstanceFleetId"]
            )
            for key in ("TargetOnDemandCapacity", "TargetSpotCapacity"):
                if key in change:
                    fleet[key] = int(change[key])
            fleet["ProvisionedOnDemandCapacity"] = fleet["TargetOnDemandCapacity"]
            fleet["ProvisionedSpotCapacity"] = min(
                fleet["ProvisionedSpotCapacity"], fleet["TargetSpotCapacity"]
            )
            return EmptyResult()

        monkeypatch.setattr(ElasticMapReduceResponse, "run_job_flow", run_job_flow)
        monkeypatch.setattr(ElasticMapReduceResponse, "list_instances", list_instances)
        monkeypatch.setattr(
            ElasticMapReduceResponse, "list_instance_fleets", list_instance_fleets, raising=False
        )
        monkeypatch.setattr(
            ElasticMapReduceResponse, "modify_instance_fleet", modify_instance_fleet, raising=False
        )
        return self
