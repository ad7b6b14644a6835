"""The two NLP backends side by side: per year, how many of their top 50 words agree; rows/s; JVM memory.

    python benchmarks/bench_nlp_backends.py                # demo sample (20,000 reviews) + the title list

Two datasets: the demo sample (``wordcloud_pipeline.sample_data.write_sample``, 20,000 reviews, the titles
``preprocessed_titles`` counts by default: each distinct title once per year), and ``BESTSELLER_TITLES``
(``wordcloud_pipeline_tests/bestseller_titles.py``, real book titles written out by hand; the project
has no real review data), spread over
the years 1995-2015 and repeated to ``--title-rows`` rows. Each backend runs in its own process and JVM (a
sparkml session does not load the spark-nlp jar, as in the pipeline), so memory is per backend.

Throughput is the titles -> words -> per-year counts of one dataset, timed after a warm-up pass on 200 rows
of it (so it leaves out JVM start and Ivy resolution, which the script prints apart). JVM memory is the
peak resident set size (VmHWM) of the Spark JVM process at the end, which includes the heap, code and
loaded jars.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The held sample of real titles lives with the tests (they check the lemmas on it); the test package is
# not installed, so it is imported from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wordcloud_pipeline_tests.bestseller_titles import BESTSELLER_TITLES

YEARS = list(range(1995, 2016))
TOP = 50


def title_rows(rows: int) -> list[tuple[int, str]]:
    """``rows`` (year, title) pairs: the list spread over the years, each year a different slice."""
    n = len(BESTSELLER_TITLES)
    return [(YEARS[i % len(YEARS)], BESTSELLER_TITLES[(i * 7 + i // n) % n]) for i in range(rows)]


def jvm_peak_rss_mb(spark) -> float:
    """Peak resident set of the Spark JVM (the gateway's process, which ``exec``s java)."""
    pid = spark.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(backend: str, reviews: str, rows: int) -> dict:
    """One backend on both datasets, in this process's own JVM; prints nothing but the JSON result."""
    from pyspark.sql import SparkSession

    from spark_scripts import spark_packages
    from spark_scripts.job_contract import TitleOptions
    from spark_scripts.preprocess_titles import (
        titles_to_count,
        to_words,
        usable_titles,
        with_drop_reason,
    )
    from spark_scripts.reviews import read_reviews
    from wordcloud_pipeline.resources.local_spark import session_conf

    started = time.monotonic()
    builder = SparkSession.builder
    conf = session_conf({"spark.master": "local[2]"}, spark_packages.backend_packages(backend))
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.monotonic() - started

    demo = titles_to_count(
        usable_titles(with_drop_reason(read_reviews(spark, reviews).frame, "Books", YEARS)),
        "titles",
    ).cache()
    listed = spark.createDataFrame(title_rows(rows), "year int, product_title string").cache()
    options = TitleOptions(backend=backend)
    result = {"backend": backend, "session_seconds": session_seconds, "datasets": {}}
    for name, titles in (("demo sample", demo), ("real-looking titles", listed)):
        n = titles.count()
        to_words(titles.limit(200), options).count()  # warm-up: class loading, code generation
        timer = time.monotonic()
        counts = to_words(titles, options).groupBy("year", "word").count().collect()
        seconds = time.monotonic() - timer
        top: dict[int, list[str]] = {}
        for year in YEARS:
            ranked = sorted(
                ((r["count"], r["word"]) for r in counts if r["year"] == year),
                key=lambda cw: (-cw[0], cw[1]),
            )
            top[year] = [w for _, w in ranked[:TOP]]
        result["datasets"][name] = {
            "rows": n,
            "seconds": seconds,
            "rows_per_second": n / seconds,
            "top": top,
        }
    result["jvm_peak_rss_mb"] = jvm_peak_rss_mb(spark)
    result["jvm_heap_used_mb"] = (
        spark.sparkContext._jvm.java.lang.Runtime.getRuntime().totalMemory()
        - spark.sparkContext._jvm.java.lang.Runtime.getRuntime().freeMemory()
    ) / 2**20
    spark.stop()
    return result


def report(results: dict[str, dict]) -> str:
    ml, nlp = results["sparkml"], results["sparknlp"]
    lines = []
    for name in ml["datasets"]:
        a, b = ml["datasets"][name], nlp["datasets"][name]
        lines.append(f"\n{name}: {a['rows']:,} titles")
        lines.append("| year | top-50 overlap |")
        lines.append("|---|---:|")
        overlaps = []
        for year in YEARS:
            ta, tb = a["top"][str(year)], b["top"][str(year)]
            size = min(TOP, len(ta), len(tb))
            if not size:
                continue
            shared = len(set(ta[:size]) & set(tb[:size]))
            overlaps.append(shared / size)
            lines.append(f"| {year} | {shared}/{size} |")
        lines.append(f"| mean | {100 * sum(overlaps) / len(overlaps):.0f}% |")
        lines.append("| backend | rows/s | seconds |")
        lines.append("|---|---:|---:|")
        for r in (ml, nlp):
            d = r["datasets"][name]
            lines.append(f"| {r['backend']} | {d['rows_per_second']:,.0f} | {d['seconds']:.1f} |")
        only_ml = sorted(
            {w for y in YEARS for w in a["top"][str(y)]}
            - {w for y in YEARS for w in b["top"][str(y)]}
        )
        only_nlp = sorted(
            {w for y in YEARS for w in b["top"][str(y)]}
            - {w for y in YEARS for w in a["top"][str(y)]}
        )
        lines.append(f"only in sparkml's top 50s: {', '.join(only_ml[:25])}")
        lines.append(f"only in sparknlp's top 50s: {', '.join(only_nlp[:25])}")
    lines.append("\n| backend | session start (s) | JVM peak RSS (MB) | JVM heap used (MB) |")
    lines.append("|---|---:|---:|---:|")
    lines.extend(
        f"| {r['backend']} | {r['session_seconds']:.1f} | {r['jvm_peak_rss_mb']:,.0f} "
        f"| {r['jvm_heap_used_mb']:,.0f} |"
        for r in (ml, nlp)
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-rows", type=int, default=20_000)
    parser.add_argument("--title-rows", type=int, default=20_000)
    parser.add_argument("--worker", choices=("sparkml", "sparknlp"), help=argparse.SUPPRESS)
    parser.add_argument("--reviews", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.reviews, args.title_rows)))
        return

    from wordcloud_pipeline.sample_data import write_sample

    with tempfile.TemporaryDirectory() as folder:
        reviews = write_sample(Path(folder) / "reviews", args.sample_rows)
        results = {}
        for backend in ("sparkml", "sparknlp"):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    backend,
                    "--reviews",
                    str(reviews),
                    "--title-rows",
                    str(args.title_rows),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if not line:
                raise SystemExit(f"{backend} failed:\n{done.stderr[-4000:]}")
            results[backend] = json.loads(line[-1][len("RESULT ") :])
    print(report(results))


if __name__ == "__main__":
    main()
