"""Where raw reviews are read and where every asset writes."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field, field_validator

from wordcloud_pipeline import files

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REVIEWS_URI = str(PROJECT_ROOT / "data" / "reviews")
DEFAULT_STORAGE_URI = str(PROJECT_ROOT / "data" / "storage")


class PipelineStorage(dg.ConfigurableResource):
    """One input location and one storage root; each asset's output is <root>/<asset key>.

    Unset fields fall back to WORDCLOUD_REVIEWS_URI / WORDCLOUD_STORAGE_URI, read when a run uses
    them (never at import), then to data/ in the repository. Locations are local folders or s3:// prefixes.
    """

    reviews_uri: str | None = Field(
        default=None,
        description="Folder or s3:// prefix of the raw reviews (TSV.gz or parquet). Unset: "
        "WORDCLOUD_REVIEWS_URI, else data/reviews (a sample is generated there on first use).",
    )
    storage_uri: str | None = Field(
        default=None,
        description="Folder or s3:// prefix under which every asset writes its output. Unset: "
        "WORDCLOUD_STORAGE_URI, else data/storage.",
    )

    @field_validator("reviews_uri", "storage_uri")
    @classmethod
    def _no_climbing(cls, uri: str | None) -> str | None:
        return None if uri is None else files.check_location(uri)

    def reviews_location(self) -> str:
        return files.check_location(
            self.reviews_uri or os.environ.get("WORDCLOUD_REVIEWS_URI") or DEFAULT_REVIEWS_URI
        )

    def storage_root(self) -> str:
        return files.check_location(
            self.storage_uri or os.environ.get("WORDCLOUD_STORAGE_URI") or DEFAULT_STORAGE_URI
        )

    def uses_default_reviews(self) -> bool:
        return self.reviews_location() == DEFAULT_REVIEWS_URI

    def asset_location(self, asset_key: dg.AssetKey) -> str:
        return files.join(self.storage_root(), *asset_key.path)

    def upstream_location(self, context: dg.AssetExecutionContext) -> str:
        """The output location of the one asset this asset depends on, taken from the asset graph."""
        upstream = [
            key
            for key in context.assets_def.asset_deps[context.asset_key]
            if key != dg.AssetKey("raw_reviews")
        ]
        if len(upstream) != 1:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} reads one upstream asset, found {upstream}"
            )
        return self.asset_location(upstream[0])
