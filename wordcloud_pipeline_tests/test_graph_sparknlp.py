"""The whole local graph with the sparknlp backend on a small sample: spark-nlp really runs in Dagster."""

import re
from pathlib import Path

import dagster as dg
import pytest

from wordcloud_pipeline import tables
from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.partitions import range_tags
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline_tests.bestseller_titles import write_bestsellers
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources

pytestmark = pytest.mark.slow
YEARS = (2003, 2005)
# What spark-nlp's dictionary lemmatizer makes of the bestsellers' words: Stories, Wolves, Secrets,
# Elephants, Heroes, Sorcerer's, Children.
LEMMAS = {"story", "wolf", "secret", "elephant", "hero", "sorcerer", "potter", "harry"}


def test_the_graph_runs_on_sparknlp_and_says_so(spark, sample_tsv, tmp_path):
    resources = {
        **local_test_resources(sample_tsv, tmp_path),
        "title_processing": TitleProcessing(backend="sparknlp"),
    }
    instance = instance_with_years()
    result = dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=instance,
        selection=YEARLY_ASSETS,
        tags=range_tags(*YEARS),
    )
    assert result.success
    for key in ("preprocessed_titles", "words_by_year", "word_clouds"):
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        assert event.asset_materialization.metadata["backend"].value == "sparknlp", key
    for year in range(YEARS[0], YEARS[1] + 1):
        words = tables.read_years(str(tmp_path / "preprocessed_titles"), [year]).column("word")
        counts = tables.read_years(str(tmp_path / "words_by_year"), [year]).column("count")
        assert len(words) > 0 and sum(counts.to_pylist()) == len(words)
        assert (tmp_path / "word_clouds" / f"{year}.png").stat().st_size > 0


FRESH_PROCESS_RUN = """
import sys
import dagster as dg
from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline_tests.conftest import (
    TEST_SPARK_OVERRIDES, instance_with_years, local_test_resources
)

resources = {
    **local_test_resources(sys.argv[1], sys.argv[2]),
    "title_processing": TitleProcessing(backend="sparknlp"),
    # Spark's default log level, as a user's run has it: its warnings reach stderr.
    "spark_jobs": LocalSparkLauncher(spark_conf=TEST_SPARK_OVERRIDES),
}
instance = instance_with_years(first=2005, last=2005)
result = dg.materialize(
    ALL_ASSETS, resources=resources, instance=instance, selection=YEARLY_ASSETS, partition_key="2005"
)
event = instance.get_latest_materialization_event(dg.AssetKey("preprocessed_titles"))
print("backend:", event.asset_materialization.metadata["backend"].value)
"""


@pytest.fixture(params=["demo_sample", "bestsellers"])
def reviews_2005(request, sample_tsv, tmp_path_factory) -> Path:
    """The demo sample, and the held sample of real book titles (all reviewed in 2005)."""
    if request.param == "demo_sample":
        return sample_tsv
    folder = tmp_path_factory.mktemp("bestsellers")
    write_bestsellers(folder, 2005)
    return folder


def test_yearly_job_runs_sparknlp_for_one_year_in_a_fresh_process(reviews_2005, tmp_path):
    """The ingest starts the run's session first: it must already carry spark-nlp's jar (no JVM of
    this test process to lean on: a new interpreter, as `dagster dev` runs a launched run)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_RUN, str(reviews_2005), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "backend: sparknlp" in done.stdout
    # What a terminal running the job shows: no Python warning (Spark's own WARN lines are its to keep).
    assert not re.findall(r"\w+Warning: .*", done.stderr)
    assert "Using an existing Spark session" not in done.stderr  # each job reuses the run's session
    words = set(tables.read_years(str(tmp_path / "preprocessed_titles"), [2005]).column("word"))
    assert words
    assert (tmp_path / "word_clouds" / "2005.png").stat().st_size > 0
    if reviews_2005.name != "bestsellers":
        return
    # Real titles: entities decoded, plurals (regular and irregular) folded to the dictionary's lemma,
    # stop words and the domain's words (book, novel, series) dropped.
    assert LEMMAS <= words, LEMMAS - words
    assert not words & {"stories", "wolves", "secrets", "book", "novel", "series", "the", "39"}
