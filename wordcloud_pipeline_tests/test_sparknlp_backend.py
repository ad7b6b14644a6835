"""The spark-nlp backend, executed: its jar is on the test session (conftest), its lemmas from lemminflect."""

from __future__ import annotations

import importlib

from spark_scripts import sparknlp_backend, text
from spark_scripts.domain import DEFAULT_DOMAIN_STOPWORDS, DEFAULT_MIN_TOKEN_LENGTH
from spark_scripts.job_contract import TitleOptions
from spark_scripts.preprocess_titles import (
    titles_to_count,
    to_words,
    usable_titles,
    with_drop_reason,
)
from spark_scripts.reviews import read_reviews


def stopwords() -> list[str]:
    """The backends' stop words (Spark ML's list needs the JVM, so only inside a test)."""
    return text.stopword_set(DEFAULT_DOMAIN_STOPWORDS)


# Each title with the words spark-nlp must make of it, in order.
GOLDEN = [
    # plurals fold to their singular, irregular ones too
    ("The Stories of Wolves and Mice", ["story", "wolf", "mouse"]),
    ("Women Who Run With the Wolves", ["woman", "run", "wolf"]),
    # stop words (English and the domain list, also as lemmas: "Guides" -> "guide") and short tokens go
    ("A Guide to the Best Guides of the World (Book 2)", ["best", "world"]),
    # HTML entities and tags
    ("Harry Potter&#39;s Children &amp; <b>Dragons</b>", ["harry", "potter", "child", "dragon"]),
    # non-ASCII letters are letters; accents stay
    ("Café Crème: Brûlée Recipes from Ñandú", ["café", "crème", "brûlée", "recipe", "ñandú"]),
    # apostrophes: possessive dropped, contractions joined ("dont", then a stop word); "cooking" stays
    (
        "Don't Stop Cooking: Grandma\u2019s Kitchen",
        ["stop", "cooking", "grandma", "kitchen"],
    ),
    # any non-letter separates words; digits vanish
    ("X-Men 9/11 Lives", ["man", "life"]),
]


def words_of(spark, backend: str, titles: list[str]) -> list[list[str]]:
    frame = spark.createDataFrame(
        [(i, t) for i, t in enumerate(titles)], "year int, product_title string"
    )
    rows = to_words(frame, TitleOptions(backend=backend)).collect()
    found: list[list[str]] = [[] for _ in titles]
    for row in rows:
        found[row["year"]].append(row["word"])
    return found


def test_every_stage_param_is_a_real_spark_nlp_setter():
    """The pipeline is data; each name must resolve to a spark-nlp class and its ``set<Param>``."""
    specs = sparknlp_backend.stage_specs(["the", "book"], "file:///lemmas.txt")
    assert [s.annotator for s in specs] == [
        "DocumentAssembler",
        "Tokenizer",
        "Normalizer",
        "StopWordsCleaner",
        "Lemmatizer",
        "Finisher",
    ]
    for spec in specs:
        module = importlib.import_module(sparknlp_backend.STAGE_MODULES[spec.annotator])
        cls = getattr(module, spec.annotator)
        for param in spec.params:
            assert callable(getattr(cls, sparknlp_backend.setter(param), None)), (spec, param)
    # Each stage reads what the previous one wrote.
    outputs = {"product_title"}
    for spec in specs:
        inputs = spec.params.get("inputCols") or [spec.params["inputCol"]]
        assert set(inputs) <= outputs, spec
        outputs |= set(spec.params.get("outputCols") or [spec.params["outputCol"]])
    assert specs[3].params["stopWords"] == ["the", "book"]
    assert specs[4].params["dictionary"] == ("file:///lemmas.txt", "->", "\t")


def test_golden_words_through_spark_nlp(spark):
    titles = [title for title, _ in GOLDEN]
    assert words_of(spark, "sparknlp", titles) == [words for _, words in GOLDEN]


def test_both_backends_honour_the_year_word_contract(spark, sample_tsv):
    """Same schema, same filters, same years; they differ only where lemmatizing does."""
    frame = read_reviews(spark, str(sample_tsv)).frame
    usable = usable_titles(with_drop_reason(frame, "Books", list(range(1995, 2016))))
    titles = titles_to_count(usable, "titles").orderBy("year", "product_title").limit(400)
    outputs = {
        backend: to_words(titles, TitleOptions(backend=backend))
        for backend in ("sparkml", "sparknlp")
    }
    schemas = {
        b: [(f.name, f.dataType.simpleString()) for f in o.schema] for b, o in outputs.items()
    }
    assert schemas["sparkml"] == schemas["sparknlp"] == [("year", "int"), ("word", "string")]
    rows = {b: [(r["year"], r["word"]) for r in o.collect()] for b, o in outputs.items()}
    stop = set(stopwords())
    for found in rows.values():
        assert found
        for _, word in found:
            assert len(word) >= DEFAULT_MIN_TOKEN_LENGTH
            assert word == word.lower() and word.isalpha() and word not in stop
    assert {y for y, _ in rows["sparkml"]} == {y for y, _ in rows["sparknlp"]}
    shared = set(rows["sparkml"]) & set(rows["sparknlp"])
    assert len(shared) >= 0.8 * len(set(rows["sparkml"]))


def test_finished_lemmas_become_year_word_rows(spark):
    finished = spark.createDataFrame(
        [
            (2003, ["Dragon", "guide", "of", "the", "life", "x", "42", "café"]),
            (2004, ["Story", "STORY"]),
            (2005, []),
        ],
        "year int, lemmas array<string>",
    )
    rows = sparknlp_backend.words_from_finished(finished, stopwords(), 3).collect()
    assert sorted((r["year"], r["word"]) for r in rows) == [
        (2003, "café"),
        (2003, "dragon"),
        (2003, "life"),
        (2004, "story"),
        (2004, "story"),
    ]


def test_a_shipped_dictionary_is_what_the_lemmatizer_learns(spark, tmp_path):
    """--lemma-dictionary replaces the lemminflect one: the EMR step's path is really used."""
    shipped = tmp_path / "lemmas.txt"
    shipped.write_text("wolf -> wolves\nzebra -> dragons\n", encoding="utf-8")
    frame = spark.createDataFrame(
        [(1, "Wolves and Dragons and Stories")], "year int, product_title string"
    )
    options = TitleOptions(backend="sparknlp", lemma_dictionary=str(shipped))
    assert [r["word"] for r in to_words(frame, options).collect()] == ["wolf", "zebra", "stories"]
