"""Benchmark: what the Spark work of a run costs per GB of gzip'd review files, the figure behind
``wordcloud-infra estimate`` (``wordcloud_pipeline/aws/estimate.py``).

    python benchmarks/bench_throughput.py                        # 20,000 and 100,000 reviews
    python benchmarks/bench_throughput.py --rows 250000 1000000

Runs the whole local graph (``bench_local_graph.run_graph``: one range run 1995-2015 on an empty storage
root) on two sizes of generated, real-sized reviews (``wordcloud-sample``'s generator, TSV.gz), and prints
the gzip'd input size, the Spark steps' wall seconds (ingest, titles, counts), the CPU seconds of the
whole run (its process tree, sampled from /proc: on a shared machine wall time grows with the others'
load, CPU time far less), and the *marginal* cost: the extra CPU seconds over the extra GB between the two
sizes, i.e. core-seconds per GB without the fixed cost of a JVM and a session. The estimate scales that by the cores of a remote route.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import threading

import bench_local_graph
from bench_local_graph import SPARK_STEPS, reviews_of, run_graph

GB = 1024**3
TICKS = os.sysconf("SC_CLK_TCK")


class TreeCpu:
    """CPU seconds (user + system) of a process and all its descendants, sampled from /proc: on a shared
    machine the wall time grows with the others' load, the CPU a run needs much less."""

    def __init__(self, pid: int) -> None:
        self.root = pid
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self._tree():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                cpu = sum(int(v) for v in fields[11:13]) / TICKS  # utime stime (own, not children)
                self.seen[pid] = max(self.seen.get(pid, 0.0), cpu)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.seen.values())


class _CpuMemory(bench_local_graph.PeakMemory):
    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.cpu = TreeCpu(pid)

    def stop(self) -> int:
        _CpuMemory.last_cpu = self.cpu.stop()
        return super().stop()


bench_local_graph.PeakMemory = _CpuMemory


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[20_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/throughput"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    measured = []
    for rows in args.rows:
        reviews = reviews_of(rows, args.workdir)
        size = folder_bytes(reviews)
        graph = run_graph(reviews, reviews.parent / "storage", reviews.parent / "graph.json")
        seconds = sum(graph["steps"][step] for step in SPARK_STEPS)
        cpu = _CpuMemory.last_cpu
        measured.append((size, cpu))
        print(
            f"{rows:>10,} reviews  {size / GB:6.3f} GB gz  {size / rows:5.0f} B/review gz  "
            f"spark steps {seconds:6.1f} s wall  run {cpu:7.1f} CPU-s  "
            + "  ".join(f"{step} {graph['steps'][step]:.1f}" for step in SPARK_STEPS)
        )
    (small_gb, small_cpu), (large_gb, large_cpu) = ((b / GB, c) for b, c in measured)
    marginal = (large_cpu - small_cpu) / (large_gb - small_gb)
    print(f"marginal: {marginal:.0f} CPU-s (core-seconds) per GB gz, measured on {cores} cores")
    print(f"fixed: {small_cpu - marginal * small_gb:.0f} CPU-s per run (JVM, session, per-step)")


if __name__ == "__main__":
    main()
