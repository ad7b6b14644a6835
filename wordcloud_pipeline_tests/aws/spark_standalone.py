"""A Spark standalone cluster for the tests: a master and one worker, each its own JVM on 127.0.0.1.

It stands in for the EMR cluster's YARN: steps are submitted to it with a real ``spark-submit``, so the
driver and the executors run in their own processes (the executors are children of the worker), never in
the test process. Both daemons come from the pyspark package's own ``bin/spark-class`` (pip's pyspark has no
``sbin/start-*.sh``); each is started in a new session so ``stop()`` can end its whole process group,
executors included, and then checks that no process of either group is left.

Sized for a shared 2-core machine: one worker with 2 cores and 2 GB for executors, 512 MB per daemon.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent
HOST = "127.0.0.1"
WORKER_CORES = 2
WORKER_MEMORY = "2g"
DAEMON_MEMORY = "512m"
# What an EMR node's instance profile provides: credentials for every process on the node (the driver, the
# executors the worker starts). Fake ones: moto accepts any, and nothing can reach real AWS with them.
INSTANCE_PROFILE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def group_alive(pgid: int) -> bool:
    """Whether any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_group(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM to the process group ``process`` leads, SIGKILL if it is still there after ``timeout``."""
    pgid = process.pid  # started with start_new_session: it leads its own group
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            process.poll()
            if not group_alive(pgid):
                break
            time.sleep(0.1)
        if not group_alive(pgid):
            break
    process.wait(timeout=5)


def daemon_env() -> dict[str, str]:
    """The environment of Spark's own JVMs: bound to 127.0.0.1, small heaps, nothing of the test's venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AWS_")
    }
    env.update(
        INSTANCE_PROFILE_ENV,
        SPARK_HOME=str(SPARK_HOME),
        SPARK_LOCAL_IP=HOST,
        SPARK_DAEMON_MEMORY=DAEMON_MEMORY,
        SPARK_NO_DAEMONIZE="1",
    )
    return env


@dataclass
class StandaloneCluster:
    workdir: Path
    master_port: int = field(default_factory=free_port)
    master_ui_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=daemon_env(),
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()

    def start(self, timeout: float = 120.0) -> StandaloneCluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "work").mkdir(exist_ok=True)
        self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", HOST, "--port", str(self.master_port)),
            *("--webui-port", str(self.master_ui_port)),
        )
        self._spawn(
            "worker",
            "org.apache.spark.deploy.worker.Worker",
            self.master_url,
            *("--host", HOST, "--webui-port", "0"),
            *("--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY),
            *("--work-dir", str(self.workdir / "work")),
        )
        try:
            self._wait_for_worker(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def master_state(self) -> dict:
        url = f"http://{HOST}:{self.master_ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def _wait_for_worker(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    log = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"spark {name} exited with {process.returncode}:\n{log}")
            try:
                workers = self.master_state().get("workers", [])
            except OSError:
                workers = []
            if any(w.get("state") == "ALIVE" for w in workers):
                return
            time.sleep(0.5)
        raise TimeoutError(f"no worker registered with {self.master_url} in {timeout:.0f} s")

    def stop(self) -> None:
        """Ends the worker (and its executors), then the master; raises if any of their processes is left."""
        for name in ("worker", "master"):
            if name in self.processes:
                stop_group(self.processes[name])
        left = [name for name, p in self.processes.items() if group_alive(p.pid)]
        if left:
            raise RuntimeError(f"spark standalone processes left running: {left}")
