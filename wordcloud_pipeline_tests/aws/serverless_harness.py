"""Plays EMR Serverless's job runner for moto, which accepts job runs and runs nothing.

Real: the ``StartJobRun`` request as the launcher sent it (read from moto's backend); its
``sparkSubmitParameters``, entry point and arguments run by a real ``spark-submit`` on the session's Spark
standalone cluster (spark_standalone.py), ``s3://`` through S3A against moto; the packed environment
downloaded from S3 and unpacked as ``./environment`` in the driver's working folder, as EMR Serverless does
(the executors get it from Spark itself through ``spark.archives``); ``spark.emr-serverless.driverEnv.*``
set as the driver's environment (the Pipes params, the driver's Python); the driver's stdout and stderr
uploaded gzipped to ``<logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/``.

Emulated: the control plane (the harness moves the job run's state in moto's backend; moto would create it
SUCCESS at once), the image (its Delta jars at ``/usr/share/aws/delta/lib`` are mapped to delta-spark from
Maven; S3A stands in for EMRFS), workers and their sizes, and ``billedResourceUtilization``, which the
harness sets from the run's wall time for a 4 vCPU / 16 GB driver and one such executor, each billed at
least a minute. A test may script a job run instead: ``cancel_next()`` interrupts the Dagster run (as a user's
cancel does) while the job run is RUNNING.
"""

from __future__ import annotations

import _thread
import gzip
import io
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
from moto.emrserverless import models as serverless_models

from wordcloud_pipeline.aws.emr.steps import split_s3
from wordcloud_pipeline.aws.serverless import job_run
from wordcloud_pipeline_tests.aws import emr_image
from wordcloud_pipeline_tests.aws.spark_standalone import stop_group
from wordcloud_pipeline_tests.aws.step_harness import ACCOUNT, REGION, EmrEmulation, step_env

TIMEOUT_SECONDS = 900.0
WORKER_VCPU, WORKER_GB, WORKERS = 4, 16, 2


@dataclass
class HandledJobRun:
    job_run_id: str
    request: dict[str, Any]
    command: list[str]
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""


@dataclass
class ServerlessHarness:
    emulation: EmrEmulation
    instance: dg.DagsterInstance | None = None
    handled: list[HandledJobRun] = field(default_factory=list)
    _cancel_next: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None
    _running: subprocess.Popen | None = None
    _errors: list[BaseException] = field(default_factory=list)

    def cancel_next(self) -> None:
        self._cancel_next = True

    def __enter__(self) -> ServerlessHarness:
        # moto creates job runs SUCCESS; EMR Serverless creates them SUBMITTED.
        self._status = serverless_models.JOB_STATUS
        serverless_models.JOB_STATUS = "SUBMITTED"
        self._worker = threading.Thread(target=self._loop, name="serverless-harness", daemon=True)
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._running is not None and self._running.poll() is None:
            stop_group(self._running)
        if self._worker is not None:
            self._worker.join(timeout=60)
        serverless_models.JOB_STATUS = self._status
        if self._errors:
            raise self._errors[0]

    def _loop(self) -> None:
        seen: set[str] = set()
        while not self._stop.wait(0.05):
            try:
                backend = serverless_models.emrserverless_backends[ACCOUNT][REGION]
                for runs in list(backend.job_runs.values()):
                    for run in list(runs):
                        if run.id not in seen and run.state == "SUBMITTED":
                            seen.add(run.id)
                            self._handle(run)
            except BaseException as error:  # surfaced in __exit__
                self._errors.append(error)
                return

    def _handle(self, run: Any) -> None:
        run.state = "RUNNING"
        started = time.monotonic()
        if self._cancel_next:
            self._cancel_next = False
            assert self.instance is not None
            dagster_run = self.instance.get_run_by_id(run.tags["dagster/run-id"])
            self.instance.report_run_canceling(dagster_run, message="cancelled by the harness")
            _thread.interrupt_main()
            return
        record = self._run(run)
        self.handled.append(record)
        self._upload_logs(run, record)
        seconds = max(time.monotonic() - started, 60.0)
        run.total_execution_duration_seconds = int(seconds)
        run.billed_resource_utilization = {
            "vCPUHour": WORKERS * WORKER_VCPU * seconds / 3600,
            "memoryGBHour": WORKERS * WORKER_GB * seconds / 3600,
            "storageGBHour": 0.0,
        }
        run.updated_at = datetime.now(UTC)
        if record.returncode == 0:
            run.state = "SUCCESS"
        else:
            run.state = "FAILED"
            run.state_details = f"Job failed, please check complete logs in configured logging destination. ExitCode: {record.returncode}."

    def _run(self, run: Any) -> HandledJobRun:
        submit = run.job_driver["sparkSubmit"]
        options, conf = job_run.parse_spark_submit_parameters(submit["sparkSubmitParameters"])
        rundir = self.emulation.workdir / "serverless" / run.id
        rundir.mkdir(parents=True)
        driver_env = {
            k[len(job_run.DRIVER_ENV) :]: v
            for k, v in conf.items()
            if k.startswith(job_run.DRIVER_ENV)
        }
        archive, _, alias = conf["spark.archives"].partition("#")
        self._unpack(archive, rundir / alias)
        # The image's Delta jars are where EMR puts them; here, delta-spark from Maven.
        jars: list[str] = []
        for path in conf["spark.jars"].split(","):
            name = Path(path).name
            if name == "delta-spark.jar":  # delta-storage comes with it from Maven
                jars += [str(jar) for jar in self.emulation.jars["delta"]]
            elif name != "delta-storage.jar":
                jars.append(path)
        conf["spark.jars"] = ",".join(jars)
        defaults = emr_image.spark_defaults(
            [],
            master_url=self.emulation.cluster.master_url,
            s3_endpoint=self.emulation.s3_endpoint,
            jars=self.emulation.jars,
        )
        conf_dir = emr_image.write_conf_dir(rundir / "conf", defaults)
        command = ["spark-submit", *options]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        command += [submit["entryPoint"], *submit.get("entryPointArguments", [])]
        env = {**step_env(conf_dir, {}, self.emulation.s3_endpoint), **driver_env}
        record = HandledJobRun(run.id, {"jobDriver": run.job_driver}, command)
        with (rundir / "stdout").open("wb") as out, (rundir / "stderr").open("wb") as err:
            self._running = subprocess.Popen(
                command, env=env, cwd=rundir, stdout=out, stderr=err, start_new_session=True
            )
            try:
                record.returncode = self._running.wait(timeout=TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                stop_group(self._running)
                record.returncode = -1
        self._running = None
        record.stdout = (rundir / "stdout").read_text(errors="replace")
        record.stderr = (rundir / "stderr").read_text(errors="replace")
        return record

    def _unpack(self, archive_uri: str, target: Path) -> None:
        bucket, key = split_s3(archive_uri)
        data = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(target, filter="tar")

    def _upload_logs(self, run: Any, record: HandledJobRun) -> None:
        log_uri = run.configuration_overrides["monitoringConfiguration"][
            "s3MonitoringConfiguration"
        ]["logUri"]
        s3 = boto3.client("s3")
        for stream, text in (("stdout", record.stdout), ("stderr", record.stderr)):
            bucket, key = split_s3(
                job_run.driver_log_uri(log_uri, run.application_id, run.id, stream)
            )
            s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(text.encode()))
