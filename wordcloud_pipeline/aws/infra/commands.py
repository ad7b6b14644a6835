"""``up``, ``status`` and ``down``: each part converged, reported, or removed in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws import clients as aws_clients
from wordcloud_pipeline.aws.emr.cluster import project_clusters
from wordcloud_pipeline.aws.infra.bucket import (
    bucket_exists,
    delete_bucket_and_objects,
    ensure_bucket,
)
from wordcloud_pipeline.aws.infra.iam import (
    delete_iam,
    delete_identity_policy,
    ensure_iam,
    ensure_identity_policy,
)
from wordcloud_pipeline.aws.infra.network import (
    delete_security_groups,
    ensure_network_tags,
    ensure_security_groups,
    project_security_groups,
    remove_network_tags,
)
from wordcloud_pipeline.aws.infra.settings import InfraSettings, Report


@dataclass
class Clients:
    s3: Any
    iam: Any
    ec2: Any
    emr: Any
    account: str

    @classmethod
    def connect(cls, region: str) -> Clients:
        def client(name: str) -> Any:
            return aws_clients.client(name, region)

        account = client("sts").get_caller_identity()["Account"]
        return cls(client("s3"), client("iam"), client("ec2"), client("emr"), account)


def up(clients: Clients, settings: InfraSettings) -> Report:
    report = Report()
    ensure_bucket(clients.s3, settings, report)
    ensure_iam(clients.iam, clients.account, settings, report)
    ensure_identity_policy(clients.iam, clients.account, settings, report)
    ensure_network_tags(clients.ec2, settings, report)
    ensure_security_groups(clients.ec2, settings, report)
    return report


def status(clients: Clients, settings: InfraSettings) -> Report:
    report = Report()
    report.add(
        f"s3://{settings.bucket}",
        "present" if bucket_exists(clients.s3, settings.bucket) else "absent",
    )
    for role in (settings.service_role, settings.instance_role):
        try:
            clients.iam.get_role(RoleName=role)
            report.add(f"role {role}", "present")
        except ClientError:
            report.add(f"role {role}", "absent")
    for role, group in sorted(project_security_groups(clients.ec2).items()):
        report.add(f"security group {group['GroupName']} ({role})", group["GroupId"])
    for cluster in project_clusters(clients.emr):
        report.add(f"cluster {cluster.id} {cluster.name}", cluster.state)
    return report


def down(clients: Clients, settings: InfraSettings, delete_bucket: bool = False) -> Report:
    """Removes what ``up`` created (found by its managed-by tag); refuses while clusters are active."""
    active = project_clusters(clients.emr)
    if active:
        raise SystemExit(
            "active project clusters still use these resources: "
            + ", ".join(c.id for c in active)
            + " (wait for the sensors or terminate them first)"
        )
    report = Report()
    delete_iam(clients.iam, settings, report)
    delete_identity_policy(clients.iam, clients.account, settings, report)
    delete_security_groups(clients.ec2, report)
    remove_network_tags(clients.ec2, report)
    if not bucket_exists(clients.s3, settings.bucket):
        report.add(f"s3://{settings.bucket}", "absent")
    elif not delete_bucket:
        report.add(f"s3://{settings.bucket}", "kept (holds data; pass --delete-bucket)")
    else:
        delete_bucket_and_objects(clients.s3, settings)
        report.add(f"s3://{settings.bucket}", "deleted with its objects")
    return report
