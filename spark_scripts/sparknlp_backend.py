"""Title text to words with spark-nlp (the ``sparknlp`` backend), as the original template did.

DocumentAssembler -> Tokenizer -> Normalizer (lowercase, letters only) -> StopWordsCleaner (an explicit list)
-> Lemmatizer (a dictionary lemmatizer trained from ``lemma_dictionary``) -> Finisher. The output contract is
the ``sparkml`` backend's: one ``(year, word)`` row per kept word, stop words and short tokens dropped before
and after lemmatizing. The title is first cleaned by ``text.clean_title`` (HTML entities, apostrophes) so both
backends see the same text and differ only in tokenizing and lemmatizing.

Nothing is downloaded at run time but the jar (``spark_packages.spark_nlp_coordinate``, resolved from Maven
Central by ``spark.jars.packages`` / ``--packages`` into the Ivy cache): the original template's pretrained
``lemma_antbnc`` model and stop-word list came from John Snow Labs' model store, which CI and EMR nodes in
private subnets cannot reach. The pipeline is described as data (``stage_specs``) so its shape is testable
on its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_scripts import hadoop_fs, lemma_dictionary, spark_packages, text

FINISHED_COLUMN = "lemmas"
TITLE_COLUMN = "product_title"
# The classes each stage is built from, by module.
STAGE_MODULES = {
    "DocumentAssembler": "sparknlp.base",
    "Finisher": "sparknlp.base",
    "Tokenizer": "sparknlp.annotator",
    "Normalizer": "sparknlp.annotator",
    "StopWordsCleaner": "sparknlp.annotator",
    "Lemmatizer": "sparknlp.annotator",
}
JAR_CLASS = "com.johnsnowlabs.nlp.DocumentAssembler"


class SparkNlpUnavailable(RuntimeError):
    """The spark-nlp jar is not on the classpath; the message says how to attach it."""


@dataclass(frozen=True)
class StageSpec:
    """One pipeline stage: its class and the values of its ``set<Param>`` setters (a tuple value is
    passed as several arguments, as ``setDictionary(path, keyDelimiter, valueDelimiter)`` needs)."""

    annotator: str
    params: dict[str, Any]


def stage_specs(stopwords: Sequence[str], dictionary_uri: str) -> list[StageSpec]:
    """The spark-nlp pipeline of the original template, with our stop words and lemma dictionary."""
    return [
        StageSpec(
            "DocumentAssembler",
            {"inputCol": TITLE_COLUMN, "outputCol": "document", "cleanupMode": "shrink"},
        ),
        # Any run of non-letters separates tokens ("x-men" -> "x", "men"), like the sparkml backend.
        StageSpec(
            "Tokenizer",
            {"inputCols": ["document"], "outputCol": "token", "splitPattern": r"[^\p{L}]+"},
        ),
        StageSpec(
            "Normalizer",
            {
                "inputCols": ["token"],
                "outputCol": "normalized",
                "lowercase": True,
                # Keep letters only (any script): what the tokenizer's infix rules left attached.
                "cleanupPatterns": [r"[^\p{L}]"],
            },
        ),
        StageSpec(
            "StopWordsCleaner",
            {
                "inputCols": ["normalized"],
                "outputCol": "cleaned",
                "stopWords": list(stopwords),
                "caseSensitive": False,
            },
        ),
        StageSpec(
            "Lemmatizer",
            {
                "inputCols": ["cleaned"],
                "outputCol": "lemma",
                "dictionary": (
                    dictionary_uri,
                    lemma_dictionary.KEY_DELIMITER,
                    lemma_dictionary.VALUE_DELIMITER,
                ),
            },
        ),
        StageSpec(
            "Finisher",
            {
                "inputCols": ["lemma"],
                "outputCols": [FINISHED_COLUMN],
                "outputAsArray": True,
                "cleanAnnotations": True,
                "includeMetadata": False,
            },
        ),
    ]


def setter(param: str) -> str:
    return "set" + param[0].upper() + param[1:]


def build_pipeline(specs: Iterable[StageSpec]):
    """A ``pyspark.ml.Pipeline`` of spark-nlp stages (needs the jar: stages wrap JVM objects)."""
    import importlib

    from pyspark.ml import Pipeline

    stages = []
    for spec in specs:
        stage = getattr(importlib.import_module(STAGE_MODULES[spec.annotator]), spec.annotator)()
        for param, value in spec.params.items():
            args = value if isinstance(value, tuple) else (value,)
            getattr(stage, setter(param))(*args)
        stages.append(stage)
    return Pipeline(stages=stages)


def require_jar(spark: SparkSession) -> None:
    """Fails with a clear message when the JVM cannot load spark-nlp (rather than a py4j error)."""
    from py4j.java_gateway import JavaClass

    candidate = spark.sparkContext._jvm
    for part in JAR_CLASS.split("."):
        candidate = getattr(candidate, part)
    if not isinstance(candidate, JavaClass):
        coordinate = spark_packages.local_spark_nlp()
        raise SparkNlpUnavailable(
            f"the sparknlp backend needs the spark-nlp jar {coordinate} ({JAR_CLASS} is not on the "
            f"classpath): start Spark with spark.jars.packages={coordinate} (spark-submit --packages "
            f"{coordinate} --exclude-packages {','.join(spark_packages.SPARK_NLP_EXCLUDES)}; the local "
            "and EMR launchers do this for the sparknlp backend), or with spark.jars listing the "
            "downloaded jars; or use the sparkml backend"
        )


def local_dictionary(spark: SparkSession, uri: str | None) -> str:
    """A ``file://`` URI of the lemma dictionary on the driver's disk, which spark-nlp reads when it fits.

    None: made from lemminflect on this machine (first use). A remote URI (the EMR step's ``s3://`` copy
    shipped next to the scripts) is copied down first. The scheme is explicit because a bare path means
    HDFS on a cluster.
    """
    if uri is None:
        return lemma_dictionary.ensure_dictionary().resolve().as_uri()
    if uri.startswith("file:") or "://" not in uri:
        return Path(uri.removeprefix("file://")).resolve().as_uri()
    local = Path(tempfile.mkdtemp(prefix="wordcloud-lemmas-")) / lemma_dictionary.FILE_NAME
    hadoop_fs.copy_to_local(spark, uri, str(local))
    return local.as_uri()


def words_from_finished(
    finished: DataFrame,
    stopwords: Iterable[str],
    min_token_length: int,
    words_column: str = FINISHED_COLUMN,
) -> DataFrame:
    """(year, word) from the Finisher's array of lemmas: lowercased, letters only, filtered again.

    A lemma can be a stop word or too short even when its token was not ("guides" -> "guide" is a domain
    stop word), so the filters run after lemmatizing too.
    """
    stop = sorted({w.lower() for w in stopwords})

    def keep(word: Column) -> Column:
        return (F.length(word) >= min_token_length) & ~word.isin(*stop) & word.rlike(r"^\p{L}+$")

    words = finished.select("year", F.explode(words_column).alias("raw")).select(
        "year", F.lower(F.trim(F.col("raw"))).alias("word")
    )
    return words.where(keep(F.col("word")))


def titles_to_words(titles: DataFrame, options: Any) -> DataFrame:
    """The ``sparknlp`` backend of ``preprocess_titles.to_words``: (year, product_title) -> (year, word)."""
    spark = titles.sparkSession
    require_jar(spark)
    stopwords = text.stopword_set(options.domain_stopwords)
    dictionary = local_dictionary(spark, getattr(options, "lemma_dictionary", None))
    cleaned = titles.select("year", text.clean_title(F.col(TITLE_COLUMN)).alias(TITLE_COLUMN))
    finished = build_pipeline(stage_specs(stopwords, dictionary)).fit(cleaned).transform(cleaned)
    return words_from_finished(finished, stopwords, options.min_token_length)
