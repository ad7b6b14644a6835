"""EMR mode is one setting: the definitions load with the EMR resources and the cleanup sensors."""

from __future__ import annotations

import dagster as dg

from spark_scripts.domain import DEFAULT_BACKEND
from wordcloud_pipeline.aws.emr import EmrClusterResource, EmrSparkLauncher
from wordcloud_pipeline.definitions import build_defs


def test_emr_launcher_setting_swaps_resources_and_adds_cleanup_sensors(monkeypatch):
    monkeypatch.setenv("WORDCLOUD_LAUNCHER", "emr")
    defs = build_defs()
    dg.Definitions.validate_loadable(defs)
    assert isinstance(defs.resources["spark_jobs"], EmrSparkLauncher)
    emr = defs.resources["emr"]
    assert isinstance(emr, EmrClusterResource)
    # The definitions count the steps (three Spark assets) and read the bucket through dg.EnvVar.
    assert emr.spark_steps_per_run == 3
    assert emr.bucket == dg.EnvVar("WORDCLOUD_EMR_BUCKET")
    # The launcher never picks the NLP backend: EMR runs the local default.
    assert defs.resources["title_processing"].backend == DEFAULT_BACKEND
    names = {s.name for s in defs.sensors}
    assert {"emr_run_end_sensor", "emr_cost_guard_sensor"} <= names
    assert not {"emr_run_end_sensor", "emr_cost_guard_sensor"} & {
        s.name for s in build_defs("local").sensors
    }


def test_the_emr_serverless_setting_swaps_the_launcher_and_adds_its_cleanup_sensor(monkeypatch):
    from wordcloud_pipeline.aws.serverless import EmrServerlessSparkLauncher

    monkeypatch.setenv("WORDCLOUD_LAUNCHER", "emr-serverless")
    defs = build_defs()
    dg.Definitions.validate_loadable(defs)
    assert isinstance(defs.resources["spark_jobs"], EmrServerlessSparkLauncher)
    assert "emr" not in defs.resources  # no cluster to own
    assert defs.resources["title_processing"].backend == DEFAULT_BACKEND
    # Its cleanup sensor only: no cluster sensors, and none of its own in the other modes.
    names = {s.name for s in defs.sensors}
    assert "serverless_run_end_sensor" in names
    assert not {"emr_run_end_sensor", "emr_cost_guard_sensor"} & names
    for other in ("local", "emr"):
        assert "serverless_run_end_sensor" not in {s.name for s in build_defs(other).sensors}
