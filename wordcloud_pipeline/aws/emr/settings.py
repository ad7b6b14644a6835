"""``EmrClusterResource``: the EMR settings a run uses, and the AWS clients and bucket layout they imply.

Settings only: what a cluster is made of, where its files go, how long a step may run, what it costs.
Finding, creating and ending clusters is ``cluster.ClusterLifecycle``, built from these settings.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field, model_validator

from wordcloud_pipeline.aws import clients, estimate
from wordcloud_pipeline.aws.emr import job_flow
from wordcloud_pipeline.aws.emr.cluster import ClusterLifecycle
from wordcloud_pipeline.aws.emr.config import ClusterConfig, ClusterMode, EmrConfigError, validate
from wordcloud_pipeline.aws.emr.cost import PriceTable
from wordcloud_pipeline.aws.layout import BucketLayout
from wordcloud_pipeline.aws.names import DEFAULT_PREFIX
from wordcloud_pipeline.resources.user_settings import UserSettings

# What the cost guard's age limit is derived from: the Spark steps of one run (``spark_steps_per_run``),
# each tried at most twice (the retry after a spot interruption), plus start-up.
STEP_ATTEMPTS = 2
PROVISIONING_HOURS = 1.0
# A step's timeout when none is set: this many times the Spark time its input is estimated to take on the
# fleet (``estimate``), within these bounds. A hung step then bills about an hour, not half a day.
STEP_TIMEOUT_WORK_FACTOR = 10.0
STEP_TIMEOUT_FLOOR_HOURS = 1.0
STEP_TIMEOUT_CEILING_HOURS = 12.0


class EmrClusterResource(UserSettings):
    """The EMR settings of the run: bucket, region, cluster mode and shape, timeouts, prices.

    The bucket comes from WORDCLOUD_EMR_BUCKET. Region, cluster mode and subnets, when not set here,
    come from WORDCLOUD_EMR_REGION (else AWS_REGION or AWS_DEFAULT_REGION, else us-east-1),
    WORDCLOUD_EMR_CLUSTER_MODE (else per_run) and WORDCLOUD_EMR_SUBNET_IDS (comma-separated, else the
    default VPC).
    """

    config_key: ClassVar[str] = "emr"

    # Region, cluster mode and subnets fall back to environment variables by hand, read when used (never
    # at import): dg.EnvVar has no default for an unset variable and these have one, and the region is
    # a chain of variables where botocore itself reads only AWS_DEFAULT_REGION.

    bucket: str | None = Field(
        default=None, description="project bucket for code, logs, Pipes messages"
    )
    prefix: str = Field(default=DEFAULT_PREFIX, description="key prefix inside the bucket")
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
    step_timeout_hours: float | None = Field(
        default=None,
        gt=0,
        description="a step still running after this long is failed; unset: derived from the size "
        "of its input (10x its estimated Spark time on the fleet, between 1 and 12 hours)",
    )
    spark_steps_per_run: int | None = Field(
        default=None,
        ge=1,
        description="the most Spark steps one run starts (the definitions count them in the jobs); "
        "with step_timeout_hours it bounds a cluster's age",
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
        longest = self.longest_step_hours()
        if self.max_cluster_hours is not None and self.max_cluster_hours <= longest:
            raise ValueError(
                f"max_cluster_hours={self.max_cluster_hours:g} would end clusters whose steps may "
                f"still run for {longest:g} hours (step_timeout_hours, or its ceiling when derived): "
                "raise it, or leave it unset to derive it"
            )
        return self

    def longest_step_hours(self) -> float:
        """The longest a step may run: the set timeout, else the derived one's ceiling."""
        return self.step_timeout_hours or STEP_TIMEOUT_CEILING_HOURS

    def step_timeout_seconds(self, input_bytes: int | None) -> float:
        """The set timeout; else ``STEP_TIMEOUT_WORK_FACTOR`` times the Spark time ``input_bytes`` is
        estimated to take on the fleet, within the floor and the ceiling (the ceiling when the input's
        size is unknown)."""
        if self.step_timeout_hours:
            return self.step_timeout_hours * 3600
        if input_bytes is None:
            return STEP_TIMEOUT_CEILING_HOURS * 3600
        work = estimate.emr_estimate(input_bytes / estimate.GB, self.cluster_config(), self.prices)
        hours = STEP_TIMEOUT_WORK_FACTOR * work.work_minutes / 60
        return min(STEP_TIMEOUT_CEILING_HOURS, max(STEP_TIMEOUT_FLOOR_HOURS, hours)) * 3600

    def max_cluster_age(self) -> timedelta:
        """The sweeper's age limit: the longest a run can legitimately keep its cluster.

        A run has at most ``spark_steps_per_run`` steps, each attempted at most ``STEP_ATTEMPTS`` times
        (the spot retry) and each allowed ``longest_step_hours``, plus ``PROVISIONING_HOURS`` to start.
        """
        if self.max_cluster_hours is not None:
            return timedelta(hours=self.max_cluster_hours)
        if self.spark_steps_per_run is None:
            raise EmrConfigError(
                "EmrClusterResource: set spark_steps_per_run (definitions.emr_resources does) or "
                "max_cluster_hours, so the cost guard knows how old a cluster may get"
            )
        hours = (
            self.spark_steps_per_run * STEP_ATTEMPTS * self.longest_step_hours()
            + PROVISIONING_HOURS
        )
        return timedelta(hours=hours)

    # -- settings resolved at use ------------------------------------------------------------
    def region_name(self) -> str:
        return clients.region_name(self.region)

    def bucket_name(self) -> str:
        if not self.bucket:
            raise EmrConfigError(
                "EMR mode needs the project bucket: set WORDCLOUD_EMR_BUCKET "
                "(`wordcloud-infra up` creates it and prints the value)"
            )
        return self.bucket

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

    def layout(self) -> BucketLayout:
        """Where code, EMR logs and the runs' Pipes messages go in the project bucket."""
        return BucketLayout(self.bucket_name(), self.prefix)

    def client(self, service: str, max_attempts: int | None = None) -> Any:
        """A boto3 client in this resource's region (``clients.client``).

        Not dagster-aws's ``ResourceWithBoto3Configuration``: its fields (``region_name``,
        ``max_attempts``, ``profile_name``, ``endpoint_url``, keys) would replace this resource's settings
        and environment fallbacks, and its ``construct_boto_client_retry_config`` fixes botocore's
        "standard" retry mode, where the EMR control plane's throttling wants "adaptive".
        """
        return clients.client(service, self.region_name(), max_attempts)

    def lifecycle(self) -> ClusterLifecycle:
        """Find-or-create and terminate for these settings."""
        return ClusterLifecycle(self)

    def validate(self) -> None:
        """All checks that need no AWS call (fleet shapes, executor memory, release)."""
        config = self.cluster_config()
        validate(config)
        job_flow.fleet_requests(config)
        self.mode()
