"""A run whose process is killed does not hold its assets for ever: it is found dead and marked failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from wordcloud_pipeline.sensors.dead_run_sensor import dead_run_sensor

# A real run in a process of its own (what `dagster asset materialize` does), which sleeps until killed.
SLEEPING_RUN = """
import time
import dagster as dg

@dg.asset
def slow_asset():
    time.sleep(600)

with dg.DagsterInstance.get() as instance:
    dg.materialize([slow_asset], instance=instance)
"""


def wait_for_status(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(statuses=[status]))
        if runs:
            return runs[0]
        time.sleep(0.5)
    raise AssertionError(f"no run reached {status}")


def test_a_killed_runs_process_is_found_and_the_run_marked_failed(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        worker = subprocess.Popen([sys.executable, "-c", SLEEPING_RUN], env=env)
        try:
            run = wait_for_status(instance, dg.DagsterRunStatus.STARTED)
            # Alive: the sensor leaves it alone.
            assert dead_run_sensor(dg.build_sensor_context(instance=instance)).skip_message == (
                "every started run is alive"
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        result = dead_run_sensor(dg.build_sensor_context(instance=instance))
        assert result.skip_message == "marked 1 dead run(s) failed"
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
