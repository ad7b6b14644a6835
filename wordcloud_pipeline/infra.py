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
- security groups for master, workers and service access, with ingress only from each other.
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

    @property
    def service_role(self) -> str:
        return f"{self.prefix}-emr-service-role"

    @property
    def instance_role(self) -> str:
        return f"{self.prefix}-emr-ec2-role"

    @property
    def instance_profile(self) -> str:
        return f"{self.prefix}-emr-instance-profile"

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
        statements.append(
            {
                "Sid": "ReadReviews",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject", "s3:GetBucketLocation"],
                "Resource": [reviews, f"{reviews}/*"],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


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
    bucket = settings.bucket
    if _bucket_exists(s3, bucket):
        report.add(f"s3://{bucket}", "unchanged")
    else:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if settings.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
        s3.create_bucket(**kwargs)
        report.add(f"s3://{bucket}", "created")

    def get(call, key, missing_codes):
        try:
            return call(Bucket=bucket)[key]
        except ClientError as error:
            if _code(error) in missing_codes:
                return None
            raise

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
    _converge(
        report,
        f"s3://{bucket} default encryption",
        current_algorithms or None,
        ["AES256"],
        lambda: s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION
        ),
    )
    current_rules = get(
        s3.get_bucket_lifecycle_configuration, "Rules", ("NoSuchLifecycleConfiguration",)
    )
    wanted = lifecycle(settings)
    _converge(
        report,
        f"s3://{bucket} lifecycle (logs expire after {settings.log_retention_days} d)",
        [{k: r.get(k) for k in wanted["Rules"][0]} for r in current_rules or []] or None,
        wanted["Rules"],
        lambda: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=wanted),
    )
    if settings.require_tls:
        policy = get(s3.get_bucket_policy, "Policy", ("NoSuchBucketPolicy",))
        _converge(
            report,
            f"s3://{bucket} TLS-only policy",
            json.loads(policy) if policy else None,
            tls_only_bucket_policy(bucket),
            lambda: s3.put_bucket_policy(
                Bucket=bucket, Policy=json.dumps(tls_only_bucket_policy(bucket))
            ),
        )
    tags = get(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",))
    _converge(
        report,
        f"s3://{bucket} tags",
        {t["Key"]: t["Value"] for t in tags} if tags else None,
        settings.tags,
        lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(settings.tags)}),
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
    groups = project_security_groups(clients.ec2)
    for group in groups.values():  # rules reference each other: revoke them all before deleting
        if group.get("IpPermissions"):
            clients.ec2.revoke_security_group_ingress(
                GroupId=group["GroupId"], IpPermissions=group["IpPermissions"]
            )
    for group in groups.values():
        clients.ec2.delete_security_group(GroupId=group["GroupId"])
        report.add(f"security group {group['GroupName']}", "deleted")
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
    )
    if options.command == "up":
        report = up(clients, settings)
    elif options.command == "status":
        report = status(clients, settings)
    else:
        report = down(clients, settings, delete_bucket=options.delete_bucket)
    sys.stdout.write(report.text() + "\n")
    if options.command == "up":
        sys.stdout.write(
            f"\nexport WORDCLOUD_LAUNCHER=emr WORDCLOUD_EMR_BUCKET={settings.bucket} "
            f"WORDCLOUD_EMR_REGION={region}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
