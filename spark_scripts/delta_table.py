"""The yearly outputs as Delta Lake tables: read them, count their years, replace years in one commit.

Why Delta: replacing a year must never pass through a state where the year is missing or mixed. A Delta
``replaceWhere`` overwrite writes the new files first and then makes them visible, together with the removal
of the year's old files, in one atomic log commit. A run that fails or is killed before the commit leaves
only unreferenced files (``VACUUM`` removes them) and readers keep seeing the previous version; two runs
that commit the same years at once do not both win (Delta's conflict detection fails the second). Every
commit stays in the table's history, so a bad run can be rolled back (README, "Reliability").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_scripts import hadoop_fs

LOG_FOLDER = "_delta_log"


class TableError(RuntimeError):
    """A location that should hold one of the pipeline's tables cannot be used as it is."""


def _delta_tables(spark: SparkSession):
    """Delta's own ``io.delta.tables.DeltaTable``, through the JVM: its jar is on every session (locally
    and on EMR) while the ``delta-spark`` Python wrapper is not installed on either."""
    return spark.sparkContext._jvm.io.delta.tables.DeltaTable


class ConcurrentCommitError(RuntimeError):
    """Another run committed to the same table (and part) first; this run committed nothing."""


class NoSpaceLeftError(RuntimeError):
    """A disk filled up while the table was written; nothing was committed."""


# How Java words ENOSPC, wherever in a write it happens (a data file, the commit, Spark's scratch space).
NO_SPACE = "No space left on device"


@contextmanager
def one_commit(uri: str) -> Iterator[None]:
    """Turns the failures a write meets in daily use, each a Java trace of some hundred lines, into one
    line that says what happened and what to do: Delta's conflict with a concurrent writer
    (``ConcurrentAppendException`` and its kin) and a full disk."""
    try:
        yield
    except Exception as error:
        if NO_SPACE in str(error):
            raise NoSpaceLeftError(
                f"no space left on device while writing {uri} (its disk, or Spark's scratch space "
                "spark.local.dir): this run committed nothing and the table keeps its previous "
                "version; free space (or set storage_uri elsewhere) and run it again"
            ) from None
        kind = next(
            (word for word in str(error).replace(":", " ").split() if "Concurrent" in word), None
        )
        if kind is None:
            raise
        raise ConcurrentCommitError(
            f"another run committed to {uri} while this one ran ({kind.rsplit('.', 1)[-1]}): "
            "this run committed nothing; run it again once the other has ended"
        ) from None


def is_table(spark: SparkSession, uri: str) -> bool:
    """Whether ``uri`` holds a Delta table (``DeltaTable.isDeltaTable``)."""
    return bool(_delta_tables(spark).isDeltaTable(spark._jsparkSession, uri))


def check_writable_target(spark: SparkSession, uri: str) -> None:
    """A new or Delta location is fine; plain files there (an older version's parquet) are not.

    Writing a Delta table over plain parquet would silently hide those files from every reader.
    """
    if is_table(spark, uri) or not hadoop_fs.list_files(spark, uri):
        return
    raise TableError(
        f"{uri} holds files but no Delta table ({LOG_FOLDER} is missing), for example the parquet "
        "output of an earlier version of this project. Move it away, or convert it in place: "
        f'spark-sql -e "CONVERT TO DELTA parquet.`{uri}` PARTITIONED BY (year INT)"'
    )


def read(spark: SparkSession, uri: str, years: Sequence[int] | None = None) -> DataFrame:
    """The table's current version, restricted to ``years`` (partition pruning) when given."""
    frame = spark.read.format("delta").load(uri)
    return frame if years is None else frame.where(F.col("year").isin(*years))


def rows_per_year(spark: SparkSession, uri: str, years: Sequence[int]) -> dict[int, int]:
    """Committed rows of each of ``years`` that has rows; empty when there is no table yet.

    From the table's log, not its data: each data file's add action carries its year and (Delta collects
    statistics by default) its row count, so the year gate opens no data file. A year with a file whose
    count is missing (a writer that collected no statistics) is counted from its data instead.
    """
    if not is_table(spark, uri):
        return {}
    jvm = spark.sparkContext._jvm
    none = jvm.scala.Option.empty()
    snapshot = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, uri).update(
        False, none, none
    )
    per_file = DataFrame(snapshot.withStats(), spark).select(
        F.col("partitionValues").getItem("year").cast("int").alias("year"),
        F.col("stats.numRecords").alias("rows"),
    )
    per_year = (
        per_file.where(F.col("year").isin(*[int(y) for y in years]))
        .groupBy("year")
        .agg(
            F.sum("rows").alias("rows"), F.count("*").alias("files"), F.count("rows").alias("known")
        )
        .collect()
    )
    counts = {int(r["year"]): int(r["rows"]) for r in per_year if r["known"] == r["files"]}
    uncounted = [int(r["year"]) for r in per_year if r["known"] < r["files"]]
    if uncounted:
        rows = read(spark, uri, uncounted).groupBy("year").count().collect()
        counts.update({int(row["year"]): int(row["count"]) for row in rows})
    return {year: n for year, n in counts.items() if n}


def replace_years(frame: DataFrame, uri: str, years: Sequence[int]) -> int:
    """Replaces exactly ``years`` of the table at ``uri`` by ``frame`` in ONE commit; its version.

    ``frame`` may only hold rows of ``years`` (Delta checks it and fails the write otherwise), and a year
    with no rows in ``frame`` ends up empty. Other years are untouched. The table is created on first use.
    New columns are added to the table's schema (a table written before they existed reads them as null
    for its older years); a column dropped or retyped still fails the write.
    """
    spark = frame.sparkSession
    check_writable_target(spark, uri)
    year_list = ", ".join(str(int(year)) for year in sorted(set(years)))
    with one_commit(uri):
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"year IN ({year_list})")
            .option("mergeSchema", "true")
            .partitionBy("year")
            .save(uri)
        )
    return latest_version(spark, uri)


def latest_version(spark: SparkSession, uri: str) -> int:
    """The newest committed version, from the table's history (``DeltaTable.history(1)``)."""
    newest = _delta_tables(spark).forPath(spark._jsparkSession, uri).history(1).head()
    return int(newest.getAs("version"))


def summary(version: int, before: Mapping[int, int], after: Mapping[int, int]) -> dict:
    """What a job reports about its commit: the version, and each year's rows before and after."""
    return {
        "table_version": version,
        "rows_before_by_year": {str(y): n for y, n in sorted(before.items())},
        "rows_after_by_year": {str(y): n for y, n in sorted(after.items())},
    }
