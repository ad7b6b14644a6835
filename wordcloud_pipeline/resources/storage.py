"""Where the data lives: the raw reviews and each asset's output.

``PipelineStorage`` (a resource) owns the raw reviews location and ``<root>/<asset key>/...`` for every
asset's output, with the file names of the pictures inside it. An asset's input is the location of the
asset it declares as its dependency, looked up in the asset graph (a source asset such as ``raw_reviews``
is the reviews location). Assets and command-line tools ask it for paths; none spells one. The EMR
launcher's own objects in the project bucket (code, logs, run files) are ``aws.layout.BucketLayout``'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import dagster as dg
from pydantic import Field, field_validator

from wordcloud_pipeline import files
from wordcloud_pipeline.resources.user_settings import UserSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_reviews_uri() -> str:
    """data/reviews under the working directory (where a command is run, never the installed package)."""
    return str(Path.cwd() / "data" / "reviews")


def default_storage_uri() -> str:
    return str(Path.cwd() / "data" / "storage")


# The metadata entry by which a source asset (files someone else writes) says it is read at the reviews
# location rather than at an output location under the storage root.
LOCATION_METADATA = "wordcloud/location"
REVIEWS_LOCATION = "reviews_uri"
# The same said by the asset that reads such a source, on its own spec: a run given a subset of the
# assets (``dg.materialize([ingested_reviews])``) has no node for the source whose metadata could say it.
INPUT_METADATA = "wordcloud/input"

# The assets whose outputs are files rather than a table, and the names of those files.
WORD_CLOUDS = dg.AssetKey("word_clouds")
WORD_CLOUD_ANIMATION = dg.AssetKey("word_cloud_animation")
WORD_RANK_TRENDS = dg.AssetKey("word_rank_trends")


class PipelineStorage(UserSettings):
    """Where the raw reviews are read and where each asset writes: its storage_uri plus the asset's name.

    Unset fields fall back to WORDCLOUD_REVIEWS_URI / WORDCLOUD_STORAGE_URI, read when a run uses
    them (never at import), then to data/ under the working directory. Locations are local folders or
    s3:// prefixes.
    """

    config_key: ClassVar[str] = "storage"

    reviews_uri: str | None = Field(
        default=None,
        description="Folder or s3:// prefix of the raw reviews (TSV.gz or parquet). Unset: "
        "WORDCLOUD_REVIEWS_URI, else data/reviews under the working directory (a sample is generated "
        "there on first use).",
    )
    storage_uri: str | None = Field(
        default=None,
        description="Folder or s3:// prefix under which every asset writes its output. Unset: "
        "WORDCLOUD_STORAGE_URI, else data/storage under the working directory.",
    )

    @field_validator("reviews_uri", "storage_uri")
    @classmethod
    def _no_climbing(cls, uri: str | None) -> str | None:
        return None if uri is None else files.check_location(uri)

    def reviews_location(self) -> str:
        return files.check_location(
            self.reviews_uri or os.environ.get("WORDCLOUD_REVIEWS_URI") or default_reviews_uri()
        )

    def storage_root(self) -> str:
        return files.check_location(
            self.storage_uri or os.environ.get("WORDCLOUD_STORAGE_URI") or default_storage_uri()
        )

    def uses_default_reviews(self) -> bool:
        return self.reviews_location() == default_reviews_uri()

    def asset_location(self, asset_key: dg.AssetKey) -> str:
        """``<root>/<asset key>``: the folder (or Delta table) of an asset's output."""
        return files.join(self.storage_root(), *asset_key.path)

    def cloud_uri(self, year: int | str) -> str:
        return files.join(self.asset_location(WORD_CLOUDS), f"{year}.png")

    def animation_uri(self) -> str:
        return files.join(self.asset_location(WORD_CLOUD_ANIMATION), "word_clouds.gif")

    def rank_plot_uri(self) -> str:
        return files.join(self.asset_location(WORD_RANK_TRENDS), "word_rank_trends.png")

    def input_location(self, context: dg.AssetExecutionContext) -> str:
        """The location of the one asset this asset declares as its dependency.

        A dependency whose spec says it lives at the reviews location (``LOCATION_METADATA``: the source
        asset of files someone else writes), or an asset whose own spec says it reads there
        (``INPUT_METADATA``), is read there; any other dependency at its output location. Which one
        is read from the asset graph of the run, not from the dependency's name.
        """
        deps = context.assets_def.asset_deps[context.asset_key]
        if len(deps) != 1:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} reads one upstream asset, found "
                f"{sorted(key.to_user_string() for key in deps)}"
            )
        (key,) = deps
        own = context.assets_def.specs_by_key[context.asset_key].metadata
        if own.get(INPUT_METADATA) == REVIEWS_LOCATION:
            return self.reviews_location()
        graph = context.job_def.asset_layer.asset_graph
        if graph.has(key) and graph.get(key).metadata.get(LOCATION_METADATA) == REVIEWS_LOCATION:
            return self.reviews_location()
        return self.asset_location(key)
