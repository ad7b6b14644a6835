"""The project bucket: public access blocked, encrypted, TLS only, logs expiring, tagged."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from wordcloud_pipeline.aws.infra.policies import tls_only_bucket_policy
from wordcloud_pipeline.aws.infra.settings import (
    InfraSettings,
    Report,
    code,
    converge,
    managed,
    tag_list,
)

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def lifecycle(settings: InfraSettings) -> dict[str, Any]:
    return {
        "Rules": [
            {
                "ID": "expire-emr-logs",
                "Filter": {"Prefix": settings.layout.log_key_prefix},
                "Status": "Enabled",
                "Expiration": {"Days": settings.log_retention_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            },
            {
                # Each run's Pipes context and message chunks: read while the run lasts, then garbage.
                "ID": "expire-run-messages",
                "Filter": {"Prefix": settings.layout.runs_key_prefix},
                "Status": "Enabled",
                "Expiration": {"Days": settings.run_retention_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            },
        ]
    }


def bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if code(error) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def ensure_bucket(s3: Any, settings: InfraSettings, report: Report) -> None:
    """Creates or converges the bucket; one this tool did not create is changed only when adopted.

    Adopting merges: the logs rule joins the bucket's other lifecycle rules, the TLS statement joins its
    other policy statements, the project tags join its tags. Nothing of the owner's is removed.
    """
    bucket = settings.bucket

    def get(call, key, missing_codes):
        try:
            return call(Bucket=bucket)[key]
        except ClientError as error:
            if code(error) in missing_codes:
                return None
            raise

    if bucket_exists(s3, bucket):
        tags = get(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",)) or []
        if not managed(tags) and not settings.adopt_bucket:
            raise SystemExit(
                f"s3://{bucket} exists and was not created by wordcloud-infra: not changing its "
                "policy, lifecycle or tags. Pass --adopt-bucket to add this project's settings to it "
                "(merged with what it has), or choose another --bucket"
            )
        report.add(f"s3://{bucket}", "unchanged" if managed(tags) else "adopted")
    else:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if settings.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
        s3.create_bucket(**kwargs)
        # Tagged at once: the tag is how a later `up` knows this tool created the bucket.
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(settings.tags)})
        report.add(f"s3://{bucket}", "created")

    converge(
        report,
        f"s3://{bucket} public access block",
        get(
            s3.get_public_access_block,
            "PublicAccessBlockConfiguration",
            ("NoSuchPublicAccessBlockConfiguration",),
        ),
        PUBLIC_ACCESS_BLOCK,
        lambda: s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
        ),
    )
    current_encryption = get(
        s3.get_bucket_encryption,
        "ServerSideEncryptionConfiguration",
        ("ServerSideEncryptionConfigurationNotFoundError",),
    )
    current_algorithms = [
        r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        for r in (current_encryption or {}).get("Rules", [])
    ]
    if current_algorithms:
        # Any default encryption the owner chose (SSE-S3 or SSE-KMS) is kept.
        report.add(f"s3://{bucket} default encryption", f"unchanged ({current_algorithms[0]})")
    else:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION)
        report.add(f"s3://{bucket} default encryption", "set")

    current_rules = get(
        s3.get_bucket_lifecycle_configuration, "Rules", ("NoSuchLifecycleConfiguration",)
    )
    ours = lifecycle(settings)["Rules"]
    our_ids = {r["ID"] for r in ours}
    others = [r for r in current_rules or [] if r.get("ID") not in our_ids]
    current_ours = sorted(
        ({k: r.get(k) for k in ours[0]} for r in current_rules or [] if r.get("ID") in our_ids),
        key=lambda r: r["ID"],
    )
    converge(
        report,
        f"s3://{bucket} lifecycle (logs expire after {settings.log_retention_days} d, "
        f"run messages after {settings.run_retention_days} d)",
        current_ours or None,
        sorted(ours, key=lambda r: r["ID"]),
        lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [*others, *ours]}
        ),
    )
    if settings.require_tls:
        policy = get(s3.get_bucket_policy, "Policy", ("NoSuchBucketPolicy",))
        current = json.loads(policy) if policy else None
        (tls,) = tls_only_bucket_policy(bucket)["Statement"]
        statements = (current or {}).get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        kept = [st for st in statements if st.get("Sid") != tls["Sid"]]
        desired = {**(current or {"Version": "2012-10-17"}), "Statement": [*kept, tls]}
        converge(
            report,
            f"s3://{bucket} TLS-only policy",
            current,
            desired,
            lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(desired)),
        )
    tags = get(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",))
    current_tags = {t["Key"]: t["Value"] for t in tags} if tags else {}
    wanted_tags = {**current_tags, **settings.tags}
    converge(
        report,
        f"s3://{bucket} tags",
        current_tags or None,
        wanted_tags,
        lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(wanted_tags)}),
    )


def delete_bucket_and_objects(s3: Any, settings: InfraSettings) -> None:
    tags = s3.get_bucket_tagging(Bucket=settings.bucket).get("TagSet", [])
    if not managed(tags):
        raise SystemExit(
            f"s3://{settings.bucket} was not created by wordcloud-infra: not deleting it"
        )
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=settings.bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=settings.bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=settings.bucket)
