"""The EMR cluster a run uses: found or created by tag, reused in shared mode, always terminated.

Dagster's multiprocess executor runs each asset in its own process, so nothing about the cluster is kept in
memory: every process finds the run's cluster by its tags (project + ``dagster/run_id``). Termination is
decided from the same tags by the run-end sensor and the cost-guard sweeper, which is why every decision
here is a function of what EMR reports, not of what this process remembers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import dagster as dg
from botocore.config import Config as BotoConfig
from pydantic import Field, model_validator

from wordcloud_pipeline.resources.emr import job_flow
from wordcloud_pipeline.resources.emr.config import (
    ClusterConfig,
    ClusterMode,
    EmrConfigError,
    validate,
)
from wordcloud_pipeline.resources.emr.cost import PriceTable

ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
FINISHED_RUN_STATUSES = frozenset(
    {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
)
SECURITY_GROUP_ROLE_TAG = "wordcloud:security-group"
# What the cost guard's age limit is derived from: the Spark steps of one run (``jobs.spark_steps_per_run``),
# each tried at most twice (the retry after a spot interruption), plus start-up.
STEP_ATTEMPTS = 2
PROVISIONING_HOURS = 1.0
# Adaptive retries: botocore backs off on throttling for every call, not only for our polling loop.
BOTO_CONFIG = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})

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
        return self.tags.get(job_flow.RUN_TAG)

    @property
    def mode(self) -> str:
        return self.tags.get(job_flow.MODE_TAG, "per_run")


def project_clusters(
    emr: Any, states: Iterable[str] = ACTIVE_STATES, name: str | None = None
) -> list[ClusterInfo]:
    """This project's clusters in ``states`` (optionally with one exact name), oldest first."""
    found = []
    for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(states)):
        for summary in page.get("Clusters", []):
            if not summary.get("Name", "").startswith("wordcloud-"):
                continue
            if name is not None and summary["Name"] != name:
                continue
            info = ClusterInfo.from_description(
                emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
            )
            if info.tags.get(job_flow.PROJECT_TAG) == job_flow.PROJECT:
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


class EmrClusterResource(dg.ConfigurableResource):
    """Owns the run's EMR cluster: settings, AWS clients, find-or-create, terminate.

    Unset fields fall back to environment variables read when used (never at import):
    WORDCLOUD_EMR_BUCKET, WORDCLOUD_EMR_REGION (else AWS_REGION / AWS_DEFAULT_REGION),
    WORDCLOUD_EMR_CLUSTER_MODE and WORDCLOUD_EMR_SUBNET_IDS (comma-separated).
    """

    bucket: str | None = Field(
        default=None, description="project bucket for code, logs, Pipes messages"
    )
    prefix: str = Field(default="wordcloud", description="key prefix inside the bucket")
    region: str | None = Field(
        default=None, description="AWS region; unset: WORDCLOUD_EMR_REGION, then AWS_REGION"
    )
    cluster_mode: str | None = Field(
        default=None,
        description="'per_run' (default): a cluster per run, terminated at its end; "
        "'shared': reuse a WAITING cluster with the same settings, ended by its idle timeout",
    )
    cluster: ClusterConfig = Field(
        default=ClusterConfig(), description="what the cluster is made of (fleets, release, Spark)"
    )
    prices: PriceTable = Field(
        default=PriceTable(), description="prices for the cost estimate on each materialization"
    )
    step_timeout_hours: float = Field(
        default=12.0, gt=0, description="a step still running after this long is failed"
    )
    max_cluster_hours: float | None = Field(
        default=None,
        gt=0,
        description="sweeper: hard age limit; default derived from step_timeout_hours "
        "(see max_cluster_age), and never at or below it",
    )
    orphan_grace_minutes: float = Field(
        default=60.0, ge=0, description="sweeper: age before a cluster of an unknown run is ended"
    )

    @model_validator(mode="after")
    def _age_limit_outlives_a_step(self) -> EmrClusterResource:
        if self.max_cluster_hours is not None and self.max_cluster_hours <= self.step_timeout_hours:
            raise ValueError(
                f"max_cluster_hours={self.max_cluster_hours:g} would end clusters whose steps may "
                f"still run for step_timeout_hours={self.step_timeout_hours:g}: raise it, or leave it "
                "unset to derive it"
            )
        return self

    def max_cluster_age(self) -> timedelta:
        """The sweeper's age limit: the longest a run can legitimately keep its cluster.

        A run has at most ``jobs.spark_steps_per_run()`` steps, each attempted at most ``STEP_ATTEMPTS``
        times (the spot retry) and each allowed ``step_timeout_hours``, plus ``PROVISIONING_HOURS`` to
        start.
        """
        if self.max_cluster_hours is not None:
            return timedelta(hours=self.max_cluster_hours)
        from wordcloud_pipeline.jobs import spark_steps_per_run  # the assets import the resources

        steps = spark_steps_per_run()
        hours = steps * STEP_ATTEMPTS * self.step_timeout_hours + PROVISIONING_HOURS
        return timedelta(hours=hours)

    # -- settings resolved at use ------------------------------------------------------------
    def region_name(self) -> str:
        return (
            self.region
            or os.environ.get("WORDCLOUD_EMR_REGION")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )

    def bucket_name(self) -> str:
        bucket = self.bucket or os.environ.get("WORDCLOUD_EMR_BUCKET")
        if not bucket:
            raise EmrConfigError(
                "EMR mode needs the project bucket: set WORDCLOUD_EMR_BUCKET "
                "(`wordcloud-infra up` creates it and prints the value)"
            )
        return bucket

    def mode(self) -> ClusterMode:
        mode = self.cluster_mode or os.environ.get("WORDCLOUD_EMR_CLUSTER_MODE") or "per_run"
        if mode not in ("per_run", "shared"):
            raise EmrConfigError(
                f"WORDCLOUD_EMR_CLUSTER_MODE must be per_run or shared, not {mode!r}"
            )
        return mode  # type: ignore[return-value]

    def cluster_config(self) -> ClusterConfig:
        subnets = os.environ.get("WORDCLOUD_EMR_SUBNET_IDS", "")
        if self.cluster.subnet_ids or not subnets.strip():
            return self.cluster
        return self.cluster.model_copy(
            update={"subnet_ids": [s.strip() for s in subnets.split(",") if s.strip()]}
        )

    def root_uri(self) -> str:
        return f"s3://{self.bucket_name()}/{self.prefix.strip('/')}"

    def log_uri(self) -> str:
        return f"{self.root_uri()}/logs/emr/"

    def code_root_uri(self) -> str:
        return f"{self.root_uri()}/code"

    def client(self, service: str, max_attempts: int | None = None) -> Any:
        """A boto3 client; ``AWS_ENDPOINT_URL`` (botocore's own setting) points it at an emulator.

        ``max_attempts`` lowers the retries for calls made while a run is being torn down, where a
        refused call should be reported quickly rather than retried for half a minute.

        Not dagster-aws's ``ResourceWithBoto3Configuration``: its fields (``region_name``,
        ``max_attempts``, ``profile_name``, ``endpoint_url``, keys) would replace this resource's settings
        and environment fallbacks, and its ``construct_boto_client_retry_config`` fixes botocore's
        "standard" retry mode, where the EMR control plane's throttling wants "adaptive".
        """
        config = BOTO_CONFIG
        if max_attempts is not None:
            config = BOTO_CONFIG.merge(
                BotoConfig(retries={"mode": "adaptive", "max_attempts": max_attempts})
            )
        return boto3.client(service, region_name=self.region_name(), config=config)

    def validate(self) -> None:
        """All checks that need no AWS call (fleet shapes, executor memory, release)."""
        config = self.cluster_config()
        validate(config)
        job_flow.fleet_requests(config)
        self.mode()

    # -- lifecycle -------------------------------------------------------------------------------
    def _network(self, config: ClusterConfig) -> tuple[dict[str, str], bool]:
        """Security groups for the request and whether the subnets are private, checked before creating.

        No subnets: EMR picks the default VPC's, which ``wordcloud-infra up`` tags; nothing to look up.
        """
        if not config.subnet_ids:
            return {}, False
        ec2 = self.client("ec2")
        subnets = ec2.describe_subnets(SubnetIds=config.subnet_ids)["Subnets"]
        check_subnet_tags(subnets)
        vpc = subnets[0]["VpcId"]
        private = {s["SubnetId"]: subnet_is_private(ec2, s["SubnetId"], vpc) for s in subnets}
        if len(set(private.values())) > 1:
            kinds = ", ".join(f"{k}: {'private' if v else 'public'}" for k, v in private.items())
            raise EmrConfigError(
                f"subnet_ids mixes private and public subnets ({kinds}); EMR needs a service-access "
                "security group in private subnets only: list one kind"
            )
        is_private = all(private.values())
        if config.service_access_security_group and not is_private:
            raise EmrConfigError(
                f"service_access_security_group is set but {', '.join(private)} are public subnets "
                "(their route table sends 0.0.0.0/0 to an internet gateway): EMR uses that group only "
                "in private subnets; unset it"
            )
        if all(
            (
                config.master_security_group,
                config.worker_security_group,
                config.service_access_security_group or not is_private,
            )
        ):
            return {}, is_private
        groups = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": f"tag:{job_flow.PROJECT_TAG}", "Values": [job_flow.PROJECT]},
            ]
        )["SecurityGroups"]
        by_role = {
            t["Value"]: g["GroupId"]
            for g in groups
            for t in g.get("Tags", [])
            if t["Key"] == SECURITY_GROUP_ROLE_TAG
        }
        keys = {
            "master": "EmrManagedMasterSecurityGroup",
            "worker": "EmrManagedSlaveSecurityGroup",
            "service": "ServiceAccessSecurityGroup",
        }
        return {keys[role]: gid for role, gid in by_role.items() if role in keys}, is_private

    def cluster_request(self, run_id: str | None, bootstrap_uri: str) -> dict[str, Any]:
        config = self.cluster_config()
        validate(config)
        security_groups, private = self._network(config)
        return job_flow.run_job_flow_request(
            config,
            mode=self.mode(),
            run_id=run_id if self.mode() == "per_run" else None,
            log_uri=self.log_uri(),
            bootstrap_uri=bootstrap_uri,
            security_groups=security_groups,
            private_subnets=private,
        )

    def ensure_cluster(self, emr: Any, run_id: str, bootstrap_uri: str, log: Log) -> ClusterInfo:
        """The cluster this run's steps go to: found by tag, or created (per-run or shared)."""
        if self.mode() == "shared":
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
        fingerprint = self.cluster_config().fingerprint()
        candidates = [
            c
            for c in project_clusters(
                emr, states=("WAITING", "RUNNING", "STARTING", "BOOTSTRAPPING")
            )
            if c.mode == "shared" and c.tags.get(job_flow.FINGERPRINT_TAG) == fingerprint
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
            f"{self.cluster.idle_timeout_minutes} idle minutes"
        )
        return ClusterInfo.from_description(emr.describe_cluster(ClusterId=created)["Cluster"])

    def terminate_run_clusters(self, emr: Any, run_id: str, reason: str, log: Log) -> list[str]:
        return terminate(emr, run_clusters(emr, run_id), reason, log)


# -- network checks -------------------------------------------------------------------------------
def check_subnet_tags(subnets: Iterable[dict[str, Any]]) -> None:
    """AmazonEMRServicePolicy_v2 launches only into subnets tagged for it: say so before a cluster fails."""
    ((key, value),) = job_flow.EMR_MANAGED_POLICY_TAG.items()
    untagged = [
        s["SubnetId"]
        for s in subnets
        if {t["Key"]: t["Value"] for t in s.get("Tags", [])}.get(key) != value
    ]
    if untagged:
        raise EmrConfigError(
            f"subnet(s) {', '.join(untagged)} lack the tag {key}={value} that "
            "AmazonEMRServicePolicy_v2 requires (the cluster would end TERMINATED_WITH_ERRORS): run "
            f"`wordcloud-infra up --subnet-ids {','.join(untagged)}` or tag them"
        )


def subnet_is_private(ec2: Any, subnet_id: str, vpc_id: str) -> bool:
    """Private unless the subnet's route table sends 0.0.0.0/0 to an internet gateway (AWS's definition).

    Looked up rather than configured: the route table is what EMR itself meets, so a setting could only
    drift from it. A subnet without an explicit association uses its VPC's main route table.
    """
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    if not tables:
        tables = ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
    return not any(
        route.get("DestinationCidrBlock") == "0.0.0.0/0"
        and route.get("GatewayId", "").startswith("igw-")
        for table in tables
        for route in table.get("Routes", [])
    )


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
