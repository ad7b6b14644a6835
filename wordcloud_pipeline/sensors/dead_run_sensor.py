"""dead_run_sensor: a run whose process died (killed, out of memory, machine slept) is marked failed.

A run executed by ``dagster asset materialize`` or ``wordcloud-demo`` runs in that command's process; the
default run launcher starts runs the same way, in a process on this machine. When that process is killed,
nothing reports the end: the run stays STARTED for ever, and the one-writer pools (``concurrency.py``) keep
every later run of its assets QUEUED behind it. Dagster's run monitoring would fail it, but only with a run
launcher that can check a run's worker (``supports_check_run_worker_health``); the default launcher
cannot, and runs of the CLI have no launcher at all. So this sensor checks the process each STARTED run's
``RUN_START`` event names, and reports the run failed when that process is gone.
"""

from __future__ import annotations

import os

import dagster as dg

# Statuses whose run has a live process when all is well.
RUNNING_STATUSES = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def run_process_id(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The id of the process that started the run (its ``RUN_START`` event's), None before it started."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.RUN_START, limit=1
    ).records
    if not records or records[0].event_log_entry.dagster_event is None:
        return None
    return records[0].event_log_entry.dagster_event.pid


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    try:  # a killed child its parent has not reaped yet is a zombie: dead
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def fail_dead_runs(instance: dg.DagsterInstance) -> list[tuple[str, int]]:
    """Reports every STARTED or CANCELING run whose process is gone failed; (run id, pid) of each."""
    failed = []
    for run in instance.get_runs(dg.RunsFilter(statuses=RUNNING_STATUSES)):
        pid = run_process_id(instance, run.run_id)
        if pid is None or process_alive(pid):
            continue
        instance.report_run_failed(
            run,
            f"the process of this run (pid {pid}) is gone (killed or crashed): marked failed so "
            "that runs waiting for its assets can start. Re-run it to redo its work.",
        )
        failed.append((run.run_id, pid))
    return failed


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks a run failed when the process running it is gone (killed or crashed), so "
    "runs waiting for its assets start.",
)
def dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    failed = fail_dead_runs(context.instance)
    for run_id, pid in failed:
        context.log.warning(f"run {run_id}: its process {pid} is gone; marked failed")
    return dg.SkipReason(
        f"marked {len(failed)} dead run(s) failed" if failed else "every started run is alive"
    )
