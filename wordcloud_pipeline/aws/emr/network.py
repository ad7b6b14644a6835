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


def discover(ec2: Any, config: ClusterConfig) -> tuple[dict[str, str], bool]:
    """Security groups for the request and whether the subnets are private, checked before creating.

    No subnets: EMR picks the default VPC's, which ``wordcloud-infra up`` tags; nothing to look up.
    """
    if not config.subnet_ids:
        return {}, False
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
            {"Name": f"tag:{PROJECT_TAG}", "Values": [PROJECT]},
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


def check_subnet_tags(subnets: Iterable[dict[str, Any]]) -> None:
    """AmazonEMRServicePolicy_v2 launches only into subnets tagged for it: say so before a cluster fails."""
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
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
