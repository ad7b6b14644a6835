"""IAM: the EMR service role, the nodes' role and instance profile, the Dagster identity's policy."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws.infra.policies import (
    identity_policy,
    instance_policy,
    pass_role_policy,
    trust_policy,
)
from wordcloud_pipeline.aws.infra.settings import (
    InfraSettings,
    Report,
    code,
    converge,
    managed,
    tag_list,
)
from wordcloud_pipeline.aws.names import EMR_SERVICE_POLICY_ARN, PROJECT, SERVICE_LINKED_ROLES


def _ensure_role(
    iam: Any, name: str, service: str, settings: InfraSettings, report: Report
) -> None:
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(service)),
            Description=f"{PROJECT} EMR ({service})",
            Tags=tag_list(settings.tags),
        )
        report.add(f"role {name}", "created")
        return
    converge(
        report,
        f"role {name} trust",
        role["AssumeRolePolicyDocument"],
        trust_policy(service),
        lambda: iam.update_assume_role_policy(
            RoleName=name, PolicyDocument=json.dumps(trust_policy(service))
        ),
    )


def _ensure_inline(
    iam: Any, role: str, policy_name: str, document: dict[str, Any], report: Report
) -> None:
    try:
        current = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        current = None
    converge(
        report,
        f"role {role} policy {policy_name}",
        current,
        document,
        lambda: iam.put_role_policy(
            RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        ),
    )


def ensure_iam(iam: Any, account: str, settings: InfraSettings, report: Report) -> None:
    _ensure_role(iam, settings.service_role, "elasticmapreduce.amazonaws.com", settings, report)
    attached = {
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=settings.service_role)["AttachedPolicies"]
    }
    if EMR_SERVICE_POLICY_ARN in attached:
        report.add(f"role {settings.service_role} AmazonEMRServicePolicy_v2", "unchanged")
    else:
        iam.attach_role_policy(RoleName=settings.service_role, PolicyArn=EMR_SERVICE_POLICY_ARN)
        report.add(f"role {settings.service_role} AmazonEMRServicePolicy_v2", "attached")
    _ensure_inline(
        iam,
        settings.service_role,
        "pass-instance-role",
        pass_role_policy(account, settings),
        report,
    )

    _ensure_role(iam, settings.instance_role, "ec2.amazonaws.com", settings, report)
    _ensure_inline(
        iam, settings.instance_role, "project-bucket-access", instance_policy(settings), report
    )
    try:
        profile = iam.get_instance_profile(InstanceProfileName=settings.instance_profile)[
            "InstanceProfile"
        ]
        report.add(f"instance profile {settings.instance_profile}", "unchanged")
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        profile = iam.create_instance_profile(
            InstanceProfileName=settings.instance_profile, Tags=tag_list(settings.tags)
        )["InstanceProfile"]
        report.add(f"instance profile {settings.instance_profile}", "created")
    if not any(r["RoleName"] == settings.instance_role for r in profile.get("Roles", [])):
        iam.add_role_to_instance_profile(
            InstanceProfileName=settings.instance_profile, RoleName=settings.instance_role
        )
        report.add(f"instance profile {settings.instance_profile} role", "added")


def identity_policy_arn(account: str, settings: InfraSettings) -> str:
    return f"arn:aws:iam::{account}:policy/{settings.identity_policy}"


def ensure_identity_policy(iam: Any, account: str, settings: InfraSettings, report: Report) -> str:
    """The Dagster identity's policy as a customer-managed policy (attach it to that user or role)."""
    arn = identity_policy_arn(account, settings)
    document = identity_policy(account, settings)
    name = f"policy {settings.identity_policy}"
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        iam.create_policy(
            PolicyName=settings.identity_policy,
            PolicyDocument=json.dumps(document),
            Description=f"{PROJECT}: what the identity running Dagster in EMR mode needs",
            Tags=tag_list(settings.tags),
        )
        report.add(name, "created")
        return arn
    current = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])[
        "PolicyVersion"
    ]["Document"]
    if isinstance(current, str):
        current = json.loads(current)
    if current == document:
        report.add(name, "unchanged")
        return arn
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= 5:  # IAM keeps at most five versions: drop the oldest non-default one
        oldest = min(
            (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
        )
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    report.add(name, "updated")
    return arn


def delete_identity_policy(iam: Any, account: str, settings: InfraSettings, report: Report) -> None:
    arn = identity_policy_arn(account, settings)
    name = f"policy {settings.identity_policy}"
    try:
        tags = iam.list_policy_tags(PolicyArn=arn)["Tags"]
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        report.add(name, "absent")
        return
    if not managed(tags):
        report.add(name, "kept (not created by wordcloud-infra)")
        return
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    for user in entities.get("PolicyUsers", []):
        iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
    for role in entities.get("PolicyRoles", []):
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    for group in entities.get("PolicyGroups", []):
        iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    report.add(name, "deleted")


def delete_iam(iam: Any, settings: InfraSettings, report: Report) -> None:
    """The instance profile and both roles, each only if wordcloud-infra created it."""
    try:
        profile = iam.get_instance_profile(InstanceProfileName=settings.instance_profile)[
            "InstanceProfile"
        ]
        if managed(profile.get("Tags", [])):
            for role in profile.get("Roles", []):
                iam.remove_role_from_instance_profile(
                    InstanceProfileName=settings.instance_profile, RoleName=role["RoleName"]
                )
            iam.delete_instance_profile(InstanceProfileName=settings.instance_profile)
            report.add(f"instance profile {settings.instance_profile}", "deleted")
        else:
            report.add(f"instance profile {settings.instance_profile}", "kept (not ours)")
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        report.add(f"instance profile {settings.instance_profile}", "absent")
    for role in (settings.service_role, settings.instance_role):
        try:
            tags = iam.list_role_tags(RoleName=role)["Tags"]
        except ClientError as error:
            if code(error) != "NoSuchEntity":
                raise
            report.add(f"role {role}", "absent")
            continue
        if not managed(tags):
            report.add(f"role {role}", "kept (not created by wordcloud-infra)")
            continue
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=role)
        report.add(f"role {role}", "deleted")


def service_linked_role(iam: Any, service: str) -> str | None:
    """The name of ``service``'s service-linked role in this account, or None.

    Found by its path (``/aws-service-role/<service>/``), which AWS gives every service-linked role.
    """
    roles = iam.list_roles(PathPrefix=f"/aws-service-role/{service}/")["Roles"]
    return roles[0]["RoleName"] if roles else None


def ensure_service_linked_roles(iam: Any, report: Report) -> None:
    """Creates the service-linked roles EMR and spot need (account-wide; ``down`` leaves them)."""
    for service, name in SERVICE_LINKED_ROLES.items():
        if service_linked_role(iam, service):
            report.add(f"service-linked role {name}", "unchanged")
            continue
        try:
            iam.create_service_linked_role(AWSServiceName=service)
        except ClientError as error:
            # Made meanwhile (EMR creates its own at a first cluster): AWS answers InvalidInput "...has
            # been taken in this account", moto EntityAlreadyExists.
            taken = code(error) == "InvalidInput" and "taken" in str(error)
            if not taken and code(error) != "EntityAlreadyExists":
                raise
            report.add(f"service-linked role {name}", "unchanged")
            continue
        report.add(f"service-linked role {name}", "created")
