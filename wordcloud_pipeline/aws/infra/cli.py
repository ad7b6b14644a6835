"""The ``wordcloud-infra`` command line (also ``python -m wordcloud_pipeline.aws.infra``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import wordcloud_pipeline.aws.infra as infra_package
from wordcloud_pipeline.aws import estimate
from wordcloud_pipeline.aws.clients import region_name
from wordcloud_pipeline.aws.emr.config import ClusterConfig
from wordcloud_pipeline.aws.infra import policies
from wordcloud_pipeline.aws.infra.commands import Clients, down, status, up
from wordcloud_pipeline.aws.infra.iam import identity_policy_arn
from wordcloud_pipeline.aws.infra.preflight import (
    PreflightClients,
    check_bucket,
    exit_code,
    guarded,
    preflight,
)
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.names import DEFAULT_PREFIX
from wordcloud_pipeline.aws.serverless.infra import default_python, up_serverless
from wordcloud_pipeline.aws.serverless.preflight import serverless_preflight


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wordcloud-infra", description=infra_package.__doc__.splitlines()[0]
    )
    p.add_argument(
        "command",
        choices=("up", "status", "down", "preflight", "estimate", "operator-policy"),
        help="operator-policy: print the IAM policy whoever runs this command needs",
    )
    p.add_argument(
        "--region",
        help="default: WORDCLOUD_EMR_REGION / AWS_REGION / AWS_DEFAULT_REGION / us-east-1",
    )
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
        "--strict",
        action="store_true",
        help="preflight: a check that could not be made (API unavailable or denied) also fails",
    )
    p.add_argument(
        "--principal-arn",
        help="preflight: the user or role that runs Dagster (default: the caller)",
    )
    p.add_argument(
        "--reviews-uri",
        help="preflight: s3:// location of the reviews the nodes read; estimate: the reviews "
        "(s3:// prefix or folder)",
    )
    p.add_argument(
        "--allow-plain-http",
        action="store_true",
        help="no TLS-only bucket policy (only for HTTP emulators such as moto or LocalStack)",
    )
    p.add_argument(
        "--serverless",
        action="store_true",
        help="up: also the EMR Serverless application, its job role and the packed Python; preflight: check that route instead of the clusters'",
    )
    p.add_argument(
        "--python",
        help="up --serverless: the statically linked Python 3.11 to pack (default: /usr/bin/python3.11)",
    )
    p.add_argument(
        "--max-vcpu", type=int, default=64, help="up --serverless: the application's vCPU cap"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    region = region_name(options.region)
    if options.command == "estimate":
        if not options.reviews_uri:
            sys.stderr.write("wordcloud-infra estimate: give --reviews-uri s3://bucket/prefix\n")
            return 2
        sys.stdout.write(estimate.report(options.reviews_uri) + "\n")
        return 0
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
    if options.command == "preflight":
        return run_preflight(region, settings, options)
    if options.command == "operator-policy":
        document = policies.operator_policy(clients.account, settings)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return 0
    serverless_env: dict[str, str] = {}
    if options.command == "up":
        report = up(clients, settings)
        if options.serverless:
            serverless_env = up_serverless(
                clients.s3,
                clients.iam,
                clients.account,
                settings,
                report,
                python=options.python or default_python(),
                max_vcpu=options.max_vcpu,
            )
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
    if serverless_env:
        policy = serverless_env.pop("policy_arn")
        sys.stdout.write(
            "\nFor the emr-serverless launcher:\nexport WORDCLOUD_LAUNCHER=emr-serverless "
            + " ".join(f"{k}={v}" for k, v in serverless_env.items())
            + f"\nand attach {policy} to the same identity.\n"
        )
    return 0


def run_preflight(region: str, settings: InfraSettings, options: argparse.Namespace) -> int:
    """Prints one line per finding; 0 only when nothing would fail (with --strict: and all checked)."""
    cluster = ClusterConfig(
        subnet_ids=list(settings.subnet_ids),
        service_role=settings.service_role,
        instance_profile=settings.instance_profile,
    )
    connected = PreflightClients.connect(region)
    if options.serverless:  # the serverless route needs no VPC, fleet, quota or instance role
        findings = [
            *guarded("bucket region", lambda: check_bucket(connected, settings)),
            *serverless_preflight(settings, principal_arn=options.principal_arn),
        ]
    else:
        findings = preflight(
            connected,
            settings,
            cluster,
            principal_arn=options.principal_arn,
            reviews_uri=options.reviews_uri,
        )
    sys.stdout.write("".join(f.line() + "\n" for f in findings))
    return exit_code(findings, options.strict)
