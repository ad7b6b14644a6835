"""The ``wordcloud-infra`` command line (also ``python -m wordcloud_pipeline.aws.infra``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import wordcloud_pipeline.aws.infra as infra_package
from wordcloud_pipeline.aws.infra.commands import Clients, down, status, up
from wordcloud_pipeline.aws.infra.iam import identity_policy_arn
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.names import DEFAULT_PREFIX


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wordcloud-infra", description=infra_package.__doc__.splitlines()[0]
    )
    p.add_argument("command", choices=("up", "status", "down"))
    p.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION / us-east-1")
    p.add_argument("--bucket", help="default: wordcloud-<account>-<region>")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="name prefix of roles and groups")
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
