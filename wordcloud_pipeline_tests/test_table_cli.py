"""wordcloud-tables: a table's history, and rolling back one year or the whole table."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from wordcloud_pipeline import table_cli, tables


def counts(year_words: dict[int, list[str]]) -> pa.Table:
    rows = [(year, word) for year, words in year_words.items() for word in words]
    return pa.table(
        {
            "year": pa.array([y for y, _ in rows], pa.int32()),
            "word": [w for _, w in rows],
            "count": [1] * len(rows),
            "rank": list(range(1, len(rows) + 1)),
        }
    )


def test_history_then_restore_one_year_leaves_the_others(tmp_path, capsys):
    storage = tmp_path / "storage"
    uri = str(storage / "words_by_year")
    write_deltalake(
        uri, counts({2003: ["moon"], 2004: ["wizard", "dragon"]}), partition_by=["year"]
    )
    # A bad run replaced 2004 (version 1), then a good run replaced 2003 (version 2).
    write_deltalake(uri, counts({2004: ["oops"]}), mode="overwrite", predicate="year = 2004")
    write_deltalake(uri, counts({2003: ["sun"]}), mode="overwrite", predicate="year = 2003")

    table_cli.main(["--storage", str(storage), "history", "words_by_year"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["version"] for line in lines] == [2, 1, 0]
    assert lines[1]["replaced"] == "year = 2004"

    table_cli.main(
        ["--storage", str(storage), "restore", "words_by_year", "--version", "0", "--year", "2004"]
    )
    assert "now version 3" in capsys.readouterr().out
    words = {r["year"]: r["word"] for r in tables.read_years(uri, [2003]).to_pylist()}
    assert words == {2003: "sun"}  # the later good run of 2003 stays
    assert sorted(r["word"] for r in tables.read_years(uri, [2004]).to_pylist()) == [
        "dragon",
        "wizard",
    ]


def test_restore_the_whole_table(tmp_path):
    uri = str(tmp_path / "storage" / "preprocessed_titles")
    write_deltalake(uri, counts({2003: ["moon"]}), partition_by=["year"])
    write_deltalake(uri, counts({2003: ["sun"]}), mode="overwrite", predicate="year = 2003")
    assert table_cli.restore(uri, 0) == 2
    assert [r["word"] for r in tables.read_years(uri, [2003]).to_pylist()] == ["moon"]


def test_the_reviews_table_is_only_restored_whole(tmp_path, capsys):
    with pytest.raises(SystemExit):
        table_cli.main(
            [
                "--storage",
                str(tmp_path),
                "restore",
                "ingested_reviews",
                "--version",
                "0",
                "--year",
                "2004",
            ]
        )
    assert "restored as a whole: drop --year" in capsys.readouterr().err


def test_history_of_the_reviews_table_names_the_files_a_version_replaced(tmp_path, capsys):
    uri = str(tmp_path / "ingested_reviews")
    rows = {"year": [2004, 2005], "source_file": ["a.tsv.gz", "b.tsv.gz"], "reviews": [1, 2]}
    write_deltalake(uri, pa.table(rows), partition_by=["year"])
    predicate = "source_file IN ('b.tsv.gz')"
    again = {"year": [2005], "source_file": ["b.tsv.gz"], "reviews": [3]}
    write_deltalake(uri, pa.table(again), mode="overwrite", predicate=predicate)

    table_cli.main(["--storage", str(tmp_path), "history", "ingested_reviews"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["version"] for line in lines] == [1, 0]
    # As the writer renders it (delta-rs writes this one as "source_file = 'b.tsv.gz'").
    assert lines[0]["replaced"].startswith("source_file") and "'b.tsv.gz'" in lines[0]["replaced"]
    assert lines[1]["replaced"] == "all"


def test_a_cut_short_latest_commit_is_named_and_repaired(tmp_path):
    import subprocess
    import sys

    storage = tmp_path / "storage"
    uri = str(storage / "words_by_year")
    write_deltalake(uri, counts({2003: ["moon"]}), partition_by=["year"])
    write_deltalake(uri, counts({2003: ["sun"]}), mode="overwrite", predicate="year = 2003")
    latest = storage / "words_by_year" / "_delta_log" / f"{1:020d}.json"
    latest.write_bytes(latest.read_bytes()[:-40])  # cut short
    with pytest.raises(tables.BrokenCommitError) as error:
        tables.read_years(uri, [2003])
    assert str(error.value).startswith(str(latest)) and "wordcloud-tables repair" in str(
        error.value
    )
    command = ["-m", "wordcloud_pipeline.table_cli", "--storage", str(storage), "repair"]
    done = subprocess.run(
        [sys.executable, *command, "words_by_year"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "the table is at version 0" in done.stdout
    assert [r["word"] for r in tables.read_years(uri, [2003]).to_pylist()] == ["moon"]
    # Runs go on from there: the next commit is version 1 again.
    write_deltalake(uri, counts({2003: ["star"]}), mode="overwrite", predicate="year = 2003")
    assert [r["word"] for r in tables.read_years(uri, [2003]).to_pylist()] == ["star"]


def test_a_broken_commit_before_the_latest_is_not_repaired(tmp_path):
    uri = str(tmp_path / "storage" / "words_by_year")
    for word in ("moon", "sun", "star"):
        write_deltalake(uri, counts({2003: [word]}), mode="append", partition_by=["year"])
    middle = tmp_path / "storage" / "words_by_year" / "_delta_log" / f"{1:020d}.json"
    middle.write_bytes(middle.read_bytes()[:-40])
    with pytest.raises(SystemExit, match="is not the latest commit"):
        table_cli.repair(uri)
