"""``wordcloud-infra up | status | down``: the AWS resources EMR mode needs, least privilege, idempotent.

``up`` converges each resource to its desired state and reports created / updated / unchanged, so running
it twice changes nothing. ``down`` deletes only what carries this project's ``managed-by`` tag, so it never
removes something it did not create; the bucket (which holds data) goes only with ``--delete-bucket``.

What is created:
- the project bucket: public access blocked, default encryption, TLS-only bucket policy, a lifecycle rule
  expiring EMR logs, tags;
- the EMR service role (AWS's scoped ``AmazonEMRServicePolicy_v2``, which only acts on resources tagged
  ``for-use-with-amazon-emr-managed-policies``, plus ``iam:PassRole`` on the instance role only);
- the EC2 instance role and profile: read/write on the project bucket, read-only on a reviews bucket;
- security groups for master, workers and service access, with ingress only from each other;
- the tag ``for-use-with-amazon-emr-managed-policies=true`` on the VPC and the clusters' subnets, without
  which ``AmazonEMRServicePolicy_v2`` cannot launch anything there;
- the customer-managed policy for the identity that runs Dagster (attach it to that user or role).
An existing bucket without this tool's tag is changed only with ``--adopt-bucket``.
Nothing gets ``0.0.0.0/0`` ingress, ``AdministratorAccess``, or ``s3:*`` on ``*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from wordcloud_pipeline.resources.emr.cluster import (
    BOTO_CONFIG,
    SECURITY_GROUP_ROLE_TAG,
    project_clusters,
)
from wordcloud_pipeline.resources.emr.job_flow import EMR_MANAGED_POLICY_TAG, PROJECT, PROJECT_TAG

MANAGED_BY_TAG = "wordcloud:managed-by"
MANAGED_BY = "wordcloud-infra"
# Marks a subnet or VPC whose EMR tag this tool added (so `down` removes only the tags it put there).
TAGGED_BY_TAG = "wordcloud:emr-tag-added-by"
EMR_SERVICE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
LOG_PREFIX = "wordcloud/logs/"
SG_ROLES = ("master", "worker", "service")


@dataclass(frozen=True)
class InfraSettings:
    region: str
    bucket: str
    prefix: str = "wordcloud"
    vpc_id: str | None = None
    reviews_bucket: str | None = None
    log_retention_days: int = 30
    # Deny plain-HTTP access to the bucket. Off only for emulators (moto, LocalStack) that speak HTTP.
    require_tls: bool = True
    # Subnets clusters launch into (tagged for AmazonEMRServicePolicy_v2); empty: every subnet of the VPC.
    subnet_ids: tuple[str, ...] = ()
    # Converge policy, lifecycle and tags of a bucket that exists without this tool's managed-by tag.
    adopt_bucket: bool = False

    @property
    def service_role(self) -> str:
        return f"{self.prefix}-emr-service-role"

    @property
    def instance_role(self) -> str:
        return f"{self.prefix}-emr-ec2-role"

    @property
    def instance_profile(self) -> str:
        return f"{self.prefix}-emr-instance-profile"

    @property
    def identity_policy(self) -> str:
        """The customer-managed policy for the identity (user or role) that runs Dagster."""
        return f"{self.prefix}-dagster-identity"

    def security_group(self, role: str) -> str:
        return f"{self.prefix}-emr-{role}"

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


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


# -- policies ------------------------------------------------------------------------------------
def trust_policy(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def instance_policy(settings: InfraSettings) -> dict[str, Any]:
    """What Spark on the nodes needs: the project bucket read/write, the reviews bucket read-only."""
    return {"Version": "2012-10-17", "Statement": bucket_statements(settings)}


def bucket_statements(settings: InfraSettings) -> list[dict[str, Any]]:
    """S3 access shared by the nodes and the identity that runs Dagster: the project bucket read and
    write (listing included, so a missing object is a 404, not a 403), the reviews bucket read-only."""
    project = f"arn:aws:s3:::{settings.bucket}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListProjectBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [project],
        },
        {
            "Sid": "ReadWriteProjectObjects",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": [f"{project}/*"],
        },
    ]
    if settings.reviews_bucket and settings.reviews_bucket != settings.bucket:
        reviews = f"arn:aws:s3:::{settings.reviews_bucket}"
        statements += [
            {
                "Sid": "ListReviews",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [reviews],
            },
            {
                "Sid": "ReadReviews",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{reviews}/*"],
            },
        ]
    return statements


def pass_role_policy(account: str, settings: InfraSettings) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PassOnlyTheInstanceRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:aws:iam::{account}:role/{settings.instance_role}",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            }
        ],
    }


# What the Dagster identity calls on EMR (resources/emr, the two EMR sensors). Cluster-changing calls are
# limited to clusters carrying the project tag; reads must work on any cluster, because the lookup by tag
# has to describe a cluster before it knows its tags.
EMR_READ_ACTIONS = [
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:DescribeStep",
    "elasticmapreduce:ListSteps",
    "elasticmapreduce:ListInstances",
    "elasticmapreduce:ListInstanceFleets",
]
EMR_CHANGE_ACTIONS = [
    "elasticmapreduce:AddJobFlowSteps",
    "elasticmapreduce:CancelSteps",
    "elasticmapreduce:ModifyInstanceFleet",
    "elasticmapreduce:TerminateJobFlows",
]


def identity_policy(account: str, settings: InfraSettings) -> dict[str, Any]:
    """Least privilege for whoever runs Dagster in EMR mode (not for whoever runs ``wordcloud-infra``).

    EMR calls the launcher and sensors make; ``iam:PassRole`` on exactly the service role and the
    instance role; the project bucket read/write and the reviews bucket read-only, both with
    ``s3:ListBucket`` (without it a missing object is a 403, not a 404); ``ec2:Describe*`` for the subnet,
    route-table and security-group checks before a cluster is created.
    """
    region = settings.region
    clusters = f"arn:aws:elasticmapreduce:{region}:{account}:cluster/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "CreateClusters",
            "Effect": "Allow",
            # RunJobFlow and ListClusters take no resource ARN; AddTags tags the cluster on creation.
            "Action": ["elasticmapreduce:RunJobFlow", "elasticmapreduce:ListClusters"],
            "Resource": "*",
        },
        {
            "Sid": "TagNewClusters",
            "Effect": "Allow",
            "Action": ["elasticmapreduce:AddTags"],
            "Resource": clusters,
        },
        {
            "Sid": "ReadClusters",
            "Effect": "Allow",
            "Action": EMR_READ_ACTIONS,
            "Resource": clusters,
        },
        {
            "Sid": "ChangeProjectClusters",
            "Effect": "Allow",
            "Action": EMR_CHANGE_ACTIONS,
            "Resource": clusters,
            "Condition": {"StringEquals": {f"aws:ResourceTag/{PROJECT_TAG}": PROJECT}},
        },
        {
            "Sid": "PassOnlyTheClusterRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [
                f"arn:aws:iam::{account}:role/{settings.service_role}",
                f"arn:aws:iam::{account}:role/{settings.instance_role}",
            ],
        },
        {
            "Sid": "DescribeNetwork",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeSubnets",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
            ],
            "Resource": "*",
        },
    ]
    return {"Version": "2012-10-17", "Statement": [*statements, *bucket_statements(settings)]}


def tls_only_bucket_policy(bucket: str) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


# -- the bucket ----------------------------------------------------------------------------------
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def lifecycle(settings: InfraSettings) -> dict[str, Any]:
    return {
        "Rules": [
            {
                "ID": "expire-emr-logs",
                "Filter": {"Prefix": LOG_PREFIX},
                "Status": "Enabled",
                "Expiration": {"Days": settings.log_retention_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }
        ]
    }


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if _code(error) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def _converge(report: Report, name: str, current: Any, desired: Any, write) -> None:
    if current == desired:
        report.add(name, "unchanged")
    else:
        write()
        report.add(name, "updated" if current is not None else "set")


def ensure_bucket(s3: Any, settings: InfraSettings, report: Report) -> None:
    """Creates or converges the bucket; one this tool did not create is changed only when adopted.

    Adopting merges: the logs rule joins the bucket's other lifecycle rules, the TLS statement joins its
    other policy statements, the project tags join its tags. Nothing of the owner's is removed.
    """
    bucket = settings.bucket

    def get(call, key, missing_codes):
        try:
            return call(Bucket=bucket)[key]
        except ClientError as error:
            if _code(error) in missing_codes:
                return None
            raise

    if _bucket_exists(s3, bucket):
        tags = get(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",)) or []
        if not _managed(tags) and not settings.adopt_bucket:
            raise SystemExit(
                f"s3://{bucket} exists and was not created by wordcloud-infra: not changing its "
                "policy, lifecycle or tags. Pass --adopt-bucket to add this project's settings to it "
                "(merged with what it has), or choose another --bucket"
            )
        report.add(f"s3://{bucket}", "unchanged" if _managed(tags) else "adopted")
    else:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if settings.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
        s3.create_bucket(**kwargs)
        # Tagged at once: the tag is how a later `up` knows this tool created the bucket.
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(settings.tags)})
        report.add(f"s3://{bucket}", "created")

    _converge(
        report,
        f"s3://{bucket} public access block",
        get(
            s3.get_public_access_block,
            "PublicAccessBlockConfiguration",
            ("NoSuchPublicAccessBlockConfiguration",),
        ),
        PUBLIC_ACCESS_BLOCK,
        lambda: s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
        ),
    )
    current_encryption = get(
        s3.get_bucket_encryption,
        "ServerSideEncryptionConfiguration",
        ("ServerSideEncryptionConfigurationNotFoundError",),
    )
    current_algorithms = [
        r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        for r in (current_encryption or {}).get("Rules", [])
    ]
    if current_algorithms:
        # Any default encryption the owner chose (SSE-S3 or SSE-KMS) is kept.
        report.add(f"s3://{bucket} default encryption", f"unchanged ({current_algorithms[0]})")
    else:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION)
        report.add(f"s3://{bucket} default encryption", "set")

    current_rules = get(
        s3.get_bucket_lifecycle_configuration, "Rules", ("NoSuchLifecycleConfiguration",)
    )
    (ours,) = lifecycle(settings)["Rules"]
    others = [r for r in current_rules or [] if r.get("ID") != ours["ID"]]
    current_ours = [
        {k: r.get(k) for k in ours} for r in current_rules or [] if r.get("ID") == ours["ID"]
    ]
    _converge(
        report,
        f"s3://{bucket} lifecycle (logs expire after {settings.log_retention_days} d)",
        current_ours or None,
        [ours],
        lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [*others, ours]}
        ),
    )
    if settings.require_tls:
        policy = get(s3.get_bucket_policy, "Policy", ("NoSuchBucketPolicy",))
        current = json.loads(policy) if policy else None
        (tls,) = tls_only_bucket_policy(bucket)["Statement"]
        statements = (current or {}).get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        kept = [st for st in statements if st.get("Sid") != tls["Sid"]]
        desired = {**(current or {"Version": "2012-10-17"}), "Statement": [*kept, tls]}
        _converge(
            report,
            f"s3://{bucket} TLS-only policy",
            current,
            desired,
            lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(desired)),
        )
    tags = get(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",))
    current_tags = {t["Key"]: t["Value"] for t in tags} if tags else {}
    wanted_tags = {**current_tags, **settings.tags}
    _converge(
        report,
        f"s3://{bucket} tags",
        current_tags or None,
        wanted_tags,
        lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(wanted_tags)}),
    )


# -- IAM -----------------------------------------------------------------------------------------
def _ensure_role(
    iam: Any, name: str, service: str, settings: InfraSettings, report: Report
) -> None:
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(service)),
            Description=f"{PROJECT} EMR ({service})",
            Tags=_tag_list(settings.tags),
        )
        report.add(f"role {name}", "created")
        return
    _converge(
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
        if _code(error) != "NoSuchEntity":
            raise
        current = None
    _converge(
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
        if _code(error) != "NoSuchEntity":
            raise
        profile = iam.create_instance_profile(
            InstanceProfileName=settings.instance_profile, Tags=_tag_list(settings.tags)
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
        if _code(error) != "NoSuchEntity":
            raise
        iam.create_policy(
            PolicyName=settings.identity_policy,
            PolicyDocument=json.dumps(document),
            Description=f"{PROJECT}: what the identity running Dagster in EMR mode needs",
            Tags=_tag_list(settings.tags),
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


def _delete_identity_policy(
    iam: Any, account: str, settings: InfraSettings, report: Report
) -> None:
    arn = identity_policy_arn(account, settings)
    name = f"policy {settings.identity_policy}"
    try:
        tags = iam.list_policy_tags(PolicyArn=arn)["Tags"]
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        report.add(name, "absent")
        return
    if not _managed(tags):
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


# -- network tags --------------------------------------------------------------------------------
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


# -- security groups -----------------------------------------------------------------------------
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
    for role in SG_ROLES:
        name = settings.security_group(role)
        if role in existing:
            report.add(f"security group {name}", "unchanged")
            continue
        tags = {**settings.tags, **EMR_MANAGED_POLICY_TAG, SECURITY_GROUP_ROLE_TAG: role}
        ec2.create_security_group(
            GroupName=name,
            Description=f"{PROJECT} EMR {role} (ingress only from the project's groups)",
            VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(tags)}],
        )
        report.add(f"security group {name}", "created")
    groups = project_security_groups(ec2, vpc)
    ids = {role: groups[role]["GroupId"] for role in SG_ROLES}
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


# -- commands ------------------------------------------------------------------------------------
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
            return boto3.client(name, region_name=region, config=BOTO_CONFIG)

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
        "present" if _bucket_exists(clients.s3, settings.bucket) else "absent",
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


def _managed(tags: list[dict[str, str]]) -> bool:
    return {t["Key"]: t["Value"] for t in tags}.get(MANAGED_BY_TAG) == MANAGED_BY


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
    iam = clients.iam
    try:
        profile = iam.get_instance_profile(InstanceProfileName=settings.instance_profile)[
            "InstanceProfile"
        ]
        if _managed(profile.get("Tags", [])):
            for role in profile.get("Roles", []):
                iam.remove_role_from_instance_profile(
                    InstanceProfileName=settings.instance_profile, RoleName=role["RoleName"]
                )
            iam.delete_instance_profile(InstanceProfileName=settings.instance_profile)
            report.add(f"instance profile {settings.instance_profile}", "deleted")
        else:
            report.add(f"instance profile {settings.instance_profile}", "kept (not ours)")
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        report.add(f"instance profile {settings.instance_profile}", "absent")
    for role in (settings.service_role, settings.instance_role):
        try:
            tags = iam.list_role_tags(RoleName=role)["Tags"]
        except ClientError as error:
            if _code(error) != "NoSuchEntity":
                raise
            report.add(f"role {role}", "absent")
            continue
        if not _managed(tags):
            report.add(f"role {role}", "kept (not created by wordcloud-infra)")
            continue
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=role)
        report.add(f"role {role}", "deleted")
    _delete_identity_policy(iam, clients.account, settings, report)
    groups = project_security_groups(clients.ec2)
    ids = {g["GroupId"] for g in groups.values()}
    for group in groups.values():
        # Rules reference each other, inbound and (EMR adds them) outbound: revoke every rule that
        # names one of the groups before deleting any, or the delete fails with DependencyViolation.
        if group.get("IpPermissions"):
            clients.ec2.revoke_security_group_ingress(
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
            clients.ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=egress)
    for group in groups.values():
        clients.ec2.delete_security_group(GroupId=group["GroupId"])
        report.add(f"security group {group['GroupName']}", "deleted")
    remove_network_tags(clients.ec2, report)
    if not _bucket_exists(clients.s3, settings.bucket):
        report.add(f"s3://{settings.bucket}", "absent")
    elif not delete_bucket:
        report.add(f"s3://{settings.bucket}", "kept (holds data; pass --delete-bucket)")
    else:
        _delete_bucket(clients.s3, settings)
        report.add(f"s3://{settings.bucket}", "deleted with its objects")
    return report


def _delete_bucket(s3: Any, settings: InfraSettings) -> None:
    tags = s3.get_bucket_tagging(Bucket=settings.bucket).get("TagSet", [])
    if not _managed(tags):
        raise SystemExit(
            f"s3://{settings.bucket} was not created by wordcloud-infra: not deleting it"
        )
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=settings.bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=settings.bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=settings.bucket)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wordcloud-infra", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=("up", "status", "down"))
    p.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION / us-east-1")
    p.add_argument("--bucket", help="default: wordcloud-<account>-<region>")
    p.add_argument("--prefix", default="wordcloud", help="name prefix of roles and groups")
    p.add_argument("--vpc-id", help="default: the region's default VPC")
    p.add_argument("--reviews-bucket", help="a bucket the cluster may read reviews from")
    p.add_argument("--log-retention-days", type=int, default=30)
    p.add_argument(
        "--subnet-ids",
        help="comma-separated subnets clusters use, tagged for AmazonEMRServicePolicy_v2 "
        "(default: every subnet of the VPC)",
    )
    p.add_argument(
        "--adopt-bucket",
        action="store_true",
        help="up: add this project's policy, lifecycle rule and tags to an existing bucket it did "
        "not create (merged, nothing removed); without it such a bucket is refused",
    )
    p.add_argument("--delete-bucket", action="store_true", help="down: also delete the bucket")
    p.add_argument(
        "--allow-plain-http",
        action="store_true",
        help="no TLS-only bucket policy (only for HTTP emulators such as moto or LocalStack)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import os

    options = parser().parse_args(argv)
    region = (
        options.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    clients = Clients.connect(region)
    settings = InfraSettings(
        region=region,
        bucket=options.bucket or f"wordcloud-{clients.account}-{region}",
        prefix=options.prefix,
        vpc_id=options.vpc_id,
        reviews_bucket=options.reviews_bucket,
        log_retention_days=options.log_retention_days,
        require_tls=not options.allow_plain_http,
        subnet_ids=tuple(s.strip() for s in (options.subnet_ids or "").split(",") if s.strip()),
        adopt_bucket=options.adopt_bucket,
    )
    if options.command == "up":
        report = up(clients, settings)
    elif options.command == "status":
        report = status(clients, settings)
    else:
        report = down(clients, settings, delete_bucket=options.delete_bucket)
    sys.stdout.write(report.text() + "\n")
    if options.command == "up":
        subnets = ",".join(settings.subnet_ids)
        sys.stdout.write(
            f"\nexport WORDCLOUD_LAUNCHER=emr WORDCLOUD_EMR_BUCKET={settings.bucket} "
            f"WORDCLOUD_EMR_REGION={region}"
            + (f" WORDCLOUD_EMR_SUBNET_IDS={subnets}" if subnets else "")
            + "\n\nAttach the policy for the identity that runs Dagster (one of):\n"
            f"  aws iam attach-user-policy --user-name <user> --policy-arn "
            f"{identity_policy_arn(clients.account, settings)}\n"
            f"  aws iam attach-role-policy --role-name <role> --policy-arn "
            f"{identity_policy_arn(clients.account, settings)}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
