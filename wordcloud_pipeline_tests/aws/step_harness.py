"""Plays EMR's step runner for moto, which accepts steps but leaves them RUNNING forever.

What is real and what is emulated:
- Real: every AWS request the pipeline makes (boto3 over HTTP to a moto server: RunJobFlow, AddJobFlowSteps,
  DescribeStep, S3 uploads of the code and reads of metrics/logs, pyarrow reading counts and writing PNGs).
- Emulated here: the cluster itself. A background thread watches moto's in-process EMR backend for new steps
  and, per step, either
  * ``run``: checks the uploaded script and ``--py-files`` zip match this checkout, copies the step's s3://
    inputs from moto to a local folder, calls the script's ``main()`` on the test's local Spark session
    with the local paths (there is no S3 connector for Spark here), copies its outputs and metrics back to
    moto S3, and marks the step COMPLETED (FAILED with the traceback as stderr.gz if the script raises);
  * ``fail``: writes the given text as the step's stderr.gz log and marks it FAILED;
  * ``cancel``: does what Dagster does when a user cancels a run (marks the run CANCELING, interrupts the
    run's main thread) and leaves the step RUNNING.
- Not emulated: YARN, spot interruptions, bootstrap actions, spark-nlp, step log upload delays.
"""

from __future__ import annotations

import _thread
import gzip
import importlib
import threading
import traceback
import zipfile
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
from moto.emr.models import emr_backends

from wordcloud_pipeline.resources.emr.steps import SCRIPTS_DIR, split_s3

ACCOUNT = "123456789012"
REGION = "us-east-1"
PATH_FLAGS = ("--input", "--output", "--metrics-out")


@dataclass
class HandledStep:
    cluster_id: str
    step_id: str
    name: str
    args: list[str]
    outcome: str
    error: str | None = None


@dataclass
class StepHarness:
    workdir: Path
    instance: dg.DagsterInstance | None = None
    poll_seconds: float = 0.02
    handled: list[HandledStep] = field(default_factory=list)
    _plan: deque = field(default_factory=deque)
    _seen: set = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None
    _errors: list[BaseException] = field(default_factory=list)

    # -- what the next steps do ----------------------------------------------------------------
    def fail_next(self, stderr: str) -> None:
        self._plan.append(("fail", stderr))

    def cancel_next(self) -> None:
        self._plan.append(("cancel", None))

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> StepHarness:
        self._worker = threading.Thread(target=self._loop, name="emr-step-harness", daemon=True)
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=60)
        if self._errors:
            raise self._errors[0]

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._scan()
            except BaseException as error:  # surfaced in __exit__, never swallowed
                self._errors.append(error)
                return

    def _scan(self) -> None:
        backend = emr_backends[ACCOUNT][REGION]
        for cluster in list(backend.clusters.values()):
            if cluster.state.startswith("TERMINAT"):
                continue
            for step in list(cluster.steps):
                if step.id in self._seen or step.state not in ("PENDING", "RUNNING"):
                    continue
                self._seen.add(step.id)
                self._handle(cluster, step)
                break  # one step at a time per cluster, as StepConcurrencyLevel=1

    # -- one step ---------------------------------------------------------------------------------
    def _handle(self, cluster: Any, step: Any) -> None:
        action, payload = self._plan.popleft() if self._plan else ("run", None)
        step.state = "RUNNING"
        step.start_date_time = datetime.now(UTC)
        record = HandledStep(cluster.id, step.id, step.name, list(step.args), action)
        self.handled.append(record)
        if action == "cancel":
            self._cancel_run(cluster)
            return
        if action == "fail":
            self._finish(cluster, step, "FAILED", stderr=payload)
            return
        try:
            metrics_line = self._run_script(list(step.args))
        except Exception:
            record.outcome = "script-failed"
            record.error = traceback.format_exc()
            self._finish(cluster, step, "FAILED", stderr=record.error)
        else:
            self._finish(cluster, step, "COMPLETED", stdout=metrics_line)

    def _cancel_run(self, cluster: Any) -> None:
        assert self.instance is not None, "cancel_next needs the run's DagsterInstance"
        run = self.instance.get_run_by_id(cluster._tags["dagster/run_id"])
        self.instance.report_run_canceling(run, message="cancelled by the step harness")
        _thread.interrupt_main()

    def _finish(
        self, cluster: Any, step: Any, state: str, stdout: str = "", stderr: str | None = None
    ) -> None:
        s3 = boto3.client("s3")
        for stream, text in (("stdout", stdout), ("stderr", stderr or "")):
            bucket, key = split_s3(f"{cluster.log_uri.rstrip('/')}/{cluster.id}/steps/{step.id}/")
            s3.put_object(Bucket=bucket, Key=f"{key}{stream}.gz", Body=gzip.compress(text.encode()))
        step.end_date_time = datetime.now(UTC)
        step.state = state
        if not any(s.state in ("PENDING", "RUNNING") for s in cluster.steps):
            cluster.state = "WAITING"

    def _run_script(self, args: list[str]) -> str:
        assert args[0] == "spark-submit", args
        script_at = next(
            i for i, a in enumerate(args) if a.startswith("s3://") and a.endswith(".py")
        )
        options, script_uri, script_args = args[1:script_at], args[script_at], args[script_at + 1 :]
        name = script_uri.rsplit("/", 1)[1].removesuffix(".py")
        self._check_shipped_code(name, script_uri, options[options.index("--py-files") + 1])

        s3 = boto3.client("s3")
        local_args, outputs = [], []
        for i, arg in enumerate(script_args):
            if i > 0 and script_args[i - 1] in PATH_FLAGS and arg.startswith("s3://"):
                local = self._mirror(arg)
                if script_args[i - 1] != "--metrics-out":
                    self._download_prefix(s3, arg, local)
                if script_args[i - 1] != "--input":
                    outputs.append((local, arg))
                arg = str(local)
            local_args.append(arg)
        module = importlib.import_module(f"spark_scripts.{name}")
        metrics = module.main(local_args)
        for local, uri in outputs:
            self._upload(s3, local, uri)
        return f"METRICS {metrics}"

    def _check_shipped_code(self, name: str, script_uri: str, zip_uri: str) -> None:
        local = (SCRIPTS_DIR / f"{name}.py").read_bytes()
        assert self._get(script_uri) == local, f"{script_uri} differs from this checkout"
        with zipfile.ZipFile(BytesIO(self._get(zip_uri))) as archive:
            assert archive.read(f"spark_scripts/{name}.py") == local

    def _get(self, uri: str) -> bytes:
        bucket, key = split_s3(uri)
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()

    def _mirror(self, uri: str) -> Path:
        bucket, key = split_s3(uri)
        return self.workdir / "s3" / bucket / key

    def _download_prefix(self, s3: Any, uri: str, local: Path) -> None:
        bucket, key = split_s3(uri)
        prefix = key.rstrip("/") + "/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                target = local / obj["Key"][len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())

    def _upload(self, s3: Any, local: Path, uri: str) -> None:
        """Makes ``uri`` hold exactly what the script left at ``local`` (a file or a folder)."""
        bucket, key = split_s3(uri)
        if local.is_file():
            s3.put_object(Bucket=bucket, Key=key, Body=local.read_bytes())
            return
        prefix = key.rstrip("/") + "/"
        files = {
            prefix + p.relative_to(local).as_posix(): p
            for p in local.rglob("*")
            if p.is_file() and not p.name.endswith(".crc")
        }
        stale = [
            obj["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
            if obj["Key"] not in files
        ]
        for stale_key in stale:
            s3.delete_object(Bucket=bucket, Key=stale_key)
        for object_key, path in files.items():
            s3.put_object(Bucket=bucket, Key=object_key, Body=path.read_bytes())
