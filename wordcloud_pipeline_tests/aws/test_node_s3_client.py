"""The scripts' S3 client on a node, which has no configured region: it asks the bucket for its own
region (``HeadBucket`` over HTTP to moto) rather than signing every call for us-east-1."""

from __future__ import annotations

import boto3
import pytest

from spark_scripts.job_cli import s3_client_for


@pytest.fixture
def no_region(monkeypatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    assert boto3.session.Session().region_name is None


def test_a_node_without_a_region_uses_the_buckets(no_region):
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="pipes-in-ireland",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    s3 = s3_client_for("pipes-in-ireland")
    assert s3.meta.region_name == "eu-west-1"
    s3.put_object(Bucket="pipes-in-ireland", Key="runs/r/pipes/1.json", Body=b"{}")
    assert (
        s3.get_object(Bucket="pipes-in-ireland", Key="runs/r/pipes/1.json")["Body"].read() == b"{}"
    )


def test_a_bucket_the_node_may_not_see_still_names_its_region(no_region):
    # HeadBucket of a missing bucket is refused; the client falls back to us-east-1 without failing.
    assert s3_client_for("no-such-bucket").meta.region_name == "us-east-1"


def test_a_configured_region_is_kept(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert s3_client_for("anything").meta.region_name == "ap-southeast-2"
