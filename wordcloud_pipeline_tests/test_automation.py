"""Declarative automation of the graph, evaluated tick by tick against a temporary instance.

Materializations are reported to the instance as the runs would record them, and in-progress runs are
created (not executed), so these tests exercise the automation conditions without Spark.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData

from wordcloud_pipeline.automation import after_upstream_batch
from wordcloud_pipeline.definitions import ALL_ASSETS, build_defs
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources

YEARLY = ("preprocessed_titles", "words_by_year", "word_clouds")
SUMMARIES = ("word_cloud_animation", "word_rank_trends")
FOLLOWERS = (dg.AssetKey("words_by_year"), dg.AssetKey("word_clouds"))


class AutomationTicks:
    """Evaluates the automation conditions like the automation sensor, one tick at a time."""

    def __init__(self, instance: dg.DagsterInstance, defs: dg.Definitions):
        self.instance = instance
        self.defs = defs
        self.cursor = None

    def materialized(self, asset: str, years: Iterable[int] = ()) -> None:
        years = list(years)
        for partition in [str(y) for y in years] or [None]:
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(asset, partition=partition)
            )

    def materialized_by_run(self, run: dg.DagsterRun, asset: str, year: int) -> None:
        """A materialization recorded by ``run``, as its step would record it (not runless), so the
        conditions can see which run updated an asset and what else that run targets."""
        materialization = dg.AssetMaterialization(asset, partition=str(year))
        event = DagsterEvent(
            event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=run.job_name,
            event_specific_data=StepMaterializationData(materialization),
        )
        self.instance.report_dagster_event(event, run_id=run.run_id)

    def run_in_progress(self, first: int, last: int) -> None:
        """A launched, unfinished run of words_by_year and word_clouds for first..last."""
        job = dg.define_asset_job("yearly_run", selection=list(FOLLOWERS)).resolve(
            asset_graph=self.defs.resolve_asset_graph()
        )
        self.instance.create_run_for_job(
            job_def=job,
            asset_selection=frozenset(FOLLOWERS),
            tags={
                "dagster/asset_partition_range_start": str(first),
                "dagster/asset_partition_range_end": str(last),
            },
        )

    def tick(self) -> dict[str, list[str] | int]:
        """What this tick requests: years of each yearly asset, a count for the summaries."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested: dict[str, list[str] | int] = {}
        for name in YEARLY:
            years = sorted(result.get_requested_partitions(dg.AssetKey(name)))
            if years:
                requested[name] = years
        for name in SUMMARIES:
            if count := result.get_num_requested(dg.AssetKey(name)):
                requested[name] = count
        return requested


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance_with_years(instance)


def graph_defs() -> dg.Definitions:
    return dg.Definitions(assets=ALL_ASSETS, resources=local_test_resources("/r", "/s"))


@pytest.fixture
def demo_done(instance) -> AutomationTicks:
    """The state after `wordcloud-demo`: every year and both summaries materialized; one quiet tick."""
    ticks = AutomationTicks(instance, graph_defs())
    for name in YEARLY:
        ticks.materialized(name, range(1995, 2016))
    for name in SUMMARIES:
        ticks.materialized(name)
    assert ticks.tick() == {}
    return ticks


def test_an_old_year_flows_down_and_the_summaries_refresh_once(demo_done):
    ticks = demo_done
    ticks.materialized("preprocessed_titles", [2003])
    # Both followers in one tick (word_clouds follows the request of words_by_year), only 2003,
    # and nothing all-years yet: its upstream is about to be recomputed.
    assert ticks.tick() == {"words_by_year": ["2003"], "word_clouds": ["2003"]}
    ticks.run_in_progress(2003, 2003)
    assert ticks.tick() == {}
    ticks.materialized("words_by_year", [2003])
    ticks.materialized("word_clouds", [2003])
    assert ticks.tick() == {"word_cloud_animation": 1, "word_rank_trends": 1}
    ticks.materialized("word_cloud_animation")
    ticks.materialized("word_rank_trends")
    assert ticks.tick() == {}


def test_eager_alone_follows_an_old_year_with_dynamic_partitions(instance):
    """eager() only looks at the latest time window; dynamic partitions have none, so it acts on any year."""
    eager = [
        a.map_asset_specs(
            lambda spec: spec.replace_attributes(
                automation_condition=dg.AutomationCondition.eager()
            )
        )
        if a.key.path[0] in ("words_by_year", "word_clouds")
        else a
        for a in ALL_ASSETS
    ]
    ticks = AutomationTicks(
        instance, dg.Definitions(assets=eager, resources=local_test_resources("/r", "/s"))
    )
    for name in YEARLY:
        ticks.materialized(name, range(1995, 2016))
    ticks.tick()
    ticks.materialized("preprocessed_titles", [2003])
    # With time-window partitions eager() only looked at the latest year and left 2003 behind; with the
    # dynamic year partitions it follows any year.
    assert ticks.tick() == {"words_by_year": ["2003"], "word_clouds": ["2003"]}


def test_a_batch_over_several_runs_refreshes_the_summaries_once_at_the_end(demo_done):
    ticks = demo_done
    ticks.materialized("preprocessed_titles", [2003, 2004, 2005])
    requested = ticks.tick()
    assert requested == {
        "words_by_year": ["2003", "2004", "2005"],
        "word_clouds": ["2003", "2004", "2005"],
    }
    ticks.run_in_progress(2003, 2003)
    ticks.run_in_progress(2004, 2005)
    ticks.materialized("words_by_year", [2003])
    ticks.materialized("word_clouds", [2003])
    # 2004-2005 are still running: the animation would miss them.
    assert ticks.tick() == {}
    ticks.materialized("words_by_year", [2004, 2005])
    ticks.materialized("word_clouds", [2004, 2005])
    assert ticks.tick() == {"word_cloud_animation": 1, "word_rank_trends": 1}
    assert ticks.tick() == {}


def test_without_the_in_progress_run_the_summaries_would_refresh_early(demo_done):
    """The control for the batch test: the wait comes from the run in progress, nothing else."""
    ticks = demo_done
    ticks.materialized("preprocessed_titles", [2003, 2004, 2005])
    ticks.tick()
    ticks.materialized("words_by_year", [2003])
    ticks.materialized("word_clouds", [2003])
    assert ticks.tick() == {"word_cloud_animation": 1, "word_rank_trends": 1}


def test_a_run_of_the_whole_graph_is_not_followed_by_a_second_round(demo_done):
    """A backfill (or the sensor's run) of every yearly asset, seen by ticks while it progresses."""
    ticks = demo_done
    job = dg.define_asset_job("all_yearly", selection=list(YEARLY)).resolve(
        asset_graph=ticks.defs.resolve_asset_graph()
    )
    run = ticks.instance.create_run_for_job(
        job_def=job,
        asset_selection=frozenset(dg.AssetKey(n) for n in YEARLY),
        tags={"dagster/partition": "2010"},
    )
    ticks.materialized_by_run(run, "preprocessed_titles", 2010)
    assert ticks.tick() == {}
    ticks.materialized_by_run(run, "words_by_year", 2010)
    # The rank plot reads words_by_year only, which is done; the clouds are still to come.
    assert ticks.tick() == {"word_rank_trends": 1}
    ticks.materialized_by_run(run, "word_clouds", 2010)
    assert ticks.tick() == {"word_cloud_animation": 1}
    assert ticks.tick() == {}


def test_the_project_definitions_carry_the_conditions_and_a_stopped_automation_sensor():
    defs = build_defs("local")
    graph = defs.resolve_asset_graph()
    for name in ("words_by_year", "word_clouds"):
        condition = graph.get(dg.AssetKey(name)).automation_condition
        assert condition.get_label() == dg.AutomationCondition.eager().get_label()
    for name in SUMMARIES:
        condition = graph.get(dg.AssetKey(name)).automation_condition
        assert condition.get_label() == after_upstream_batch().get_label()
    assert graph.get(dg.AssetKey("preprocessed_titles")).automation_condition is None
    sensor = defs.resolve_sensor_def("wordcloud_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
