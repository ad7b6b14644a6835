"""The input: Amazon Customer Reviews files that someone else writes."""

import dagster as dg

raw_reviews = dg.AssetSpec(
    "raw_reviews",
    description="Amazon Customer Reviews files (TSV.gz or parquet) at WORDCLOUD_REVIEWS_URI.",
    group_name="wordcloud",
    kinds={"parquet"},
)
