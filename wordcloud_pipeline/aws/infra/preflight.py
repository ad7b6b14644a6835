"""``wordcloud-infra preflight``: read-only checks of what AWS would refuse on a first run, before any cost.

Each finding says what would fail, why, and the command or setting that fixes it. A check whose API is
unavailable or denied is "not checked" with the reason: it fails the command only with ``--strict``.
Nothing here creates, changes or deletes anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from wordcloud_pipeline.aws import clients as aws_clients
from wordcloud_pipeline.aws.emr.config import INSTANCE_CATALOG, ClusterConfig
from wordcloud_pipeline.aws.emr.network import project_groups
from wordcloud_pipeline.aws.infra.iam import service_linked_role
from wordcloud_pipeline.aws.infra.network import vpc_id
from wordcloud_pipeline.aws.infra.settings import InfraSettings, code
from wordcloud_pipeline.aws.names import EMR_MANAGED_POLICY_TAG, SERVICE_LINKED_ROLES
from wordcloud_pipeline.aws.permissions import runner_actions

OK, FAIL, NOT_CHECKED = "ok", "FAIL", "not checked"
# EC2 vCPU quotas (Service Quotas, service code ec2): the standard families the fleets use.
ON_DEMAND_QUOTA = ("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
SPOT_QUOTA = ("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests")


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    message: str

    def line(self) -> str:
        return f"{self.status:<11}  {self.check}: {self.message}"


@dataclass
class PreflightClients:
    iam: Any
    ec2: Any
    emr: Any
    s3: Any
    sts: Any
    quotas: Any
    account: str

    @classmethod
    def connect(cls, region: str) -> PreflightClients:
        """Clients that give up after two attempts: an unavailable API is reported, not retried."""

        def client(name: str) -> Any:
            return aws_clients.client(name, region, max_attempts=2)

        sts = client("sts")
        account = sts.get_caller_identity()["Account"]
        return cls(
            client("iam"),
            client("ec2"),
            client("emr"),
            client("s3"),
            sts,
            client("service-quotas"),
            account,
        )


def _unavailable(check: str, error: Exception) -> Finding:
    reason = code(error) if isinstance(error, ClientError) else type(error).__name__
    detail = str(error).splitlines()[0][:160]
    return Finding(check, NOT_CHECKED, f"unavailable or denied ({reason}): {detail}")


def guarded(check: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    """``run``'s findings, or one "not checked" finding when its API is unavailable or denied."""
    try:
        return run()
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        # An emulator answers an API it lacks with an unparseable page: unavailable, too.
        return [_unavailable(check, error)]


def simulated_principal(sts: Any, principal_arn: str | None) -> tuple[str, bool]:
    """The identity to simulate (the given one, else the caller) and whether it can be simulated: a
    session (an assumed role) cannot, its role's ARN must be given."""
    arn = principal_arn or sts.get_caller_identity()["Arn"]
    return arn, ":assumed-role/" not in arn


def session_not_checked(check: str, arn: str) -> Finding:
    return Finding(check, NOT_CHECKED, f"{arn} is a session: pass --principal-arn <role ARN>")


def denied_actions(
    iam: Any, principal_arn: str, actions: list[str], resources: list[str] | None = None
) -> list[str]:
    """The ``actions`` IAM's policy simulator does not allow ``principal_arn`` (on ``resources``)."""
    results = iam.simulate_principal_policy(
        PolicySourceArn=principal_arn,
        ActionNames=actions,
        **({"ResourceArns": resources} if resources else {}),
    )["EvaluationResults"]
    return [r["EvalActionName"] for r in results if r["EvalDecision"] != "allowed"]


def check_permissions(c: PreflightClients, principal_arn: str | None) -> list[Finding]:
    check = "runner permissions"
    principal_arn, can_simulate = simulated_principal(c.sts, principal_arn)
    if not can_simulate:
        return [session_not_checked(check, principal_arn)]
    actions = runner_actions()
    denied = denied_actions(c.iam, principal_arn, actions)
    if denied:
        return [
            Finding(
                check,
                FAIL,
                f"{principal_arn} may not {', '.join(denied)}: attach the policy "
                "`wordcloud-infra up` prints (wordcloud-dagster-identity) to it",
            )
        ]
    return [Finding(check, OK, f"{principal_arn} may make all {len(actions)} calls of a run")]


def check_service_linked_roles(c: PreflightClients) -> list[Finding]:
    findings = []
    for service, name in SERVICE_LINKED_ROLES.items():
        if service_linked_role(c.iam, service):
            findings.append(Finding(f"service-linked role {name}", OK, "exists"))
        else:
            findings.append(
                Finding(
                    f"service-linked role {name}",
                    FAIL,
                    f"missing, and EMR creates it only if the runner may iam:CreateServiceLinkedRole: "
                    f"run `wordcloud-infra up` or `aws iam create-service-linked-role "
                    f"--aws-service-name {service}`",
                )
            )
    return findings


def check_roles(
    c: PreflightClients, settings: InfraSettings, cluster: ClusterConfig
) -> list[Finding]:
    check = "roles"
    findings = []
    try:
        c.iam.get_role(RoleName=cluster.service_role)
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        findings.append(
            Finding(
                check,
                FAIL,
                f"service role {cluster.service_role} is missing: run `wordcloud-infra up`",
            )
        )
    try:
        profile = c.iam.get_instance_profile(InstanceProfileName=cluster.instance_profile)
    except ClientError as error:
        if code(error) != "NoSuchEntity":
            raise
        return [
            *findings,
            Finding(
                check,
                FAIL,
                f"instance profile {cluster.instance_profile} is missing: run `wordcloud-infra up`",
            ),
        ]
    roles = [r["RoleName"] for r in profile["InstanceProfile"]["Roles"]]
    if roles != [cluster.instance_profile]:
        findings.append(
            Finding(
                check,
                FAIL,
                f"instance profile {cluster.instance_profile} holds {roles or 'no role'}; EMR needs "
                "the EC2 role and its profile to have one name: run `wordcloud-infra up`",
            )
        )
    return findings or [
        Finding(check, OK, "service role present; instance profile named as its role")
    ]


def _subnets(c: PreflightClients, settings: InfraSettings) -> tuple[str, list[dict[str, Any]]]:
    vpc = vpc_id(c.ec2, settings)
    if settings.subnet_ids:
        return vpc, c.ec2.describe_subnets(SubnetIds=list(settings.subnet_ids))["Subnets"]
    return vpc, c.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def check_network_tags(c: PreflightClients, settings: InfraSettings) -> list[Finding]:
    ((key, value),) = EMR_MANAGED_POLICY_TAG.items()
    vpc, subnets = _subnets(c, settings)
    (vpc_desc,) = c.ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"]
    groups = project_groups(c.ec2, vpc)
    described = (
        c.ec2.describe_security_groups(GroupIds=sorted(groups.values()))["SecurityGroups"]
        if groups
        else []
    )
    untagged = [vpc] if _tags(vpc_desc).get(key) != value else []
    untagged += [s["SubnetId"] for s in subnets if _tags(s).get(key) != value]
    untagged += [g["GroupId"] for g in described if _tags(g).get(key) != value]
    findings = []
    if untagged:
        findings.append(
            Finding(
                "EMR tag",
                FAIL,
                f"{', '.join(untagged)} lack {key}={value}, so AmazonEMRServicePolicy_v2 will not "
                "launch there: run `wordcloud-infra up"
                + (f" --subnet-ids {','.join(settings.subnet_ids)}" if settings.subnet_ids else "")
                + "`",
            )
        )
    missing = [r for r in ("master", "worker") if r not in groups]
    if missing:
        findings.append(
            Finding(
                "security groups",
                FAIL,
                f"no {'/'.join(missing)} group of this project in {vpc}: run `wordcloud-infra up`",
            )
        )
    return findings or [
        Finding("EMR tag", OK, f"VPC {vpc}, {len(subnets)} subnet(s), groups tagged")
    ]


def check_internet(c: PreflightClients, settings: InfraSettings) -> list[Finding]:
    """The bootstrap pip-installs from PyPI: each subnet needs an internet gateway or a NAT route."""
    vpc, subnets = _subnets(c, settings)
    cut_off = []
    for subnet in subnets:
        tables = (
            c.ec2.describe_route_tables(
                Filters=[{"Name": "association.subnet-id", "Values": [subnet["SubnetId"]]}]
            )["RouteTables"]
            or c.ec2.describe_route_tables(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc]},
                    {"Name": "association.main", "Values": ["true"]},
                ]
            )["RouteTables"]
        )
        routes = [r for t in tables for r in t.get("Routes", [])]
        out = any(
            r.get("DestinationCidrBlock") == "0.0.0.0/0"
            and (r.get("GatewayId", "").startswith("igw-") or r.get("NatGatewayId"))
            for r in routes
        )
        if not out:
            cut_off.append(subnet["SubnetId"])
    if cut_off:
        return [
            Finding(
                "route to PyPI",
                FAIL,
                f"{', '.join(cut_off)} have no 0.0.0.0/0 route to an internet gateway or NAT gateway: "
                "the bootstrap cannot pip-install; add a NAT gateway, or a PyPI mirror to pip's "
                "configuration in the bootstrap",
            )
        ]
    return [Finding("route to PyPI", OK, f"{len(subnets)} subnet(s) reach the internet")]


def check_release(c: PreflightClients, cluster: ClusterConfig) -> list[Finding]:
    labels: list[str] = []
    token: dict[str, str] = {}
    while True:  # ListReleaseLabels has a NextToken but no botocore paginator
        page = c.emr.list_release_labels(**token)
        labels += page.get("ReleaseLabels", [])
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    if cluster.release_label not in labels:
        return [
            Finding(
                "EMR release",
                FAIL,
                f"{cluster.release_label} is not offered in this region: set cluster.release_label "
                f"to one of {', '.join(sorted(labels, reverse=True)[:3])}",
            )
        ]
    return [Finding("EMR release", OK, f"{cluster.release_label} is offered")]


def check_instance_types(
    c: PreflightClients, settings: InfraSettings, cluster: ClusterConfig
) -> list[Finding]:
    _, subnets = _subnets(c, settings)
    zones = sorted({s["AvailabilityZone"] for s in subnets})
    types = sorted({t for fleet in cluster.fleets().values() for t in fleet.instance_types})
    offered: set[str] = set()
    for page in c.ec2.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="availability-zone",
        Filters=[
            {"Name": "instance-type", "Values": types},
            {"Name": "location", "Values": zones},
        ],
    ):
        offered |= {o["InstanceType"] for o in page["InstanceTypeOfferings"]}
    findings = []
    for role, fleet in cluster.fleets().items():
        if not set(fleet.instance_types) & offered:
            findings.append(
                Finding(
                    "instance types",
                    FAIL,
                    f"none of the {role.lower()} fleet's types ({', '.join(fleet.instance_types)}) is "
                    f"offered in {', '.join(zones)}: add types offered there",
                )
            )
    absent = [t for t in types if t not in offered]
    if not findings:
        note = f"; not offered there: {', '.join(absent)}" if absent else ""
        findings.append(
            Finding("instance types", OK, f"each fleet has types in {', '.join(zones)}{note}")
        )
    return findings


def fleet_vcpus(cluster: ClusterConfig) -> tuple[int, int]:
    """(on-demand, spot) vCPUs at the fleets' targets, each unit counted as its largest type."""
    on_demand = spot = 0
    for fleet in cluster.fleets().values():
        per_unit = max(
            (
                INSTANCE_CATALOG[t].vcpus / w
                for t, w in fleet.instance_types.items()
                if t in INSTANCE_CATALOG
            ),
            default=0,
        )
        on_demand += math.ceil(fleet.on_demand_units * per_unit)
        spot += math.ceil(fleet.spot_units * per_unit)
    return on_demand, spot


def check_quotas(c: PreflightClients, cluster: ClusterConfig) -> list[Finding]:
    on_demand, spot = fleet_vcpus(cluster)
    findings = []
    for (quota_code, name), needed in ((ON_DEMAND_QUOTA, on_demand), (SPOT_QUOTA, spot)):
        value = c.quotas.get_service_quota(ServiceCode="ec2", QuotaCode=quota_code)["Quota"][
            "Value"
        ]
        if value < needed:
            findings.append(
                Finding(
                    "vCPU quota",
                    FAIL,
                    f"{name} is {value:g} vCPUs, the fleets need {needed}: ask for more in Service "
                    f"Quotas (`aws service-quotas request-service-quota-increase --service-code ec2 "
                    f"--quota-code {quota_code} --desired-value {needed}`) or shrink the fleets",
                )
            )
    return findings or [
        Finding("vCPU quota", OK, f"covers {on_demand} on-demand and {spot} spot vCPUs")
    ]


def check_bucket(c: PreflightClients, settings: InfraSettings) -> list[Finding]:
    location = (
        c.s3.get_bucket_location(Bucket=settings.bucket).get("LocationConstraint") or "us-east-1"
    )
    if location != settings.region:
        return [
            Finding(
                "bucket region",
                FAIL,
                f"s3://{settings.bucket} is in {location}, the cluster in {settings.region}: use a "
                f"bucket in {settings.region} (--bucket) or set WORDCLOUD_EMR_REGION={location}",
            )
        ]
    return [Finding("bucket region", OK, f"s3://{settings.bucket} is in {location}")]


def check_reviews_readable(
    c: PreflightClients, settings: InfraSettings, reviews_uri: str | None
) -> list[Finding]:
    check = "reviews readable by the nodes"
    if not reviews_uri:
        return [Finding(check, NOT_CHECKED, "pass --reviews-uri s3://bucket/prefix")]
    bucket, _, prefix = reviews_uri.removeprefix("s3://").partition("/")
    role = f"arn:aws:iam::{c.account}:role/{settings.instance_role}"
    denied = denied_actions(
        c.iam,
        role,
        ["s3:ListBucket", "s3:GetObject"],
        [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix}*"],
    )
    if denied:
        return [
            Finding(
                check,
                FAIL,
                f"{settings.instance_role} may not {', '.join(denied)} on s3://{bucket}: run "
                f"`wordcloud-infra up --reviews-bucket {bucket}`",
            )
        ]
    return [Finding(check, OK, f"{settings.instance_role} may list and read s3://{bucket}")]


def preflight(
    c: PreflightClients,
    settings: InfraSettings,
    cluster: ClusterConfig,
    principal_arn: str | None = None,
    reviews_uri: str | None = None,
) -> list[Finding]:
    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("runner permissions", lambda: check_permissions(c, principal_arn)),
        ("service-linked roles", lambda: check_service_linked_roles(c)),
        ("roles", lambda: check_roles(c, settings, cluster)),
        ("EMR tag", lambda: check_network_tags(c, settings)),
        ("route to PyPI", lambda: check_internet(c, settings)),
        ("EMR release", lambda: check_release(c, cluster)),
        ("instance types", lambda: check_instance_types(c, settings, cluster)),
        ("vCPU quota", lambda: check_quotas(c, cluster)),
        ("bucket region", lambda: check_bucket(c, settings)),
        ("reviews readable by the nodes", lambda: check_reviews_readable(c, settings, reviews_uri)),
    ]
    return [finding for name, run in checks for finding in guarded(name, run)]


def exit_code(findings: list[Finding], strict: bool) -> int:
    failing = {FAIL, NOT_CHECKED} if strict else {FAIL}
    return 1 if any(f.status in failing for f in findings) else 0
