"""The IAM documents wordcloud-infra writes: trust, node, EMR service, Dagster identity, bucket."""

from __future__ import annotations

from typing import Any

from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.names import PROJECT, PROJECT_TAG


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


# What the Dagster identity calls on EMR (aws/emr: the launcher and the two sensors). Cluster-changing calls are
# limited to clusters carrying the project tag; reads must work on any cluster, because the lookup by tag
# has to describe a cluster before it knows its tags.
EMR_READ_ACTIONS = [
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:DescribeStep",
    "elasticmapreduce:ListSteps",
    "elasticmapreduce:ListInstances",
    "elasticmapreduce:ListInstanceFleets",
]
AUTO_TERMINATION_ACTIONS = [
    "elasticmapreduce:PutAutoTerminationPolicy",
    "elasticmapreduce:GetAutoTerminationPolicy",
    "elasticmapreduce:RemoveAutoTerminationPolicy",
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
            # RunJobFlow's AutoTerminationPolicy needs these (EMR Management Guide, "Using an
            # auto-termination policy": "elasticmapreduce:PutAutoTerminationPolicy ... permissions");
            # the cluster has no tags to condition on until it exists.
            "Sid": "AutoTerminateNewClusters",
            "Effect": "Allow",
            "Action": AUTO_TERMINATION_ACTIONS,
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
                "ec2:DescribeVpcs",
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
