"""Where a script finds the Pipes session a launcher opened: its argv (EMR steps) or its environment
(EMR Serverless job runs, whose Pipes client sets ``spark.emr-serverless.driverEnv.DAGSTER_PIPES_*``)."""

from __future__ import annotations

from dagster_pipes import encode_param

from spark_scripts.job_cli import PIPES_CONTEXT, PIPES_MESSAGES, pipes_params

CONTEXT = encode_param({"bucket": "b", "key": "context.json"})
MESSAGES = encode_param({"bucket": "b", "key_prefix": "runs/r/pipes"})


def test_params_from_argv() -> None:
    argv = [
        "--input",
        "x",
        "--dagster-pipes-context",
        CONTEXT,
        "--dagster-pipes-messages",
        MESSAGES,
    ]
    assert pipes_params(argv, environ={}) == {PIPES_CONTEXT: CONTEXT, PIPES_MESSAGES: MESSAGES}


def test_params_from_the_environment() -> None:
    environ = {PIPES_CONTEXT: CONTEXT, PIPES_MESSAGES: MESSAGES, "HOME": "/home/hadoop"}
    assert pipes_params(["--input", "x"], environ=environ) == {
        PIPES_CONTEXT: CONTEXT,
        PIPES_MESSAGES: MESSAGES,
    }


def test_no_session_without_both_params() -> None:
    assert pipes_params(["--input", "x"], environ={}) is None
    assert pipes_params(["--input", "x"], environ={PIPES_CONTEXT: CONTEXT}) is None
