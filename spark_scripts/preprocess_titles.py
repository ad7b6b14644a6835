"""Raw reviews -> (year, word): the titles of the chosen category, cleaned, tokenized and lemmatized.

    spark-submit spark_scripts/preprocess_titles.py --input data/reviews --output out/titles --years 2003

Rows that cannot be used (malformed, blank title, unparseable date) are dropped and counted by reason, never
fatal and never silent. Counting unit: ``titles`` counts a word once per distinct title per year, as the
original template did; ``reviews`` counts it once per review, weighting titles by popularity.
"""

from __future__ import annotations

from collections.abc import Sequence

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_scripts import delta_table, ingest_reviews, job_cli, text
from spark_scripts.domain import (
    BACKENDS,
    COUNTING_UNITS,
    DEFAULT_MAX_DROP_FRACTION,
    DROP_REASONS,
)
from spark_scripts.job_contract import Commit, SparkJob, TitleOptions, TitlesMetrics
from spark_scripts.reviews import (
    ReviewDataError,
    Reviews,
    read_reviews,
    unreadable_files_error,
    with_drop_reason,
    year_column,
)

__all__ = ["main", "preprocess", "to_words"]


def usable_titles(annotated: DataFrame) -> DataFrame:
    """(drop_reason, year, product_title, reviews): the kept rows grouped by (year, title), the dropped
    ones by reason alone (year and title null).

    One aggregation gives both the counts by reason and the distinct titles, so the raw reviews are read
    once, and what is kept in memory afterwards is one row per title and year rather than per review.
    """
    kept = F.col("drop_reason").isNull()
    return annotated.groupBy(
        "drop_reason",
        F.when(kept, F.col("year")).alias("year"),
        F.when(kept, F.col("product_title")).alias("product_title"),
    ).agg(F.count("*").alias("reviews"))


def titles_to_count(usable: DataFrame, counting: str) -> DataFrame:
    """The (year, title) rows whose words are counted: each distinct title once, or once per review."""
    if counting not in COUNTING_UNITS:
        raise ValueError(f"counting must be one of {COUNTING_UNITS}, not {counting!r}")
    kept = usable.where(F.col("drop_reason").isNull())
    if counting == "titles":
        return kept.select("year", "product_title")
    once_per_review = F.explode(F.array_repeat(F.lit(True), F.col("reviews").cast("int")))
    return kept.select("year", "product_title", once_per_review).drop("col")


def to_words(titles: DataFrame, options: TitleOptions) -> DataFrame:
    """(year, word) rows by the configured NLP backend; both backends share this output contract."""
    if options.backend == "sparkml":
        stopwords = text.stopword_set(options.domain_stopwords)
        return text.titles_to_words(titles, stopwords, options.min_token_length)
    if options.backend == "sparknlp":
        from spark_scripts import sparknlp_backend

        return sparknlp_backend.titles_to_words(titles, options)
    raise ValueError(f"backend must be one of {BACKENDS}, not {options.backend!r}")


def preprocess(
    spark: SparkSession,
    input_uri: str,
    output_uri: str,
    years: Sequence[int],
    options: TitleOptions | None = None,
    max_drop_fraction: float = DEFAULT_MAX_DROP_FRACTION,
    progress: job_cli.Progress = job_cli.quiet,
) -> TitlesMetrics:
    """Reads, filters, tokenizes and writes ``years``; returns the metrics.

    ``input_uri`` is the reviews table ``ingest_reviews`` writes (only the years' partitions are read:
    the ingest already dropped unusable rows and counted them), or a folder of raw review files (read
    whole, for a run by hand without the ingest). ``progress`` gets one line per stage as it finishes,
    with its row counts. ``options`` default to ``TitleOptions()``; ``max_drop_fraction`` is the year gate's.
    """
    options = options or TitleOptions()
    if delta_table.is_table(spark, input_uri):
        layout, files_read = "table", 0
        titles = ingest_reviews.read_titles(spark, input_uri, years, options.category)
        usable = titles.groupBy(
            F.lit(None).cast("string").alias("drop_reason"), "year", "product_title"
        ).agg(F.sum("reviews").alias("reviews"))
        reviews = None
    else:
        reviews = read_reviews(spark, input_uri)
        layout, files_read = reviews.layout, len(reviews.files)
        usable = usable_titles(
            with_drop_reason(_prune(reviews, options.category, years), options.category, years)
        )
    usable = usable.persist(StorageLevel.MEMORY_AND_DISK)
    words = None
    try:
        by_reason, kept_by_year = _count_by_reason(spark, usable, reviews)
        rows_read = sum(by_reason.values())
        if rows_read == 0 and reviews is not None:
            raise ReviewDataError(
                f"the review files under {input_uri} hold no rows"
                + (f" of category {options.category!r}" if reviews.layout == "parquet" else "")
            )
        kept = by_reason.get(None, 0)
        source = (
            f"the reviews table's {len(years)} year partition(s)"
            if reviews is None
            else f"{files_read:,} {layout} file(s)"
        )
        progress(
            f"read {rows_read:,} rows from {source}; kept {kept:,}, dropped {rows_read - kept:,}"
            + "".join(f", {r}: {by_reason[r]:,}" for r in DROP_REASONS if by_reason.get(r))
        )
        titles = titles_to_count(usable, options.counting)
        words = to_words(titles, options).select(
            "year",
            "word",
            F.lit(options.counting).alias("counting"),
            F.lit(options.backend).alias("backend"),
        )
        words = words.persist(StorageLevel.MEMORY_AND_DISK)
        # Counted before the commit: the year gate compares them with the committed rows.
        per_year = _tokens_per_year(words, years)
        progress(
            f"tokenized ({options.backend}, counting {options.counting}): "
            f"{sum(y['tokens'] for y in per_year.values()):,} words, "
            + ", ".join(f"{y}: {c['tokens']:,}" for y, c in per_year.items())
        )
        commit = job_cli.commit_years(
            words.repartition("year"),
            output_uri,
            years,
            {int(year): y["tokens"] for year, y in per_year.items()},
            max_drop_fraction,
        )
    finally:
        usable.unpersist()
        if words is not None:
            words.unpersist()

    _log_commit(progress, output_uri, commit, "words")
    return TitlesMetrics(
        input=input_uri,
        output=output_uri,
        layout=layout,
        files_read=files_read,
        years=list(years),
        category=options.category,
        counting=options.counting,
        backend=options.backend,
        rows_read=rows_read,
        rows_kept=by_reason.get(None, 0),
        rows_kept_by_year={str(year): kept_by_year.get(year, 0) for year in years},
        rows_dropped={reason: by_reason.get(reason, 0) for reason in DROP_REASONS},
        tokens=sum(y["tokens"] for y in per_year.values()),
        tokens_by_year={year: y["tokens"] for year, y in per_year.items()},
        distinct_words_by_year={year: y["distinct_words"] for year, y in per_year.items()},
        commit=commit,
    )


def _log_commit(progress: job_cli.Progress, output: str, commit: Commit, unit: str) -> None:
    for year, rows in commit.rows_after_by_year.items():
        before = commit.rows_before_by_year.get(year, 0)
        progress(f"wrote {rows:,} {unit} for {year} (was {before:,})")
    progress(f"committed version {commit.table_version} of {output}")


def _prune(reviews: Reviews, category: str, years: Sequence[int]) -> DataFrame:
    """The parquet edition restricted to the category and years: partition pruning and parquet
    statistics mean the others are never read."""
    frame = reviews.frame
    if reviews.layout != "parquet":
        return frame
    frame = frame.where(F.col("product_category") == category)
    if "year" in frame.columns:
        # Null years (and strings that are no year) stay in so they are counted as unparseable
        # dates, not silently skipped; the cast is a no-op for the published integer column.
        year = year_column(frame)
        frame = frame.where(year.isin(*years) | year.isNull())
    return frame


def _count_by_reason(
    spark: SparkSession, usable: DataFrame, reviews: Reviews | None
) -> tuple[dict, dict[int, int]]:
    """Rows per drop reason (None: kept), and the kept rows of each year; the first full read, so
    unreadable files surface here."""
    try:
        rows = usable.groupBy("drop_reason", "year").agg(F.sum("reviews").alias("rows")).collect()
    except Py4JJavaError:
        if reviews is None:
            raise
        error = unreadable_files_error(spark, reviews)
        if error is None:
            raise
        raise error from None
    by_reason: dict = {}
    kept_by_year: dict[int, int] = {}
    for row in rows:
        by_reason[row["drop_reason"]] = by_reason.get(row["drop_reason"], 0) + row["rows"]
        if row["drop_reason"] is None:
            kept_by_year[int(row["year"])] = int(row["rows"])
    return by_reason, kept_by_year


def _tokens_per_year(words: DataFrame, years: Sequence[int]) -> dict[str, dict[str, int]]:
    counts = {str(year): {"tokens": 0, "distinct_words": 0} for year in years}
    rows = (
        words.groupBy("year")
        .agg(F.count("*").alias("tokens"), F.countDistinct("word").alias("distinct_words"))
        .collect()
    )
    for row in rows:
        counts[str(row["year"])] = {
            "tokens": row["tokens"],
            "distinct_words": row["distinct_words"],
        }
    return counts


def run(
    spark: SparkSession, job: SparkJob, progress: job_cli.Progress = job_cli.quiet
) -> TitlesMetrics:
    return preprocess(
        spark, job.input, job.output, job.years, job.options, job.max_row_drop_fraction, progress
    )


def main(argv: Sequence[str] | None = None, pipes=None) -> TitlesMetrics:
    """The command line ``SparkJob.argv()`` renders; ``pipes``: see ``job_cli.run_main``."""
    return job_cli.run_main("preprocess_titles", __doc__.splitlines()[0], run, argv, pipes)


if __name__ == "__main__":
    main()
