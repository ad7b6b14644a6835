"""Network discovery before a cluster is created: subnet tags, public or private, the project's groups.

Looked up rather than configured where AWS already knows the answer (a subnet's route table says whether
it is private), so a setting cannot drift from what EMR will meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wordcloud_pipeline.aws.emr.config import ClusterConfig, EmrConfigError
from wordcloud_pipeline.aws.names import (
    EMR_MANAGED_POLICY_TAG,
    PROJECT,
    PROJECT_TAG,
    SECURITY_GROUP_ROLE_TAG,
)

GROUP_KEYS = {
    "master": "EmrManagedMasterSecurityGroup",
    "worker": "EmrManagedSlaveSecurityGroup",
    "service": "ServiceAccessSecurityGroup",
}


def discover(ec2: Any, config: ClusterConfig) -> tuple[dict[str, str], bool]:
    """Security groups for the request and whether the subnets are private, checked before creating.

    Groups are always sent, in the default VPC too: without them EMR falls back to its own
    ``ElasticMapReduce-master``/``-slave`` groups, which ``AmazonEMRServicePolicy_v2`` will not use when
    they predate it (untagged). The groups are the configured ones, else those ``wordcloud-infra up``
    made in the VPC; each must carry the ``for-use-with-amazon-emr-managed-policies`` tag.
    """
    if config.subnet_ids:
        subnets = ec2.describe_subnets(SubnetIds=config.subnet_ids)["Subnets"]
        check_subnet_tags(subnets)
        vpc = subnets[0]["VpcId"]
        is_private = private_subnets(ec2, subnets, vpc)
        where = f"VPC {vpc} of subnet_ids"
    else:
        vpc = default_vpc(ec2)
        is_private = False
        where = f"the default VPC {vpc}"
    if config.service_access_security_group and not is_private:
        raise EmrConfigError(
            f"service_access_security_group is set but {', '.join(config.subnet_ids) or where} "
            "are public subnets (their route table sends 0.0.0.0/0 to an internet gateway): EMR uses "
            "that group only in private subnets; unset it"
        )
    needed = ["master", "worker", *(["service"] if is_private else [])]
    configured = {
        "master": config.master_security_group,
        "worker": config.worker_security_group,
        "service": config.service_access_security_group,
    }
    groups = {role: gid for role, gid in configured.items() if gid and role in needed}
    if len(groups) < len(needed):
        found = project_groups(ec2, vpc)
        groups = {role: groups.get(role) or found.get(role) for role in needed}
        missing = [role for role, gid in groups.items() if not gid]
        if missing:
            raise EmrConfigError(
                f"no {'/'.join(missing)} security group of this project in {where}: run "
                "`wordcloud-infra up` there (with --vpc-id / --subnet-ids), or set "
                + ", ".join(f"cluster.{r}_security_group" for r in missing)
                + " (EMR's own default groups are refused by AmazonEMRServicePolicy_v2 unless tagged)"
            )
    check_group_tags(ec2, sorted(set(groups.values())))
    return {GROUP_KEYS[role]: gid for role, gid in groups.items()}, is_private


def default_vpc(ec2: Any) -> str:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise EmrConfigError(
            "this region has no default VPC: set WORDCLOUD_EMR_SUBNET_IDS (or cluster.subnet_ids) "
            "to subnets that `wordcloud-infra up --subnet-ids ...` prepared"
        )
    return vpcs[0]["VpcId"]


def private_subnets(ec2: Any, subnets: list[dict[str, Any]], vpc: str) -> bool:
    """Whether the subnets are private; a mix of private and public ones is refused."""
    private = {s["SubnetId"]: subnet_is_private(ec2, s["SubnetId"], vpc) for s in subnets}
    if len(set(private.values())) > 1:
        kinds = ", ".join(f"{k}: {'private' if v else 'public'}" for k, v in private.items())
        raise EmrConfigError(
            f"subnet_ids mixes private and public subnets ({kinds}); EMR needs a service-access "
            "security group in private subnets only: list one kind"
        )
    return all(private.values())


def project_groups(ec2: Any, vpc: str) -> dict[str, str]:
    """The groups ``wordcloud-infra up`` made in ``vpc``, by role (master / worker / service)."""
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": f"tag:{PROJECT_TAG}", "Values": [PROJECT]},
        ]
    )["SecurityGroups"]
    return {
        t["Value"]: g["GroupId"]
        for g in groups
        for t in g.get("Tags", [])
        if t["Key"] == SECURITY_GROUP_ROLE_TAG
    }


def lacking_emr_tag(described: Iterable[dict[str, Any]], id_key: str) -> list[str]:
    """The ids (``id_key``) of the described EC2 resources without the EMR managed-policy tag."""
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
    return [
        r[id_key]
        for r in described
        if {t["Key"]: t["Value"] for t in r.get("Tags", [])}.get(key) != value
    ]


def check_group_tags(ec2: Any, group_ids: list[str]) -> None:
    """Every group the cluster gets carries the EMR tag, or ``EmrConfigError`` naming the others."""
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
    described = ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]
    untagged = lacking_emr_tag(described, "GroupId")
    if untagged:
        raise EmrConfigError(
            f"security group(s) {', '.join(untagged)} lack the tag {key}={value}, so "
            "AmazonEMRServicePolicy_v2 will not use them: run `aws ec2 create-tags --resources "
            f"{' '.join(untagged)} --tags Key={key},Value={value}` (or `wordcloud-infra up` for "
            "this project's groups)"
        )


def check_subnet_tags(subnets: Iterable[dict[str, Any]]) -> None:
    """AmazonEMRServicePolicy_v2 launches only into subnets tagged for it: say so before a cluster fails."""
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
    untagged = lacking_emr_tag(subnets, "SubnetId")
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
