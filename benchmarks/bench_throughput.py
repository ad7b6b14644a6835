"""Benchmark: what the Spark work of a run costs per GB of gzip'd review files, the figure behind
``wordcloud-infra estimate`` (``wordcloud_pipeline/aws/estimate.py``).

    python benchmarks/bench_throughput.py                        # 250,000 and 1,000,000 reviews
    python benchmarks/bench_throughput.py --rows 500000 2000000

Runs the whole local graph (``bench_local_graph.run_graph``: one range run 1995-2015 on an empty storage
root) on two sizes of generated, real-sized reviews (``wordcloud-sample``'s generator, TSV.gz), and prints
the gzip'd input size, the Spark steps' seconds (ingest, titles, counts), and the *marginal* cost: the
extra seconds over the extra GB between the two sizes, times the cores Spark used, i.e. core-seconds per GB
without the fixed cost of starting a session. The estimate scales that by the cores of a remote route.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_local_graph import SPARK_STEPS, reviews_of, run_graph  # noqa: E402

GB = 1024**3


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[250_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out/throughput"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    measured = []
    for rows in args.rows:
        reviews = reviews_of(rows, args.workdir)
        size = folder_bytes(reviews)
        graph = run_graph(reviews, reviews.parent / "storage", reviews.parent / "graph.json")
        seconds = sum(graph["steps"][step] for step in SPARK_STEPS)
        measured.append((size, seconds))
        print(
            f"{rows:>10,} reviews  {size / GB:6.3f} GB gz  {size / rows:5.0f} B/review gz  "
            f"spark steps {seconds:6.1f} s  " + "  ".join(
                f"{step} {graph['steps'][step]:.1f}" for step in SPARK_STEPS
            )
        )
    (small_gb, small_s), (large_gb, large_s) = ((b / GB, s) for b, s in measured)
    marginal = (large_s - small_s) / (large_gb - small_gb)
    print(f"marginal: {marginal:.0f} s per GB gz on {cores} cores = {marginal * cores:.0f} core-s per GB")
    print(f"fixed: {small_s - marginal * small_gb:.1f} s per run (session start, per-step overhead)")


if __name__ == "__main__":
    main()
