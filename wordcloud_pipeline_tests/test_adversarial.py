"""Adversarial inputs: odd file names, links, withdrawals, out-of-range dates, broken parquet years.

Each case ends in a correct count or a one-line refusal that names the file or field, the problem and
what to do; none silently counts a review twice, follows a link out of the reviews folder or prints a
file's contents.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from spark_scripts import delta_table, ingest_reviews
from spark_scripts.reviews import REVIEW_COLUMNS, ReviewDataError
from wordcloud_pipeline_tests.test_reviews import review, write_tsv


def ingest(reviews: Path, table: Path, *extra: str) -> dict:
    argv = ["--input", str(reviews), "--output", str(table), "--category", "Books", *extra]
    return ingest_reviews.main(argv).to_dict()


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\tat org.apache" not in message
    assert len(message.splitlines()) == 1, message
    return message


def test_file_names_are_exact_names_not_glob_patterns(spark, tmp_path):
    folder = tmp_path / "reviews"
    names = [
        "a.tsv.gz",
        "a*.tsv.gz",
        "books[2005].tsv.gz",
        "books{x.tsv.gz",
        "books+2005.tsv.gz",
        "q?.tsv.gz",
    ]
    for i, name in enumerate(names):
        write_tsv(folder / name, [review(f"Title {i}", "2005-01-02")] * (i + 1))
    metrics = ingest(folder, tmp_path / "table")
    assert metrics["files_new"] == sorted(names)
    assert metrics["rows_read"] == sum(range(1, len(names) + 1))
    records = ingest_reviews.file_records(spark, str(tmp_path / "table"))
    assert {name: sum(r.kept_by_year.values()) for name, r in records.items()} == {
        name: i + 1 for i, name in enumerate(names)
    }


def test_a_name_hadoop_cannot_open_is_refused_naming_it(spark, tmp_path):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    write_tsv(folder / "a:b.tsv.gz", [review("Wizard", "2005-01-02")])
    with pytest.raises(ReviewDataError) as error:
        ingest(folder, tmp_path / "table")
    assert "a:b.tsv.gz" in one_line(error) and "rename it" in str(error.value)


def test_a_symlink_loop_reads_each_file_once(spark, tmp_path):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "loop")
    metrics = ingest(folder, tmp_path / "table")
    assert metrics["files_new"] == ["a.tsv.gz"]
    assert metrics["rows_read"] == 1


def test_a_link_out_of_the_reviews_folder_is_refused_without_its_contents(spark, tmp_path):
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = SECRETVALUE\n")
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    os.symlink(secret, folder / "b.tsv")
    with pytest.raises(ReviewDataError) as error:
        ingest(folder, tmp_path / "table")
    message = one_line(error)
    assert "b.tsv" in message and "outside" in message
    assert "SECRETVALUE" not in message
    assert not delta_table.is_table(spark, str(tmp_path / "table"))


def test_a_link_inside_the_reviews_folder_is_one_file(spark, tmp_path):
    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    os.symlink(folder / "a.tsv.gz", folder / "same.tsv.gz")
    metrics = ingest(folder, tmp_path / "table")
    assert metrics["rows_read"] == 1


def test_a_mistyped_location_cannot_withdraw_most_reviews(spark, tmp_path):
    folder = tmp_path / "reviews"
    for part in range(4):
        write_tsv(folder / f"p{part}.tsv.gz", [review(f"T{part}", "2005-01-02")] * 5)
    table = tmp_path / "table"
    first = ingest(folder, table)
    mistyped = tmp_path / "elsewhere"
    write_tsv(mistyped / "p0.tsv.gz", [review("T0", "2005-01-02")] * 5)
    with pytest.raises(ingest_reviews.WithdrawalError) as error:
        ingest(mistyped, table)
    message = one_line(error)
    assert "refusing to withdraw 15 of the 20 reviews" in message
    assert "5 would remain" in message and "--max-withdraw-fraction 1.0" in message
    assert delta_table.latest_version(spark, str(table)) == first["table_version"]
    forced = ingest(mistyped, table, "--max-withdraw-fraction", "1.0")
    assert forced["files_removed"] == ["p1.tsv.gz", "p2.tsv.gz", "p3.tsv.gz"]


def test_dates_outside_the_dataset_years_are_dropped_and_counted(spark, tmp_path):
    folder = tmp_path / "reviews"
    dates = ["2005-01-02", "1899-12-31", "2099-01-01", "0001-01-01", "1994-12-31"]
    write_tsv(folder / "a.tsv.gz", [review("Wizard", d) for d in dates])
    metrics = ingest(folder, tmp_path / "table")
    assert metrics["rows_kept"] == 1
    assert metrics["rows_dropped"]["date_out_of_range"] == 4
    assert metrics["years_changed"] == [2005]


def parquet_years(path: Path, years: list) -> None:
    import pyarrow as pa

    from wordcloud_pipeline_tests.test_bad_inputs import parquet_file

    parquet_file(path, pa.array(years, pa.float64()), [f"T{i}" for i in range(len(years))])


@pytest.mark.parametrize("bad", [2005.7, float("nan"), 1e12])
def test_a_parquet_year_that_is_no_whole_number_is_refused_naming_the_file(spark, tmp_path, bad):
    books = tmp_path / "reviews" / "product_category=Books"
    parquet_years(books / "good.parquet", [2005.0, 2006.0])
    parquet_years(books / "bad+1.parquet", [2005.0, bad])
    with pytest.raises(ReviewDataError) as error:
        ingest(tmp_path / "reviews", tmp_path / "table")
    message = one_line(error)
    assert "bad+1.parquet" in message and "'year'" in message
    assert not delta_table.is_table(spark, str(tmp_path / "table"))


def test_whole_float_parquet_years_are_read(spark, tmp_path):
    parquet_years(tmp_path / "reviews" / "product_category=Books" / "a.parquet", [2005.0, 2006.0])
    metrics = ingest(tmp_path / "reviews", tmp_path / "table")
    assert metrics["rows_kept"] == 2 and metrics["years_changed"] == [2005, 2006]


LISTENING_SCRIPT = """
import os, sys
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
conf = {"spark.ui.enabled": "true", "spark.master": "local[1]", "spark.driver.memory": "512m"}
spark = LocalSparkLauncher(spark_conf=conf).session()
pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
sockets = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if target.startswith("socket:["):
        sockets.add(target[8:-1])
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in sockets:
            print("LISTEN", fields[1].split(":")[0])
print("UI", spark.sparkContext.uiWebUrl)
spark.stop()
"""


def test_local_spark_listens_on_the_loopback_only(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SPARK_LOCAL_IP"}
    done = subprocess.run(
        [sys.executable, "-c", LISTENING_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    addresses = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("LISTEN")]
    ui = [line for line in done.stdout.splitlines() if line.startswith("UI")]
    assert ui and ui[0] != "UI None"
    # The UI, the block manager and the driver's RPC at least; each on 127.0.0.1 (hex, either table).
    assert len(addresses) >= 3, done.stdout
    assert all(a.endswith("0100007F") for a in addresses), addresses


def gzip_bomb(path: Path, line_bytes: int, after: list[list[str]] = ()) -> None:
    """A gzip'd file whose first line is ``line_bytes`` long (a few kilobytes compressed)."""
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = b"a" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(line_bytes // len(chunk) + 1):
            out.write(chunk)
        out.write(b"\n")
        for row in after:
            out.write(("\t".join(row) + "\n").encode())


def test_a_gzip_bomb_line_fails_its_file_within_the_line_bound(spark, tmp_path):
    from spark_scripts.reviews import MAX_LINE_BYTES

    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    gzip_bomb(folder / "bomb.tsv.gz", MAX_LINE_BYTES + 1, [review("Moon", "2005-01-02")])
    assert (folder / "bomb.tsv.gz").stat().st_size < MAX_LINE_BYTES // 100
    with pytest.raises(ReviewDataError) as error:
        ingest(folder, tmp_path / "table")
    message = one_line(error)
    assert "bomb.tsv.gz" in message and "longer than" in message
    assert "aaaa" not in message


def tsv_bytes(rows: list[list[str]], newline: str = "\n", header=True) -> bytes:
    lines = (["\t".join(REVIEW_COLUMNS)] if header else []) + ["\t".join(row) for row in rows]
    return "".join(line + newline for line in lines).encode()


def compressed(suffix: str, *parts: bytes) -> bytes:
    """``parts`` as a file ending in ``suffix``: a gzip of one member per part (as ``cat a.gz b.gz``
    makes), one bzip2 stream, or plain."""
    import bz2
    import gzip

    if suffix.endswith(".gz"):
        return b"".join(gzip.compress(part, compresslevel=1) for part in parts)
    if suffix.endswith(".bz2"):
        return bz2.compress(b"".join(parts), compresslevel=1)
    return b"".join(parts)


@pytest.mark.parametrize(
    "name,members",
    [("one-member.tsv.gz", 1), ("two-members.tsv.gz", 2), ("plain.tsv", 1), ("b.tsv.bz2", 1)],
)
def test_a_later_over_long_line_fails_its_file_naming_it(spark, tmp_path, name, members):
    """Hadoop's line reader skips a line over the bound without a word; the file's bytes tell."""
    from spark_scripts.reviews import MAX_LINE_BYTES

    folder = tmp_path / "reviews"
    write_tsv(folder / "a.tsv.gz", [review("Wizard", "2005-01-02")])
    # Compressed: exactly the bound with its "\n", the shortest line Hadoop skips. A plain file is
    # split into several reads, where Hadoop returns such a line as one (malformed, counted) row.
    length = MAX_LINE_BYTES if name.endswith(("gz", "bz2")) else 2 * MAX_LINE_BYTES
    bomb = b"a" * (length - 1) + b"\n"
    before = tsv_bytes([review("Moon", "2005-01-02")])
    after = tsv_bytes([review("Sun", "2006-01-02")], header=False)
    parts = [before + bomb, after] if members == 2 else [before + bomb + after]
    (folder / name).write_bytes(compressed(name, *parts))
    with pytest.raises(ReviewDataError) as error:
        ingest(folder, tmp_path / "table")
    message = one_line(error)
    assert f"{name} holds lines longer than {MAX_LINE_BYTES:,} bytes" in message
    missing = int(re.search(r"\(([\d,]+) bytes of them\)", message)[1].replace(",", ""))
    assert 0 < missing <= length and "aaaa" not in message
    assert not delta_table.is_table(spark, str(tmp_path / "table"))


def test_lines_that_add_up_otherwise_are_read_whole(spark, tmp_path):
    """Windows line ends, blank lines, a byte order mark, a repeated header, no last line break and
    gzip files of several members all make a file's lines add up to other than its stated size: each
    is still read whole, not taken for a skipped line. Each file holds 300 reviews of random titles
    too: a gzip file too small to hold an over-long line is not looked at."""
    from spark_scripts.reviews import DEFLATE_MAX_RATIO, MAX_LINE_BYTES

    def filler(newline: str = "\n") -> bytes:
        rows = [review(os.urandom(16).hex(), "2010-01-02") for _ in range(300)]
        return tsv_bytes(rows, newline, header=False)

    folder = tmp_path / "reviews"
    folder.mkdir()
    crlf = tsv_bytes([review(f"Crlf {i}", "2005-01-02") for i in range(3)], "\r\n")
    blank = tsv_bytes([review("Blank", "2005-01-02")]) + b"\n\r\n\n"
    marked = "\ufeff".encode() + tsv_bytes([review("Marked", "2006-01-02")])
    unended = (tsv_bytes([review("Unended", "2006-01-02")]) + filler()).rstrip(b"\n")
    again = tsv_bytes([review("Again", "2007-01-02")]) * 2
    files = {
        "crlf.tsv.gz": [crlf + filler("\r\n")],
        "blank.tsv": [blank + filler()],
        "marked.tsv.gz": [marked + filler()],
        "unended.tsv.bz2": [unended],
        "again.tsv.gz": [again + filler()],
        # One member per review: the last member's stated size is far from the file's.
        "members.tsv.gz": [tsv_bytes([]), filler()]
        + [tsv_bytes([review(f"Member {i}", "2008-01-02")], header=False) for i in range(40)],
    }
    for name, parts in files.items():
        (folder / name).write_bytes(compressed(name, *parts))
        if name.endswith(".gz"):
            assert (folder / name).stat().st_size * DEFLATE_MAX_RATIO > MAX_LINE_BYTES
    metrics = ingest(folder, tmp_path / "table")
    assert metrics["rows_read"] == 3 + 1 + 1 + 1 + 2 + 40 + 6 * 300
    assert metrics["rows_dropped"]["malformed_row"] == 0
    records = ingest_reviews.file_records(spark, str(tmp_path / "table"))
    assert {name: dict(r.kept_by_year) for name, r in records.items()} == {
        "crlf.tsv.gz": {2005: 3, 2010: 300},
        "blank.tsv": {2005: 1, 2010: 300},
        "marked.tsv.gz": {2006: 1, 2010: 300},
        "unended.tsv.bz2": {2006: 1, 2010: 300},
        "again.tsv.gz": {2007: 2, 2010: 300},
        "members.tsv.gz": {2008: 40, 2010: 300},
    }
    titles = spark.read.format("delta").load(str(tmp_path / "table")).where("year = 2005")
    assert sorted(r.product_title for r in titles.collect()) == [
        "Blank",
        "Crlf 0",
        "Crlf 1",
        "Crlf 2",
    ]
