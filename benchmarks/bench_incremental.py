"""Benchmark: what a year, and a new file, cost once the reviews table exists (issue 11's targets).

    python benchmarks/bench_incremental.py                  # 2,000,000 generated reviews
    python benchmarks/bench_incremental.py --rows 500000 --repeat 1

On one instance (SQLite in a temporary DAGSTER_HOME), each run in a fresh process as the run launcher
starts them:

1. the full range: ``yearly_job`` for 1995-2015 on an empty storage root (ingest of every file, then the
   yearly assets for 21 years);
2. one year re-run: ``yearly_job`` for 2005 (the ingest finds nothing new);
   and the smallest year, 1995 (about 0.3% of the reviews, 2005 about 2.5%): what a yearly run costs
   whatever its year holds, so that ``2005 - 1995`` is what 2005's own reviews cost;
3. the floor: ``ingested_reviews`` alone when no file is new, the least a run that touches the reviews
   table costs here (a Spark session, and the table's snapshot read in a cold JVM);
4. a new file of about 100,000 reviews touching 2013-2015, through the new-reviews sensor's path: a sensor
   tick (its cursor recorded the files before), then the runs it requests.

Prints each run's wall time and its Spark steps, and the ratios against the targets: one year at most
0.35 of the full range, the new file at most 0.25. Wall time is the run's, from the first to the last
event, without the Python start of the process (a run worker pays it before the run starts too). Then the
same ratios above the floor, ``(run - floor) / (full range - floor)``: what the run costs beyond what every
run pays, the figure that shrinks with the share of the data a run reads. Last, the targets proposed in
their place: beyond a run's fixed cost (the smallest year's re-run: a cold JVM, the first Delta read, each
step's first touch of its table), a run costs at most the share of the reviews its years hold, of what
the full range costs beyond the floor, plus ``PROPOSED_SLACK``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wordcloud_pipeline.sample_data import COLUMNS, generate, reviews_per_year, write_sample

TARGET_ONE_YEAR = 0.35
TARGET_NEW_FILE = 0.25
NEW_FILE_YEARS = (2013, 2014, 2015)
SPARK_STEPS = ("ingested_reviews", "preprocessed_titles", "words_by_year")
FLOOR = "floor (the ingest alone, nothing new)"
ONE_YEAR = "one year (2005) re-run"
SMALLEST_YEAR = "smallest year (1995) re-run"
NEW_FILE = "new file (sensor tick + its runs)"
# Proposed in place of the two wall-time targets (README, "Incremental runs"): beyond a run's fixed cost
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
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(first), str(last), str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} {first}-{last} failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


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
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as f:
        f.write("\t".join(COLUMNS) + "\n")
        for row in generate(rows, seed=seed):
            date = str(row["review_date"])
            if date[:4].isdigit() and len(date) == 10:
                row = dict(row, review_date=f"{rng.choice(NEW_FILE_YEARS)}{date[4:]}")
            fields = [str(row[c]) for c in COLUMNS]
            f.write("\t".join(fields[:8] if row.get("_short") else fields) + "\n")


def measure(rows: int, new_rows: int, workdir: Path, attempt: int) -> dict[str, dict]:
    reviews = workdir / f"rows_{rows}" / "reviews"
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
        reports = {"full range 1995-2015": run_child("range", 1995, 2015, env, out)}
        reports[ONE_YEAR] = run_child("range", 2005, 2005, env, out)
        reports[SMALLEST_YEAR] = run_child("range", 1995, 1995, env, out)
        reports[FLOOR] = run_child("floor", 0, 0, env, out)
        run_child("sensor_init", 0, 0, env, out)
        write_new_file(reviews / f"new_{attempt}.tsv.gz", new_rows, seed=100 + attempt)
        reports[NEW_FILE] = run_child("sensor", 0, 0, env, out)
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
    print(f"rows: {args.rows:,} reviews (TSV.gz), cores: {os.cpu_count()}, load average: {load}")
    report(attempts, args.rows)


def report(attempts: list[dict[str, dict]], rows: int) -> None:
    """Medians of the attempts, the issue's ratios and the proposed targets, with their verdicts."""
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
        print(
            f"{name}: {wall:.1f} s wall (runs: {runs}), Spark steps {spark:.1f} s  "
            f"[medians: {steps}]"
        )
    full, floor = medians["full range 1995-2015"][0], medians[FLOOR][0]
    print(
        f"floor / full range: {floor / full:.2f} (no run that reads the reviews table costs less)"
    )
    smallest = medians[SMALLEST_YEAR][0]
    print(
        f"a run's fixed cost: the floor {floor:.1f} s, and the yearly steps' {smallest - floor:.1f} s "
        f"(the smallest year's re-run above the floor, {(smallest - floor) / (full - floor):.2f} of "
        "the full range's)"
    )
    # Each year's share of the generated reviews, as the generator splits them.
    shares = {year: n / rows for year, n in reviews_per_year(rows).items()}
    for name, years in ((ONE_YEAR, (2005,)), (NEW_FILE, NEW_FILE_YEARS)):
        beyond = (medians[name][0] - smallest) / (full - floor)
        share = sum(shares[year] for year in years)
        target = share + PROPOSED_SLACK
        verdict = "met" if beyond <= target else "MISSED"
        print(
            f"{name}, beyond the fixed cost: (run - smallest year) / (full range - floor) "
            f"{beyond:.2f}; its years hold {share:.2f} of the reviews (proposed target <= "
            f"{target:.2f}: {verdict})"
        )
    for name, target in ((ONE_YEAR, TARGET_ONE_YEAR), (NEW_FILE, TARGET_NEW_FILE)):
        wall, spark = medians[name]
        verdict = "met" if wall / full <= target else "MISSED"
        above = (wall - floor) / (full - floor)
        print(
            f"{name} / full range: wall {wall / full:.2f}, Spark steps "
            f"{spark / medians['full range 1995-2015'][1]:.2f} (target <= {target} of the wall: "
            f"{verdict}); above the floor {above:.2f}"
        )


if __name__ == "__main__":
    main()
