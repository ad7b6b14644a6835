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
from typing import Any, TypeVar

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin
from wordcloud import WordCloud
from wordcloud.wordcloud import FONT_PATH as WORDCLOUD_FONT

from wordcloud_pipeline.pictures.masks import load_mask

K = TypeVar("K")
# A tEXt key inside placeholder PNGs: what tells a placeholder from a drawn cloud.
PLACEHOLDER_KEY = "wordcloud-placeholder"


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


# The width of the previews in the Dagster UI: as wide as its metadata panel shows without scrolling, so
# a year's smaller words can be read there; the full-size file is named under the preview.
PREVIEW_WIDTH = 800


def preview_markdown(
    png: bytes, width: int = PREVIEW_WIDTH, alt: str = "word cloud", full_size: str | None = None
) -> str:
    """An inline image for the Dagster UI, at most ``width`` wide, and where the full-size file is;
    full-size images stay out of the event log."""
    image = Image.open(io.BytesIO(png))
    size = f"{image.width}x{image.height}"
    image.thumbnail((width, width))
    encoded = base64.b64encode(to_png(image)).decode("ascii")
    markdown = f"![{alt}](data:image/png;base64,{encoded})"
    return markdown + (f"\n\nFull size ({size}): `{full_size}`" if full_size else "")
