"""Title cleaning, tokenizing, stop words and lemmatizing, on tiny DataFrames with exact expectations."""

import pytest
from pyspark.sql import functions as F

from spark_scripts import text


def words_of(spark, titles, stopwords=("book",), min_length=3):
    frame = spark.createDataFrame([(2001, t) for t in titles], "year int, product_title string")
    rows = text.titles_to_words(frame, text.stopword_set(stopwords), min_length).collect()
    return [row["word"] for row in rows]


def test_html_entities_tags_and_apostrophes_are_removed(spark):
    frame = spark.createDataFrame(
        [
            ("Harry Potter &amp; the Sorcerer&#39;s Stone<br/>",),
            ("Don&apos;t Panic &quot;Now&quot;",),
        ],
        "t string",
    )
    cleaned = [r[0] for r in frame.select(text.clean_title(F.col("t"))).collect()]
    assert cleaned == ["harry potter   the sorcerer stone ", "dont panic  now "]


def test_tokens_are_letters_only_lowercased_and_keep_non_ascii(spark):
    assert words_of(spark, ["Café Brontë: 101 Recipes, 2nd Ed."]) == ["café", "brontë", "recipe"]


def test_english_and_domain_stopwords_and_short_tokens_are_dropped(spark):
    words = words_of(
        spark, ["The Book of the Dead: A Novel (Volume 2)"], ("book", "novel", "volume")
    )
    assert words == ["dead"]


def test_stopwords_are_also_dropped_after_lemmatizing(spark):
    # "books" is not in the list, its lemma "book" is.
    assert words_of(spark, ["Books and Dragons"], ("book",)) == ["dragon"]


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("dragons", "dragon"),
        ("stories", "story"),
        ("churches", "church"),
        ("boxes", "box"),
        ("classes", "class"),
        ("children", "child"),
        ("wolves", "wolf"),
        ("zombies", "zombie"),
        ("glass", "glass"),
        ("virus", "virus"),
        ("analysis", "analysis"),
        ("news", "news"),
        ("james", "james"),
        ("gas", "gas"),
        ("hunger", "hunger"),
    ],
)
def test_lemmatize_folds_plurals_only(spark, word, lemma):
    frame = spark.createDataFrame([(word,)], "w string")
    assert frame.select(text.lemmatize(F.col("w"))).first()[0] == lemma


def test_min_token_length_is_configurable(spark):
    assert words_of(spark, ["Go Big Or Go Home"], (), min_length=2) == ["go", "big", "go", "home"]
    assert words_of(spark, ["Go Big Or Go Home"], (), min_length=4) == ["home"]


def test_other_columns_are_carried_to_every_word(spark):
    frame = spark.createDataFrame([(1999, "Wizard Spells")], "year int, product_title string")
    rows = text.titles_to_words(frame, text.stopword_set(())).collect()
    assert [(r["year"], r["word"]) for r in rows] == [(1999, "wizard"), (1999, "spell")]
