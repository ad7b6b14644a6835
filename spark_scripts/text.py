"""Title text to words, with native Spark only (the ``sparkml`` backend).

Every step is a Spark SQL expression, so the whole chain is code-generated and runs without Python UDFs or
extra jars: lowercase, HTML entities removed, split on anything that is not a letter, stop words and short
tokens dropped, plurals folded to their singular by rules (a light lemmatizer; spark-nlp's dictionary
lemmatizer is the ``sparknlp`` backend on EMR).
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Defined with the job contract (the Dagster side reads them without importing pyspark).
from spark_scripts.domain import DEFAULT_MIN_TOKEN_LENGTH

# Anything that is not a letter separates words; letters include non-ASCII ones (é, ë, ñ).
TOKEN_SEPARATOR = r"[^\p{L}]+"
_APOSTROPHE_ENTITIES = r"&(#0*39|#x0*27|apos|rsquo|lsquo);"
_OTHER_ENTITIES = r"&(#[0-9]+|#x[0-9a-f]+|[a-z]+);"
_HTML_TAGS = r"<[^>]*>"

# Plurals the suffix rules get wrong.
IRREGULAR_PLURALS = {
    "children": "child",
    "men": "man",
    "women": "woman",
    "people": "person",
    "lives": "life",
    "wives": "wife",
    "knives": "knife",
    "leaves": "leaf",
    "wolves": "wolf",
    "thieves": "thief",
    "halves": "half",
    "shelves": "shelf",
    "elves": "elf",
    "dwarves": "dwarf",
    "mice": "mouse",
    "geese": "goose",
    "feet": "foot",
    "teeth": "tooth",
    "heroes": "hero",
    "potatoes": "potato",
    "tomatoes": "tomato",
    "cookies": "cookie",
    "movies": "movie",
    "zombies": "zombie",
    "calories": "calorie",
    "brownies": "brownie",
    "pies": "pie",
    "lies": "lie",
    "ties": "tie",
    "smoothies": "smoothie",
    "headaches": "headache",
    "aches": "ache",
}
# Words that end in "s" but are not plurals (names, places, -ics subjects).
NOT_PLURALS = frozenset(
    """news series species physics mathematics economics politics ethics statistics always perhaps
    christmas paris texas kansas arkansas vegas dallas atlas canvas bias lens chaos jesus james jones
    dickens charles holmes thomas nicholas douglas marcus hastings williams adams athens""".split()
)


def english_stopwords() -> list[str]:
    """Spark ML's English stop-word list, with apostrophes removed as titles are cleaned the same way."""
    from pyspark.ml.feature import StopWordsRemover

    return sorted({w.replace("'", "") for w in StopWordsRemover.loadDefaultStopWords("english")})


def stopword_set(domain_stopwords: Iterable[str]) -> list[str]:
    """English stop words plus the domain list, lowercased, as one sorted list."""
    return sorted(set(english_stopwords()) | {w.strip().lower() for w in domain_stopwords if w})


def clean_title(title: Column) -> Column:
    """Lowercased title with HTML tags and entities removed and apostrophes dropped ("don't" -> "dont").

    The regular expressions run only on titles holding a character one of them needs: most titles hold
    none, and a regexp_replace costs a copy of the title into a Java string and a scan even when nothing
    matches.
    """
    text = F.lower(title)
    cleaned = F.regexp_replace(text, _HTML_TAGS, " ")
    cleaned = F.regexp_replace(cleaned, _APOSTROPHE_ENTITIES, "'")
    cleaned = F.regexp_replace(cleaned, _OTHER_ENTITIES, " ")
    cleaned = F.regexp_replace(cleaned, "['\u2019]s\\b", "")
    cleaned = F.regexp_replace(cleaned, "['\u2019]", "")
    needs_cleaning = text.contains("<")
    for character in ("&", "'", "\u2019"):
        needs_cleaning = needs_cleaning | text.contains(character)
    return F.when(needs_cleaning, cleaned).otherwise(text)


def _drop_suffix(word: Column, length: int) -> Column:
    return word.substr(F.lit(1), F.length(word) - length)


def lemmatize(word: Column) -> Column:
    """Folds an English plural to its singular: stories -> story, churches -> church, dragons -> dragon."""
    irregular = F.create_map(*[F.lit(x) for pair in IRREGULAR_PLURALS.items() for x in pair])
    known = F.try_element_at(irregular, word)
    return (
        F.when(word.isin(*NOT_PLURALS), word)
        .when(known.isNotNull(), known)
        .when(word.endswith("sses"), _drop_suffix(word, 2))
        .when(_ends_with_any(word, "ches", "shes", "xes"), _drop_suffix(word, 2))
        .when(
            word.endswith("ies") & (F.length(word) > 4), F.concat(_drop_suffix(word, 3), F.lit("y"))
        )
        # Suffix tests rather than regular expressions ("[^siu']s$"): the same words, at a fraction of
        # the cost per token.
        .when(
            word.endswith("s")
            & ~_ends_with_any(word, "ss", "is", "us", "'s")
            & (F.length(word) > 3),
            _drop_suffix(word, 1),
        )
        .otherwise(word)
    )


def _ends_with_any(word: Column, *suffixes: str) -> Column:
    test = word.endswith(suffixes[0])
    for suffix in suffixes[1:]:
        test = test | word.endswith(suffix)
    return test


def titles_to_words(
    titles: DataFrame,
    stopwords: Iterable[str],
    min_token_length: int = DEFAULT_MIN_TOKEN_LENGTH,
    title_column: str = "product_title",
) -> DataFrame:
    """One row per kept word of each title: ``titles`` columns except the title, plus ``word``.

    Stop words and short tokens are dropped before and after lemmatizing, so "guides" goes when "guide" is a
    stop word.
    """
    stop = sorted(set(stopwords))

    def keep(word: Column) -> Column:
        return (F.length(word) >= min_token_length) & ~word.isin(*stop)

    others = [c for c in titles.columns if c != title_column]
    tokens = titles.select(
        *others,
        F.explode(F.split(clean_title(F.col(title_column)), TOKEN_SEPARATOR)).alias("token"),
    )
    return (
        tokens.where(keep(F.col("token")))
        .select(*others, lemmatize(F.col("token")).alias("word"))
        .where(keep(F.col("word")))
    )
