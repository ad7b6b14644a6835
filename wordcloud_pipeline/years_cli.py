"""``wordcloud-years``: make years partitions of the Dagster instance without the sensor or the demo.

The year partitions are dynamic (``partitions.py``): a fresh instance has none, and ``dagster asset
materialize --partition-range`` or the UI's partition picker need them. ``wordcloud-demo`` and the
new-reviews sensor add them by themselves; this command is for the other paths (your own data, the CLI).

    wordcloud-years                 # the years the review files at WORDCLOUD_REVIEWS_URI hold
    wordcloud-years 1995-2015       # these years (parse_years syntax: 1995-1997,2001)
    wordcloud-years --list          # print the instance's years, oldest first
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import dagster as dg

from spark_scripts.domain import format_years, parse_years
from wordcloud_pipeline import files
from wordcloud_pipeline.instance_home import prepare_home
from wordcloud_pipeline.partitions import add_years, known_years, valid_year
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.review_years import list_review_files, years_in_file
from wordcloud_pipeline.sample_data import DEMO_SAMPLE_ROWS, write_sample


def years_in_location(location: str, category: str) -> set[int]:
    """Every year the review files under ``location`` hold for ``category`` (reads each file's dates)."""
    years: set[int] = set()
    for review_file in list_review_files(location):
        years |= years_in_file(review_file.uri, category)
    return years


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "years", nargs="?", help="years to add, e.g. 1995-2015 (default: from data)"
    )
    parser.add_argument("--list", action="store_true", help="only print the instance's years")
    args = parser.parse_args(argv)
    home = prepare_home()
    print(f"Dagster instance: {home}", flush=True)  # noqa: T201 - where the years are written
    with dg.DagsterInstance.get() as instance:
        if not args.list:
            if args.years:
                wanted = set(parse_years(args.years))
            else:
                storage = PipelineStorage()
                location = storage.reviews_location()
                if storage.uses_default_reviews() and not files.has_files(location):
                    print(f"no reviews at {location}: writing the demo's sample")  # noqa: T201
                    write_sample(files.local_path(location), DEMO_SAMPLE_ROWS)
                wanted = years_in_location(location, TitleProcessing().category)
            invalid = sorted(y for y in wanted if not valid_year(y))
            if invalid:
                parser.error(f"not years of reviews (1995 to this year): {format_years(invalid)}")
            added = add_years(instance, wanted)
            print(f"added: {format_years(added) if added else 'none'}")  # noqa: T201
        years = known_years(instance)
        print(f"years in {home}: {format_years(years) if years else 'none'}")  # noqa: T201


if __name__ == "__main__":
    main()
