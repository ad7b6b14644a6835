"""The input: Amazon Customer Reviews files that someone else writes."""

import dagster as dg

from wordcloud_pipeline.resources.storage import LOCATION_METADATA, REVIEWS_LOCATION

raw_reviews = dg.AssetSpec(
    "raw_reviews",
    description="Amazon Customer Reviews files, TSV.gz or parquet, at the storage resource's "
    "reviews_uri (else WORDCLOUD_REVIEWS_URI, else data/reviews).",
    group_name="wordcloud",
    # Both layouts are read (the published TSV.gz files and the parquet edition): both kinds shown.
    kinds={"tsv", "parquet"},
    # Read where the storage resource's reviews_uri points, not under the storage root.
    metadata={LOCATION_METADATA: REVIEWS_LOCATION},
)
