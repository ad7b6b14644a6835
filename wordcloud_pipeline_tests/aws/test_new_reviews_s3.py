"""The new-reviews sensor and review_years on an s3:// prefix (moto), as in EMR mode."""

from __future__ import annotations

from pathlib import Path

import boto3
import dagster as dg

from wordcloud_pipeline.review_years import list_review_files, years_in_file
from wordcloud_pipeline.sample_data import write_sample
from wordcloud_pipeline.sensors.new_reviews_sensor import new_reviews_sensor
from wordcloud_pipeline_tests.conftest import local_test_resources
from wordcloud_pipeline_tests.test_new_reviews_sensor import review, write_tsv_file


def upload(folder: Path, bucket: str, prefix: str) -> None:
    s3 = boto3.client("s3")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")


def test_years_of_files_on_s3(bucket, tmp_path):
    for layout in ("parquet", "tsv"):
        local = write_sample(tmp_path / layout, 300, layout)
        upload(local, bucket, f"reviews/{layout}")
        files = list_review_files(f"s3://{bucket}/reviews/{layout}")
        assert sorted(f.name for f in files) == sorted(
            f.name for f in list_review_files(str(local))
        )
        for file in files:
            assert file.uri.startswith(f"s3://{bucket}/reviews/{layout}/")
            on_disk = str(local / file.name)
            assert years_in_file(file.uri, "Books") == years_in_file(on_disk, "Books")
            assert years_in_file(file.uri) == years_in_file(on_disk)
        books = next(f for f in files if "Books" in f.name)
        assert {1995, 2015} <= years_in_file(books.uri, "Books")


def test_sensor_ticks_on_an_s3_prefix(bucket, tmp_path):
    upload(write_sample(tmp_path / "tsv", 300, "tsv"), bucket, "reviews")
    reviews = f"s3://{bucket}/reviews"
    resources = local_test_resources(reviews, f"s3://{bucket}/storage")
    defs = dg.Definitions(sensors=[new_reviews_sensor], resources=resources)
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None) -> dg.SensorResult:
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources, definitions=defs
            )
            return new_reviews_sensor(context)

        first = tick(None)
        assert not first.run_requests
        new = write_tsv_file(tmp_path / "new.tsv.gz", [review("2014-01-01"), review("2015-01-01")])
        boto3.client("s3").upload_file(
            str(new), bucket, "reviews/amazon_reviews_us_Books_v1_09.tsv.gz"
        )
        second = tick(first.cursor)
        assert [r.partition_key_range for r in second.run_requests] == [
            dg.PartitionKeyRange("2014", "2015")
        ]
        assert not tick(second.cursor).run_requests
