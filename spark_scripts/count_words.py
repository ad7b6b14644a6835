"""(year, word) -> (year, word, count, rank): how often each word appears in each year's titles.

    spark-submit spark_scripts/count_words.py --input out/titles --output out/counts --years 1995-2015

Both tables are Delta Lake tables partitioned by year; the requested years are replaced in one commit after
the year gate (``job_cli.commit_years``). Each year is written as one file ordered by rank, so a reader can
take the top N words of a year without a JVM. The sum of a year's counts equals the number of words
``preprocess_titles`` kept for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_scripts import delta_table, job_cli
from spark_scripts.domain import DEFAULT_MAX_DROP_FRACTION, SETTING_COLUMNS
from spark_scripts.job_contract import CountsMetrics, SparkJob, YearCounts
from spark_scripts.reviews import ReviewDataError

TOP_WORDS_IN_METRICS = 10


def count_words(words: DataFrame) -> DataFrame:
    """(year, word, count, counting, backend) from one row per word occurrence.

    The settings that made a year's words (one value per year: a year is always replaced whole) travel
    along; a titles table written before they were stored gives nulls.
    """
    settings = [
        F.first(F.col(name) if name in words.columns else F.lit(None).cast("string")).alias(name)
        for name in SETTING_COLUMNS
    ]
    return words.groupBy("year", "word").agg(F.count("*").alias("count"), *settings)


def rank_words(counts: DataFrame) -> DataFrame:
    """Adds ``rank`` within each year: 1 for the most frequent word, ties broken alphabetically."""
    by_frequency = Window.partitionBy("year").orderBy(F.desc("count"), F.asc("word"))
    return counts.withColumn("rank", F.row_number().over(by_frequency))


def count(
    spark: SparkSession,
    input_uri: str,
    output_uri: str,
    years: Sequence[int],
    max_drop_fraction: float = DEFAULT_MAX_DROP_FRACTION,
    progress: job_cli.Progress = job_cli.quiet,
) -> CountsMetrics:
    """Counts the requested years of ``input_uri`` into ``output_uri``; returns the metrics.

    ``progress`` gets one line per stage as it finishes, with its row counts.
    """
    if not delta_table.is_table(spark, input_uri):
        raise ReviewDataError(
            f"no preprocessed titles under {input_uri}: materialize preprocessed_titles first"
        )
    words = delta_table.read(spark, input_uri, years)
    ranked = rank_words(count_words(words)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        # Counted before the commit: the year gate compares them with the committed rows.
        summary = (
            ranked.groupBy("year")
            .agg(F.sum("count").alias("tokens"), F.count("*").alias("distinct_words"))
            .collect()
        )
        progress(
            f"counted {sum(int(r['tokens']) for r in summary):,} words of {len(summary)} year(s) "
            f"into {sum(int(r['distinct_words']) for r in summary):,} (year, word) rows"
        )
        commit = job_cli.commit_years(
            # The ranking window already put each year in one task: one file per year, by rank.
            ranked.sortWithinPartitions("year", "rank"),
            output_uri,
            years,
            {int(row["year"]): int(row["distinct_words"]) for row in summary},
            max_drop_fraction,
        )
        top = ranked.where(F.col("rank") <= TOP_WORDS_IN_METRICS).collect()
    finally:
        ranked.unpersist()

    top_by_year: dict[str, list[tuple[str, int]]] = {str(year): [] for year in years}
    settings: dict[str, dict[str, str | None]] = {}
    for row in sorted(top, key=lambda r: (r["year"], r["rank"])):
        top_by_year[str(row["year"])].append((row["word"], int(row["count"])))
        settings.setdefault(str(row["year"]), {name: row[name] for name in SETTING_COLUMNS})
    per_year = {str(year): YearCounts(top_words=top_by_year[str(year)]) for year in years}
    for row in summary:
        year = str(row["year"])
        per_year[year] = YearCounts(
            int(row["tokens"]),
            int(row["distinct_words"]),
            top_by_year.get(year, []),
            **settings.get(year, {}),
        )
    for year, counts in per_year.items():
        top = ", ".join(word for word, _ in counts.top_words[:3])
        progress(
            f"wrote {counts.distinct_words:,} words for {year} "
            f"({counts.tokens:,} occurrences{'; top: ' + top if top else ''})"
        )
    progress(f"committed version {commit.table_version} of {output_uri}")
    return CountsMetrics(
        input=input_uri,
        output=output_uri,
        years=list(years),
        tokens=sum(y.tokens for y in per_year.values()),
        distinct_words=sum(y.distinct_words for y in per_year.values()),
        by_year=per_year,
        commit=commit,
    )


def run(
    spark: SparkSession, job: SparkJob, progress: job_cli.Progress = job_cli.quiet
) -> CountsMetrics:
    return count(spark, job.input, job.output, job.years, job.max_row_drop_fraction, progress)


def main(argv: Sequence[str] | None = None, pipes=None) -> CountsMetrics:
    """The command line ``SparkJob.argv()`` renders; ``pipes``: see ``job_cli.run_main``."""
    return job_cli.run_main("count_words", __doc__.splitlines()[0], run, argv, pipes)


if __name__ == "__main__":
    main()
