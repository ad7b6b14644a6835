"""What the reviews table already holds, read without a JVM: its file records, and whether a run of
``ingested_reviews`` has anything to do.

Most runs of ``yearly_job`` and most sensor ticks find no new review file. Starting Spark to learn that
costs a JVM and the first Delta read of a cold one (about 20 s here); listing the raw files and reading
the table's file records through ``deltalake`` (delta-rs) costs well under a second. The comparison is the
Spark job's own (``ingest_reviews.plan``) on the same names, sizes and modification times, so the two
never disagree about a file; anything unusual (no table yet, mixed layouts, an unreadable log) is left to
the Spark job, which reports it.
"""

from __future__ import annotations

import os

import pyarrow.dataset as pads
import pyarrow.fs as pafs

from spark_scripts.hadoop_fs import LinkOutsideError, local_file_statuses
from spark_scripts.ingest_reviews import INGEST_DROP_REASONS, FileRecord, plan
from spark_scripts.job_contract import IngestMetrics
from spark_scripts.reviews import ReviewDataError, review_files
from wordcloud_pipeline import files, tables

RECORD_COLUMNS = ["source_file", "file_size", "file_modified", "category", "kept_by_year"]


def listing(location: str) -> dict[str, tuple[int, int]]:
    """(size, modification time in ms) of every visible file below ``location`` by relative name, as
    the Spark job's listing (``hadoop_fs.list_file_statuses``) gives them: hidden parts (``_x``, ``.x``)
    skipped; locally the same walk (links into the folder are their file, once; a link out of it
    raises ``LinkOutsideError``)."""
    if not files.is_remote(location):
        path = str(files.local_path(location))
        if not os.path.exists(path):
            return {}
        return {
            name: (size, modified) for name, size, modified in local_file_statuses(path, location)
        }
    fs, root = files.resolve(location)
    if fs.get_file_info(root).type == pafs.FileType.NotFound:
        return {}
    found = {}
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if info.type != pafs.FileType.File:
            continue
        name = info.path[len(root) :].lstrip("/")
        if any(part.startswith(("_", ".")) for part in name.split("/")):
            continue
        found[name] = (int(info.size), int(info.mtime_ns or 0) // 1_000_000)
    return found


def file_records(table_uri: str) -> tuple[int, dict[str, FileRecord]] | None:
    """The table's version and its file records (the ``year IS NULL`` partition only); None when
    there is no table yet."""
    table = tables.open_table(table_uri)
    if table is None:
        return None
    rows = (
        table.to_pyarrow_dataset()
        .to_table(columns=RECORD_COLUMNS, filter=pads.field("year").is_null())
        .to_pylist()
    )
    records = {
        row["source_file"]: FileRecord(
            int(row["file_size"]),
            int(row["file_modified"]),
            row["category"],
            {int(y): int(n) for y, n in (row["kept_by_year"] or [])},
        )
        for row in rows
    }
    return table.version(), records


def nothing_to_ingest(reviews_uri: str, table_uri: str, category: str) -> IngestMetrics | None:
    """The metrics of an ingest that reads and commits nothing, when no review file under
    ``reviews_uri`` is new, changed or removed since the table at ``table_uri`` recorded it; else None
    (the Spark job must run)."""
    found = file_records(table_uri)
    if found is None:
        return None
    version, records = found
    try:
        statuses = listing(reviews_uri)
    except LinkOutsideError:
        return None  # the Spark job refuses it, naming the link
    try:
        layout, names = review_files(list(statuses), reviews_uri)
    except ReviewDataError:
        return None  # no review file, or two layouts: the Spark job says so
    current = {name: statuses[name] for name in names}
    new, changed, removed = plan(current, records, category)
    if new or changed or removed:
        return None
    return IngestMetrics(
        input=reviews_uri,
        output=table_uri,
        layout=layout,
        category=category,
        files_listed=len(current),
        files_new=[],
        files_changed=[],
        files_removed=[],
        rows_read=0,
        rows_kept=0,
        rows_dropped=dict.fromkeys(INGEST_DROP_REASONS, 0),
        years_changed=[],
        reviews_before_by_year={},
        reviews_after_by_year={},
        table_version=version,
    )


__all__ = ["file_records", "listing", "nothing_to_ingest"]
