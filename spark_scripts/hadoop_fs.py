"""File operations through Spark's own Hadoop FileSystem.

Going through the JVM keeps one code path for every location Spark can read: local folders here, ``s3://``
(EMRFS) on EMR, ``hdfs://`` anywhere. Python-side libraries would each need their own S3 setup on the cluster.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from pyspark.sql import SparkSession


class LinkOutsideError(ValueError):
    """A link below a listed local folder leads out of it: its target is not read."""


def fs_and_path(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _is_hidden(name: str) -> bool:
    # Spark's own markers (_SUCCESS, .crc files, _temporary) are not data.
    return name.startswith(("_", "."))


def list_files(spark: SparkSession, uri: str) -> list[str]:
    """Every visible data file below ``uri``, recursively, sorted; empty when ``uri`` does not exist."""
    fs, path = fs_and_path(spark, uri)
    root = fs.makeQualified(path).toString().rstrip("/") + "/"
    return [
        root + name if name else root.rstrip("/") for name, _, _ in list_file_statuses(spark, uri)
    ]


def list_file_statuses(
    spark: SparkSession, uri: str, hidden: list[str] | None = None
) -> list[tuple[str, int, int]]:
    """(name relative to ``uri``, size in bytes, modification time in ms) of every visible data file
    below ``uri``, sorted by name; empty when ``uri`` does not exist.

    Size and modification time together say whether a file changed since it was last read (what the
    ingest compares); on S3 the modification time is the object's last write. A local folder is walked
    without following links to folders (``sub/loop -> ..`` would list the folder again and again); a
    link to a file inside the folder is that file, listed once; a link out of the folder raises
    ``LinkOutsideError`` (Hadoop's own listing follows every link). ``hidden`` (when given) gets the
    names left out because they (or a folder of theirs) start with ``_`` or ``.``.
    """
    fs, path = fs_and_path(spark, uri)
    if not fs.exists(path):
        return []
    if fs.getScheme() == "file":
        return local_file_statuses(str(fs.makeQualified(path).toUri().getPath()), uri, hidden)
    root = fs.makeQualified(path).toString().rstrip("/") + "/"
    found = []
    iterator = fs.listFiles(path, True)
    while iterator.hasNext():
        status = iterator.next()
        relative = status.getPath().toString()[len(root) :]
        if not any(_is_hidden(part) for part in relative.split("/") if part):
            found.append((relative, int(status.getLen()), int(status.getModificationTime())))
        elif hidden is not None:
            hidden.append(relative)
    return sorted(found)


def local_file_statuses(
    root: str, uri: str, hidden: list[str] | None = None
) -> list[tuple[str, int, int]]:
    """``list_file_statuses`` of a local folder (or file): each real file once, links checked. Plain
    Python (no Spark), so a listing without a JVM (``wordcloud_pipeline.reviews_table``) sees the same
    files."""
    real_root = os.path.realpath(root)
    if os.path.isfile(real_root):
        stat = os.stat(real_root)
        return [("", stat.st_size, stat.st_mtime_ns // 1_000_000)]
    by_target: dict[str, list[tuple[bool, str]]] = {}
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = prefix + entry.name
                if _is_hidden(entry.name):
                    if hidden is not None:
                        hidden.append(name)
                    continue
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([target, real_root]) != real_root:
                        raise LinkOutsideError(
                            f"{name} under {uri} is a link to a file outside it: reviews are read "
                            "only from inside the folder; copy the file in or remove the link"
                        )
                    if os.path.isfile(target):
                        by_target.setdefault(target, []).append((True, name))
                    # A link to a folder inside is not followed: its files are listed by their path.
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, name + "/"))
                elif entry.is_file(follow_symlinks=False):
                    by_target.setdefault(os.path.realpath(entry.path), []).append((False, name))
    found = []
    for target, names in by_target.items():
        # The same file reached twice is one file, under its own name rather than a link's.
        _, name = min(names)
        stat = os.stat(target)
        found.append((name, stat.st_size, stat.st_mtime_ns // 1_000_000))
    return sorted(found)


def location_path(spark: SparkSession, uri: str) -> str:
    """The path part of ``uri`` as Hadoop qualifies it: ``/data/reviews`` for a local folder,
    ``/reviews`` for ``s3://bucket/reviews``."""
    fs, path = fs_and_path(spark, uri)
    return str(fs.makeQualified(path).toUri().getPath()).rstrip("/")


class LineTooLongError(ValueError):
    """A file's first line is longer than the bound given: it is not read into memory."""


# Per SparkContext, forgotten with it: a stopped context's JVM objects must not serve its successor.
_CODEC_FACTORIES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _codecs(spark: SparkSession):
    """The session's ``CompressionCodecFactory``, built once: building one loads every codec class, a
    cost each of thousands of small files would pay again."""
    context = spark.sparkContext
    if context not in _CODEC_FACTORIES:
        factory = context._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory
        _CODEC_FACTORIES[context] = factory(context._jsc.hadoopConfiguration())
    return _CODEC_FACTORIES[context]


def read_first_line(spark: SparkSession, uri: str, max_bytes: int) -> str | None:
    """The first line of a text file, decompressed by extension (.gz, .bz2) like Spark does; None for
    an empty file. A first line longer than ``max_bytes`` raises ``LineTooLongError`` after reading
    at most ``max_bytes`` of it: a gzip bomb (megabytes holding one line of gigabytes) must not fill
    the heap."""
    jvm = spark.sparkContext._jvm
    fs, path = fs_and_path(spark, uri)
    codec = _codecs(spark).getCodec(path)
    stream = fs.open(path)
    if codec is not None:
        stream = codec.createInputStream(stream)
    reader = jvm.org.apache.hadoop.util.LineReader(stream)
    line = jvm.org.apache.hadoop.io.Text()
    try:
        consumed = reader.readLine(line, max_bytes, max_bytes + 2)
    finally:
        reader.close()
    if consumed == 0:
        return None
    if line.getLength() >= max_bytes:
        raise LineTooLongError(f"{uri}: its first line is longer than {max_bytes:,} bytes")
    return str(line.toString())


def gzip_stored_size(spark: SparkSession, uri: str) -> int:
    """The uncompressed size a gzip file states in its last four bytes (ISIZE): modulo 2**32, and of
    its last member only (``cat a.gz b.gz`` makes a file of two). One small read, however large the
    file."""
    fs, path = fs_and_path(spark, uri)
    length = fs.getFileStatus(path).getLen()
    if length < 4:
        return 0
    stream = fs.open(path)
    try:
        stream.seek(length - 4)
        # One call for the four bytes (py4j copies a byte array rather than filling it); Java reads
        # them big-endian, gzip writes them little-endian.
        trailer = stream.readInt().to_bytes(4, "big", signed=True)
    finally:
        stream.close()
    return int.from_bytes(trailer, "little")


def decompressed_size(spark: SparkSession, uri: str) -> int:
    """The number of bytes a file holds once decompressed as Spark decompresses it (by extension).

    The JVM skips through the stream: no byte comes to Python (py4j moves about 12 MB/s of them, the
    JVM decompresses hundreds), and nothing is held in memory.
    """
    fs, path = fs_and_path(spark, uri)
    codec = _codecs(spark).getCodec(path)
    stream = fs.open(path)
    if codec is not None:
        stream = codec.createInputStream(stream)
    total = 0
    try:
        while True:
            # Hadoop's decompressor streams cast the count to int: a larger one would skip nothing.
            skipped = stream.skip(1 << 30)
            if skipped > 0:
                total += skipped
            elif stream.read() < 0:
                return total
            else:
                total += 1
    finally:
        stream.close()


def copy_to_local(spark: SparkSession, uri: str, local_path: str) -> None:
    """Copies one file from any Hadoop location (s3:// on EMR) to the driver's local disk."""
    fs, path = fs_and_path(spark, uri)
    target = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(f"file://{local_path}")
    fs.copyToLocalFile(False, path, target, True)
