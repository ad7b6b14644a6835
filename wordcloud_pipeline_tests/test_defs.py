"""The definitions load as `dagster dev` loads them, with the graph, partitions and jobs the README shows."""

import subprocess
import sys

import dagster as dg

from wordcloud_pipeline import defs
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import year_partitions

YEARLY = ("preprocessed_titles", "words_by_year", "word_clouds")
PICTURES = ("word_cloud_animation", "word_rank_trends")


def test_definitions_load_with_the_asset_graph():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"raw_reviews", "preprocessed_titles", "words_by_year", "word_clouds"} <= keys
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("words_by_year")).parent_keys == {
        dg.AssetKey("preprocessed_titles")
    }
    assert graph.get(dg.AssetKey("word_clouds")).parent_keys == {dg.AssetKey("words_by_year")}


def test_yearly_assets_share_the_dynamic_year_partitions_and_run_ranges_as_one_job():
    graph = defs.resolve_asset_graph()
    for name in YEARLY:
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def == year_partitions
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert isinstance(year_partitions, dg.DynamicPartitionsDefinition)
    assert year_partitions.name == "years"


def test_loading_the_definitions_prints_nothing():
    """What every `dagster` command loads first: a user's terminal gets no warnings (pytest's own
    warning filters do not reach a fresh interpreter)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "from wordcloud_pipeline import defs; defs.resolve_asset_graph()"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (loaded.stdout, loaded.stderr) == ("", "")


def test_every_writing_asset_has_its_own_pool_and_a_code_version():
    graph = defs.resolve_asset_graph()
    for name in (*YEARLY, *PICTURES):
        node = graph.get(dg.AssetKey(name))
        assert node.pools == {writer_pool(name)}, name
        assert node.code_version, name


def test_named_jobs_cover_a_year_with_its_upstream_and_the_pictures():
    yearly = defs.resolve_job_def("yearly_job")
    assert yearly.partitions_def == year_partitions
    assert {k.to_user_string() for k in yearly.asset_layer.executable_asset_keys} >= set(YEARLY)
    # The launchpad lists every resource the job needs, title_processing included.
    assert {"title_processing", "cloud_style", "spark_jobs", "storage"} <= set(
        yearly.required_resource_keys
    )
    # The counting-modes check runs with the yearly job.
    assert dg.AssetCheckKey(dg.AssetKey("word_clouds"), "counting_modes_agree") in (
        yearly.asset_layer.asset_graph.asset_check_keys
    )
    pictures = defs.resolve_job_def("pictures_job")
    assert pictures.partitions_def is None
    assert {k.to_user_string() for k in pictures.asset_layer.executable_asset_keys} == set(PICTURES)


def test_each_user_setting_is_refused_under_the_key_the_definitions_give_it():
    """A refusal names ``<key>.<field>``: the key must be the one the launchpad shows."""
    from wordcloud_pipeline.definitions import emr_resources, local_resources, serverless_resources
    from wordcloud_pipeline.resources.user_settings import UserSettings

    for resources in (local_resources(), emr_resources(), serverless_resources()):
        for key, resource in resources.items():
            if isinstance(resource, UserSettings):
                assert type(resource).config_key == key
