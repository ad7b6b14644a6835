"""The names the AWS side shares, defined once: tags, the name prefix, roles, profile, groups, policy.

The pipeline (which sends the names in its requests and finds its clusters and groups by tag) and
``wordcloud-infra`` (which creates what carries them) both read them here, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "wordcloud_pipeline"
PROJECT_TAG = "wordcloud:project"
# The default name prefix of roles, groups, policy and the key prefix in the project bucket.
DEFAULT_PREFIX = "wordcloud"
# Every cluster the pipeline creates is named ``wordcloud-run-<run>`` or ``wordcloud-shared-<config>``.
CLUSTER_NAME_PREFIX = "wordcloud-"
MODE_TAG = "wordcloud:cluster-mode"
RUN_TAG = "dagster/run_id"
FINGERPRINT_TAG = "wordcloud:config"
# Which of the project's security groups a group is (master / worker / service).
SECURITY_GROUP_ROLE_TAG = "wordcloud:security-group"
SECURITY_GROUP_ROLES = ("master", "worker", "service")
# AmazonEMRServicePolicy_v2 only lets EMR act on resources carrying this tag.
EMR_MANAGED_POLICY_TAG = {"for-use-with-amazon-emr-managed-policies": "true"}
# What wordcloud-infra created carries this tag; ``down`` deletes nothing without it.
MANAGED_BY_TAG = "wordcloud:managed-by"
MANAGED_BY = "wordcloud-infra"
# Marks a subnet or VPC whose EMR tag wordcloud-infra added (so `down` removes only the tags it put there).
TAGGED_BY_TAG = "wordcloud:emr-tag-added-by"
# The service-linked roles a first cluster needs, by the service that creates them and their AWS name.
# EMR creates AWSServiceRoleForEMRCleanup at cluster creation only if the caller may
# iam:CreateServiceLinkedRole (EMR Management Guide, "Using the service-linked role for Amazon EMR");
# a spot fleet needs AWSServiceRoleForEC2Spot (EC2 User Guide, "Service-linked role for Spot Instance
# requests"). An account that never used EMR or spot has neither.
SERVICE_LINKED_ROLES = {
    "elasticmapreduce.amazonaws.com": "AWSServiceRoleForEMRCleanup",
    "spot.amazonaws.com": "AWSServiceRoleForEC2Spot",
}
EMR_SERVICE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"


@dataclass(frozen=True)
class ResourceNames:
    """The IAM and EC2 names derived from one prefix (``wordcloud-infra --prefix``)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def service_role(self) -> str:
        return f"{self.prefix}-emr-service-role"

    @property
    def instance_role(self) -> str:
        return f"{self.prefix}-emr-ec2-role"

    @property
    def instance_profile(self) -> str:
        """The nodes' instance profile has its role's name: EMR refuses a profile named otherwise
        ("invalid instance profile"; EMR Management Guide, "Customize IAM roles with Amazon EMR")."""
        return self.instance_role

    @property
    def identity_policy(self) -> str:
        """The customer-managed policy for the identity (user or role) that runs Dagster."""
        return f"{self.prefix}-dagster-identity"

    def security_group(self, role: str) -> str:
        return f"{self.prefix}-emr-{role}"


DEFAULT_NAMES = ResourceNames()
