"""Fixtures shared by every test: one local Spark session, small generated samples, local resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import SparkSession

from spark_scripts import spark_packages
from wordcloud_pipeline.partitions import FIRST_YEAR, LAST_YEAR, add_years
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher, session_conf
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.sample_data import write_sample

# Small enough to run in seconds, big enough that every year 1995-2015 has Books titles.
SAMPLE_ROWS = 4_000
# What the tests change over the local defaults (run config may set only vetted keys: spark_conf_policy).
TEST_SPARK_OVERRIDES = {"spark.master": "local[2]", "spark.driver.memory": "2g"}
# The one session carries the spark-nlp jar too, so the sparknlp tests start no second JVM (it costs the
# session some seconds of Ivy resolution; the first run of a fresh machine downloads the jars).
TEST_SPARK_CONF = session_conf(TEST_SPARK_OVERRIDES, spark_packages.backend_packages("sparknlp"))


# What a small local spark-submit needs besides the packages: few shuffle and Delta-log tasks, no UI.
SUBMIT_CONF_KEYS = (
    "spark.sql.shuffle.partitions",
    "spark.databricks.delta.snapshotPartitions",
    "spark.ui.enabled",
    "spark.sql.session.timeZone",
)


def spark_submit_options() -> list[str]:
    """``spark-submit`` options for the tests' subprocesses: Delta on, and the small-machine settings."""
    conf = {key: TEST_SPARK_CONF[key] for key in SUBMIT_CONF_KEYS}
    return [
        *("--master", "local[1]", "--driver-memory", "1g"),
        *spark_packages.submit_args(conf=conf),
    ]


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The one JVM of the test session; LocalSparkLauncher's getOrCreate reuses it."""
    builder = SparkSession.builder
    for key, value in TEST_SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_tsv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SAMPLE_ROWS seeded reviews in the TSV.gz layout (read-only: copy before changing)."""
    return write_sample(tmp_path_factory.mktemp("reviews_tsv"), SAMPLE_ROWS, "tsv")


@pytest.fixture(scope="session")
def sample_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same reviews in the parquet layout (partitioned by product_category, with year)."""
    return write_sample(tmp_path_factory.mktemp("reviews_parquet"), SAMPLE_ROWS, "parquet")


def local_test_resources(reviews: Path | str, storage: Path | str, **style) -> dict[str, object]:
    """The local resource set pointed at test folders, with small clouds to keep drawing fast."""
    return {
        "spark_jobs": LocalSparkLauncher(spark_conf=TEST_SPARK_OVERRIDES, log_level="ERROR"),
        "storage": PipelineStorage(reviews_uri=str(reviews), storage_uri=str(storage)),
        "quality_gates": QualityGates(),
        "title_processing": TitleProcessing(),
        "cloud_style": CloudStyle(
            **{"width": 300, "height": 200, "max_words": 60, **style},
        ),
    }


def instance_with_years(
    instance: dg.DagsterInstance | None = None, first: int = FIRST_YEAR, last: int = LAST_YEAR
) -> dg.DagsterInstance:
    """``instance`` (default: a new ephemeral one) with the dataset's years as partitions, as the
    new-reviews sensor, ``wordcloud-demo`` or ``wordcloud-years`` leave it."""
    instance = instance or dg.DagsterInstance.ephemeral()
    add_years(instance, range(first, last + 1))
    return instance
