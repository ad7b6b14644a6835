"""The definitions load as `dagster dev` loads them, with the graph and partitions the README shows."""

from datetime import UTC, datetime

import dagster as dg

from wordcloud_pipeline import defs
from wordcloud_pipeline.partitions import year_partitions


def test_definitions_load_with_the_asset_graph():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"raw_reviews", "preprocessed_titles", "words_by_year", "word_clouds"} <= keys
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("words_by_year")).parent_keys == {
        dg.AssetKey("preprocessed_titles")
    }
    assert graph.get(dg.AssetKey("word_clouds")).parent_keys == {dg.AssetKey("words_by_year")}


def test_yearly_assets_share_one_partitions_definition_and_run_ranges_as_one_job():
    graph = defs.resolve_asset_graph()
    for name in ("preprocessed_titles", "words_by_year", "word_clouds"):
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def == year_partitions
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    keys = year_partitions.get_partition_keys()
    # The dataset's 1995-2015, then every year up to the current one (so new data has a partition).
    assert keys[:21] == [str(year) for year in range(1995, 2016)]
    assert keys[-1] == str(datetime.now(UTC).year)
