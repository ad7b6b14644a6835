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
    ensure_service_linked_roles,
    service_linked_role,
)
from wordcloud_pipeline.aws.infra.network import (
    delete_security_groups,
    ensure_network_tags,
    ensure_security_groups,
    project_security_groups,
    remove_network_tags,
)
from wordcloud_pipeline.aws.infra.settings import DOWN_WAITS, InfraSettings, Report, Waits
from wordcloud_pipeline.aws.names import SERVICE_LINKED_ROLES


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
    ensure_service_linked_roles(clients.iam, report)
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
    for service, name in SERVICE_LINKED_ROLES.items():
        found = service_linked_role(clients.iam, service)
        report.add(f"service-linked role {name}", "present" if found else "absent")
    for role, group in sorted(project_security_groups(clients.ec2).items()):
        report.add(f"security group {group['GroupName']} ({role})", group["GroupId"])
    for cluster in project_clusters(clients.emr):
        report.add(f"cluster {cluster.id} {cluster.name}", cluster.state)
    return report


def down(
    clients: Clients,
    settings: InfraSettings,
    delete_bucket: bool = False,
    waits: Waits = DOWN_WAITS,
) -> Report:
    """Removes what ``up`` created (found by its managed-by tag); refuses while clusters are active.

    Clusters still TERMINATING hold instances and network interfaces in the project's groups: ``down``
    waits for them to end (within ``waits``) before deleting anything.
    """
    active = project_clusters(clients.emr)
    if active:
        raise SystemExit(
            "active project clusters still use these resources: "
            + ", ".join(c.id for c in active)
            + " (wait for the sensors or terminate them first)"
        )
    wait_for_terminated(clients.emr, waits)
    report = Report()
    delete_iam(clients.iam, settings, report)
    delete_identity_policy(clients.iam, clients.account, settings, report)
    delete_security_groups(clients.ec2, report, waits)
    remove_network_tags(clients.ec2, report)
    if not bucket_exists(clients.s3, settings.bucket):
        report.add(f"s3://{settings.bucket}", "absent")
    elif not delete_bucket:
        report.add(f"s3://{settings.bucket}", "kept (holds data; pass --delete-bucket)")
    else:
        delete_bucket_and_objects(clients.s3, settings)
        report.add(f"s3://{settings.bucket}", "deleted with its objects")
    return report


def wait_for_terminated(emr: Any, waits: Waits) -> None:
    """Waits until no project cluster is TERMINATING; a one-line exit when that takes too long."""
    for attempt in range(waits.attempts):
        ending = project_clusters(emr, states=("TERMINATING",))
        if not ending:
            return
        if attempt + 1 < waits.attempts:
            waits.sleep(waits.seconds)
    raise SystemExit(
        "project clusters are still TERMINATING: "
        + ", ".join(c.id for c in ending)
        + f" after {waits.attempts * waits.seconds:.0f} s: run `wordcloud-infra down` again later"
    )
