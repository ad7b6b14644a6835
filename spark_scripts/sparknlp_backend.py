"""Title text to words with spark-nlp (the ``sparknlp`` backend), as the original template did.

DocumentAssembler -> Tokenizer -> Normalizer (lowercase, letters only) -> StopWordsCleaner -> pretrained
Lemmatizer (``lemma_antbnc``, a dictionary lemmatizer) -> Finisher. The output contract is the ``sparkml``
backend's: one ``(year, word)`` row per kept word, stop words and short tokens dropped before and after
lemmatizing. The title is first cleaned by ``text.clean_title`` (HTML entities, apostrophes) so both
backends see the same text and differ only in tokenizing and lemmatizing.

It needs the spark-nlp jar on the JVM classpath (``spark-submit --packages
com.johnsnowlabs.nlp:spark-nlp_2.12:7.0.0`` for Spark 3.5) and, for the lemmatizer, network access to
John Snow Labs' model store. Neither exists on the development machine, so the pipeline is described as
data (``stage_specs``) and its post-processing is a plain DataFrame function: both are tested without
the jar; only ``build_pipeline`` and ``titles_to_words`` need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_scripts import text

LEMMA_MODEL = ("lemma_antbnc", "en")
FINISHED_COLUMN = "lemmas"
TITLE_COLUMN = "product_title"
# The classes each stage is built from, by module.
STAGE_MODULES = {
    "DocumentAssembler": "sparknlp.base",
    "Finisher": "sparknlp.base",
    "Tokenizer": "sparknlp.annotator",
    "Normalizer": "sparknlp.annotator",
    "StopWordsCleaner": "sparknlp.annotator",
    "LemmatizerModel": "sparknlp.annotator",
}
JAR_CLASS = "com.johnsnowlabs.nlp.DocumentAssembler"


class SparkNlpUnavailable(RuntimeError):
    """The spark-nlp jar is not on the classpath; the message says how to attach it."""


@dataclass(frozen=True)
class StageSpec:
    """One pipeline stage: its class and the values of its ``set<Param>`` setters.

    ``pretrained`` names a downloadable model ``(name, language)`` instead of a constructed annotator.
    """

    annotator: str
    params: dict[str, Any]
    pretrained: tuple[str, str] | None = field(default=None)


def stage_specs(
    stopwords: Sequence[str], lemma_model: tuple[str, str] = LEMMA_MODEL
) -> list[StageSpec]:
    """The spark-nlp pipeline of the original template, with our stop-word list."""
    return [
        StageSpec(
            "DocumentAssembler",
            {"inputCol": TITLE_COLUMN, "outputCol": "document", "cleanupMode": "shrink"},
        ),
        StageSpec("Tokenizer", {"inputCols": ["document"], "outputCol": "token"}),
        StageSpec(
            "Normalizer",
            {
                "inputCols": ["token"],
                "outputCol": "normalized",
                "lowercase": True,
                # Keep letters only (any script), like the sparkml backend's token separator.
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
            "LemmatizerModel",
            {"inputCols": ["cleaned"], "outputCol": "lemma"},
            pretrained=lemma_model,
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
        cls = getattr(importlib.import_module(STAGE_MODULES[spec.annotator]), spec.annotator)
        stage = cls.pretrained(*spec.pretrained) if spec.pretrained else cls()
        for param, value in spec.params.items():
            getattr(stage, setter(param))(value)
        stages.append(stage)
    return Pipeline(stages=stages)


def require_jar(
    frame: DataFrame, coordinate_hint: str = "com.johnsnowlabs.nlp:spark-nlp_2.12:7.0.0"
):
    """Fails with a clear message when the JVM cannot load spark-nlp (rather than a py4j error)."""
    from py4j.java_gateway import JavaClass

    jvm = frame.sparkSession.sparkContext._jvm
    candidate = jvm
    for part in JAR_CLASS.split("."):
        candidate = getattr(candidate, part)
    if not isinstance(candidate, JavaClass):
        raise SparkNlpUnavailable(
            f"the sparknlp backend needs the spark-nlp jar ({JAR_CLASS} is not on the classpath): "
            f"submit with --packages {coordinate_hint} (the EMR launcher does), or use --backend sparkml"
        )


def words_from_finished(
    finished: DataFrame,
    stopwords: Iterable[str],
    min_token_length: int,
    words_column: str = FINISHED_COLUMN,
) -> DataFrame:
    """(year, word) from the Finisher's array of lemmas: lowercased, letters only, filtered again.

    A lemma can be a stop word or too short even when its token was not ("lives" -> "life" is fine,
    "guides" -> "guide" is a domain stop word), so the filters run after lemmatizing too.
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
    require_jar(titles)
    stopwords = text.stopword_set(options.domain_stopwords)
    cleaned = titles.select("year", text.clean_title(F.col(TITLE_COLUMN)).alias(TITLE_COLUMN))
    finished = build_pipeline(stage_specs(stopwords)).fit(cleaned).transform(cleaned)
    return words_from_finished(finished, stopwords, options.min_token_length)
