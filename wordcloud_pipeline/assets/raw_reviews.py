"""The input: Amazon Customer Reviews files that someone else writes."""

import dagster as dg

raw_reviews = dg.AssetSpec(
    "raw_reviews",
    description="Amazon Customer Reviews files, TSV.gz or parquet, at the storage resource's "
    "reviews_uri (else WORDCLOUD_REVIEWS_URI, else data/reviews).",
    group_name="wordcloud",
    # Both layouts are read (the published TSV.gz files and the parquet edition): both kinds shown.
    kinds={"tsv", "parquet"},
)
