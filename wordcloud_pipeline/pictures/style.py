"""How the clouds, their animation and the rank plot look: settings a user changes without touching code."""

from __future__ import annotations

from typing import ClassVar

import dagster as dg
import matplotlib
from PIL import ImageColor
from pydantic import Field, field_validator

from wordcloud_pipeline.pictures import clouds, masks
from wordcloud_pipeline.resources.user_settings import SettingsRefused, UserSettings


class CloudStyle(UserSettings):
    """Size and look of the clouds, their animation and the rank plot: same settings and counts, same bytes."""

    config_key: ClassVar[str] = "cloud_style"

    width: int = Field(default=1200, ge=100, le=6000, description="width of each cloud, in pixels")
    height: int = Field(default=800, ge=100, le=6000, description="height of each cloud, in pixels")
    max_words: int = Field(
        default=200,
        ge=1,
        le=20_000,
        description="how many of the year's most frequent words a cloud draws",
    )
    background_color: str = Field(
        default="white", description="background of the clouds and frames: a colour name or #rrggbb"
    )
    colormap: str = Field(
        default="viridis", description="a matplotlib colormap the words' colours are drawn from"
    )
    mask: str = Field(default="usa", description="'usa', 'none', or the path of a mask image")
    font_path: str | None = Field(
        default=None,
        description="TrueType font for the clouds, the animation's year labels and the rank plot; "
        "unset: the fonts bundled with wordcloud and matplotlib",
    )
    seed: int = Field(
        default=42,
        description="random seed of the layout: same counts and settings give the same PNG",
    )
    draw_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="processes drawing clouds at once; 0 means one per CPU core (same images "
        "either way)",
    )
    # word_cloud_animation: the clouds of every year in one GIF.
    frame_width: int = Field(
        default=480, ge=100, le=3000, description="width of the animation's frames, in pixels"
    )
    frame_duration_ms: int = Field(
        default=1000, ge=50, le=10_000, description="how long the animation shows each year, in ms"
    )
    animation_colors: int = Field(
        default=128, ge=2, le=256, description="size of the GIF's shared palette"
    )
    label_color: str = Field(default="black", description="colour of the year on each frame")
    # word_rank_trends: how the ranks of the most frequent words move across the years.
    plot_words: int = Field(default=8, ge=1, le=20, description="how many words the plot follows")
    plot_width: int = Field(
        default=1200, ge=300, le=4000, description="width of the rank plot, in pixels"
    )
    plot_height: int = Field(
        default=700, ge=200, le=4000, description="height of the rank plot, in pixels"
    )
    plot_colormap: str = Field(default="tab10", description="a matplotlib colormap for the lines")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Refuses a run whose pictures could not be drawn, when it starts: before any Spark job,
        not minutes later when the first cloud is drawn."""
        problems = self.problems()
        if problems:
            raise SettingsRefused("; ".join(problems))

    def problems(self) -> list[str]:
        """One line per setting that cannot be drawn with, naming the field, the value and what is
        allowed. Sizes and counts are ranges the fields themselves enforce."""
        found = []
        mask = masks.mask_problem(self.mask)
        if mask:
            found.append(f"{self.config_key}.mask: {mask}")
        for field in ("colormap", "plot_colormap"):
            value = getattr(self, field)
            if value not in matplotlib.colormaps:
                found.append(
                    f"{self.config_key}.{field}: {value!r} is not a matplotlib colormap "
                    "(e.g. viridis, plasma, tab10; all: list(matplotlib.colormaps))"
                )
        for field in ("background_color", "label_color"):
            value = getattr(self, field)
            try:
                ImageColor.getrgb(value)
            except ValueError:
                found.append(
                    f"{self.config_key}.{field}: {value!r} is not a colour (a name such as white, "
                    "or #rrggbb)"
                )
        return found

    @field_validator("font_path")
    @classmethod
    def _font_is_a_font(cls, font_path: str | None) -> str | None:
        # At config time, naming the path: drawing would only say "unknown file format".
        return None if font_path is None else clouds.check_font(font_path)
