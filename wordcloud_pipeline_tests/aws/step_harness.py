"""Plays EMR's step runner for moto, which accepts steps but leaves them RUNNING forever.

What is real and what is emulated:
- Real: every AWS request the pipeline makes (boto3 over HTTP to a moto server); each step's
  ``HadoopJarStep.Args`` run verbatim, as ``command-runner.jar`` runs them, by a real ``spark-submit``
  process against a Spark standalone cluster (master and worker JVMs, see spark_standalone.py); Spark reads
  and writes ``s3://`` through the S3 API (hadoop-aws S3A against moto), including the ``--py-files`` zip and
  the script, which ``spark-submit`` downloads itself as on EMR; the driver and executors run on a bare venv
  built from the cluster's own bootstrap script (node_python.py); the cluster's ``spark-defaults`` and
  ``spark-env`` classifications apply (emr_image.py). The step ends COMPLETED or FAILED by spark-submit's
  exit code, and its stdout and stderr are uploaded gzipped to ``<LogUri>/<cluster>/steps/<step>/`` as EMR
  does, so the launcher reads the real stderr tail. Nothing of a step runs in the test process.
- Real too: the script's Dagster Pipes side (dagster-pipes and boto3 from the bootstrap) loads its context
  from, and writes its messages to, moto S3, where the launcher's dagster-aws readers find them.
- Emulated: the EMR control plane (moto; the harness moves a step's state in moto's in-process backend),
  YARN (a standalone master), EMRFS (S3A), the node image (see emr_image.py), one node for everything.
  A test may also script a step instead of running it:
  * ``fail_next(stderr)``: writes that text as the step's stderr.gz and marks it FAILED;
  * ``cancel_next()``: does what Dagster does when a user cancels a run (marks the run CANCELING,
    interrupts the run's main thread) and leaves the step RUNNING.
- Not emulated: instance fleets and spot interruptions, the bootstrap's ``dnf install`` (only its pip list
  is honoured, when the first step arrives rather than at cluster start), IAM, step log upload delays.
"""

from __future__ import annotations

import _thread
import gzip
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
from moto.emr.models import emr_backends

from wordcloud_pipeline.aws.emr.steps import split_s3, step_log_uri
from wordcloud_pipeline_tests.aws import emr_image, node_python
from wordcloud_pipeline_tests.aws.spark_standalone import (
    HOST,
    INSTANCE_PROFILE_ENV,
    SPARK_HOME,
    StandaloneCluster,
    group_alive,
    stop_group,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
STEP_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class EmrEmulation:
    """The parts shared by a test session: the standalone cluster, the native jars, the S3 endpoint."""

    cluster: StandaloneCluster
    jars: dict[str, list[Path]]
    s3_endpoint: str
    workdir: Path


@pytest.fixture(scope="session")
def emr_emulation(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmrEmulation]:
    """One standalone cluster per session (started while Ivy resolves the jars), stopped at the end."""
    root = tmp_path_factory.mktemp("emr_emulation")
    cluster = StandaloneCluster(root / "standalone")
    with ThreadPoolExecutor(1) as pool:
        jars = pool.submit(emr_image.resolve_native_jars, root / "ivy")
        cluster.start()
    try:
        yield EmrEmulation(cluster, jars.result(), moto_endpoint, root)
    finally:
        cluster.stop()


@dataclass
class HandledStep:
    cluster_id: str
    step_id: str
    name: str
    args: list[str]
    outcome: str
    returncode: int | None = None
    stderr: str = ""


@dataclass(frozen=True)
class NodeSetup:
    """How steps of one cluster run: its spark-defaults folder and the nodes' Python."""

    conf_dir: Path
    env: dict[str, str]


@dataclass
class StepHarness:
    emulation: EmrEmulation
    instance: dg.DagsterInstance | None = None
    poll_seconds: float = 0.05
    handled: list[HandledStep] = field(default_factory=list)
    node_pythons: dict[str, Path] = field(default_factory=dict)  # by cluster id
    _plan: deque = field(default_factory=deque)
    _seen: set = field(default_factory=set)
    _nodes: dict[str, NodeSetup | str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None
    _running: subprocess.Popen | None = None
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
        running = self._running
        if running is not None and running.poll() is None:
            stop_group(running)
        if self._worker is not None:
            self._worker.join(timeout=60)
        if running is not None and group_alive(running.pid):
            raise RuntimeError(f"spark-submit {running.pid} left running")
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
            # moto registers a cluster before its constructor has set ``state``: skip it until then.
            state = getattr(cluster, "state", None)
            if state is None or state.startswith("TERMINAT"):
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
        cluster.state = "RUNNING"
        record = HandledStep(cluster.id, step.id, step.name, list(step.args), action)
        self.handled.append(record)
        if action == "cancel":
            self._cancel_run(cluster)
            return
        if action == "fail":
            self._finish(cluster, step, "FAILED", stderr=payload)
            return
        stdout, stderr, returncode = self._run_step(cluster, step)
        record.returncode, record.stderr = returncode, stderr
        if returncode != 0:
            record.outcome = "script-failed"
        self._finish(
            cluster,
            step,
            "COMPLETED" if returncode == 0 else "FAILED",
            stdout=stdout,
            stderr=stderr,
        )

    def _cancel_run(self, cluster: Any) -> None:
        assert self.instance is not None, "cancel_next needs the run's DagsterInstance"
        run = self.instance.get_run_by_id(cluster._tags["dagster/run_id"])
        self.instance.report_run_canceling(run, message="cancelled by the step harness")
        _thread.interrupt_main()

    def _finish(
        self, cluster: Any, step: Any, state: str, stdout: str = "", stderr: str | None = None
    ) -> None:
        """Uploads the step's logs where EMR puts them, then ends the step."""
        s3 = boto3.client("s3")
        for stream, text in (("stdout", stdout), ("stderr", stderr or "")):
            bucket, key = split_s3(step_log_uri(cluster.log_uri, cluster.id, step.id, stream))
            s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(text.encode()))
        step.end_date_time = datetime.now(UTC)
        step.state = state
        if not any(s.state in ("PENDING", "RUNNING") for s in cluster.steps):
            cluster.state = "WAITING"

    def _run_step(self, cluster: Any, step: Any) -> tuple[str, str, int]:
        """The step's args run verbatim by spark-submit; (stdout, stderr, exit code)."""
        if step.jar != "command-runner.jar":
            return "", f"the emulation runs command-runner.jar steps only, not {step.jar}", 1
        node = self._node_setup(cluster)
        if isinstance(node, str):  # the bootstrap would have failed: no node to run on
            return "", node, 1
        rundir = self.emulation.workdir / "steps" / step.id
        rundir.mkdir(parents=True)
        with (rundir / "stdout").open("wb") as out, (rundir / "stderr").open("wb") as err:
            self._running = subprocess.Popen(
                list(step.args),
                env=node.env,
                cwd=rundir,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                returncode = self._running.wait(timeout=STEP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                stop_group(self._running)
                returncode = -1
        self._running = None
        stdout = (rundir / "stdout").read_text(errors="replace")
        stderr = (rundir / "stderr").read_text(errors="replace")
        if returncode == -1:
            stderr += f"\n(emulation: killed after {STEP_TIMEOUT_SECONDS:.0f} s)\n"
        return stdout, stderr, returncode

    # -- one cluster's nodes ----------------------------------------------------------------------
    def _node_setup(self, cluster: Any) -> NodeSetup | str:
        """Once per cluster: its bootstrap's Python and its spark-defaults; a string says why not."""
        if cluster.id not in self._nodes:
            self._nodes[cluster.id] = self._prepare_nodes(cluster)
        return self._nodes[cluster.id]

    def _prepare_nodes(self, cluster: Any) -> NodeSetup | str:
        scripts = [self._get(action.script_path) for action in cluster.bootstrap_actions]
        installs = []
        for script in scripts:
            try:
                installs.append(node_python.parse_bootstrap(script))
            except ValueError:
                continue
        if len(installs) != 1:
            return (
                f"emulation: expected one bootstrap action that pip-installs, found {len(installs)}"
            )
        wanted = installs[0]
        try:
            python = node_python.node_python(wanted, self.emulation.workdir / "node-python")
        except node_python.BootstrapError as error:
            return f"bootstrap action failed, the cluster would not start:\n{error}"
        self.node_pythons[cluster.id] = python

        # moto keeps the request's maps with snake_cased keys ("spark.sql.session.time_zone");
        # original_dict() gives back the keys as sent, as EMR would apply them.
        configurations = [
            c.original_dict() if hasattr(c, "original_dict") else dict(c)
            for c in cluster.configurations
        ]
        exports = emr_image.spark_env_exports(configurations)
        pythons = {}
        for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
            if name not in exports:
                return f"emulation: spark-env sets no {name}; the nodes' system python3 is not emulated"
            # The interpreter the bootstrap installed into is the venv; any other does not exist here.
            pythons[name] = str(python) if exports[name] == wanted.python else exports[name]

        conf_dir = emr_image.write_conf_dir(
            self.emulation.workdir / "clusters" / cluster.id / "conf",
            emr_image.spark_defaults(
                configurations,
                master_url=self.emulation.cluster.master_url,
                s3_endpoint=self.emulation.s3_endpoint,
                jars=self.emulation.jars,
            ),
        )
        return NodeSetup(conf_dir, step_env(conf_dir, pythons, self.emulation.s3_endpoint))

    def _get(self, uri: str) -> str:
        bucket, key = split_s3(uri)
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def step_env(conf_dir: Path, pythons: dict[str, str], s3_endpoint: str) -> dict[str, str]:
    """A node's environment for spark-submit: Spark's bin first, no trace of the test's venv.

    ``AWS_ENDPOINT_URL`` plays the node's route to S3 for boto3 (the script's Pipes context loader and
    message writer), as ``fs.s3a.endpoint`` does for Spark: on EMR both reach the regional endpoint.
    """
    venv_bin = Path(sys.prefix, "bin").resolve()
    path = [str(SPARK_HOME / "bin")] + [
        p for p in os.environ["PATH"].split(os.pathsep) if p and Path(p).resolve() != venv_bin
    ]
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOCAL_IP": HOST,
        **INSTANCE_PROFILE_ENV,
        "AWS_ENDPOINT_URL": s3_endpoint,
        **pythons,
    }
    for name in ("JAVA_HOME", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env
