"""The typed job contract, and the scripts reporting to a local run through Dagster Pipes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import dagster as dg
import pytest

from spark_scripts import year_gate
from spark_scripts.job_contract import (
    Commit,
    CountsMetrics,
    IngestMetrics,
    IngestOptions,
    SparkJob,
    TitleOptions,
    YearCounts,
    metrics_from_messages,
    metrics_message,
)
from wordcloud_pipeline.assets.counts import words_by_year
from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.aws.emr import config as emr_config
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources


def test_a_job_renders_the_command_line_its_script_parses_back():
    job = SparkJob(
        "preprocess_titles",
        "s3://b/reviews",
        "s3://b/titles",
        (2003, 2001, 2002, 2005),
        TitleOptions(counting="reviews", backend="sparknlp", domain_stopwords=("book",)),
        max_row_drop_fraction=1.0,
    )
    argv = job.argv()
    assert argv[argv.index("--years") + 1] == "2001-2003,2005"
    # The launchers' Pipes arguments ride along; the script's parser leaves them to Pipes.
    parsed = SparkJob.from_argv("preprocess_titles", [*argv, "--dagster-pipes-context", "eJyr"])
    assert parsed == job
    assert job.backend == "sparknlp"
    assert job.with_options(lemma_dictionary="s3://b/l.txt").argv()[-2:] == [
        "--lemma-dictionary",
        "s3://b/l.txt",
    ]
    assert SparkJob("count_words", "in", "out", (2004,)).backend is None
    with pytest.raises(TypeError, match="count_words takes CountOptions"):
        SparkJob("count_words", "in", "out", (2004,), TitleOptions())
    with pytest.raises(ValueError, match="unknown script"):
        SparkJob("no_such_script", "in", "out", (2004,))


def test_the_ingest_job_takes_no_years_and_no_gate():
    job = SparkJob("ingest_reviews", "s3://b/raw", "s3://b/reviews", (), IngestOptions("Music"))
    assert job.argv() == [
        *("--input", "s3://b/raw", "--output", "s3://b/reviews", "--category", "Music"),
        *("--max-withdraw-fraction", "0.5"),
    ]
    assert job.name == "ingest_reviews" and job.backend is None
    assert SparkJob.from_argv("ingest_reviews", job.argv()) == job
    with pytest.raises(ValueError, match="ingest_reviews is not yearly"):
        SparkJob("ingest_reviews", "in", "out", (2004,))
    with pytest.raises(ValueError, match="a job needs at least one year"):
        SparkJob("count_words", "in", "out", ())
    metrics = IngestMetrics(
        **{"input": "i", "output": "o", "layout": "tsv", "category": "Books", "files_listed": 2},
        **{"files_new": ["a.tsv.gz"], "files_changed": [], "files_removed": ["b.tsv.gz"]},
        **{"rows_read": 3, "rows_kept": 2, "rows_dropped": {"blank_title": 1}},
        **{"years_changed": [2003], "reviews_before_by_year": {"2003": 5}},
        **{"reviews_after_by_year": {"2003": 2}, "table_version": None},
    )
    wire = json.loads(json.dumps(metrics_message(metrics)))
    assert metrics_from_messages("ingest_reviews", [wire]) == metrics
    assert metrics.files_read == 1


def test_metrics_and_refusals_survive_the_json_of_a_pipes_message():
    metrics = CountsMetrics(
        input="i",
        output="o",
        years=[2004],
        tokens=5,
        distinct_words=2,
        by_year={"2004": YearCounts(5, 2, [("dragon", 3), ("tale", 2)])},
        commit=Commit(3, {"2004": 1}, {"2004": 2}),
    )
    wire = json.loads(json.dumps(metrics_message(metrics)))
    assert metrics_from_messages("count_words", [{"other": 1}, wire]) == metrics
    assert metrics_from_messages("preprocess_titles", [wire]) is None

    refusal = year_gate.YearCollapseError("s3://b/t", [year_gate.YearChange(2004, 10, 0)], 0.5)
    wire = json.loads(json.dumps(year_gate.refusal_message(refusal)))
    rebuilt = year_gate.refusal_from_messages([wire])
    assert str(rebuilt) == str(refusal)
    assert rebuilt.collapsed == refusal.collapsed


def test_the_contract_imports_neither_pyspark_nor_dagster():
    """The Dagster process reads it without a JVM; EMR nodes import it without dagster."""
    code = (
        "import sys, spark_scripts.job_contract, spark_scripts.year_gate; "
        "print(sorted(m for m in ('pyspark', 'dagster', 'dagster_pipes') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_emr_bootstrap_installs_the_dagster_pipes_this_project_pins():
    from importlib.metadata import version

    assert f"dagster-pipes=={version('dagster-pipes')}" in emr_config.BOOTSTRAP_PACKAGES
    assert any(p.startswith("boto3==") for p in emr_config.BOOTSTRAP_PACKAGES)


@pytest.mark.slow
def test_a_local_run_gets_stage_logs_and_metrics_through_pipes(
    spark, sample_parquet, tmp_path, capsys
):
    resources = local_test_resources(sample_parquet, tmp_path / "storage")
    instance = instance_with_years(dg.DagsterInstance.ephemeral())
    result = dg.materialize(
        [ingested_reviews, preprocessed_titles, words_by_year],
        resources=resources,
        instance=instance,
        partition_key="2004",
    )
    assert result.success
    logs = [e.user_message for e in instance.all_logs(result.run_id)]

    # One session for the run's three jobs, its start said with its packages and what it took.
    (starting,) = [m for m in logs if m.startswith("starting the run's local Spark session")]
    assert "packages io.delta:delta-spark" in starting
    assert len([m for m in logs if re.match(r"^local Spark session started in [\d.]+ s$", m)]) == 1

    # Each stage of the scripts, as it finished, in the run's own log (Pipes "log" messages): the
    # ingest reads the raw files, preprocessing only its year of the reviews table.
    read = [m for m in logs if re.match(r"^read [\d,]+ rows from \d+ parquet file\(s\)", m)]
    assert len(read) == 1, logs
    ingest = result.asset_materializations_for_node("ingested_reviews")[0].metadata
    assert f"read {ingest['rows_read'].value:,} rows" in read[0]
    titles = result.asset_materializations_for_node("preprocessed_titles")[0].metadata
    rows_read = titles["rows_read"].value
    assert any(
        m.startswith(f"read {rows_read:,} rows from the reviews table's 1 year partition(s)")
        for m in logs
    ), logs
    tokens = titles["tokens"].value
    assert f"wrote {tokens:,} words for 2004 (was 0)" in logs
    counts = result.asset_materializations_for_node("words_by_year")[0].metadata
    assert any(
        m.startswith(f"wrote {counts['distinct_words'].value:,} words for 2004 ({tokens:,} ")
        for m in logs
    ), logs
    # Nothing of the old hand-made channel: no metrics file, no warnings from the Pipes session.
    assert not any("[pipes] did not receive" in m for m in logs)
    assert not list(tmp_path.rglob("*.json*metrics*"))
    # The run's log has every line: the terminal does not get them a second time.
    printed = capsys.readouterr().out.splitlines()
    assert not [line for line in printed if line.startswith(("[ingest_reviews]", "METRICS"))]


def test_a_script_run_by_hand_without_pipes_prints_its_stages_and_metrics(
    spark, sample_parquet, tmp_path
):
    """No Pipes params: the same stage lines and a METRICS line on stdout, nothing else needed."""
    from contextlib import redirect_stdout
    from io import StringIO

    from spark_scripts import preprocess_titles

    argv = SparkJob(
        "preprocess_titles", str(sample_parquet), str(tmp_path / "titles"), (2004,)
    ).argv()
    out = StringIO()
    with redirect_stdout(out):
        metrics = preprocess_titles.main(argv)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("[preprocess_titles] read ") for line in lines)
    (printed,) = [line for line in lines if line.startswith("METRICS ")]
    assert json.loads(printed.removeprefix("METRICS ")) == metrics.to_dict()
    assert metrics.rows_read > 0
