"""The shapes a cloud's words are laid out in: the US outline, drawn here, or an image file.

Drawn from a coarse outline rather than shipped as an image: no binary file in the package, and a sharp
mask at any cloud size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

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


def mask_problem(mask: str) -> str | None:
    """Why ``mask`` cannot be drawn on (one line naming the value and what is allowed), or None."""
    if mask in MASKS:
        return None
    path = Path(mask)
    if not path.is_file():
        return f"{mask!r} is neither one of {', '.join(MASKS)} nor an image file"
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, SyntaxError) as error:
        return f"{mask!r} is not an image PIL can open ({error})"
    return None


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
