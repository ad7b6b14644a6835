"""Word clouds of Amazon book-review titles per year, as Dagster assets on local Spark or EMR."""

from wordcloud_pipeline.definitions import defs

__all__ = ["defs"]
