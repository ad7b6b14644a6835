"""File operations through Spark's own Hadoop FileSystem.

Going through the JVM keeps one code path for every location Spark can read: local folders here, ``s3://``
(EMRFS) on EMR, ``hdfs://`` anywhere. Python-side libraries would each need their own S3 setup on the cluster.
"""

from __future__ import annotations

from pyspark.sql import SparkSession


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
    if not fs.exists(path):
        return []
    found = []
    iterator = fs.listFiles(path, True)
    while iterator.hasNext():
        file_path = iterator.next().getPath()
        relative = file_path.toString()[len(fs.makeQualified(path).toString()) :]
        if not any(_is_hidden(part) for part in relative.split("/") if part):
            found.append(file_path.toString())
    return sorted(found)


def list_file_statuses(spark: SparkSession, uri: str) -> list[tuple[str, int, int]]:
    """(name relative to ``uri``, size in bytes, modification time in ms) of every visible data file
    below ``uri``, sorted by name; empty when ``uri`` does not exist.

    Size and modification time together say whether a file changed since it was last read (what the
    ingest compares); on S3 the modification time is the object's last write.
    """
    fs, path = fs_and_path(spark, uri)
    if not fs.exists(path):
        return []
    root = fs.makeQualified(path).toString().rstrip("/") + "/"
    found = []
    iterator = fs.listFiles(path, True)
    while iterator.hasNext():
        status = iterator.next()
        relative = status.getPath().toString()[len(root) :]
        if not any(_is_hidden(part) for part in relative.split("/") if part):
            found.append((relative, int(status.getLen()), int(status.getModificationTime())))
    return sorted(found)


def location_path(spark: SparkSession, uri: str) -> str:
    """The path part of ``uri`` as Hadoop qualifies it: ``/data/reviews`` for a local folder,
    ``/reviews`` for ``s3://bucket/reviews``."""
    fs, path = fs_and_path(spark, uri)
    return str(fs.makeQualified(path).toUri().getPath()).rstrip("/")


def read_first_line(spark: SparkSession, uri: str) -> str | None:
    """The first line of a text file, decompressed by extension (.gz, .bz2) like Spark does."""
    jvm = spark.sparkContext._jvm
    fs, path = fs_and_path(spark, uri)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
        spark.sparkContext._jsc.hadoopConfiguration()
    ).getCodec(path)
    stream = fs.open(path)
    if codec is not None:
        stream = codec.createInputStream(stream)
    reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
    try:
        return reader.readLine()
    finally:
        reader.close()


def copy_to_local(spark: SparkSession, uri: str, local_path: str) -> None:
    """Copies one file from any Hadoop location (s3:// on EMR) to the driver's local disk."""
    fs, path = fs_and_path(spark, uri)
    target = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(f"file://{local_path}")
    fs.copyToLocalFile(False, path, target, True)
