"""The emr-serverless launcher against moto, its job runs executed by the emulation (serverless_harness.py):
real spark-submit on the standalone master, S3A against moto, the packed Python unpacked as the nodes do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import pytest

from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.aws.emr.steps import split_s3
from wordcloud_pipeline.aws.infra import policies
from wordcloud_pipeline.aws.infra.settings import InfraSettings
from wordcloud_pipeline.aws.serverless import packed_env, provision
from wordcloud_pipeline.aws.serverless.launcher import (
    EmrServerlessSparkLauncher,
    ServerlessConfigError,
    requirements,
)
from wordcloud_pipeline_tests.aws.conftest import BUCKET, emr_test_resources, upload_folder
from wordcloud_pipeline_tests.aws.serverless_harness import ServerlessHarness
from wordcloud_pipeline_tests.aws.step_harness import ACCOUNT, REGION
from wordcloud_pipeline_tests.aws.test_identity_policy import (
    ProjectCalls,
    allowed,
    required_permissions,
)
from wordcloud_pipeline_tests.conftest import instance_with_years

STATIC_PYTHON = "/usr/bin/python3.11"  # Debian's: libpython linked in, as the archive needs


@pytest.fixture(scope="session")
def packed_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packed environment of the launcher's requirement list, built once (it is named by what it is
    built from, so a cached archive is the one this list builds)."""
    cache = Path.home() / ".cache" / "wordcloud_pipeline" / "packed-python"
    wanted = packed_env.environment_key(requirements([]), "3.11", os.uname().machine)
    cached = cache / f"{wanted}.tar.gz"
    return cached if cached.exists() else packed_env.pack(STATIC_PYTHON, requirements([]), cache)


@pytest.fixture
def application(fake_aws: str) -> tuple[str, str]:
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName="wordcloud-serverless-job-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    app = boto3.client("emr-serverless").create_application(
        name="wordcloud", releaseLabel="emr-7.12.0", type="SPARK"
    )["applicationId"]
    return app, role


def serverless_launcher(application: tuple[str, str], **overrides) -> EmrServerlessSparkLauncher:
    app, role = application
    return EmrServerlessSparkLauncher(
        bucket=BUCKET,
        application_id=app,
        job_role_arn=role,
        poll_initial_seconds=0.05,
        poll_max_seconds=0.2,
        pipes_poll_seconds=0.5,
        **overrides,
    )


def upload_environment(launcher: EmrServerlessSparkLauncher, archive: Path) -> str:
    uri = launcher.environment_uri()
    assert uri.endswith(archive.name), "the launcher looks for the archive this list builds"
    bucket, key = split_s3(uri)
    boto3.client("s3").upload_file(str(archive), bucket, key)
    return uri


@pytest.fixture
def project_calls(sent) -> Iterator[ProjectCalls]:
    """The AWS calls the runtime package makes (after ``sent``, which resets the default session)."""
    captured = ProjectCalls()
    boto3.DEFAULT_SESSION.events.register("before-parameter-build", captured)
    yield captured
    boto3.DEFAULT_SESSION.events.unregister("before-parameter-build", captured)


def serverless_permissions(operation: str, params: dict) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) an EMR Serverless call needs (Service Authorization Reference:
    StartJobRun on the application, with iam:PassRole of the job role and TagResource for its tags)."""
    app = f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications/{params['applicationId']}"
    if operation == "StartJobRun":
        needed = [
            ("emr-serverless:StartJobRun", app),
            ("iam:PassRole", params["executionRoleArn"]),
        ]
        return needed + (
            [("emr-serverless:TagResource", f"{app}/jobruns/new")] * bool(params.get("tags"))
        )
    resource = f"{app}/jobruns/{params['jobRunId']}" if "jobRunId" in params else app
    return [(f"emr-serverless:{operation}", resource)]


def assert_allowed_by_the_identity_policies(calls: ProjectCalls, application: tuple[str, str]):
    """Every call is allowed by what ``wordcloud-infra up --serverless`` tells the user to attach: the
    project's identity policy (its bucket) and the serverless statements (the application, the role)."""
    app, role = application
    settings = InfraSettings(region=REGION, bucket=BUCKET, require_tls=False)
    policy = {
        "Statement": [
            *policies.identity_policy(ACCOUNT, settings)["Statement"],
            *provision.identity_statements(REGION, ACCOUNT, app, role),
        ]
    }
    operations = {(service, operation) for service, operation, _ in calls.calls}
    assert {s for s, _ in operations} <= {"s3", "emr-serverless"}, operations
    serverless_actions = {f"emr-serverless:{o}" for s, o in operations if s == "emr-serverless"}
    # preflight simulates exactly provision.RUNNER_ACTIONS: it holds every action a run needs.
    assert serverless_actions <= set(provision.RUNNER_ACTIONS), serverless_actions
    denied = []
    for service, operation, params in calls.calls:
        needed = (
            serverless_permissions(operation, params)
            if service == "emr-serverless"
            else required_permissions(service, operation, params, ACCOUNT, {})
        )
        denied += [(operation, a, r) for a, r in needed if not allowed(policy, a, r, {})]
    assert denied == []
    return operations


def test_the_packed_python_runs_wherever_it_is_unpacked(packed_archive: Path, tmp_path: Path):
    import tarfile

    with tarfile.open(packed_archive) as tar:
        tar.extractall(tmp_path / "environment", filter="tar")
    code = (
        "import sys, json, importlib.metadata as m; "
        "print(json.dumps([sys.prefix, sys.version_info[:2], "
        "{d.metadata['Name'].lower(): d.version for d in m.distributions()}]))"
    )
    done = subprocess.run(
        [str(tmp_path / "environment" / "bin" / "python"), "-I", "-c", code],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, version, installed = json.loads(done.stdout)
    assert Path(prefix) == tmp_path / "environment"
    assert version == [3, 11]
    for requirement in requirements([]):  # the EMR bootstrap's own list, pins included
        name, _, pinned = requirement.partition("==")
        assert installed[name.lower()] == pinned, requirement
    assert "dagster" not in installed and "pyspark" not in installed  # the image provides pyspark


def test_the_archive_bytes_depend_only_on_the_files(tmp_path: Path):
    tree = tmp_path / "a" / "environment"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "mod.py").write_text("x = 1\n")
    (tree / "bin").mkdir()
    (tree / "bin" / "run").write_text("#!/bin/sh\n")
    (tree / "bin" / "run").chmod(0o775)
    first = packed_env.archive_bytes(tree)
    copy = tmp_path / "b" / "environment"
    shutil.copytree(tree, copy)
    os.utime(copy / "lib" / "mod.py", (1_000_000, 1_000_000))
    assert packed_env.archive_bytes(copy) == first
    (copy / "lib" / "mod.py").write_text("x = 2\n")
    assert packed_env.archive_bytes(copy) != first


def test_a_shared_libpython_interpreter_is_refused(tmp_path: Path):
    import sys

    with pytest.raises(packed_env.PackError, match="shared libpython"):
        packed_env.check_static(sys._base_executable)  # pyenv's 3.11: --enable-shared


def test_assets_run_as_serverless_job_runs(
    emr_emulation, bucket, sample_parquet, application, packed_archive, sent, project_calls
):
    reviews = upload_folder(sample_parquet, bucket)
    launcher = serverless_launcher(application)
    environment = upload_environment(launcher, packed_archive)
    resources = {**emr_test_resources(reviews), "spark_jobs": launcher}
    resources.pop("emr")
    with dg.instance_for_test() as instance, ServerlessHarness(emr_emulation, instance) as harness:
        instance_with_years(instance)
        result = dg.materialize(
            [ingested_reviews, preprocessed_titles],
            resources=resources,
            instance=instance,
            partition_key="2004",
            raise_on_error=False,
        )
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    failures = [h.stderr[-3000:] + h.stdout[-2000:] for h in harness.handled if h.returncode]
    assert result.success, failures or logs[-20:]
    assert len(harness.handled) == 2

    # What was sent: the scripts and typed job, the packed Python, the image's Delta, Pipes as env.
    started = sent.by_operation["StartJobRun"]
    assert len(started) == 2
    submit = started[1]["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"].endswith("/spark_scripts/preprocess_titles.py")
    assert submit["entryPointArguments"][:2] == [
        "--input",
        f"s3://{BUCKET}/storage/ingested_reviews",
    ]
    params = submit["sparkSubmitParameters"]
    assert f"spark.archives={environment}#environment" in params
    assert "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=./environment/bin/python" in params
    assert "spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python" in params
    assert "/usr/share/aws/delta/lib/delta-spark.jar" in params and "--packages" not in params
    assert "spark.emr-serverless.driverEnv.DAGSTER_PIPES_CONTEXT=" in params
    assert "--dagster-pipes" not in " ".join(submit["entryPointArguments"])
    assert started[1]["executionTimeoutMinutes"] == 720
    assert started[1]["tags"]["dagster/run-id"] == result.run_id

    # The run's first line from the launcher: the estimate for its input, both routes.
    first = next(line for line in logs if line and line.startswith("estimate for "))
    assert "EMR (default fleet): about" in first and "EMR Serverless: about" in first

    # The script ran on the packed Python and reported through Pipes: its stage lines and metrics.
    assert any("[preprocess_titles]" in h.stdout for h in harness.handled)
    assert any("wrote" in line and "2004" in line for line in logs if line)
    (titles,) = result.asset_materializations_for_node("preprocessed_titles")
    meta = {k: getattr(v, "value", v) for k, v in titles.metadata.items()}
    assert meta["rows_written"] > 0 if "rows_written" in meta else True

    # Cost from what EMR Serverless billed, at the published rates.
    run = boto3.client("emr-serverless").get_job_run(
        applicationId=application[0], jobRunId=meta["serverless_job_run_id"]
    )["jobRun"]
    billed = run["billedResourceUtilization"]
    expected = billed["vCPUHour"] * 0.052624 + billed["memoryGBHour"] * 0.0057785
    assert meta["serverless_cost_usd_estimate"] == pytest.approx(expected, abs=1e-4)
    assert meta["serverless_vcpu_hours"] == pytest.approx(billed["vCPUHour"], abs=1e-4)
    assert expected > 0

    # The identity that runs Dagster may make every call the run made, on what it touched.
    operations = assert_allowed_by_the_identity_policies(project_calls, application)
    assert {("emr-serverless", "StartJobRun"), ("emr-serverless", "GetJobRun")} <= operations

    # The Delta table was written through S3A with the image's (emulated) Delta jars.
    keys = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="storage/preprocessed_titles/")
    assert any(o["Key"].endswith(".json") and "_delta_log" in o["Key"] for o in keys["Contents"])


def test_a_cancelled_run_cancels_its_job_run(
    emr_emulation, bucket, sample_parquet, application, packed_archive, sent, project_calls
):
    reviews = upload_folder(sample_parquet, bucket)
    launcher = serverless_launcher(application)
    upload_environment(launcher, packed_archive)
    resources = {**emr_test_resources(reviews), "spark_jobs": launcher}
    resources.pop("emr")
    with dg.instance_for_test() as instance, ServerlessHarness(emr_emulation, instance) as harness:
        instance_with_years(instance)
        harness.cancel_next()
        result = dg.materialize(
            [ingested_reviews], resources=resources, instance=instance, raise_on_error=False
        )
    assert not result.success
    assert sent.count("CancelJobRun") == 1
    runs = boto3.client("emr-serverless").list_job_runs(applicationId=application[0])["jobRuns"]
    assert [r["state"] for r in runs] == ["CANCELLED"]
    assert not harness.handled  # nothing was left running
    operations = assert_allowed_by_the_identity_policies(project_calls, application)
    assert ("emr-serverless", "CancelJobRun") in operations


def test_no_packed_python_is_a_one_line_error_before_any_job_run(
    bucket, sample_parquet, application, sent
):
    reviews = upload_folder(sample_parquet, bucket)
    resources = {**emr_test_resources(reviews), "spark_jobs": serverless_launcher(application)}
    resources.pop("emr")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [ingested_reviews], resources=resources, instance=instance, raise_on_error=False
        )
        errors = [
            e.dagster_event.step_failure_data.error.to_string()
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.is_step_failure
        ]
    assert not result.success
    assert "wordcloud-infra up --serverless" in errors[0]
    assert sent.count("StartJobRun") == 0


def test_sparknlp_is_refused_on_serverless(bucket, application):
    from spark_scripts.job_contract import SparkJob, TitleOptions
    from wordcloud_pipeline_tests.aws.conftest import launch_in_asset

    job = SparkJob(
        script="preprocess_titles",
        input=f"s3://{BUCKET}/in",
        output=f"s3://{BUCKET}/out",
        years=(2004,),
        options=TitleOptions(backend="sparknlp"),
        name="t",
    )
    with pytest.raises(ServerlessConfigError, match="sparknlp"):
        launch_in_asset(serverless_launcher(application), job)


def test_the_run_end_sensor_cancels_job_runs_of_finished_runs_only(application, monkeypatch):
    """A killed Dagster process cannot cancel its job run; once the run is marked failed, a tick does."""
    from moto.emrserverless import models as serverless_models

    from wordcloud_pipeline.aws.serverless.run_end_sensor import serverless_run_end_sensor
    from wordcloud_pipeline_tests.aws.test_emr_lifecycle import run_with_status

    monkeypatch.setattr(serverless_models, "JOB_STATUS", "RUNNING")  # moto would end them at once
    app, role = application
    client = boto3.client("emr-serverless")
    statuses = {
        "failed": dg.DagsterRunStatus.FAILURE,
        "cancelled": dg.DagsterRunStatus.CANCELED,
        "succeeded": dg.DagsterRunStatus.SUCCESS,
        "running": dg.DagsterRunStatus.STARTED,
    }
    driver = {"sparkSubmit": {"entryPoint": "s3://b/job.py"}}

    def start(**tags: str) -> str:
        return client.start_job_run(
            applicationId=app, executionRoleArn=role, jobDriver=driver, tags=tags
        )["jobRunId"]

    with dg.instance_for_test() as instance:
        job_runs = {
            name: start(**{"dagster/run-id": run_with_status(instance, status)})
            for name, status in statuses.items()
        }
        job_runs["another instance's"] = start(**{"dagster/run-id": "elsewhere"})
        job_runs["not a Dagster run's"] = start()
        resources = {"spark_jobs": serverless_launcher(application)}
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            first = serverless_run_end_sensor(context)
            second = serverless_run_end_sensor(context)

    state = {
        name: client.get_job_run(applicationId=app, jobRunId=run)["jobRun"]["state"]
        for name, run in job_runs.items()
    }
    assert state == {
        "failed": "CANCELLED",
        "cancelled": "CANCELLED",
        "succeeded": "CANCELLED",
        "running": "RUNNING",
        "another instance's": "RUNNING",
        "not a Dagster run's": "RUNNING",
    }
    assert first.skip_message.startswith("cancelled 3 job run(s)")
    assert second.skip_message == "no job run of a finished run is active"
