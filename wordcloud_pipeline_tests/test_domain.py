"""The domain's shared values: a set of years as spans and as text, both ways."""

from __future__ import annotations

import argparse

import pytest

from spark_scripts.domain import format_years, parse_years, year_spans


def test_year_spans_groups_contiguous_years():
    assert year_spans([2015, 2003, 2014, 2004, 1999]) == [(1999, 1999), (2003, 2004), (2014, 2015)]
    assert year_spans([]) == []


def test_missing_years_are_listed_as_ranges() -> None:
    assert format_years([2001, 1995, 1996, 1997, 2003, 2004], ", ") == "1995-1997, 2001, 2003-2004"
    assert format_years([], ", ") == ""


def test_format_years_is_what_parse_years_reads() -> None:
    years = [1995, 1996, 1997, 2001, 2014, 2015]
    assert format_years(years) == "1995-1997,2001,2014-2015"
    assert parse_years(format_years(years)) == years
    with pytest.raises(argparse.ArgumentTypeError, match="ends before it starts"):
        parse_years("2003-2001")
