"""The whole local graph with the sparknlp backend on a small sample: spark-nlp really runs in Dagster."""

import dagster as dg
import pytest

from wordcloud_pipeline import tables
from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.partitions import range_tags
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources

pytestmark = pytest.mark.slow
YEARS = (2003, 2005)


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
