"""The network EMR launches into: the EMR tag on the VPC and subnets, the project's security groups."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws.infra.settings import (
    DOWN_WAITS,
    InfraSettings,
    Report,
    Waits,
    code,
    tag_list,
)
from wordcloud_pipeline.aws.names import (
    EMR_MANAGED_POLICY_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    PROJECT,
    SECURITY_GROUP_ROLE_TAG,
    SECURITY_GROUP_ROLES,
    TAGGED_BY_TAG,
)


def network_to_tag(ec2: Any, settings: InfraSettings) -> list[str]:
    """The VPC and the subnets clusters launch into: AmazonEMRServicePolicy_v2 acts only on tagged ones."""
    vpc = vpc_id(ec2, settings)
    if settings.subnet_ids:
        subnets = ec2.describe_subnets(SubnetIds=list(settings.subnet_ids))["Subnets"]
        outside = [s["SubnetId"] for s in subnets if s["VpcId"] != vpc]
        if outside:
            raise SystemExit(f"subnets {', '.join(outside)} are not in VPC {vpc}: pass --vpc-id")
    else:
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return [vpc, *sorted(s["SubnetId"] for s in subnets)]


def _resource_tags(ec2: Any, resource_id: str) -> dict[str, str]:
    found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource_id]}])["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def ensure_network_tags(ec2: Any, settings: InfraSettings, report: Report) -> None:
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
    for resource in network_to_tag(ec2, settings):
        tags = _resource_tags(ec2, resource)
        if tags.get(key) == value:
            report.add(f"{resource} tag {key}", "unchanged")
            continue
        ec2.create_tags(
            Resources=[resource],
            Tags=[{"Key": key, "Value": value}, {"Key": TAGGED_BY_TAG, "Value": MANAGED_BY}],
        )
        report.add(f"{resource} tag {key}", "added")


def remove_network_tags(ec2: Any, report: Report) -> None:
    """Takes the EMR tag off the subnets and VPCs where this tool added it, and only there."""
    ((key, _),) = EMR_MANAGED_POLICY_TAG.items()
    marked = ec2.describe_tags(
        Filters=[
            {"Name": "key", "Values": [TAGGED_BY_TAG]},
            {"Name": "value", "Values": [MANAGED_BY]},
        ]
    )["Tags"]
    for tag in marked:
        ec2.delete_tags(Resources=[tag["ResourceId"]], Tags=[{"Key": key}, {"Key": TAGGED_BY_TAG}])
        report.add(f"{tag['ResourceId']} tag {key}", "removed")


def vpc_id(ec2: Any, settings: InfraSettings) -> str:
    if settings.vpc_id:
        return settings.vpc_id
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise SystemExit("no default VPC in this region: pass --vpc-id")
    return vpcs[0]["VpcId"]


def project_security_groups(ec2: Any, vpc: str | None = None) -> dict[str, dict[str, Any]]:
    """This tool's security groups by role (master / worker / service)."""
    filters = [{"Name": f"tag:{MANAGED_BY_TAG}", "Values": [MANAGED_BY]}]
    if vpc:
        filters.append({"Name": "vpc-id", "Values": [vpc]})
    groups = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    by_role = {}
    for group in groups:
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        if SECURITY_GROUP_ROLE_TAG in tags:
            by_role[tags[SECURITY_GROUP_ROLE_TAG]] = group
    return by_role


def desired_ingress(ids: dict[str, str]) -> dict[str, set[tuple[str, int, int, str]]]:
    """(protocol, from, to, source group) per group: the cluster talks to itself, nobody else can."""
    return {
        "master": {
            ("-1", -1, -1, ids["master"]),
            ("-1", -1, -1, ids["worker"]),
            ("tcp", 8443, 8443, ids["service"]),
        },
        "worker": {("-1", -1, -1, ids["master"]), ("-1", -1, -1, ids["worker"])},
        "service": {("tcp", 9443, 9443, ids["master"])},
    }


def _ingress(group: dict[str, Any]) -> set[tuple[str, int, int, str]]:
    rules = set()
    for perm in group.get("IpPermissions", []):
        for pair in perm.get("UserIdGroupPairs", []):
            rules.add(
                (
                    perm["IpProtocol"],
                    perm.get("FromPort", -1),
                    perm.get("ToPort", -1),
                    pair["GroupId"],
                )
            )
    return rules


def ensure_security_groups(ec2: Any, settings: InfraSettings, report: Report) -> None:
    vpc = vpc_id(ec2, settings)
    existing = project_security_groups(ec2, vpc)
    for role in SECURITY_GROUP_ROLES:
        name = settings.security_group(role)
        if role in existing:
            # A group made before the EMR tag mattered (or stripped of it) gets it back.
            tags = {t["Key"]: t["Value"] for t in existing[role].get("Tags", [])}
            missing = {k: v for k, v in EMR_MANAGED_POLICY_TAG.items() if tags.get(k) != v}
            if missing:
                ec2.create_tags(Resources=[existing[role]["GroupId"]], Tags=tag_list(missing))
                report.add(f"security group {name}", f"tagged {', '.join(missing)}")
            else:
                report.add(f"security group {name}", "unchanged")
            continue
        tags = {**settings.tags, **EMR_MANAGED_POLICY_TAG, SECURITY_GROUP_ROLE_TAG: role}
        ec2.create_security_group(
            GroupName=name,
            Description=f"{PROJECT} EMR {role} (ingress only from the project's groups)",
            VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags)}],
        )
        report.add(f"security group {name}", "created")
    groups = project_security_groups(ec2, vpc)
    ids = {role: groups[role]["GroupId"] for role in SECURITY_GROUP_ROLES}
    for role, wanted in desired_ingress(ids).items():
        missing = wanted - _ingress(groups[role])
        if not missing:
            report.add(f"security group {settings.security_group(role)} ingress", "unchanged")
            continue
        ec2.authorize_security_group_ingress(
            GroupId=ids[role],
            IpPermissions=[
                {
                    "IpProtocol": proto,
                    "FromPort": start,
                    "ToPort": end,
                    "UserIdGroupPairs": [{"GroupId": source}],
                }
                if proto != "-1"
                else {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": source}]}
                for proto, start, end, source in sorted(missing)
            ],
        )
        report.add(f"security group {settings.security_group(role)} ingress", "updated")


def delete_security_groups(ec2: Any, report: Report, waits: Waits = DOWN_WAITS) -> None:
    """The project's security groups, their rules naming each other revoked first.

    EMR's network interfaces outlive a terminated cluster by a few minutes, and a group still used by
    one cannot be deleted (``DependencyViolation``): each delete waits for them, within ``waits``.
    """
    groups = project_security_groups(ec2)
    ids = {g["GroupId"] for g in groups.values()}
    for group in groups.values():
        # Rules reference each other, inbound and (EMR adds them) outbound: revoke every rule that
        # names one of the groups before deleting any, or the delete fails with DependencyViolation.
        if group.get("IpPermissions"):
            ec2.revoke_security_group_ingress(
                GroupId=group["GroupId"], IpPermissions=group["IpPermissions"]
            )
        egress = [
            {
                **p,
                "UserIdGroupPairs": [
                    pair for pair in p["UserIdGroupPairs"] if pair["GroupId"] in ids
                ],
            }
            for p in group.get("IpPermissionsEgress", [])
            if any(pair["GroupId"] in ids for pair in p.get("UserIdGroupPairs", []))
        ]
        for permission in egress:
            permission.pop("IpRanges", None)
            permission.pop("Ipv6Ranges", None)
            permission.pop("PrefixListIds", None)
        if egress:
            ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=egress)
    for group in groups.values():
        delete_when_unused(ec2, group, waits)
        report.add(f"security group {group['GroupName']}", "deleted")


def interfaces_using(ec2: Any, group_id: str) -> list[str]:
    found = ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [group_id]}])
    return [i["NetworkInterfaceId"] for i in found["NetworkInterfaces"]]


def delete_when_unused(ec2: Any, group: dict[str, Any], waits: Waits) -> None:
    """Deletes ``group`` once no network interface uses it; a bounded retry, then a one-line exit."""
    group_id = group["GroupId"]
    for attempt in range(waits.attempts):
        users = interfaces_using(ec2, group_id)
        if not users:
            try:
                ec2.delete_security_group(GroupId=group_id)
                return
            except ClientError as error:
                if code(error) != "DependencyViolation":
                    raise
        if attempt + 1 < waits.attempts:
            waits.sleep(waits.seconds)
    users = interfaces_using(ec2, group_id)
    raise SystemExit(
        f"security group {group['GroupName']} ({group_id}) is still in use"
        + (f" by network interface(s) {', '.join(users)}" if users else "")
        + f" after {waits.attempts * waits.seconds:.0f} s; EMR removes its interfaces a few minutes "
        "after its clusters end: run `wordcloud-infra down` again later"
    )
