"""The IAM documents wordcloud-infra writes: trust, node, EMR service, Dagster identity, bucket."""

from __future__ import annotations

from typing import Any

from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.names import PROJECT, PROJECT_TAG, SERVICE_LINKED_ROLES


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


# What ``wordcloud-infra`` changes in IAM, on the project's own roles, instance profile and policies only.
OPERATOR_IAM_CHANGES = [
    "iam:CreateRole",
    "iam:TagRole",
    "iam:DeleteRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:CreateInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:DeleteInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:CreatePolicy",
    "iam:TagPolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
]
# What it reads in IAM, on the same names (ListRoles, which finds the service-linked roles by path, takes
# no resource; the policy simulator takes the principal it simulates).
OPERATOR_IAM_READS = [
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetInstanceProfile",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListRoleTags",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListPolicyTags",
    "iam:ListPolicyVersions",
    "iam:ListEntitiesForPolicy",
]
OPERATOR_BUCKET_ACTIONS = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
]
OPERATOR_EC2_READS = [
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTags",
    "ec2:DescribeInstanceTypeOfferings",
]
# Security groups are made in a VPC and changed by id; the EMR tag goes on the VPC, subnets and groups.
OPERATOR_GROUP_CHANGES = [
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:DeleteSecurityGroup",
]
OPERATOR_TAG_CHANGES = ["ec2:CreateTags", "ec2:DeleteTags"]


def operator_policy(account: str, settings: InfraSettings) -> dict[str, Any]:
    """What whoever runs ``wordcloud-infra`` (up, up --serverless, status, down, preflight) needs.

    IAM changes only on names with the project's prefix; a service-linked role only for the two services
    a first cluster needs; detaching the project's identity policies from whoever holds them (down); the
    project bucket and its objects; EC2's network calls on any resource (security groups and tags have no
    name to scope them by before they exist, so they are scoped to groups, VPCs and subnets of the region);
    EMR, EMR Serverless and Service Quotas reads, and the serverless application's own calls.
    """
    iam = f"arn:aws:iam::{account}"
    prefix = settings.prefix
    bucket = f"arn:aws:s3:::{settings.bucket}"
    project_policies = f"{iam}:policy/{prefix}-*"
    applications = f"arn:aws:emr-serverless:{settings.region}:{account}:/applications/*"
    ec2 = f"arn:aws:ec2:{settings.region}:{account}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ProjectRolesProfileAndPolicies",
            "Effect": "Allow",
            "Action": OPERATOR_IAM_CHANGES,
            "Resource": [
                f"{iam}:role/{prefix}-*",
                f"{iam}:instance-profile/{prefix}-*",
                project_policies,
            ],
        },
        {
            # Putting a role in an instance profile passes it (Service Authorization Reference).
            "Sid": "PassTheInstanceRoleToItsProfile",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"{iam}:role/{settings.instance_role}",
        },
        {
            "Sid": "DetachTheProjectPoliciesFromTheirHolders",
            "Effect": "Allow",
            "Action": ["iam:DetachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachRolePolicy"],
            "Resource": [f"{iam}:user/*", f"{iam}:group/*", f"{iam}:role/*"],
            "Condition": {"ArnLike": {"iam:PolicyARN": project_policies}},
        },
        {
            "Sid": "ServiceLinkedRolesAFirstClusterNeeds",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"{iam}:role/aws-service-role/*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": sorted(SERVICE_LINKED_ROLES)}},
        },
        {
            "Sid": "ReadProjectIam",
            "Effect": "Allow",
            "Action": OPERATOR_IAM_READS,
            "Resource": [
                f"{iam}:role/{prefix}-*",
                f"{iam}:instance-profile/{prefix}-*",
                project_policies,
            ],
        },
        {
            "Sid": "FindServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:ListRoles",
            "Resource": "*",
        },
        {
            "Sid": "SimulateWhoRunsDagster",
            "Effect": "Allow",
            "Action": "iam:SimulatePrincipalPolicy",
            "Resource": [f"{iam}:user/*", f"{iam}:role/*", f"{iam}:group/*"],
        },
        {
            "Sid": "ProjectBucket",
            "Effect": "Allow",
            "Action": OPERATOR_BUCKET_ACTIONS,
            "Resource": bucket,
        },
        {
            "Sid": "ProjectObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": f"{bucket}/*",
        },
        {"Sid": "ReadNetwork", "Effect": "Allow", "Action": OPERATOR_EC2_READS, "Resource": "*"},
        {
            "Sid": "ProjectSecurityGroups",
            "Effect": "Allow",
            "Action": OPERATOR_GROUP_CHANGES,
            "Resource": [f"{ec2}:security-group/*", f"{ec2}:vpc/*"],
        },
        {
            "Sid": "EmrTags",
            "Effect": "Allow",
            "Action": OPERATOR_TAG_CHANGES,
            "Resource": [f"{ec2}:vpc/*", f"{ec2}:subnet/*", f"{ec2}:security-group/*"],
        },
        {
            "Sid": "ReadEmrQuotasAndIdentity",
            "Effect": "Allow",
            "Action": [
                "elasticmapreduce:ListClusters",
                "elasticmapreduce:ListReleaseLabels",
                "servicequotas:GetServiceQuota",
                "sts:GetCallerIdentity",
                "emr-serverless:ListApplications",
                "emr-serverless:CreateApplication",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ServerlessApplication",
            "Effect": "Allow",
            "Action": [
                "emr-serverless:GetApplication",
                "emr-serverless:UpdateApplication",
                "emr-serverless:TagResource",
            ],
            "Resource": applications,
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}
