"""Benchmark: the whole local graph on N generated reviews, against the same word count in DuckDB.

    python benchmarks/bench_local_graph.py --rows 1000000
    python benchmarks/bench_local_graph.py --rows 1000000 5000000    # and the cost of each extra million
    python benchmarks/bench_local_graph.py --rows 1000000 5000000 --repeat 3    # medians of 3 runs each

Prints wall seconds, rows per second and peak memory of the Dagster run (its Python process and the Spark
JVM together), then the same count in DuckDB on the same files, the Spark/DuckDB ratio, and whether both
counted the same number of words; and DuckDB in the graph's two stages (a reviews table per source file,
year and title, then the count from it), since Spark's count goes through such a table. Last, Spark's
floors, each a fresh session: one that only counts the files' lines, and the per-row query every
implementation of the reviews table runs (each line read, cut at its tabs and grouped per file, year and
title; nothing else), which DuckDB runs too, and Spark again on a byte-level reader of our own
(``review_lines/``, built with the JDK's javac; skipped without one). Targets on 2 cores: the 20,000-review
demo sample end to end in under 90 s; the 1M-review graph without cloud drawing within 3x of DuckDB; with
two sizes, each extra million reviews within 2x of DuckDB's extra cost (the issue's; the README shows why it
is out of reach for Spark's own readers and proposes the next one, printed too), and peak memory flat (at
most 1.15x from the smaller size to the larger).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from statistics import median

import duckdb

from spark_scripts.text import IRREGULAR_PLURALS, NOT_PLURALS, TOKEN_SEPARATOR
from wordcloud_pipeline.sample_data import write_sample

# The word count from the raw files on: the ingest (every file is new here), then the yearly Spark jobs.
SPARK_STEPS = ("ingested_reviews", "preprocessed_titles", "words_by_year")
# Issue 11: each extra million reviews costs Spark at most twice what it costs DuckDB, and the peak memory
# does not grow with the data (the JVM's heap is capped; what is measured is what the OS gave the processes).
TARGET_PER_MILLION = 2.0
TARGET_MEMORY_GROWTH = 1.15
# Proposed in its place (docs/performance.md): each extra million costs the graph at most this many times
# what it costs Spark to run the per-row query alone, i.e. the graph's checks, table write and tokenizing
# at most double Spark's own least cost of reading the rows.
TARGET_OVER_QUERY = 2.0
REVIEW_LINES = Path(__file__).parent / "review_lines"

# A child process's range run 1995-2015 as ``wordcloud-demo`` does it (without the pictures), timed:
# ``wall`` and each step's ``steps``. Only what every design of the project has, so
# ``bench_previous_design`` runs it on an earlier checkout too.
TIMED_RANGE_RUN = """
import json, sys, time
import dagster as dg
from wordcloud_pipeline.definitions import local_resources
from wordcloud_pipeline.demo import materialize_years
started = time.monotonic()
instance = dg.DagsterInstance.ephemeral()
result, _ = materialize_years(local_resources(), instance, 1995, 2015, summaries=False)
wall = time.monotonic() - started
steps = {}
for entry in instance.all_logs(result.run_id):
    event = entry.dagster_event
    if event is not None and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
        steps.setdefault(event.step_key, []).append(entry.timestamp)
"""

CHILD = (
    TIMED_RANGE_RUN
    + """
from spark_scripts import text
from spark_scripts.domain import DEFAULT_DOMAIN_STOPWORDS
def meta(asset):
    return instance.get_latest_materialization_event(dg.AssetKey(asset)).asset_materialization.metadata
# The words counted, from the table itself (a yearly asset's latest materialization is one year's).
from deltalake import DeltaTable
counts = DeltaTable(local_resources()["storage"].asset_location(dg.AssetKey("words_by_year")))
json.dump({
    "wall_seconds": wall,
    "steps": {k: v[-1] - v[0] for k, v in steps.items()},
    "tokens": sum(counts.to_pyarrow_table(columns=["count"]).column("count").to_pylist()),
    "rows_read": meta("ingested_reviews")["rows_read"].value,
    "stopwords": text.stopword_set(DEFAULT_DOMAIN_STOPWORDS),
}, open(sys.argv[1], "w"))
"""
)

# The least local Spark jobs on these files can take, in a fresh session as the graph starts it: "lines"
# only counts the lines (no parsing, no shuffle, no write). "grouped" runs the per-row query that any
# implementation of the reviews table must run, and nothing else: each line read and cut at its tabs by
# the ingest's own reader (Spark's text reader and split: spark_scripts/reviews.py; the ingest's read
# tasks per core), grouped per file, year and title; no check, no write. "bytes" runs the same query on
# a reader that cuts the lines as bytes (review_lines/), giving the same rows. The graph's cost per
# million against "grouped" is what its own work adds to Spark's least reading of the rows (its cold
# JVM's compiling is a fixed cost: docs/design.md, "Local Spark: a fixed cost per run"). Imports are not
# counted: a run has them loaded before its first step starts.
FLOOR_CHILD = """
import glob, sys, time
from dagster_pyspark.resources import spark_session_from_config
from pyspark.sql import functions as F
from spark_scripts.ingest_reviews import READ_TASKS_PER_CORE
from spark_scripts.reviews import REVIEW_COLUMNS, SOURCE_URI, read_reviews
from wordcloud_pipeline.resources.local_spark import DEFAULT_LOCAL_SPARK_CONF
reviews, work, jar = sys.argv[1:4]
files = sorted(glob.glob(reviews + "/*.tsv.gz"))
started = time.monotonic()
spark = spark_session_from_config({**DEFAULT_LOCAL_SPARK_CONF, **({"spark.jars": jar} if jar else {})})
session = time.monotonic() - started
groups = 0
if work == "lines":
    spark.read.text(files).count()
else:
    if work == "grouped":
        tasks = READ_TASKS_PER_CORE * spark.sparkContext.defaultParallelism
        spark.conf.set("spark.sql.files.minPartitionNum", str(tasks))
        rows = read_reviews(spark, reviews).frame
    else:
        rows = (
            spark.read.format("wordcloud.ReviewLinesSource")
            .option("header", "\\t".join(REVIEW_COLUMNS)).load(files)
        )
    rows = rows.select(F.col(SOURCE_URI).alias("file"), "product_title", "review_date")
    groups = rows.groupBy("file", F.substring("review_date", 1, 4), "product_title").count().count()
print(session, time.monotonic() - started, groups)
"""


def byte_reader_jar(workdir: Path) -> str:
    """``review_lines/``'s data source compiled against pyspark's jars into ``workdir``; "" (and a note on
    stderr) when this machine has no JDK compiler."""
    import pyspark

    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not (javac and jar):
        print("no javac/jar on PATH: the byte-level reader is skipped", file=sys.stderr)
        return ""
    classes, target = workdir / "review_lines_classes", workdir / "review-lines.jar"
    shutil.rmtree(classes, ignore_errors=True)
    classpath = str(Path(pyspark.__file__).parent / "jars" / "*")
    sources = [str(p) for p in REVIEW_LINES.glob("*.java")]
    subprocess.run([javac, "--release", "8", "-nowarn", "-cp", classpath, "-d", str(classes), *sources],
                   check=True)  # fmt: skip
    subprocess.run([jar, "cf", str(target), "-C", str(classes), "."], check=True)
    return str(target)


class PeakMemory:
    """Samples the summed RSS of a process and all its descendants (the Spark JVM is a grandchild)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_rss(self) -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(stat[1])
                rss[int(entry)] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError, ValueError):
                continue
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            parent = frontier.pop()
            children = [p for p, pp in parents.items() if pp == parent and p not in tree]
            tree.update(children)
            frontier.extend(children)
        return sum(rss.get(p, 0) for p in tree)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, self._tree_rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_graph(reviews: Path, storage: Path, out: Path) -> dict:
    """One range run on an empty ``storage``: a reviews table left by an earlier run would make the ingest
    find nothing new, and the figure would leave out reading the files."""
    shutil.rmtree(storage, ignore_errors=True)
    env = {
        **os.environ,
        "WORDCLOUD_REVIEWS_URI": str(reviews),
        "WORDCLOUD_STORAGE_URI": str(storage),
    }
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    memory = PeakMemory(process.pid)
    if process.wait() != 0:
        raise SystemExit("the graph run failed; run it by hand to see why")
    result = json.loads(out.read_text())
    result["peak_rss_bytes"] = memory.stop()
    return result


def spark_floor(reviews: Path, work: str, jar: str = "") -> tuple[float, float, int]:
    """(session start, session start plus ``work``, groups found) in a fresh process; ``work``: "lines",
    "grouped" or "bytes" (which needs ``jar``)."""
    done = subprocess.run([sys.executable, "-c", FLOOR_CHILD, str(reviews), work, jar],
                          capture_output=True, text=True, check=True)  # fmt: skip
    # The last line: Ivy's resolution report may come before it on stdout.
    session, total, groups = done.stdout.splitlines()[-1].split()
    return float(session), float(total), int(groups)


def read_tsv(reviews: Path, filename: bool = False) -> str:
    """DuckDB's scan of the review files, every value a string as the Spark side reads them."""
    return (
        f"read_csv('{reviews}/*.tsv.gz', delim='\t', header=true, quote='', escape='', "
        f"all_varchar=true, ignore_errors=true, null_padding=false, filename={str(filename).lower()})"
    )


def duckdb_reviews_table(reviews: Path, output: Path) -> float:
    """What ``ingested_reviews`` does, in DuckDB: the category's usable reviews aggregated per (source file,
    year, title) into parquet partitioned by year. Seconds taken.

    Spark's word count now goes through that table, so its cost per million is compared with DuckDB doing
    the same two stages as well as with DuckDB's direct count."""
    sql = f"""
    COPY (
      SELECT parse_filename(filename) AS source_file,
             year(try_strptime(trim(review_date), '%Y-%m-%d')) AS year,
             product_title, count(*) AS reviews
      FROM {read_tsv(reviews, filename=True)}
      WHERE product_category = 'Books' AND trim(coalesce(product_title, '')) <> ''
        AND try_strptime(trim(review_date), '%Y-%m-%d') IS NOT NULL
      GROUP BY ALL
    ) TO '{output}' (FORMAT parquet, PARTITION_BY (year), OVERWRITE_OR_IGNORE)
    """
    shutil.rmtree(output, ignore_errors=True)
    started = time.monotonic()
    duckdb.connect().execute(sql)
    return time.monotonic() - started


def duckdb_grouped(reviews: Path) -> float:
    """Seconds DuckDB takes for the floors' per-row query: every line read, cut and grouped per file, year
    and title (its CSV reader with the files' layout, every value a string)."""
    sql = f"""
    SELECT count(*) FROM (
      SELECT filename, substr(review_date, 1, 4), product_title
      FROM {read_tsv(reviews, filename=True)}
      GROUP BY ALL
    )
    """
    started = time.monotonic()
    duckdb.connect().execute(sql).fetchall()
    return time.monotonic() - started


def duckdb_count(
    reviews: Path, stopwords: list[str], output: Path, table: Path | None = None
) -> tuple[float, int]:
    """The same filters, tokenizing, stop words, lemmatizing and counting, in DuckDB's SQL: from the raw
    files, or from ``table`` (``duckdb_reviews_table``'s output) as ``preprocessed_titles`` reads its own."""
    source = f"""
        SELECT product_title AS title,
               year(try_strptime(trim(review_date), '%Y-%m-%d')) AS year
        FROM {read_tsv(reviews)}
        WHERE product_category = 'Books' AND trim(coalesce(product_title, '')) <> ''
    """
    if table is not None:
        source = f"""
        SELECT product_title AS title, year
        FROM read_parquet('{table}/**/*.parquet', hive_partitioning=true)
        """
    irregular = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in IRREGULAR_PLURALS.items())
    keep_list = ", ".join(f"'{w}'" for w in sorted(NOT_PLURALS))
    stop_list = ", ".join(f"'{w}'" for w in stopwords)
    sql = f"""
    COPY (
      WITH reviews AS ({source}),
      titles AS (SELECT DISTINCT year, title FROM reviews WHERE year BETWEEN 1995 AND 2015),
      cleaned AS (
        SELECT year, regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
                 regexp_replace(lower(title), '<[^>]*>', ' ', 'g'),
                 '&(#0*39|#x0*27|apos|rsquo|lsquo);', '''', 'g'),
                 '&(#[0-9]+|#x[0-9a-f]+|[a-z]+);', ' ', 'g'),
                 '[''\u2019]s\\b', '', 'g'), '[''\u2019]', '', 'g'), '^$', '', 'g') AS text
        FROM titles
      ),
      tokens AS (
        SELECT year, unnest(regexp_split_to_array(text, '{TOKEN_SEPARATOR}')) AS token FROM cleaned
      ),
      kept AS (
        SELECT year, token FROM tokens
        WHERE length(token) >= 3 AND token NOT IN ({stop_list})
      ),
      lemmas AS (
        SELECT year, CASE
          WHEN token IN ({keep_list}) THEN token
          WHEN (CASE token {irregular} END) IS NOT NULL THEN (CASE token {irregular} END)
          WHEN suffix(token, 'sses') THEN token[:-3]
          WHEN regexp_matches(token, '(ch|sh|x)es$') THEN token[:-3]
          WHEN suffix(token, 'ies') AND length(token) > 4 THEN token[:-4] || 'y'
          WHEN regexp_matches(token, '[^siu'']s$') AND length(token) > 3 THEN token[:-2]
          ELSE token END AS word
        FROM kept
      )
      SELECT year, word, count(*) AS count FROM lemmas
      WHERE length(word) >= 3 AND word NOT IN ({stop_list})
      GROUP BY year, word
    ) TO '{output}' (FORMAT parquet, PARTITION_BY (year), OVERWRITE_OR_IGNORE)
    """
    started = time.monotonic()
    connection = duckdb.connect()
    connection.execute(sql)
    seconds = time.monotonic() - started
    total = connection.execute(f"SELECT sum(count) FROM read_parquet('{output}/**/*.parquet')")
    return seconds, int(total.fetchone()[0])


def reviews_of(rows: int, workdir: Path) -> Path:
    """The folder of ``rows`` generated reviews under ``workdir``, generated on first use."""
    reviews = workdir.resolve() / f"rows_{rows}" / "reviews"
    if not reviews.exists():
        started = time.monotonic()
        write_sample(reviews, rows, "tsv")
        print(f"generated {rows:,} reviews in {time.monotonic() - started:.1f} s")
    return reviews


def run_once(reviews: Path, jar: str) -> dict:
    """One graph run, the two DuckDB counts, Spark's floors and DuckDB's per-row query on the files of
    ``reviews``; Spark's per-row query on the byte-level reader too if ``jar``."""
    work = reviews.parent
    graph = run_graph(reviews, work / "storage", work / "graph.json")
    stopwords = graph["stopwords"]
    graph["spark_seconds"] = sum(graph["steps"][step] for step in SPARK_STEPS)
    graph["duck_seconds"], graph["duck_tokens"] = duckdb_count(
        reviews, stopwords, work / "duckdb_counts"
    )
    table_seconds = duckdb_reviews_table(reviews, work / "duckdb_reviews")
    from_table_seconds, graph["two_stage_tokens"] = duckdb_count(
        reviews, stopwords, work / "duckdb_counts_from_table", work / "duckdb_reviews"
    )
    graph["two_stage_seconds"] = table_seconds + from_table_seconds
    graph["session_seconds"], graph["floor_seconds"], _ = spark_floor(reviews, "lines")
    _, graph["grouped_seconds"], graph["groups"] = spark_floor(reviews, "grouped")
    graph["duck_grouped_seconds"] = duckdb_grouped(reviews)
    if jar:
        _, graph["bytes_seconds"], graph["byte_groups"] = spark_floor(reviews, "bytes", jar)
    return graph


def report(rows: int, runs: list[dict]) -> None:
    """Prints one size: the medians of its runs, each run's figure beside them."""
    spark, duck = _values(runs, "spark_seconds"), _values(runs, "duck_seconds")
    two_stage = _values(runs, "two_stage_seconds")
    middle = sorted(runs, key=lambda run: run["spark_seconds"])[(len(runs) - 1) // 2]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    count = f"median of {len(runs)} runs" if len(runs) > 1 else "one run"
    print(
        f"rows: {rows:,} reviews (TSV.gz), cores: {os.cpu_count()}, load average: {load}, {count}"
    )
    print(f"graph end to end (the median run's wall, incl. JVM start and clouds): "
          f"{middle['wall_seconds']:.1f} s")  # fmt: skip
    print(f"  rows per second end to end: {rows / middle['wall_seconds']:,.0f}")
    for step, seconds in middle["steps"].items():
        print(f"  step {step}: {seconds:.1f} s")
    print(
        f"  peak memory (Python + JVM): {_each(_values(runs, 'peak_rss_bytes'), 2**20, '{:,.0f}')} MiB"
    )
    print(f"spark word count ({' + '.join(SPARK_STEPS)}): {_each(spark)} s")
    print(f"duckdb, same count on the same files: {_each(duck)} s")
    print(f"ratio spark/duckdb: {median(spark) / median(duck):.2f}x")
    print(
        f"duckdb in two stages as the graph counts (a reviews table, then the count from it): "
        f"{_each(two_stage)} s, ratio spark/that: {median(spark) / median(two_stage):.2f}x"
    )
    floor, grouped = _values(runs, "floor_seconds"), _values(runs, "grouped_seconds")
    print(
        f"spark floor, a fresh session that only counts the lines: {_each(floor)} s (session start "
        f"{median(_values(runs, 'session_seconds')):.1f} s), {median(floor) / median(duck):.2f}x duckdb"
    )
    duck_grouped = _values(runs, "duck_grouped_seconds")
    print(
        f"the per-row query alone (each line read, cut at its tabs, grouped per file, year and title): "
        f"spark in a fresh session {_each(grouped)} s, duckdb {_each(duck_grouped)} s"
    )
    if "bytes_seconds" in runs[0]:
        groups = {run[key] for run in runs for key in ("groups", "byte_groups")}
        print(
            f"  spark on the byte-level reader: {_each(_values(runs, 'bytes_seconds'))} s; groups found "
            f"by both readers: {', '.join(f'{g:,}' for g in groups)} "
            f"({'same' if len(groups) == 1 else 'DIFFERENT'})"
        )
    tokens = {run[key] for run in runs for key in ("tokens", "duck_tokens", "two_stage_tokens")}
    print(f"words counted by every run of both engines: {', '.join(f'{t:,}' for t in tokens)} "
          f"({'same' if len(tokens) == 1 else 'DIFFERENT'})")  # fmt: skip


def per_million(runs: dict[int, list[dict]], key: str) -> tuple[float, list[float]]:
    """Seconds per extra million reviews from the smallest size to the largest: from the medians, and
    for each repeat (the runs of one repeat ran one after the other, on the machine's speed of the
    moment)."""
    small, large = min(runs), max(runs)
    millions = (large - small) / 1e6
    each = [(b[key] - a[key]) / millions for a, b in zip(runs[small], runs[large], strict=True)]
    return (median(_values(runs[large], key)) - median(_values(runs[small], key))) / millions, each


def _values(runs: list[dict], key: str) -> list[float]:
    return [run[key] for run in runs]


def _ratios(numerators: list[float], denominators: list[float]) -> str:
    return ", ".join(
        f"{a:.2f}/{b:.2f} = {a / b:.2f}x" for a, b in zip(numerators, denominators, strict=True)
    )


def _each(values: list[float], unit: float = 1, form: str = "{:.1f}") -> str:
    """The median, and with several runs each run's figure: the spread is the measurement's noise."""
    middle = form.format(median(values) / unit)
    if len(values) == 1:
        return middle
    return f"{middle} (runs: {', '.join(form.format(v / unit) for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000_000],
        help="one or more sizes; with two or more, also the cost of each extra million reviews",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="runs per size, the sizes interleaved; the figures are their medians (a one-run "
        "difference carries about a second of noise per million here)",
    )  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    sizes = sorted(set(args.rows))
    reviews = {rows: reviews_of(rows, args.workdir) for rows in sizes}
    jar = byte_reader_jar(args.workdir.resolve())
    # Sizes interleaved within each repeat: the machine's speed drifts over minutes, and a per-million
    # figure from runs far apart in time measures the drift.
    runs: dict[int, list[dict]] = {rows: [] for rows in sizes}
    for _ in range(args.repeat):
        for rows in sizes:
            runs[rows].append(run_once(reviews[rows], jar))
    for rows in sizes:
        report(rows, runs[rows])
        print()
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        spark, spark_each = per_million(runs, "spark_seconds")
        duck, duck_each = per_million(runs, "duck_seconds")
        staged, _ = per_million(runs, "two_stage_seconds")
        verdict = "met" if spark / duck <= TARGET_PER_MILLION else "MISSED"
        print(
            f"each extra million reviews ({small:,} -> {large:,}), from the medians: spark "
            f"{spark:.2f} s, duckdb {duck:.2f} s, ratio {spark / duck:.2f}x "
            f"(target <= {TARGET_PER_MILLION}x: {verdict})"
        )
        if args.repeat > 1:
            print(
                f"  each repeat on its own (spark/duckdb s per million): {_ratios(spark_each, duck_each)}"
            )
        print(
            f"  against duckdb in the same two stages: {staged:.2f} s per million, ratio "
            f"{spark / staged:.2f}x"
        )
        grouped, grouped_each = per_million(runs, "grouped_seconds")
        duck_grouped, _ = per_million(runs, "duck_grouped_seconds")
        print(
            f"  the per-row query alone: spark {grouped:.2f} s, duckdb {duck_grouped:.2f} s per million, "
            f"{grouped / duck_grouped:.2f}x; spark's is {grouped / duck:.2f}x duckdb's whole count"
        )
        if "bytes_seconds" in runs[small][0]:
            byte_level, _ = per_million(runs, "bytes_seconds")
            print(
                f"  the same query on the byte-level reader: {byte_level:.2f} s per million, "
                f"{byte_level / duck_grouped:.2f}x duckdb's, {byte_level / duck:.2f}x its whole count"
            )
        verdict = "met" if spark / grouped <= TARGET_OVER_QUERY else "MISSED"
        print(
            f"  the graph against spark's per-row query: {spark / grouped:.2f}x (proposed target "
            f"<= {TARGET_OVER_QUERY}x: {verdict})"
        )
        if args.repeat > 1:
            print(
                f"  each repeat on its own (graph/query s per million): {_ratios(spark_each, grouped_each)}"
            )
        memory = {rows: median(_values(runs[rows], "peak_rss_bytes")) for rows in sizes}
        growth = memory[large] / memory[small]
        verdict = "met" if growth <= TARGET_MEMORY_GROWTH else "MISSED"
        print(
            f"peak memory (Python + JVM), medians, {memory[small] / 2**20:,.0f} MiB -> "
            f"{memory[large] / 2**20:,.0f} MiB, x{growth:.2f} "
            f"(target: flat, <= x{TARGET_MEMORY_GROWTH}: {verdict})"
        )


if __name__ == "__main__":
    main()
