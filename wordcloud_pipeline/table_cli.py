"""``wordcloud-tables``: the history of a Spark asset's Delta table, and rolling a bad run back.

    wordcloud-tables history words_by_year
    wordcloud-tables restore words_by_year --version 3              # the whole table as of version 3
    wordcloud-tables restore words_by_year --version 3 --year 2004  # only 2004, other years untouched
    wordcloud-tables history ingested_reviews                       # which files each ingest read
    wordcloud-tables repair words_by_year                           # a latest commit cut short

Every run that replaced years is one version (``WRITE`` with its ``year IN (...)`` predicate); a restore is
itself a new version, so it can be undone the same way. The table is found where the assets write it:
``<storage root>/<asset>`` (``WORDCLOUD_STORAGE_URI``, or ``--storage``). After a restore, re-materialize
``word_clouds`` for the years concerned so the pictures follow.

A commit file cut short (a full or failing disk) makes the table unreadable. ``repair`` moves the latest
commit aside when it is the broken one (as ``NNN.json.broken``, which the log ignores): the table is then
at the version before it, and the next run of the asset redoes that run's work. A broken commit that is
not the latest is refused: the versions after it build on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import dagster as dg
import pyarrow.dataset as pads
from deltalake import write_deltalake

from wordcloud_pipeline import files, tables
from wordcloud_pipeline.resources.storage import PipelineStorage

TABLE_ASSETS = ("ingested_reviews", "preprocessed_titles", "words_by_year")
# Its file records (which version of each source file it holds) live beside the years: restoring one
# year would leave them claiming rows the year no longer has. The whole table restores consistently
# (the next ingest then re-reads the files that changed since that version).
WHOLE_TABLE_ONLY = ("ingested_reviews",)


def history(uri: str) -> list[dict]:
    """One line per version, newest first: what it did, which rows it replaced, how many it wrote.

    ``replaced`` is the commit's predicate as written: ``year IN (...)`` for the yearly tables, ``source_file
    IN (...)`` for the reviews table (the files a run ingested or withdrew), "all" for a first write.
    """
    table = _open(uri)
    lines = []
    for entry in table.history():
        parameters = entry.get("operationParameters") or {}
        metrics = entry.get("operationMetrics") or {}
        lines.append(
            {
                "version": entry.get("version"),
                "timestamp": entry.get("timestamp"),
                "operation": entry.get("operation"),
                "replaced": parameters.get("predicate", "all"),
                "rows_written": metrics.get("numOutputRows"),
            }
        )
    return lines


def restore(uri: str, version: int, year: int | None = None) -> int:
    """Makes ``version`` current again (for one ``year`` only, when given); the new version."""
    table = _open(uri)
    if year is None:
        table.restore(version)
        return _open(uri).version()
    old = _open(uri, version).to_pyarrow_dataset().to_table(filter=pads.field("year") == year)
    write_deltalake(
        table,
        old,
        mode="overwrite",
        predicate=f"year = {int(year)}",
        partition_by=["year"],
        storage_options=tables.storage_options(uri),
    )
    return _open(uri).version()


def repair(uri: str) -> str:
    """Sets a table whose latest commit is cut short back to the version before; what was done."""
    broken = tables.broken_commit(uri)
    if broken is None:
        return f"{uri}: every commit is whole; nothing to repair"
    commits = tables.commit_files(uri)
    if broken != commits[-1][1]:
        raise SystemExit(
            f"{broken} is broken but is not the latest commit ({commits[-1][1]} is): later versions "
            "build on it; restore the table from a backup or rebuild it by re-materializing the asset"
        )
    fs, _ = files.resolve(uri)
    fs.move(broken, broken + ".broken")
    return (
        f"{uri}: moved the cut-short commit {broken} aside (.broken); the table is at version "
        f"{commits[-2][0] if len(commits) > 1 else 'none'}: re-materialize the asset to redo that run"
    )


def _open(uri: str, version: int | None = None):
    table = tables.open_table(uri, version)
    if table is None:
        raise SystemExit(f"no Delta table at {uri}: has the asset been materialized there?")
    return table


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--storage", help="storage root (default: WORDCLOUD_STORAGE_URI or data/storage)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("history", help="list the table's versions")
    show.add_argument("asset", choices=TABLE_ASSETS)
    back = commands.add_parser("restore", help="make an earlier version current again")
    back.add_argument("asset", choices=TABLE_ASSETS)
    back.add_argument("--version", type=int, required=True)
    back.add_argument("--year", type=int, help="restore only this year")
    fix = commands.add_parser("repair", help="set a table whose latest commit is cut short back")
    fix.add_argument("asset", choices=TABLE_ASSETS)
    args = parser.parse_args(argv)

    if args.command == "restore" and args.year is not None and args.asset in WHOLE_TABLE_ONLY:
        parser.error(f"{args.asset} is restored as a whole: drop --year")
    uri = PipelineStorage(storage_uri=args.storage).asset_location(dg.AssetKey(args.asset))
    if args.command == "repair":
        sys.stdout.write(repair(uri) + "\n")
        return
    if args.command == "history":
        for line in history(uri):
            sys.stdout.write(json.dumps(line, default=str) + "\n")
        return
    version = restore(uri, args.version, args.year)
    scope = f"year {args.year}" if args.year else "all years"
    sys.stdout.write(f"{uri}: {scope} as of version {args.version}, now version {version}\n")


if __name__ == "__main__":
    main()
