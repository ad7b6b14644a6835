"""A sparknlp step on EMR carries the same jar as locally and the dictionary shipped with the scripts."""

from __future__ import annotations

import boto3
import pytest

from spark_scripts import lemma_dictionary, spark_packages
from spark_scripts.job_contract import SparkJob, TitleOptions
from wordcloud_pipeline.aws.emr import steps
from wordcloud_pipeline.aws.emr.config import ClusterConfig, bootstrap_requirements
from wordcloud_pipeline.aws.emr.job_flow import bootstrap_script
from wordcloud_pipeline.aws.emr.launcher import with_backend_needs
from wordcloud_pipeline_tests.aws.conftest import emr_test_launcher, emr_test_resource


def titles_job(backend: str) -> SparkJob:
    return SparkJob(
        "preprocess_titles", "s3://b/r", "s3://b/o", (2003,), TitleOptions(backend=backend)
    )


def test_the_dictionary_is_shipped_with_the_scripts(bucket):
    s3 = boto3.client("s3")
    config = ClusterConfig()
    code = steps.ship_code(
        s3,
        f"s3://{bucket}/wordcloud/code",
        bootstrap_script(bootstrap_requirements(config)),
        lambda _: None,
    )
    key = steps.split_s3(code.lemma_dictionary_uri)[1]
    shipped = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert shipped == lemma_dictionary.ensure_dictionary().read_bytes()
    assert code.lemma_dictionary_uri == f"{code.prefix_uri}/{lemma_dictionary.FILE_NAME}"
    # The bootstrap installs the Python side of the same spark-nlp version as the jar.
    boot = s3.get_object(Bucket=bucket, Key=steps.split_s3(code.bootstrap_uri)[1])["Body"].read()
    assert f"spark-nlp=={spark_packages.SPARK_NLP_VERSION}" in boot.decode()


def test_a_sparknlp_step_gets_the_local_jar_and_the_shipped_dictionary():
    code = steps.ShippedCode(
        "v1", "s3://b/c/v1/spark_scripts.zip", "s3://b/c/v1/boot.sh", "s3://b/c/v1"
    )
    nlp = titles_job("sparknlp")
    job, packages, conf = with_backend_needs(nlp, ClusterConfig(), code)
    assert packages == [spark_packages.local_spark_nlp()]
    assert conf == {"spark.jars.excludes": ",".join(spark_packages.SPARK_NLP_EXCLUDES)}
    assert job.options.lemma_dictionary == "s3://b/c/v1/lemma_dictionary.txt"
    args = steps.spark_submit_args(job, code, packages=packages, spark_conf=conf)
    assert args[args.index("--lemma-dictionary") + 1] == "s3://b/c/v1/lemma_dictionary.txt"
    assert args[args.index("--packages") + 1] == "com.johnsnowlabs.nlp:spark-nlp_2.12:5.5.3"
    assert f"spark.jars.excludes={conf['spark.jars.excludes']}" in args

    ml = titles_job("sparkml")
    assert with_backend_needs(ml, ClusterConfig(), code) == (ml, [], {})


class _Run:
    run_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000099"


class _Context:
    run = _Run()

    class log:
        @staticmethod
        def info(_message: str) -> None:
            pass


def test_a_sparknlp_step_on_a_spark_4_release_fails_before_any_request(sent):
    spark4 = ClusterConfig(release_label="emr-spark-8.0.0", spark_version="4.0.2")
    launcher = emr_test_launcher(emr_test_resource(cluster=spark4))
    job = titles_job("sparknlp")
    with pytest.raises(ValueError, match=r"supports Spark 3\.x .* not Spark 4\.0\.2"):
        launcher.run(_Context(), job)
    assert sent.total() == 0
