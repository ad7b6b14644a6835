"""The domain's values, each defined once: the years reviews have and how a set of years is written, the
product category counted by default, the NLP backends and counting units, and the defaults of every title
setting.

Plain Python on the Spark side (stdlib only): the scripts use these values on a cluster without Dagster,
and ``wordcloud_pipeline`` imports them from here (its resource fields are typed by ``Backend`` and
``Counting``), so a value is never spelled twice.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Literal, get_args

# The published dataset's first and last years: the demo's range, and the earliest year a review can have.
FIRST_YEAR = 1995
LAST_YEAR = 2015

# The product_category whose titles are counted unless a run says otherwise.
DEFAULT_CATEGORY = "Books"

Backend = Literal["sparkml", "sparknlp"]
BACKENDS: tuple[str, ...] = get_args(Backend)
# The one default of every launcher (benchmarks/bench_nlp_backends.py measures both backends).
DEFAULT_BACKEND: Backend = "sparkml"

# 'titles': a word once per distinct title per year (the original template); 'reviews': once per review.
Counting = Literal["titles", "reviews"]
COUNTING_UNITS: tuple[str, ...] = get_args(Counting)
DEFAULT_COUNTING: Counting = "titles"
# The settings that made a year's words, stored as columns next to them (in the titles and the counts
# tables), so whatever reads a year reads how it was made from the data itself.
SETTING_COLUMNS = ("counting", "backend")

# The original template's extra stop words, plus "novel" ("A Novel" is publisher boilerplate).
DEFAULT_DOMAIN_STOPWORDS = ("book", "edition", "series", "serie", "volume", "vol", "guide", "novel")
DEFAULT_MIN_TOKEN_LENGTH = 3
# A year may lose at most this share of its rows in one run unless the run says otherwise.
DEFAULT_MAX_DROP_FRACTION = 0.5
# A review's date outside FIRST_YEAR..the current year (1899, 2099, year 1) is a typo or a placeholder:
# dropped and counted as ``date_out_of_range``.
DROP_REASONS = (
    "malformed_row",
    "blank_title",
    "unparseable_date",
    "date_out_of_range",
    "other_category",
    "other_year",
)


def year_spans(years: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of ``years``: 2003, 2014, 2015 -> [(2003, 2003), (2014, 2015)]."""
    spans: list[tuple[int, int]] = []
    for year in sorted(set(years)):
        if spans and spans[-1][1] == year - 1:
            spans[-1] = (spans[-1][0], year)
        else:
            spans.append((year, year))
    return spans


def format_years(years: Iterable[int], separator: str = ",") -> str:
    """The shortest ``parse_years`` text for ``years``: contiguous runs as ranges ('' for none).

    ``separator=", "`` gives the same text for people: [1995, 1996, 1997, 2001] -> '1995-1997, 2001'.
    """
    return separator.join(
        str(first) if first == last else f"{first}-{last}" for first, last in year_spans(years)
    )


def parse_years(text: str) -> list[int]:
    """'2001,2003' or '1995-2015' (inclusive) or a mix: '1995-1997,2001'."""
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, last = (int(p) for p in part.split("-", 1))
            if last < first:
                raise argparse.ArgumentTypeError(f"year range {part!r} ends before it starts")
            years.update(range(first, last + 1))
        else:
            years.add(int(part))
    if not years:
        raise argparse.ArgumentTypeError("--years needs at least one year")
    return sorted(years)
