"""One writer per asset, with real processes: the shipped dagster.yaml, dagster-daemon and its run queue.

Two runs of yearly_job (2003, then 2004) are submitted with ``dagster job launch`` to an instance made from
the repository's ``dagster.yaml``. The daemon's QueuedRunCoordinator must keep the second QUEUED while the
first holds the yearly assets' pools, and start it only after the first has ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from wordcloud_pipeline.instance_home import prepare_home
from wordcloud_pipeline.partitions import add_years
from wordcloud_pipeline.resources.storage import PROJECT_ROOT
from wordcloud_pipeline.sample_data import write_sample

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
# Generous: two runs each start a JVM on a shared 2-core machine. The test ends as soon as both end.
DEADLINE_SECONDS = 1500
IN_PROGRESS = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def launch(env: dict[str, str], year: int) -> None:
    """``dagster job launch``: the run goes to the instance's run coordinator (the queue)."""
    launched = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-m",
            "wordcloud_pipeline",
            "-j",
            "yearly_job",
            "--tags",
            json.dumps({"dagster/partition": str(year)}),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]


def test_a_second_run_of_the_same_assets_waits_queued_until_the_first_ends(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = prepare_home()
    assert (home / "dagster.yaml").read_text() == (PROJECT_ROOT / "dagster.yaml").read_text()
    reviews = write_sample(tmp_path / "reviews", 400, "tsv")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WORDCLOUD_REVIEWS_URI": str(reviews),
        "WORDCLOUD_STORAGE_URI": str(tmp_path / "storage"),
    }
    daemon_log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "wordcloud_pipeline"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=daemon_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with dg.DagsterInstance.get() as instance:
            add_years(instance, [2003, 2004])
            launch(env, 2003)
            launch(env, 2004)
            first, second = sorted(
                instance.get_runs(), key=lambda run: run.tags["dagster/partition"]
            )
            # Both went through the queue (the first may already have been started by the daemon).
            for run in (first, second):
                assert instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
            seen_waiting = False
            started = time.monotonic()
            while time.monotonic() - started < DEADLINE_SECONDS:
                now_first = instance.get_run_by_id(first.run_id).status
                now_second = instance.get_run_by_id(second.run_id).status
                if now_first in IN_PROGRESS and now_second == dg.DagsterRunStatus.QUEUED:
                    seen_waiting = True
                if now_first in FINISHED and now_second in FINISHED:
                    break
                time.sleep(0.5)
            records = {
                r.dagster_run.run_id: r
                for r in instance.get_run_records(
                    dg.RunsFilter(run_ids=[first.run_id, second.run_id])
                )
            }
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        daemon_log.close()
    log = (tmp_path / "daemon.log").read_text()
    one, two = records[first.run_id], records[second.run_id]
    assert one.dagster_run.status == dg.DagsterRunStatus.SUCCESS, log[-3000:]
    assert two.dagster_run.status == dg.DagsterRunStatus.SUCCESS, log[-3000:]
    assert seen_waiting, "the second run was never seen QUEUED while the first ran"
    # The queue started the second only after the first had ended, and said why it held it.
    assert two.start_time >= one.end_time
    assert f"Run {second.run_id} is blocked by global concurrency limits" in log
