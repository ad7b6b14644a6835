"""The spark-nlp backend, tested as far as possible without its jar (which cannot be downloaded here)."""

from __future__ import annotations

import importlib

import pytest

from spark_scripts import sparknlp_backend, text
from spark_scripts.preprocess_titles import PreprocessOptions, to_words


def test_every_stage_param_is_a_real_spark_nlp_setter():
    """The pipeline is data; each name must resolve to a spark-nlp class and its ``set<Param>``."""
    specs = sparknlp_backend.stage_specs(["the", "book"])
    assert [s.annotator for s in specs] == [
        "DocumentAssembler",
        "Tokenizer",
        "Normalizer",
        "StopWordsCleaner",
        "LemmatizerModel",
        "Finisher",
    ]
    for spec in specs:
        module = importlib.import_module(sparknlp_backend.STAGE_MODULES[spec.annotator])
        cls = getattr(module, spec.annotator)
        for param in spec.params:
            assert callable(getattr(cls, sparknlp_backend.setter(param), None)), (spec, param)
        if spec.pretrained:
            assert callable(cls.pretrained)
    # Each stage reads what the previous one wrote.
    outputs = {"product_title"}
    for spec in specs:
        inputs = spec.params.get("inputCols") or [spec.params["inputCol"]]
        assert set(inputs) <= outputs, spec
        outputs |= set(spec.params.get("outputCols") or [spec.params["outputCol"]])
    assert specs[3].params["stopWords"] == ["the", "book"]
    assert specs[4].pretrained == ("lemma_antbnc", "en")


def test_finished_lemmas_become_year_word_rows(spark):
    finished = spark.createDataFrame(
        [
            (2003, ["Dragon", "guide", "of", "the", "life", "x", "42", "café"]),
            (2004, ["Story", "STORY"]),
            (2005, []),
        ],
        "year int, lemmas array<string>",
    )
    stopwords = text.stopword_set(text.DEFAULT_DOMAIN_STOPWORDS)
    rows = sparknlp_backend.words_from_finished(finished, stopwords, 3).collect()
    assert sorted((r["year"], r["word"]) for r in rows) == [
        (2003, "café"),
        (2003, "dragon"),
        (2003, "life"),
        (2004, "story"),
        (2004, "story"),
    ]
    assert sparknlp_backend.words_from_finished(finished, stopwords, 3).columns == ["year", "word"]


def test_without_the_jar_the_backend_says_how_to_attach_it(spark):
    titles = spark.createDataFrame([(2003, "A Dragon Story")], "year int, product_title string")
    options = PreprocessOptions(years=[2003], backend="sparknlp")
    with pytest.raises(sparknlp_backend.SparkNlpUnavailable, match=r"--packages com\.johnsnowlabs"):
        to_words(titles, options)
