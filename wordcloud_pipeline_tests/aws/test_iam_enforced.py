"""moto's IAM access control: a run's AWS calls made with the credentials of a user that holds only the
runner policy's actions. A missing action is an AccessDenied here, not a surprise in a real account.

moto evaluates EMR and EC2 requests against the resource ``*`` and treats every policy condition as
unmet, so the user gets the runner policy's actions on ``*`` without conditions (``actions_only``); the
resources and tag conditions of the real policy are checked by ``test_identity_policy``'s evaluator.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from wordcloud_pipeline.aws.emr import cost, steps
from wordcloud_pipeline.aws.emr.config import bootstrap_requirements
from wordcloud_pipeline.aws.emr.job_flow import bootstrap_script
from wordcloud_pipeline.aws.infra import policies
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline_tests.aws.conftest import BUCKET, emr_test_resource
from wordcloud_pipeline_tests.aws.test_emr_failures import JOB

ACCOUNT = "123456789012"  # moto's default account


def actions_only(policy: dict) -> dict:
    statements = [
        {"Effect": "Allow", "Action": s["Action"], "Resource": "*"}
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def as_user_with(policy: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every boto3 client made after this acts as a new IAM user holding only ``policy``."""
    iam = boto3.client("iam")
    iam.create_user(UserName="runner")
    iam.put_user_policy(UserName="runner", PolicyName="runner", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="runner")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    boto3.setup_default_session()


def a_run_s_calls() -> None:
    """What one run asks of AWS: ship the code, find or create the cluster, add, watch and cancel a
    step, read instances for the cost, end the cluster."""
    resource = emr_test_resource()
    emr, s3 = resource.client("emr", max_attempts=1), resource.client("s3", max_attempts=1)
    boot = bootstrap_script(bootstrap_requirements(resource.cluster_config()))
    code = steps.ship_code(s3, resource.layout().code_root_uri, boot, lambda _: None)
    cluster = resource.lifecycle().ensure_cluster(
        emr, "run-iam", code.bootstrap_uri, lambda _: None
    )
    step_id = emr.add_job_flow_steps(
        JobFlowId=cluster.id, Steps=[steps.step_request(JOB, ["true"])]
    )["StepIds"][0]
    emr.describe_step(ClusterId=cluster.id, StepId=step_id)
    emr.list_steps(ClusterId=cluster.id)
    described = emr.describe_cluster(ClusterId=cluster.id)["Cluster"]
    cost.cluster_usages(emr, described, resource.cluster_config())
    steps.cancel_step(emr, cluster.id, step_id, lambda _: None)
    resource.lifecycle().terminate_run_clusters(emr, "run-iam", "test", lambda _: None)


def runner_policy() -> dict:
    settings = InfraSettings(region="us-east-1", bucket=BUCKET, require_tls=False)
    return policies.identity_policy(ACCOUNT, settings)


def test_a_run_needs_no_action_beyond_the_runner_policy(bucket, enforce_iam, monkeypatch):
    as_user_with(actions_only(runner_policy()), monkeypatch)
    enforce_iam()
    a_run_s_calls()
    assert boto3.client("emr").list_clusters(ClusterStates=["TERMINATED"])["Clusters"]


def test_a_missing_action_is_refused(bucket, enforce_iam, monkeypatch):
    """The check can fail: without DescribeVpcs (the default-VPC lookup) the run is refused."""
    policy = actions_only(runner_policy())
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list):
            statement["Action"] = [a for a in statement["Action"] if a != "ec2:DescribeVpcs"]
    as_user_with(policy, monkeypatch)
    enforce_iam()
    with pytest.raises(ClientError, match="DescribeVpcs"):
        a_run_s_calls()
