"""Benchmark: what a run costs once the reviews table exists, on real-sized generated reviews.

    python benchmarks/bench_incremental.py                  # 2,000,000 generated reviews, medians of 3
    python benchmarks/bench_incremental.py --rows 500000 --repeat 1

On one instance (SQLite in a temporary DAGSTER_HOME), each run in a fresh process as the run launcher
starts them:

1. the full range: ``yearly_job`` for 1995-2015 on an empty storage root (ingest of every file, then the
   yearly assets for 21 years, one run);
2. one year re-run: ``yearly_job`` for 2005 (the ingest finds nothing new), and the smallest year, 1995:
   what a yearly run costs whatever its year holds;
3. the no-op: ``ingested_reviews`` alone when no file is new (a listing and the Delta log, no JVM);
4. a new file of 100,000 reviews touching 2013-2015, through the new-reviews sensor's path: a sensor tick
   (its cursor recorded the files before), then the runs it requests.

Prints the rows with their bytes per row, each run's wall time (first to last event; and the process's,
with Python's start), its Spark steps and the peak memory of its process and JVM together; then the
targets with verdicts: the no-op under 3 s, one year at most 0.35 of the full range, the new file at most
its years' share of the reviews plus 0.15, the peak memory under the driver heap plus 1 GiB. Last, the
targets proposed beyond a run's fixed cost (the smallest year's re-run): a run costs at most its years'
share of what the full range costs beyond the no-op, plus ``PROPOSED_SLACK``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from bench_local_graph import PeakMemory

from wordcloud_pipeline.resources.local_spark import DEFAULT_LOCAL_SPARK_CONF
from wordcloud_pipeline.sample_data import (
    generate_table,
    reviews_per_year,
    write_sample,
    write_tsv_file,
)

TARGET_ONE_YEAR = 0.35
# A new file costs at most its years' share of the full range, plus this much.
NEW_FILE_SLACK = 0.15
# A run with nothing new: the no-op ingest, no JVM.
TARGET_NOOP_SECONDS = 3.0
# The whole graph's peak memory (the run's Python process and the Spark JVM together).
MEMORY_ABOVE_HEAP = 1 << 30
NEW_FILE_YEARS = (2013, 2014, 2015)
SPARK_STEPS = ("ingested_reviews", "preprocessed_titles", "words_by_year")
FLOOR = "no-op (ingested_reviews alone, nothing new)"
ONE_YEAR = "one year (2005) re-run"
SMALLEST_YEAR = "smallest year (1995) re-run"
NEW_FILE = "new file (sensor tick + its runs)"
# Proposed in place of the two wall-time targets (docs/performance.md, "Incremental runs"): beyond a run's fixed cost
# (the smallest year's re-run), a run costs at most the share of the reviews its years hold, of what the
# full range costs beyond the floor, plus this much for the noise of medians of 3.
PROPOSED_SLACK = 0.10

# One run per process, as the run launcher does it. argv: mode ("range", "floor", "sensor_init", "sensor"),
# first year, last year, output JSON.
CHILD = """
import json, os, sys, time
import dagster as dg
from dagster._core.definitions.sensor_definition import build_sensor_context
from wordcloud_pipeline.definitions import ALL_ASSETS, build_defs
from wordcloud_pipeline.partitions import add_years
mode, first, last, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
defs = build_defs("local")
job = defs.get_job_def("yearly_job")
with dg.DagsterInstance.get() as instance:
    def run(tags, selection=None):
        if selection:
            result = dg.materialize(ALL_ASSETS, instance=instance, resources=defs.resources,
                                    selection=selection)
        else:
            result = job.execute_in_process(instance=instance, tags=tags, resources=defs.resources)
        assert result.success
        steps, stamps = {}, []
        for entry in instance.all_logs(result.run_id):
            stamps.append(entry.timestamp)
            event = entry.dagster_event
            if event is not None and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
                steps.setdefault(event.step_key, []).append(entry.timestamp)
        years = tags.get("dagster/partition") or "{}-{}".format(
            tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end"))
        if selection:
            years = ",".join(selection)
        return {"wall": max(stamps) - min(stamps), "years": years,
                "steps": {k: v[-1] - v[0] for k, v in steps.items()}}
    report = {"runs": []}
    if mode == "range":
        add_years(instance, range(first, last + 1))
        tags = {"dagster/asset_partition_range_start": str(first),
                "dagster/asset_partition_range_end": str(last)}
        if first == last:
            tags = {"dagster/partition": str(first)}
        report["runs"].append(run(tags))
    elif mode == "floor":
        report["runs"].append(run({}, selection=["ingested_reviews"]))
    else:
        sensor = defs.get_sensor_def("new_reviews_sensor")
        cursor_file = out + ".cursor"
        cursor = open(cursor_file).read() if os.path.exists(cursor_file) else None
        started = time.monotonic()
        context = build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
        result = sensor(context)
        report["tick_seconds"] = time.monotonic() - started
        open(cursor_file, "w").write(result.cursor)
        for request in (result.run_requests or []) if mode == "sensor" else []:
            tags = dict(request.tags)
            if request.partition_key:
                tags["dagster/partition"] = request.partition_key
            report["runs"].append(run(tags))
    json.dump(report, open(out, "w"))
"""


def run_child(mode: str, first: int, last: int, env: dict[str, str], out: Path) -> dict:
    """One run in a fresh process; its report with the process's wall time (Python's start and
    imports included) and the peak memory of the process and its JVM together."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, mode, str(first), str(last), str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        memory = PeakMemory(process.pid)
        code = process.wait()
        peak = memory.stop()
        if code != 0:
            stderr.seek(0)
            raise SystemExit(f"{mode} {first}-{last} failed:\n{stderr.read()[-3000:]}")
    report = json.loads(out.read_text())
    return {**report, "process_seconds": time.monotonic() - started, "peak_rss_bytes": peak}


def driver_heap_bytes() -> int:
    value = DEFAULT_LOCAL_SPARK_CONF["spark.driver.memory"].lower()
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def uncompressed_bytes(folder: Path) -> int:
    """The TSV bytes of the .gz files under ``folder``, from each gzip trailer (files < 4 GiB)."""
    total = 0
    for path in folder.glob("*.tsv.gz"):
        with path.open("rb") as handle:
            handle.seek(-4, os.SEEK_END)
            total += int.from_bytes(handle.read(4), "little")
    return total


def spark_seconds(report: dict) -> float:
    return sum(
        seconds
        for run in report["runs"]
        for step, seconds in run["steps"].items()
        if step in SPARK_STEPS
    )


def step_seconds(report: dict, step: str) -> float:
    """One step's time, summed over the report's runs (the sensor's path may request several)."""
    return sum(run["steps"].get(step, 0.0) for run in report["runs"])


def wall_seconds(report: dict) -> float:
    return sum(run["wall"] for run in report["runs"]) + report.get("tick_seconds", 0.0)


def write_new_file(path: Path, rows: int, seed: int) -> None:
    """``rows`` generated reviews, their dates moved into NEW_FILE_YEARS, as one more TSV.gz (with the
    generator's few malformed rows cut short, as ``sample_data.write_tsv`` writes them)."""
    rng = random.Random(seed)
    table = generate_table(rows, seed=seed)
    dates = table.column("review_date").to_pylist()
    moved = [
        f"{rng.choice(NEW_FILE_YEARS)}{d[4:]}" if d[:4].isdigit() and len(d) == 10 else d
        for d in dates
    ]
    index = table.column_names.index("review_date")
    write_tsv_file(path, table.set_column(index, "review_date", pa.array(moved, pa.string())))


def measure(rows: int, new_rows: int, workdir: Path, attempt: int) -> dict[str, dict]:
    reviews = workdir / f"sample_{rows}" / "reviews"
    if not reviews.exists():
        started = time.monotonic()
        write_sample(reviews, rows, "tsv")
        print(f"generated {rows:,} reviews in {time.monotonic() - started:.1f} s")
    for extra in reviews.glob("new_*.tsv.gz"):
        extra.unlink()
    with tempfile.TemporaryDirectory(prefix="bench_incremental_") as scratch:
        home, storage = Path(scratch) / "home", Path(scratch) / "storage"
        home.mkdir()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "WORDCLOUD_REVIEWS_URI": str(reviews),
            "WORDCLOUD_STORAGE_URI": str(storage),
        }
        out = Path(scratch) / "report.json"
        reports: dict[str, dict] = {}

        def step(name: str, *args) -> None:
            reports[name] = report = run_child(*args, env, out)
            wall = wall_seconds(report)
            print(
                f"  attempt {attempt + 1}, {name}: {wall:.1f} s wall, process "
                f"{report['process_seconds']:.1f} s, peak {report['peak_rss_bytes'] / 2**30:.2f} GiB "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )

        step("full range 1995-2015", "range", 1995, 2015)
        step(ONE_YEAR, "range", 2005, 2005)
        step(SMALLEST_YEAR, "range", 1995, 1995)
        step(FLOOR, "floor", 0, 0)
        run_child("sensor_init", 0, 0, env, out)
        write_new_file(reviews / f"new_{attempt}.tsv.gz", new_rows, seed=100 + attempt)
        step(NEW_FILE, "sensor", 0, 0)
        (reviews / f"new_{attempt}.tsv.gz").unlink()
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--new-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="attempts; medians are printed")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    attempts = [
        measure(args.rows, args.new_rows, args.workdir.resolve(), i) for i in range(args.repeat)
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    reviews = args.workdir.resolve() / f"sample_{args.rows}" / "reviews"
    size = uncompressed_bytes(reviews)
    compressed = sum(p.stat().st_size for p in reviews.glob("*.tsv.gz"))
    print(
        f"rows: {args.rows:,} reviews, {size / args.rows:.0f} bytes a row uncompressed "
        f"({size / 2**30:.2f} GiB TSV, {compressed / 2**30:.2f} GiB gzip'd); cores: "
        f"{os.cpu_count()}, load average at the end: {load}; attempts: {args.repeat}"
    )
    report(attempts, args.rows)


def report(attempts: list[dict[str, dict]], rows: int) -> None:
    """Medians of the attempts, the targets with their verdicts, and the proposed targets."""
    medians = {}
    for name in attempts[0]:
        wall = statistics.median(wall_seconds(a[name]) for a in attempts)
        spark = statistics.median(spark_seconds(a[name]) for a in attempts)
        medians[name] = (wall, spark)
        runs = ", ".join(run["years"] for run in attempts[0][name]["runs"])
        steps = ", ".join(
            f"{step} {statistics.median(step_seconds(a[name], step) for a in attempts):.1f} s"
            for step in attempts[0][name]["runs"][0]["steps"]
        )
        if "tick_seconds" in attempts[0][name]:
            tick = statistics.median(a[name]["tick_seconds"] for a in attempts)
            steps += f", sensor tick {tick:.1f} s"
        process = statistics.median(a[name]["process_seconds"] for a in attempts)
        peak = max(a[name]["peak_rss_bytes"] for a in attempts)
        print(
            f"{name}: {wall:.1f} s wall (runs: {runs}; the process {process:.1f} s with Python's "
            f"start), Spark steps {spark:.1f} s, peak memory {peak / 2**30:.2f} GiB  "
            f"[medians: {steps}]"
        )
    full, floor = medians["full range 1995-2015"][0], medians[FLOOR][0]
    shares = {year: n / rows for year, n in reviews_per_year(rows).items()}
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    print("targets:")
    noop_process = statistics.median(a[FLOOR]["process_seconds"] for a in attempts)
    print(
        f"  no-op ingested_reviews: {floor:.2f} s wall (target < {TARGET_NOOP_SECONDS:.0f} s: "
        f"{verdict(floor < TARGET_NOOP_SECONDS)}); {noop_process:.1f} s with Python's start "
        "and imports"
    )
    one = medians[ONE_YEAR][0] / full
    print(
        f"  one year (2005) / full range: {one:.2f} (target <= {TARGET_ONE_YEAR}: "
        f"{verdict(one <= TARGET_ONE_YEAR)})"
    )
    share = sum(shares[year] for year in NEW_FILE_YEARS)
    new = medians[NEW_FILE][0] / full
    print(
        f"  new {NEW_FILE_YEARS[0]}-{NEW_FILE_YEARS[-1]} file / full range: {new:.2f} (its years "
        f"hold {share:.2f} of the reviews; target <= {share + NEW_FILE_SLACK:.2f}: "
        f"{verdict(new <= share + NEW_FILE_SLACK)})"
    )
    heap = driver_heap_bytes()
    peak = max(a[name]["peak_rss_bytes"] for a in attempts for name in a)
    limit = heap + MEMORY_ABOVE_HEAP
    print(
        f"  peak memory of a run (Python and JVM): {peak / 2**30:.2f} GiB (target < driver heap "
        f"{heap / 2**30:.0f} GiB + 1 GiB: {verdict(peak < limit)})"
    )
    smallest = medians[SMALLEST_YEAR][0]
    print(
        f"a run's fixed cost: the smallest year's re-run {smallest:.1f} s "
        f"({smallest / full:.2f} of the full range)"
    )
    for name, years in ((ONE_YEAR, (2005,)), (NEW_FILE, NEW_FILE_YEARS)):
        beyond = (medians[name][0] - smallest) / (full - floor)
        share = sum(shares[year] for year in years)
        target = share + PROPOSED_SLACK
        print(
            f"proposed: {name}, beyond the fixed cost (run - smallest year) / (full range - "
            f"no-op) {beyond:.2f}; its years hold {share:.2f} (<= {target:.2f}: "
            f"{verdict(beyond <= target)})"
        )


if __name__ == "__main__":
    main()
