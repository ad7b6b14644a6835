"""The whole local graph on a small generated sample, as a user materializes it."""

import io
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from wordcloud_pipeline import tables
from wordcloud_pipeline.checks.counting_modes import COUNTING_MODES_CHECK
from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.partitions import FIRST_YEAR, LAST_YEAR, range_tags
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources

pytestmark = pytest.mark.slow
YEARS = range(FIRST_YEAR, LAST_YEAR + 1)


def materialize(resources, instance, *, partition_key=None, tags=None):
    instance_with_years(instance)
    return dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=instance,
        selection=YEARLY_ASSETS,
        partition_key=partition_key,
        tags=tags,
    )


def year_table(root: Path, asset: str, year: int):
    return tables.read_years(str(root / asset), [year])


@pytest.fixture(scope="module")
def graph(spark, sample_tsv, tmp_path_factory):
    """Every year 1995-2015 materialized as ONE run (a single-run backfill)."""
    storage = tmp_path_factory.mktemp("storage")
    resources = local_test_resources(sample_tsv, storage)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(resources, instance, tags=range_tags(FIRST_YEAR, LAST_YEAR))
    assert result.success
    return storage, resources, instance, result


def test_a_range_runs_as_one_run_with_one_spark_job_per_asset(graph):
    _, _, instance, result = graph
    assert len(instance.get_runs()) == 1
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert sum("preprocessed_titles[1995-2015]: running locally" in m for m in logs) == 1
    assert sum("words_by_year[1995-2015]: running locally" in m for m in logs) == 1
    materialized = instance.get_materialized_partitions(dg.AssetKey("word_clouds"))
    assert materialized == {str(y) for y in YEARS}


def test_every_year_has_a_png_of_the_configured_size_and_years_differ(graph):
    storage, _, _, _ = graph
    pngs = {year: (storage / "word_clouds" / f"{year}.png").read_bytes() for year in YEARS}
    for png in pngs.values():
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"
        assert image.size == (300, 200)
    assert pngs[2000] != pngs[2012]
    # Words were drawn, not a blank canvas: many distinct colours.
    assert len(Image.open(io.BytesIO(pngs[2012])).convert("RGB").getcolors(maxcolors=100_000)) > 50


def test_counts_conserve_every_kept_token(graph):
    storage, _, _, _ = graph
    for year in (1995, 2005, 2015):
        tokens = year_table(storage, "preprocessed_titles", year).num_rows
        counts = year_table(storage, "words_by_year", year).column("count").to_pylist()
        assert tokens > 0
        assert sum(counts) == tokens


def test_cloud_metadata_has_a_preview_and_top_words(graph):
    _, _, instance, _ = graph
    event = instance.get_latest_materialization_event(dg.AssetKey("word_clouds"))
    materialization = event.asset_materialization
    assert materialization.partition == "2015"
    assert materialization.metadata["preview"].value.startswith("![word cloud 2015](data:image/png")
    assert "| rank | word (2015) | count |" in materialization.metadata["top_words"].value
    assert materialization.metadata["counting"].value == "titles"

    # The ingest read every review once and says why rows were dropped ...
    ingest = instance.get_latest_materialization_event(dg.AssetKey("ingested_reviews"))
    meta = ingest.asset_materialization.metadata
    assert meta["rows_read"].value == 4_000
    assert meta["rows_dropped_malformed_row"].value > 0
    reasons = ("malformed_row", "blank_title", "unparseable_date", "other_category")
    dropped = sum(meta[f"rows_dropped_{r}"].value for r in reasons)
    assert meta["rows_kept"].value + dropped == 4_000
    assert meta["years_changed"].value == ", ".join(str(y) for y in range(1995, 2016))
    # ... which its own check confirms: every row read was kept or dropped for a reason.
    (check,) = [
        e for e in graph[3].get_asset_check_evaluations() if e.check_name == "rows_accounted_for"
    ]
    assert check.passed and check.metadata["rows_read"].value == 4_000
    # ... and preprocessing read exactly the reviews kept, from the table's year partitions.
    titles = instance.get_latest_materialization_event(dg.AssetKey("preprocessed_titles"))
    assert titles.asset_materialization.metadata["input_layout"].value == "table"
    assert titles.asset_materialization.metadata["run_rows_read"].value == meta["rows_kept"].value


def test_each_year_of_a_range_run_shows_its_own_figures(graph):
    storage, _, instance, _ = graph
    latest = {}
    for asset in ("preprocessed_titles", "words_by_year"):
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=["2004"]), limit=1
        ).records
        latest[asset] = records[0].asset_materialization.metadata
    titles, counts = latest["preprocessed_titles"], latest["words_by_year"]
    tokens_2004 = year_table(storage, "preprocessed_titles", 2004).num_rows
    assert titles["tokens"].value == tokens_2004 == counts["tokens"].value
    assert titles["run_tokens"].value > tokens_2004  # the range's total, named as such
    assert 0 < titles["rows_read"].value < titles["run_rows_read"].value
    assert "| rank | word (2004) | count |" in counts["top_words"].value
    assert titles["counting"].value == counts["counting"].value == "titles"


def test_the_settings_of_a_year_travel_with_its_data_not_through_the_event_log(graph):
    """The counts table stores how each year's words were made; a cloud drawn by an instance that never
    saw the titles run (a new Dagster home, the same storage) still says it."""
    storage, resources, _, _ = graph
    assert tables.settings_by_year(str(storage / "words_by_year"), [1995, 2015]) == {
        1995: {"counting": "titles", "backend": "sparkml"},
        2015: {"counting": "titles", "backend": "sparkml"},
    }
    counts = tables.read_years(str(storage / "words_by_year"), [2015], ["counting", "backend"])
    assert set(counts.column("counting").to_pylist()) == {"titles"}
    fresh = instance_with_years()
    result = dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=fresh,
        selection=[dg.AssetKey("word_clouds")],
        partition_key="2015",
    )
    assert result.success
    cloud = fresh.get_latest_materialization_event(dg.AssetKey("word_clouds")).asset_materialization
    assert (cloud.metadata["counting"].value, cloud.metadata["backend"].value) == (
        "titles",
        "sparkml",
    )


def test_rematerializing_one_year_replaces_it_and_leaves_the_others_untouched(graph):
    storage, resources, instance, _ = graph
    other_files = {
        p: p.stat().st_mtime_ns for p in (storage / "preprocessed_titles" / "year=2004").iterdir()
    }
    before = year_table(storage, "words_by_year", 2005).to_pylist()
    other_png = (storage / "word_clouds" / "2004.png").read_bytes()

    assert materialize(resources, instance, partition_key="2005").success

    after = year_table(storage, "words_by_year", 2005).to_pylist()
    assert sorted(after, key=lambda r: r["rank"]) == sorted(before, key=lambda r: r["rank"])
    tokens = year_table(storage, "preprocessed_titles", 2005).num_rows
    assert sum(r["count"] for r in after) == tokens  # replaced, not appended twice
    assert {
        p: p.stat().st_mtime_ns for p in (storage / "preprocessed_titles" / "year=2004").iterdir()
    } == other_files
    assert (storage / "word_clouds" / "2004.png").read_bytes() == other_png


def stale_status(instance, resources, name: str, partition: str | None = None):
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._core.loader import LoadingContextForTest

    graph_ = dg.Definitions(assets=ALL_ASSETS, resources=resources).resolve_asset_graph()
    resolver = CachingStaleStatusResolver(instance, graph_, LoadingContextForTest(instance))
    return resolver.get_status(dg.AssetKey(name), partition)


def test_a_no_op_rerun_of_a_year_after_the_range_run_leaves_nothing_stale(graph):
    """The range run gave each year its own data version; re-running one year on the same data gives
    the same versions again, so the pictures of all years stay fresh."""
    from dagster._core.definitions.data_version import StaleStatus

    from wordcloud_pipeline.definitions import SUMMARY_ASSETS

    _, resources, instance, _ = graph
    assert dg.materialize(
        ALL_ASSETS, resources=resources, instance=instance, selection=SUMMARY_ASSETS
    ).success
    assert stale_status(instance, resources, "word_rank_trends") == StaleStatus.FRESH
    assert materialize(resources, instance, partition_key="2010").success
    for name in ("words_by_year", "word_clouds"):
        assert stale_status(instance, resources, name, "2010") == StaleStatus.FRESH, name
    for name in ("word_cloud_animation", "word_rank_trends"):
        assert stale_status(instance, resources, name) == StaleStatus.FRESH, name


def test_each_year_of_the_range_run_records_what_it_was_computed_from(graph):
    """A range run's per-year events carry the provenance a one-year run's would: the code version and
    the upstream year's data version and event. So a year changed upstream later is unsynced, alone."""
    from dagster._core.definitions.data_version import StaleStatus

    from wordcloud_pipeline.resources.quality import QualityGates
    from wordcloud_pipeline.resources.settings import TitleProcessing

    _, resources, instance, _ = graph

    def latest(name: str, year: int):
        (record,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), asset_partitions=[str(year)]),
            limit=1,
        ).records
        return record

    for year in (1995, 2007):
        titles, counts = latest("preprocessed_titles", year), latest("words_by_year", year)
        tags = counts.event_log_entry.tags
        assert tags["dagster/code_version"] == "1"
        assert (
            tags["dagster/input_data_version/preprocessed_titles"]
            == titles.event_log_entry.tags["dagster/data_version"]
        )
        assert tags["dagster/input_event_pointer/preprocessed_titles"] == str(titles.storage_id)

    def titles_2007(counting: str) -> None:
        assert dg.materialize(
            ALL_ASSETS,
            resources={
                **resources,
                "title_processing": TitleProcessing(counting=counting),
                # reviews -> titles drops most of the year's rows, on purpose
                "quality_gates": QualityGates(max_row_drop_fraction=1.0),
            },
            instance=instance,
            selection=["preprocessed_titles"],
            partition_key="2007",
        ).success

    titles_2007("reviews")  # other words for 2007: only 2007's counts are behind
    assert stale_status(instance, resources, "words_by_year", "2007") == StaleStatus.STALE
    assert stale_status(instance, resources, "words_by_year", "2008") == StaleStatus.FRESH
    titles_2007("titles")  # back to what the counts were computed from
    assert stale_status(instance, resources, "words_by_year", "2007") == StaleStatus.FRESH


def test_a_year_recounted_another_way_makes_the_pictures_stale_and_the_check_warn(graph):
    """Runs last: it leaves 2005 counted by reviews, the other years by titles."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    from wordcloud_pipeline.definitions import SUMMARY_ASSETS
    from wordcloud_pipeline.resources.settings import TitleProcessing

    _, resources, instance, _ = graph
    assets = ALL_ASSETS
    assert dg.materialize(assets, resources=resources, instance=instance, selection=SUMMARY_ASSETS)

    def stale(name: str) -> StaleStatus:
        graph_ = dg.Definitions(assets=assets, resources=resources).resolve_asset_graph()
        resolver = CachingStaleStatusResolver(instance, graph_, LoadingContextForTest(instance))
        return resolver.get_status(dg.AssetKey(name))

    assert stale("word_cloud_animation") == StaleStatus.FRESH
    assert stale("word_rank_trends") == StaleStatus.FRESH

    reviews = {**resources, "title_processing": TitleProcessing(counting="reviews")}
    result = dg.materialize(
        assets,
        resources=reviews,
        instance=instance,
        selection=YEARLY_ASSETS,  # word_clouds yields its counting-modes check
        partition_key="2005",
    )
    assert result.success
    assert stale("word_cloud_animation") == StaleStatus.STALE
    assert stale("word_rank_trends") == StaleStatus.STALE
    (check,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == COUNTING_MODES_CHECK.name
    ]
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["years_reviews"].value == "2005"
    assert check.metadata["years_titles"].value == "1995-2004,2006-2015"
