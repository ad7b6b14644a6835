"""Benchmark: the first full run from raw files, this design against an earlier commit's, on the same files.

    git worktree add /tmp/previous f7e29ba      # the design before the reviews table
    python benchmarks/bench_previous_design.py --previous /tmp/previous --rows 1000000 --repeat 2

Each run is one process on an empty storage root that materializes 1995-2015 from the raw TSV.gz files as
``wordcloud-demo`` does (``demo.materialize_years``, without the pictures), with ``PYTHONPATH`` set to the
checkout whose code it runs; the two designs alternate, so drift of the machine's speed hits both. Prints
each run's wall time and Spark steps, the medians, and the ratio against the target: this design at most
``TARGET_RATIO`` times the previous one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_local_graph import TIMED_RANGE_RUN, reviews_of

TARGET_RATIO = 1.2
HERE = Path(__file__).resolve().parents[1]
CHILD = (
    TIMED_RANGE_RUN
    + """
json.dump({"wall": wall, "steps": {k: v[-1] - v[0] for k, v in steps.items()}}, open(sys.argv[1], "w"))
"""
)


def run(checkout: Path, reviews: Path) -> dict:
    """One range run of ``checkout``'s code on ``reviews``, in a fresh process and an empty storage."""
    with tempfile.TemporaryDirectory(prefix="wordcloud-previous-") as scratch:
        storage, out = Path(scratch) / "storage", Path(scratch) / "run.json"
        env = {
            **os.environ,
            "PYTHONPATH": str(checkout),
            "WORDCLOUD_REVIEWS_URI": str(reviews),
            "WORDCLOUD_STORAGE_URI": str(storage),
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(out)], env=env, cwd=checkout, capture_output=True
        )
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace")[-2000:]
            raise SystemExit(f"the run of {checkout} failed:\n{tail}")
        result = json.loads(out.read_text())
        result["process"] = time.monotonic() - started
        shutil.rmtree(storage, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--previous", type=Path, required=True, help="checkout of the earlier design"
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    reviews = reviews_of(args.rows, args.workdir)
    designs = {"this design": HERE, "previous design": args.previous.resolve()}
    walls: dict[str, list[float]] = {name: [] for name in designs}
    for attempt in range(1, args.repeat + 1):
        for name, checkout in designs.items():
            result = run(checkout, reviews)
            walls[name].append(result["wall"])
            steps = ", ".join(f"{k} {v:.1f}" for k, v in sorted(result["steps"].items()))
            print(
                f"attempt {attempt}, {name}: {result['wall']:.1f} s wall "
                f"(process {result['process']:.1f} s; steps: {steps})",
                flush=True,
            )
    medians = {name: statistics.median(values) for name, values in walls.items()}
    ratio = medians["this design"] / medians["previous design"]
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"{args.rows:,} reviews, medians: this design {medians['this design']:.1f} s, previous design "
        f"{medians['previous design']:.1f} s, ratio {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})"
    )


if __name__ == "__main__":
    main()
