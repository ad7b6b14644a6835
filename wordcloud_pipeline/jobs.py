"""The named jobs a person launches from the UI (Jobs -> launchpad), and the sensors target.

- ``yearly_job``: everything a year needs, upstream included (the ingest of new review files, titles,
  counts, cloud), partitioned by year (the partitions are inferred from the assets). Its launchpad shows
  every resource its four assets use, so ``title_processing.counting`` can be set there. A range of
  years launched as one run (the range tags, as ``wordcloud-demo`` and the new-reviews sensor send) runs
  one Spark job per asset.
- ``pictures_job``: the all-years pictures (the animation and the rank plot), unpartitioned.
"""

import dagster as dg

from wordcloud_pipeline.assets.animation import word_cloud_animation
from wordcloud_pipeline.assets.clouds import word_clouds
from wordcloud_pipeline.assets.counts import words_by_year
from wordcloud_pipeline.assets.ingest import ingested_reviews
from wordcloud_pipeline.assets.rank_plot import word_rank_trends
from wordcloud_pipeline.assets.titles import preprocessed_titles

# The unpartitioned ingest runs first in every yearly run: it reads only new or changed files, so a
# run of one year costs a listing when nothing arrived, and never misses a file that did.
YEARLY_ASSETS = [ingested_reviews, preprocessed_titles, words_by_year, word_clouds]
# Unpartitioned pictures of all years, refreshed after a batch of years (not in a partition range).
SUMMARY_ASSETS = [word_cloud_animation, word_rank_trends]

yearly_job = dg.define_asset_job(
    "yearly_job",
    selection=dg.AssetSelection.assets(*YEARLY_ASSETS),
    description="One year (or a range of years as one run) from the raw reviews to its word cloud: "
    "ingested_reviews (new or changed files only), then preprocessed_titles, words_by_year and "
    "word_clouds for the years, with their checks.",
)

pictures_job = dg.define_asset_job(
    "pictures_job",
    selection=dg.AssetSelection.assets(*SUMMARY_ASSETS),
    description="The pictures of all years: the animated GIF of the clouds and the word rank plot.",
)


def spark_steps_per_run() -> int:
    """The most Spark jobs one run starts (one EMR step each): the yearly job's Spark assets."""
    return sum("spark" in spec.kinds for asset in YEARLY_ASSETS for spec in asset.specs)
