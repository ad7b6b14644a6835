"""What a ``wordcloud-infra`` command was asked for, what it did, and the helpers every part shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws.layout import BucketLayout
from wordcloud_pipeline.aws.names import (
    DEFAULT_PREFIX,
    MANAGED_BY,
    MANAGED_BY_TAG,
    PROJECT,
    PROJECT_TAG,
    ResourceNames,
)


@dataclass(frozen=True)
class InfraSettings:
    """What one ``wordcloud-infra`` command was asked to do; every name comes from ``aws.names``."""

    region: str
    bucket: str
    prefix: str = DEFAULT_PREFIX
    vpc_id: str | None = None
    reviews_bucket: str | None = None
    log_retention_days: int = 30
    # Pipes context and messages under <prefix>/runs/: only the run reads them.
    run_retention_days: int = 7
    # Deny plain-HTTP access to the bucket. Off only for emulators (moto, LocalStack) that speak HTTP.
    require_tls: bool = True
    # Subnets clusters launch into (tagged for AmazonEMRServicePolicy_v2); empty: every subnet of the VPC.
    subnet_ids: tuple[str, ...] = ()
    # Converge policy, lifecycle and tags of a bucket that exists without this tool's managed-by tag.
    adopt_bucket: bool = False

    @property
    def names(self) -> ResourceNames:
        return ResourceNames(self.prefix)

    @property
    def layout(self) -> BucketLayout:
        """The project bucket's layout under the same prefix the pipeline uses by default."""
        return BucketLayout(self.bucket, self.prefix)

    @property
    def service_role(self) -> str:
        return self.names.service_role

    @property
    def instance_role(self) -> str:
        return self.names.instance_role

    @property
    def instance_profile(self) -> str:
        return self.names.instance_profile

    @property
    def identity_policy(self) -> str:
        return self.names.identity_policy

    def security_group(self, role: str) -> str:
        return self.names.security_group(role)

    @property
    def tags(self) -> dict[str, str]:
        return {PROJECT_TAG: PROJECT, MANAGED_BY_TAG: MANAGED_BY}


@dataclass
class Report:
    """What a command did, one line per resource."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, resource: str, action: str) -> None:
        self.lines.append((resource, action))

    def changed(self) -> bool:
        quiet = ("unchanged", "absent", "kept", "skipped", "present")
        return any(not action.startswith(quiet) for _, action in self.lines)

    def text(self) -> str:
        width = max((len(r) for r, _ in self.lines), default=0)
        return "\n".join(f"{resource.ljust(width)}  {action}" for resource, action in self.lines)


def code(error: ClientError) -> str:
    """The AWS error code of a refused call."""
    return error.response.get("Error", {}).get("Code", "")


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def managed(tags: list[dict[str, str]]) -> bool:
    """Whether a resource carries wordcloud-infra's own tag (only those are changed or deleted)."""
    return {t["Key"]: t["Value"] for t in tags}.get(MANAGED_BY_TAG) == MANAGED_BY


def converge(report: Report, name: str, current: Any, desired: Any, write) -> None:
    """Calls ``write`` only when ``current`` differs from ``desired``, and says which it was."""
    if current == desired:
        report.add(name, "unchanged")
    else:
        write()
        report.add(name, "updated" if current is not None else "set")


@dataclass(frozen=True)
class Waits:
    """How long ``down`` waits for what AWS finishes after a cluster ends (``attempts`` x ``seconds``)."""

    attempts: int = 30
    seconds: float = 10.0
    sleep: Callable[[float], None] = time.sleep


# Five minutes: EMR removes its network interfaces a few minutes after a cluster ends.
DOWN_WAITS = Waits()
