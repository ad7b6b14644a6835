"""Drawing a year's word cloud from word frequencies, on a map-shaped mask the project draws itself.

Counting happens in Spark; only a year's top words reach this module, so memory stays flat however many
reviews there are. The original template let the word-cloud library re-tokenize one giant string per year.
"""

from __future__ import annotations

import base64
import functools
import io
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin
from wordcloud import WordCloud
from wordcloud.wordcloud import FONT_PATH as WORDCLOUD_FONT

# Outline of the contiguous United States as (longitude, latitude), clockwise from Cape Flattery. Coarse on
# purpose: it only has to read as "a map of the US" behind the words, like the original template's mask.
USA_OUTLINE = (
    (-124.7, 48.4), (-123.0, 49.0), (-95.2, 49.0), (-95.2, 49.4), (-94.8, 48.7), (-91.4, 48.1),
    (-89.6, 48.0), (-84.8, 46.5), (-83.5, 46.0), (-82.4, 45.3), (-82.5, 43.0), (-83.1, 42.0),
    (-79.0, 42.9), (-76.4, 43.6), (-74.7, 45.0), (-71.5, 45.0), (-70.0, 46.7), (-69.2, 47.4),
    (-67.8, 47.1), (-67.8, 45.7), (-67.0, 44.8), (-70.2, 43.6), (-70.6, 42.6), (-70.0, 41.7),
    (-71.9, 41.3), (-73.9, 40.6), (-74.0, 39.6), (-75.0, 38.8), (-76.0, 37.0), (-75.5, 35.2),
    (-77.9, 33.9), (-79.9, 32.7), (-81.4, 30.7), (-80.1, 26.9), (-80.4, 25.2), (-81.8, 25.9),
    (-82.8, 27.9), (-84.3, 30.0), (-86.5, 30.4), (-89.5, 30.2), (-89.4, 29.0), (-91.5, 29.5),
    (-94.0, 29.7), (-97.2, 27.7), (-97.4, 25.9), (-99.1, 26.4), (-101.4, 29.8), (-103.1, 29.0),
    (-104.6, 29.8), (-106.5, 31.8), (-108.2, 31.8), (-108.2, 31.3), (-111.1, 31.3), (-114.8, 32.5),
    (-117.1, 32.5), (-118.5, 34.0), (-120.6, 34.5), (-121.9, 36.6), (-122.5, 37.8), (-123.8, 39.8),
    (-124.4, 42.0), (-124.1, 43.7), (-124.0, 46.2),
)  # fmt: skip
MASKS = ("usa", "none")
K = TypeVar("K")
# A tEXt key inside placeholder PNGs: what tells a placeholder from a drawn cloud.
PLACEHOLDER_KEY = "wordcloud-placeholder"


def usa_mask(width: int, height: int, margin: float = 0.04) -> np.ndarray:
    """A ``height`` x ``width`` mask: 0 inside the US outline (words go there), 255 outside."""
    lons = [p[0] for p in USA_OUTLINE]
    lats = [p[1] for p in USA_OUTLINE]
    # Equirectangular projection squeezed by cos(38°) so the country keeps its proportions.
    x_span = (max(lons) - min(lons)) * np.cos(np.radians(38))
    y_span = max(lats) - min(lats)
    scale = min(width * (1 - 2 * margin) / x_span, height * (1 - 2 * margin) / y_span)
    x0 = (width - x_span * scale) / 2
    y0 = (height - y_span * scale) / 2
    points = [
        (
            x0 + (lon - min(lons)) * np.cos(np.radians(38)) * scale,
            y0 + (max(lats) - lat) * scale,
        )
        for lon, lat in USA_OUTLINE
    ]
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).polygon(points, fill=0)
    return np.array(image)


def load_mask(mask: str, width: int, height: int) -> np.ndarray | None:
    """'usa' (drawn here), 'none', or the path of an image whose white pixels stay empty."""
    if mask == "none":
        return None
    if mask == "usa":
        return usa_mask(width, height)
    path = Path(mask)
    if not path.is_file():
        raise ValueError(f"mask must be one of {MASKS} or an image file; {mask!r} is neither")
    return np.array(Image.open(path).convert("L").resize((width, height)))


def render_cloud(
    frequencies: Sequence[tuple[str, int]],
    width: int,
    height: int,
    *,
    mask: str = "usa",
    background_color: str = "white",
    colormap: str = "viridis",
    font_path: str | None = None,
    seed: int = 42,
) -> bytes:
    """PNG bytes of a cloud of ``frequencies``; the seeded layout gives the same image for the same input."""
    if not frequencies:
        raise ValueError("a word cloud needs at least one word")
    cloud = WordCloud(
        width=width,
        height=height,
        mask=load_mask(mask, width, height),
        background_color=background_color,
        colormap=colormap,
        font_path=font_path,
        max_words=len(frequencies),
        random_state=seed,
        # Words arrive already lemmatized and counted; the library must not fold them again.
        normalize_plurals=False,
        collocations=False,
    ).generate_from_frequencies(dict(frequencies))
    return to_png(cloud.to_image())


def render_clouds(
    frequencies_by_key: Mapping[K, Sequence[tuple[str, int]]],
    width: int,
    height: int,
    *,
    workers: int,
    **style: Any,
) -> dict[K, bytes]:
    """``render_cloud`` for many word lists, in up to ``workers`` processes; the same bytes as one by one.

    Workers come from a fork server (a clean, single-threaded process that imported this module once), not
    from forking the Dagster process, whose threads (logging, the Spark gateway) must not be copied.
    """
    keys = list(frequencies_by_key)
    draw = functools.partial(_render_for_pool, width=width, height=height, style=style)
    if workers <= 1 or len(keys) <= 1:
        return {key: draw(frequencies_by_key[key]) for key in keys}
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=min(workers, len(keys)), mp_context=context) as pool:
        images = pool.map(draw, [list(frequencies_by_key[key]) for key in keys])
        return dict(zip(keys, images, strict=True))


def _render_for_pool(
    frequencies: Sequence[tuple[str, int]], width: int, height: int, style: Mapping[str, Any]
) -> bytes:
    return render_cloud(frequencies, width, height, **style)


def render_placeholder(
    text: str, width: int, height: int, background_color: str = "white"
) -> bytes:
    """A plain image saying why a year has no cloud, so a backfill over sparse years still completes.

    It is marked as a placeholder inside the PNG, so a later run can tell it from a drawn cloud.
    """
    image = Image.new("RGB", (width, height), background_color)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((0, 0), text)
    draw.text(((width - box[2]) / 2, (height - box[3]) / 2), text, fill="gray")
    return to_png(image, {PLACEHOLDER_KEY: text})


def is_placeholder(png: bytes) -> bool:
    return PLACEHOLDER_KEY in Image.open(io.BytesIO(png)).info


def to_png(image: Image.Image, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()


def check_font(font_path: str) -> str:
    """``font_path`` if it is a font PIL and wordcloud can draw with; else an error naming it."""
    try:
        ImageFont.truetype(font_path, 12)
    except OSError as error:
        raise ValueError(
            f"font_path {font_path!r} is not a TrueType/OpenType font PIL can open ({error})"
        ) from None
    return font_path


@functools.lru_cache(maxsize=8)
def _font_characters(font_path: str) -> frozenset[int]:
    with TTFont(font_path, fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def drawable_words(
    frequencies: Sequence[tuple[str, int]], font_path: str | None
) -> tuple[list[tuple[str, int]], list[str]]:
    """The words the font has every letter of, and those it has not (drawn, they would be boxes).

    Titles keep every script's letters (a Japanese title is counted like any other), but a cloud can
    only show what its font covers; the words left out are named in the cloud's metadata instead.
    """
    characters = _font_characters(font_path or WORDCLOUD_FONT)
    kept, left_out = [], []
    for word, count in frequencies:
        if all(ord(letter) in characters for letter in word):
            kept.append((word, count))
        else:
            left_out.append(word)
    return kept, left_out


def preview_markdown(png: bytes, width: int = 480, alt: str = "word cloud") -> str:
    """A small inline image for the Dagster UI; full-size images stay out of the event log."""
    image = Image.open(io.BytesIO(png))
    image.thumbnail((width, width))
    encoded = base64.b64encode(to_png(image)).decode("ascii")
    return f"![{alt}](data:image/png;base64,{encoded})"
