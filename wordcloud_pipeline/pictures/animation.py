"""The "evolution of the word clouds" picture: one animated GIF of the yearly clouds, in order.

The original template's animation was assembled by hand from exported PNGs. Here the pipeline draws it from the
clouds it wrote, writes the year on each frame (plus a thin progress bar, so a viewer knows where the loop is),
and shares one palette across frames so colours do not flicker between years. Everything is deterministic:
the same clouds and settings give the same bytes, so re-running does not churn the file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from wordcloud import wordcloud as _wordcloud

# The font wordcloud itself bundles: always present, so labels look the same on every machine.
DEFAULT_LABEL_FONT = str(Path(_wordcloud.FONT_PATH))
# The label's height relative to the frame, and the progress bar's.
LABEL_SCALE = 0.11
BAR_SCALE = 0.012


def label_box(height: int) -> tuple[int, int, int, int]:
    """Where the year goes: the bottom-left corner, which the US-shaped mask leaves empty (the Pacific)."""
    size = max(10, round(height * LABEL_SCALE))
    margin = max(2, size // 4)
    return (margin, height - margin - round(size * 1.3), margin + size * 3, height - margin)


def label_frame(
    image: Image.Image,
    text: str,
    *,
    progress: float,
    font_path: str | None = None,
    color: str = "black",
    background: str = "white",
) -> Image.Image:
    """A copy of ``image`` with ``text`` in a box at the bottom left and a bar ``progress`` (0..1) long."""
    frame = image.convert("RGB")
    draw = ImageDraw.Draw(frame)
    box = label_box(frame.height)
    draw.rectangle(box, fill=background)
    font = ImageFont.truetype(font_path or DEFAULT_LABEL_FONT, size=round((box[3] - box[1]) / 1.3))
    draw.text(
        ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, fill=color, font=font, anchor="mm"
    )
    bar_height = max(2, round(frame.height * BAR_SCALE))
    bar_end = round(frame.width * min(max(progress, 0.0), 1.0))
    draw.rectangle((0, frame.height - bar_height, frame.width, frame.height), fill=background)
    if bar_end:
        draw.rectangle((0, frame.height - bar_height, bar_end - 1, frame.height - 1), fill=color)
    return frame


def resize_to_width(image: Image.Image, width: int) -> Image.Image:
    """``image`` scaled to ``width`` pixels, keeping its aspect ratio (never enlarged)."""
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def render_animation(
    frames: Sequence[tuple[str, bytes]],
    *,
    width: int,
    frame_duration_ms: int = 1000,
    font_path: str | None = None,
    label_color: str = "black",
    background: str = "white",
    colors: int = 256,
) -> bytes:
    """GIF bytes of ``frames`` (label, PNG bytes) in the given order, looping forever.

    Frames are scaled to ``width`` (all to the first frame's size), labelled, and mapped onto one palette
    computed from all of them without dithering, which keeps the file small and the bytes reproducible.
    The last frame stays twice as long, so the loop visibly ends before it restarts.
    """
    if not frames:
        raise ValueError("an animation needs at least one frame")
    if not 2 <= colors <= 256:
        raise ValueError(f"a GIF palette has 2 to 256 colours, not {colors}")
    images: list[Image.Image] = []
    size: tuple[int, int] | None = None
    for index, (label, png) in enumerate(frames):
        image = resize_to_width(Image.open(io.BytesIO(png)).convert("RGB"), width)
        size = size or image.size
        if image.size != size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        progress = (index + 1) / len(frames)
        images.append(
            label_frame(
                image,
                label,
                progress=progress,
                font_path=font_path,
                color=label_color,
                background=background,
            )
        )
    palette = shared_palette(images, colors)
    indexed = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
    durations = [frame_duration_ms] * (len(indexed) - 1) + [2 * frame_duration_ms]
    buffer = io.BytesIO()
    indexed[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=indexed[1:],
        duration=durations,
        loop=0,
        optimize=False,
    )
    return buffer.getvalue()


def shared_palette(images: Sequence[Image.Image], colors: int) -> Image.Image:
    """One palette for every frame, from all frames stacked: a per-frame palette would flicker."""
    width, height = images[0].size
    sheet = Image.new("RGB", (width, height * len(images)))
    for index, image in enumerate(images):
        sheet.paste(image, (0, index * height))
    return sheet.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def gif_frames(gif: bytes) -> list[tuple[Image.Image, int]]:
    """Each frame of ``gif`` as an RGB image with its duration in ms (used by tests and previews)."""
    image = Image.open(io.BytesIO(gif))
    result = []
    for index in range(image.n_frames):
        image.seek(index)
        result.append((image.convert("RGB"), int(image.info.get("duration", 0))))
    return result


def preview_markdown(gif: bytes, alt: str = "animation", full_size: str | None = None) -> str:
    """The GIF inline in markdown, which the Dagster UI renders (and animates) in the metadata panel,
    and where the full-size file is."""
    markdown = f"![{alt}](data:image/gif;base64,{base64.b64encode(gif).decode('ascii')})"
    return markdown + (f"\n\nFull size: `{full_size}`" if full_size else "")
