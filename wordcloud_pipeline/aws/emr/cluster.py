"""The EMR cluster a run uses: found or created by tag, reused in shared mode, always terminated.

Nothing about the cluster is kept in memory: whoever needs it finds it by its tags (project +
``dagster/run_id``). The launcher looks it up for each step (a retry after lost instances may need a new
one); the run-end sensor and the cost-guard sweeper, which run in the daemon and never saw the run's
process, decide termination from the same tags. So every decision here is a function of what EMR
reports, not of what one process remembers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg

from wordcloud_pipeline.aws.emr import job_flow, network
from wordcloud_pipeline.aws.emr.config import validate
from wordcloud_pipeline.aws.names import (
    CLUSTER_NAME_PREFIX,
    FINGERPRINT_TAG,
    MODE_TAG,
    PROJECT,
    PROJECT_TAG,
    RUN_TAG,
)

if TYPE_CHECKING:
    from wordcloud_pipeline.aws.emr.settings import EmrClusterResource

ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
FINISHED_RUN_STATUSES = frozenset(
    {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class ClusterInfo:
    """What the lifecycle needs from ``DescribeCluster``."""

    id: str
    name: str
    state: str
    tags: dict[str, str]
    created: datetime
    ready: datetime | None
    ended: datetime | None
    raw: dict[str, Any]

    @classmethod
    def from_description(cls, cluster: dict[str, Any]) -> ClusterInfo:
        timeline = cluster["Status"].get("Timeline", {})
        return cls(
            id=cluster["Id"],
            name=cluster.get("Name", ""),
            state=cluster["Status"]["State"],
            tags={t["Key"]: t["Value"] for t in cluster.get("Tags", [])},
            created=timeline["CreationDateTime"],
            ready=timeline.get("ReadyDateTime"),
            ended=timeline.get("EndDateTime"),
            raw=cluster,
        )

    @property
    def run_id(self) -> str | None:
        return self.tags.get(RUN_TAG)

    @property
    def mode(self) -> str:
        return self.tags.get(MODE_TAG, "per_run")


def project_clusters(
    emr: Any, states: Iterable[str] = ACTIVE_STATES, name: str | None = None
) -> list[ClusterInfo]:
    """This project's clusters in ``states`` (optionally with one exact name), oldest first."""
    found = []
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(states)):
        for summary in page.get("Clusters", []):
            if not summary.get("Name", "").startswith(CLUSTER_NAME_PREFIX):
                continue
            if name is not None and summary["Name"] != name:
                continue
            info = ClusterInfo.from_description(
                emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
            )
            if info.tags.get(PROJECT_TAG) == PROJECT:
                found.append(info)
    return sorted(found, key=lambda c: (c.created, c.id))


def run_clusters(emr: Any, run_id: str) -> list[ClusterInfo]:
    return [
        c
        for c in project_clusters(emr, name=job_flow.cluster_name("per_run", run_id, ""))
        if c.run_id == run_id
    ]


def terminate(emr: Any, clusters: Iterable[ClusterInfo], reason: str, log: Log) -> list[str]:
    """Terminates ``clusters``; returns their ids. Logs each one with the reason."""
    ids = [c.id for c in clusters]
    if not ids:
        return []
    emr.terminate_job_flows(JobFlowIds=ids)
    for cluster in clusters:
        log(f"terminated EMR cluster {cluster.id} ({cluster.name}): {reason}")
    return ids


class ClusterLifecycle:
    """Find-or-create and terminate for the settings of one ``EmrClusterResource``.

    A plain object, not a resource: it holds no state of its own, so any process (a step, a sensor, a
    test) builds one from the settings and reaches the same clusters.
    """

    def __init__(self, settings: EmrClusterResource):
        self.settings = settings

    def cluster_request(self, run_id: str | None, bootstrap_uri: str) -> dict[str, Any]:
        config = self.settings.cluster_config()
        validate(config)
        security_groups, private = network.discover(self.settings.client("ec2"), config)
        return job_flow.run_job_flow_request(
            config,
            mode=self.settings.mode(),
            run_id=run_id if self.settings.mode() == "per_run" else None,
            log_uri=self.settings.layout().log_uri,
            bootstrap_uri=bootstrap_uri,
            security_groups=security_groups,
            private_subnets=private,
        )

    def ensure_cluster(self, emr: Any, run_id: str, bootstrap_uri: str, log: Log) -> ClusterInfo:
        """The cluster this run's steps go to: found by tag, or created (per-run or shared)."""
        if self.settings.mode() == "shared":
            return self._ensure_shared(emr, bootstrap_uri, log)
        existing = run_clusters(emr, run_id)
        if existing:
            return existing[0]
        request = self.cluster_request(run_id, bootstrap_uri)
        created = emr.run_job_flow(**request)["JobFlowId"]
        log(f"created EMR cluster {created} ({request['Name']}) for run {run_id}")
        # Two step processes of one run may both have found nothing and both created a cluster: keep the
        # oldest, end the others, so every process of the run converges on one cluster. ListClusters may
        # not list the new cluster yet: the one RunJobFlow returned is described directly.
        clusters = {c.id: c for c in run_clusters(emr, run_id)}
        if created not in clusters:
            clusters[created] = ClusterInfo.from_description(
                emr.describe_cluster(ClusterId=created)["Cluster"]
            )
        keeper, *extra = sorted(clusters.values(), key=lambda c: (c.created, c.id))
        terminate(emr, extra, f"duplicate of {keeper.id} for run {run_id}", log)
        return keeper

    def _ensure_shared(self, emr: Any, bootstrap_uri: str, log: Log) -> ClusterInfo:
        fingerprint = self.settings.cluster_config().fingerprint()
        candidates = [
            c
            for c in project_clusters(
                emr, states=("WAITING", "RUNNING", "STARTING", "BOOTSTRAPPING")
            )
            if c.mode == "shared" and c.tags.get(FINGERPRINT_TAG) == fingerprint
        ]
        # A WAITING cluster starts our step at once; a busy one queues it.
        candidates.sort(key=lambda c: (c.state != "WAITING", c.created))
        if candidates:
            log(f"reusing shared EMR cluster {candidates[0].id} ({candidates[0].state})")
            return candidates[0]
        request = self.cluster_request(None, bootstrap_uri)
        created = emr.run_job_flow(**request)["JobFlowId"]
        log(
            f"created shared EMR cluster {created}; EMR ends it after "
            f"{self.settings.cluster_config().idle_timeout_minutes} idle minutes"
        )
        return ClusterInfo.from_description(emr.describe_cluster(ClusterId=created)["Cluster"])

    def terminate_run_clusters(self, emr: Any, run_id: str, reason: str, log: Log) -> list[str]:
        return terminate(emr, run_clusters(emr, run_id), reason, log)


# -- sweeping -------------------------------------------------------------------------------------
def last_activity(emr: Any, cluster: ClusterInfo) -> datetime:
    """When the cluster last did something: the latest step end, else when it became ready."""
    steps = emr.list_steps(ClusterId=cluster.id).get("Steps", [])
    ends = [
        s["Status"]["Timeline"]["EndDateTime"]
        for s in steps
        if s["Status"].get("Timeline", {}).get("EndDateTime")
    ]
    return max(ends, default=cluster.ready or cluster.created)


def sweep_reasons(
    emr: Any,
    clusters: Iterable[ClusterInfo],
    run_status: Callable[[str], dg.DagsterRunStatus | None],
    now: datetime,
    *,
    idle_timeout: timedelta,
    max_age: timedelta,
    orphan_grace: timedelta,
) -> list[tuple[ClusterInfo, str]]:
    """Which project clusters to end and why: the run ended, the run is unknown, idle, or too old."""
    doomed = []
    for cluster in clusters:
        age = now - cluster.created
        reason = None
        if cluster.run_id is not None:
            status = run_status(cluster.run_id)
            if status in FINISHED_RUN_STATUSES:
                reason = f"its run {cluster.run_id} ended ({status.value})"
            elif status is None and age > orphan_grace:
                reason = f"its run {cluster.run_id} is unknown to this Dagster instance"
        if reason is None and age > max_age:
            hours, limit = age.total_seconds() / 3600, max_age.total_seconds() / 3600
            reason = f"alive {hours:.1f} h, over the {limit:g} h limit"
        if reason is None and cluster.state == "WAITING":
            idle = now - last_activity(emr, cluster)
            if idle > idle_timeout:
                reason = f"idle for {idle.total_seconds() / 60:.0f} min"
        if reason is not None:
            doomed.append((cluster, reason))
    return doomed


def utcnow() -> datetime:
    return datetime.now(UTC)
