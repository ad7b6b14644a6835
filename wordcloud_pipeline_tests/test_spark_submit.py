"""The scripts run under plain spark-submit by hand: no Dagster, no Pipes session; stage lines and the
metrics as a ``METRICS {json}`` line on stdout."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import spark_scripts
from wordcloud_pipeline import tables
from wordcloud_pipeline_tests.conftest import spark_submit_options

pytestmark = pytest.mark.slow
SPARK_SUBMIT = Path(sys.executable).with_name("spark-submit")


def test_preprocess_then_count_with_spark_submit(sample_parquet, tmp_path):
    scripts = Path(spark_scripts.__file__).parent
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}

    def submit(script: str, *args: str) -> dict:
        command = [str(SPARK_SUBMIT), *spark_submit_options(), str(scripts / f"{script}.py")]
        done = subprocess.run(
            [*command, *args],
            check=True,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        lines = done.stdout.splitlines()
        assert any(line.startswith(f"[{script}] committed version ") for line in lines), lines
        (metrics,) = [line for line in lines if line.startswith("METRICS ")]
        return json.loads(metrics.removeprefix("METRICS "))

    titles = submit(
        "preprocess_titles",
        *("--input", str(sample_parquet), "--output", str(tmp_path / "titles")),
        *("--years", "2010-2011", "--counting", "reviews"),
    )
    counts = submit(
        "count_words",
        *("--input", str(tmp_path / "titles"), "--output", str(tmp_path / "counts")),
        *("--years", "2010-2011"),
    )
    assert titles["counting"] == "reviews"
    assert titles["tokens"] > 0
    assert counts["tokens"] == titles["tokens"]
    assert tables.rows_per_year(str(tmp_path / "counts"), [2009, 2010, 2011, 2012]) == {
        2009: 0,
        2010: counts["by_year"]["2010"]["distinct_words"],
        2011: counts["by_year"]["2011"]["distinct_words"],
        2012: 0,
    }
    assert counts["commit"]["table_version"] == 0
    assert len(counts["by_year"]["2011"]["top_words"]) == 10
