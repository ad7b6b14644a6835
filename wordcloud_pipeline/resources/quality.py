"""How far a run may change the data it replaces: the thresholds of the pipeline's quality gates."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from spark_scripts.domain import DEFAULT_MAX_DROP_FRACTION
from wordcloud_pipeline.resources.user_settings import UserSettings


class QualityGates(UserSettings):
    """Thresholds the Spark jobs and asset checks enforce before a run may replace a year's data."""

    config_key: ClassVar[str] = "quality_gates"

    max_row_drop_fraction: float = Field(
        default=DEFAULT_MAX_DROP_FRACTION,
        ge=0.0,
        le=1.0,
        description="A year that had rows may lose at most this share of them in one run; a run "
        "that would lose more fails and the table keeps its previous version; likewise an ingest "
        "that would withdraw more than this share of the reviews table's reviews (a mistyped "
        "reviews location). 1.0 allows any change (for example when switching counting from "
        "reviews to titles, or removing most review files, on purpose).",
    )
