"""Provisioning of the EMR Serverless route against moto: the application, the job role, the packed
Python's upload, and the estimate's inputs (what moto cannot judge, such as IAM evaluation, is not claimed)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from wordcloud_pipeline.aws import estimate
from wordcloud_pipeline.aws.emr.config import DEFAULT_RELEASE_LABEL
from wordcloud_pipeline.aws.infra import cli
from wordcloud_pipeline.aws.serverless import provision
from wordcloud_pipeline.aws.serverless.launcher import EmrServerlessSparkLauncher

ACCOUNT = "123456789012"


def request(**overrides):
    settings = {
        "name": provision.application_name("wordcloud"),
        "release_label": DEFAULT_RELEASE_LABEL,
        "max_vcpu": 64,
        "idle_minutes": 15,
        "tags": {"wordcloud:managed-by": "wordcloud-infra"},
    }
    return provision.application_request(**{**settings, **overrides})


def test_the_application_is_created_once_with_auto_stop_and_a_cap(fake_aws):
    client = boto3.client("emr-serverless")
    app_id, done = provision.ensure_application(client, request())
    assert done == "created"
    assert provision.ensure_application(client, request()) == (app_id, "unchanged")
    app = client.get_application(applicationId=app_id)["application"]
    assert app["releaseLabel"] == DEFAULT_RELEASE_LABEL  # the clusters' release
    assert app["autoStartConfiguration"] == {"enabled": True}
    assert app["autoStopConfiguration"] == {"enabled": True, "idleTimeoutMinutes": 15}
    assert app["maximumCapacity"] == {"cpu": "64 vCPU", "memory": "256 GB", "disk": "320 GB"}
    client.stop_application(applicationId=app_id)
    assert provision.ensure_application(client, request(max_vcpu=32)) == (app_id, "updated")
    app = client.get_application(applicationId=app_id)["application"]
    assert app["maximumCapacity"]["cpu"] == "32 vCPU"


def test_the_job_role_reaches_the_project_buckets_only(fake_aws):
    iam = boto3.client("iam")
    name = provision.job_role_name("wordcloud")
    arn, done = provision.ensure_job_role(iam, name, ACCOUNT, "proj", "reviews", {"k": "v"})
    assert done == "created"
    assert provision.ensure_job_role(iam, name, ACCOUNT, "proj", "reviews", {"k": "v"})[1] == (
        "unchanged"
    )
    role = iam.get_role(RoleName=name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    (statement,) = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"]
    assert statement["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = iam.get_role_policy(RoleName=name, PolicyName="project-data")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    resources = [r for s in policy["Statement"] for r in json.dumps(s["Resource"]).split('"')]
    assert not [r for r in resources if r in ("*", "arn:aws:s3:::*")]
    writes = {
        r
        for s in policy["Statement"]
        if "s3:PutObject" in s["Action"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert writes == {"arn:aws:s3:::proj/*"}  # nothing is written to the reviews bucket
    # A changed reviews bucket rewrites the policy.
    assert provision.ensure_job_role(iam, name, ACCOUNT, "proj", "other", {})[1] == "updated"
    assert arn.endswith(f"role/{name}")


def test_identity_statements_name_one_application_and_pass_the_role_to_serverless_only():
    statements = provision.identity_statements("us-east-1", ACCOUNT, "00abc", "arn:role")
    runs, passing = statements
    assert all(r.startswith("arn:aws:emr-serverless:us-east-1:") for r in runs["Resource"])
    assert "00abc" in runs["Resource"][0]
    assert passing["Condition"]["StringEquals"]["iam:PassedToService"] == (
        "emr-serverless.amazonaws.com"
    )


def test_the_packed_python_is_uploaded_once(fake_aws, bucket, tmp_path: Path):
    s3 = boto3.client("s3")
    archive = tmp_path / "python3.11-x86_64-abc.tar.gz"
    archive.write_bytes(b"archive")
    builds = []

    def build() -> Path:
        builds.append(1)
        return archive

    uri = f"s3://{bucket}/wordcloud/code/environments/{archive.name}"
    assert provision.ensure_environment(s3, uri, build, lambda _: None) == "created"
    assert provision.ensure_environment(s3, uri, build, lambda _: None) == "unchanged"
    assert len(builds) == 1
    assert s3.get_object(Bucket=bucket, Key=uri.split("/", 3)[3])["Body"].read() == b"archive"


def test_the_estimate_reads_the_input_size_from_s3(fake_aws, bucket):
    s3 = boto3.client("s3")
    for i, size in enumerate((1000, 2500)):
        s3.put_object(Bucket=bucket, Key=f"reviews/part-{i}.tsv.gz", Body=b"x" * size)
    s3.put_object(Bucket=bucket, Key="reviews-other/x.tsv.gz", Body=b"x" * 99)
    assert estimate.input_bytes(f"s3://{bucket}/reviews") == 3500


def test_the_estimate_grows_with_the_input_and_includes_boot():
    small, large = estimate.estimates(1 * estimate.GB), estimate.estimates(10 * estimate.GB)
    for before, after in zip(small, large, strict=True):
        assert after.work_minutes > before.work_minutes and after.usd > before.usd
        assert before.wall_minutes > before.boot_minutes > 0
    emr, serverless = estimate.estimates(0)
    assert emr.usd > 0 and serverless.usd > 0  # an empty input still pays the boot
    line = estimate.summary(int(6.5 * estimate.GB), estimate.estimates(int(6.5 * estimate.GB)))
    assert line.startswith("estimate for 6.50 GB of reviews: EMR (default fleet): about")
    assert "EMR Serverless: about" in line


CLI_BUCKET = "wordcloud-serverless-cli"
UP_SERVERLESS = [
    "up",
    "--serverless",
    "--bucket",
    CLI_BUCKET,
    "--allow-plain-http",
    "--python",
    "/nonexistent",
]


def packed_python_key() -> str:
    """Where the launcher looks for the packed Python of the current requirement list."""
    return EmrServerlessSparkLauncher(bucket=CLI_BUCKET).environment_uri().split("/", 3)[3]


@pytest.fixture
def before_up(fake_aws, monkeypatch) -> None:
    """The bucket, tagged as up's, with the packed Python already where the launcher looks: up must not
    rebuild it (its key says what it holds); building it is test_serverless.py's and the upload test's
    business."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # up attaches EMR's managed policy
    boto3.client("ec2").describe_vpcs()  # moto's default VPC exists for up's EMR part
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=CLI_BUCKET)
    s3.put_bucket_tagging(
        Bucket=CLI_BUCKET,
        Tagging={"TagSet": [{"Key": "wordcloud:managed-by", "Value": "wordcloud-infra"}]},
    )
    s3.put_object(Bucket=CLI_BUCKET, Key=packed_python_key(), Body=b"packed")


def test_cli_up_serverless_converges_and_prints_the_launcher_settings(before_up, capsys):
    args = UP_SERVERLESS
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "emr-serverless application wordcloud-serverless" in out
    assert "export WORDCLOUD_LAUNCHER=emr-serverless WORDCLOUD_SERVERLESS_APPLICATION_ID=" in out
    assert "WORDCLOUD_SERVERLESS_JOB_ROLE_ARN=arn:aws:iam::" in out
    (app,) = boto3.client("emr-serverless").list_applications()["applications"]
    assert app["name"] == "wordcloud-serverless"
    assert cli.main(args) == 0
    second = capsys.readouterr().out
    assert "created" not in second and "updated" not in second.split("For the")[0].replace(
        "unchanged", ""
    )


def test_cli_estimate_prints_both_routes_for_an_s3_prefix(fake_aws, bucket, capsys):
    boto3.client("s3").put_object(Bucket=bucket, Key="r/a.tsv.gz", Body=b"x" * 2048)
    assert cli.main(["estimate", "--reviews-uri", f"s3://{bucket}/r"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"s3://{bucket}/r: 0.00 GB of review files")
    assert "EMR (default fleet): about" in out and "EMR Serverless: about" in out
    assert "cheapest:" in out


def preflight_lines(capsys, *extra: str) -> tuple[int, dict[str, str]]:
    code = cli.main(["preflight", "--serverless", "--bucket", CLI_BUCKET, *extra])
    out = capsys.readouterr().out
    return code, {line[13:].split(":")[0]: line for line in out.splitlines()}


def test_preflight_serverless_passes_after_up_and_names_each_defect(before_up, capsys, monkeypatch):
    assert cli.main(UP_SERVERLESS) == 0
    capsys.readouterr()
    code, lines = preflight_lines(capsys)
    assert code == 0, lines
    for check in (
        "bucket region",
        "serverless application",
        "serverless job role",
        "packed Python",
    ):
        assert lines[check].startswith("ok"), lines
    assert "capped at 64 vCPU" in lines["serverless application"]
    # moto has no policy simulator: said, never passed off as ok; --strict makes it fail.
    assert lines["runner permissions (serverless)"].startswith("not checked")
    assert preflight_lines(capsys, "--strict")[0] == 1
    # The cluster route's checks are not this route's business.
    assert not {"EMR tag", "vCPU quota", "instance types"} & set(lines)

    # No packed Python for the current requirement list: the launcher would refuse every job run.
    boto3.client("s3").delete_object(Bucket=CLI_BUCKET, Key=packed_python_key())
    # An application without auto-stop keeps idle workers billed.
    serverless = boto3.client("emr-serverless")
    (app,) = serverless.list_applications()["applications"]
    serverless.stop_application(applicationId=app["id"])  # updates need a stopped application
    serverless.update_application(applicationId=app["id"], autoStopConfiguration={"enabled": False})
    # A job role that trusts another service cannot be assumed by the job runs.
    boto3.client("iam").update_assume_role_policy(
        RoleName=provision.job_role_name("wordcloud"),
        PolicyDocument=json.dumps(provision.trust_policy(ACCOUNT)).replace("emr-serverless", "ec2"),
    )
    code, lines = preflight_lines(capsys)
    assert code == 1
    assert (
        lines["packed Python"].startswith("FAIL") and packed_python_key() in lines["packed Python"]
    )
    assert lines["serverless application"].startswith("FAIL")
    assert "no auto-stop" in lines["serverless application"]
    assert lines["serverless job role"].startswith("FAIL")
    assert all(
        "wordcloud-infra up --serverless" in lines[c]
        for c in ("packed Python", "serverless job role")
    )

    # Deleted: not found by name; and the one WORDCLOUD_SERVERLESS_APPLICATION_ID names is the one checked.
    serverless.delete_application(applicationId=app["id"])
    assert "not found" in preflight_lines(capsys)[1]["serverless application"]
    monkeypatch.setenv("WORDCLOUD_SERVERLESS_APPLICATION_ID", app["id"])
    assert "is TERMINATED" in preflight_lines(capsys)[1]["serverless application"]


def test_parliament_finds_nothing_in_the_serverless_iam_documents():
    from parliament import analyze_policy_string

    from wordcloud_pipeline_tests.aws.test_identity_policy import assert_parliament_finds_nothing

    app = "00fabcdefghij"
    role = f"arn:aws:iam::{ACCOUNT}:role/{provision.job_role_name('wordcloud')}"
    documents = {
        "job role": provision.job_role_policy("proj", "reviews"),
        "identity": {
            "Version": "2012-10-17",
            "Statement": provision.identity_statements("us-east-1", ACCOUNT, app, role),
        },
    }
    assert_parliament_finds_nothing(documents)
    # The lint knows this service: a misspelt action is reported.
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "emr-serverless:StartJobRuns", "Resource": "*"}
        ],
    }
    assert [f.issue for f in analyze_policy_string(json.dumps(bad)).findings] == ["UNKNOWN_ACTION"]


def test_gzip_files_bound_the_ingest_and_the_estimate_says_what_idles():
    """One core reads each .gz file: three large files take longer than the same bytes in 300 pieces."""
    total = int(6.5 * estimate.GB)
    three = estimate.ReviewFiles(tuple((f"books_{i}.tsv.gz", total // 3) for i in range(3)))
    many = estimate.ReviewFiles(tuple((f"part_{i}.tsv.gz", total // 300) for i in range(300)))
    parquet = estimate.ReviewFiles(tuple((f"year={y}/p.parquet", total // 3) for y in range(3)))
    for route_three, route_many, route_parquet in zip(
        estimate.estimates(total, three),
        estimate.estimates(total, many),
        estimate.estimates(total, parquet),
        strict=True,
    ):
        assert route_three.work_minutes > route_many.work_minutes
        assert route_many.work_minutes == pytest.approx(route_parquet.work_minutes)
        assert "its 3 .gz file(s) one core each" in route_three.idle_note()
        assert (
            f"{route_three.cores - 3} of {route_three.cores} cores idle" in route_three.idle_note()
        )
        assert route_many.idle_note() is None and route_parquet.idle_note() is None


def test_cli_estimate_says_what_a_few_gzip_files_leave_idle(fake_aws, bucket, capsys):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key="few/a.tsv.gz", Body=b"x" * 4096)
    s3.put_object(Bucket=bucket, Key="few/b.tsv.gz", Body=b"x" * 1024)
    assert cli.main(["estimate", "--reviews-uri", f"s3://{bucket}/few"]) == 0
    out = capsys.readouterr().out
    assert "reads its 2 .gz file(s) one core each" in out
