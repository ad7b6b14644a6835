"""A bump chart of word ranks across the years: what the clouds show, but comparable year to year.

A cloud's word sizes are relative to its own year, so two clouds cannot say whether "wizard" rose or fell. The
chart follows the words that were most frequent over all years and draws their rank in each year (1 at the
top). Drawn with matplotlib's Agg canvas on a private ``Figure`` (no pyplot global state, no display), with the
version stamp left out of the PNG so the bytes only change when the counts or settings do.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

DPI = 100
LABEL_HEIGHT_PX = 15


def line_colors(colormap: str, count: int) -> list[tuple[float, float, float, float]]:
    """``count`` colours: a qualitative map's own colours in order, else evenly spaced samples."""
    cmap = matplotlib.colormaps[colormap]
    if isinstance(cmap, ListedColormap) and cmap.N >= count and cmap.N <= 20:
        return [cmap(i) for i in range(count)]
    return [cmap(i / max(count - 1, 1)) for i in range(count)]


def spread_labels(labels: Sequence[tuple[float, float, str, object]], gap: float) -> list[float]:
    """Label heights (in rank units) for labels at (x, rank, ...): at least ``gap`` apart per x."""
    heights = [rank for _, rank, _, _ in labels]
    order = sorted(range(len(labels)), key=lambda i: (labels[i][0], labels[i][1], labels[i][2]))
    for previous, current in itertools.pairwise(order):
        if labels[previous][0] == labels[current][0]:
            heights[current] = max(heights[current], heights[previous] + gap)
    return heights


@dataclass(frozen=True)
class RankTrends:
    """Ranks of ``words`` in each of ``years``; ``None`` where a word was not among that year's top words."""

    years: list[int]
    ranks: dict[str, list[int | None]]
    depth: int

    def summary_rows(self) -> list[tuple[str, int | None, int | None, int, int]]:
        """(word, first-year rank, last-year rank, best rank, year of the best rank) per word."""
        rows = []
        for word, ranks in self.ranks.items():
            best, best_year = min(
                (rank, year) for rank, year in zip(ranks, self.years, strict=True) if rank
            )
            rows.append((word, ranks[0], ranks[-1], best, best_year))
        return rows


def rank_trends(
    top_by_year: Mapping[int, Sequence[tuple[str, int]]], words: int, depth: int
) -> RankTrends:
    """The ``words`` most frequent words over all years, with their rank (position) in each year.

    ``top_by_year`` holds each year's top ``depth`` (word, count) pairs, most frequent first. Words are
    chosen by their total count over those lists, ties broken alphabetically, so the choice is stable.
    """
    years = sorted(year for year, top in top_by_year.items() if top)
    if not years:
        raise ValueError("no year has counted words: materialize words_by_year first")
    totals: dict[str, int] = {}
    for year in years:
        for word, count in top_by_year[year][:depth]:
            totals[word] = totals.get(word, 0) + count
    chosen = sorted(totals, key=lambda w: (-totals[w], w))[:words]
    positions = {
        year: {word: rank for rank, (word, _) in enumerate(top_by_year[year][:depth], 1)}
        for year in years
    }
    ranks = {word: [positions[year].get(word) for year in years] for word in chosen}
    return RankTrends(years=years, ranks=ranks, depth=depth)


def render_rank_plot(
    trends: RankTrends,
    *,
    width: int = 1200,
    height: int = 700,
    colormap: str = "tab10",
    font_path: str | None = None,
) -> bytes:
    """PNG bytes of ``trends``: one line per word, rank 1 at the top, gaps where a word left the top."""
    style: dict[str, object] = {"font.size": 11}
    if font_path:
        font_manager.fontManager.addfont(font_path)
        style["font.family"] = font_manager.FontProperties(fname=font_path).get_name()
    with matplotlib.rc_context(style):
        figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        colors = line_colors(colormap, len(trends.ranks))
        labels = []
        for color, (word, ranks) in zip(colors, trends.ranks.items(), strict=True):
            values = [math.nan if rank is None else rank for rank in ranks]
            axes.plot(trends.years, values, marker="o", markersize=4, linewidth=2, color=color)
            last = max(i for i, rank in enumerate(ranks) if rank is not None)
            labels.append((trends.years[last], float(ranks[last]), word, color))
        deepest = max((r for ranks in trends.ranks.values() for r in ranks if r), default=1)
        # Labels sit right of each line's last point, pushed apart where lines end close together.
        min_gap = LABEL_HEIGHT_PX * (deepest + 0.4) / (height * 0.8)
        for (x, rank, word, color), y in zip(labels, spread_labels(labels, min_gap), strict=True):
            axes.annotate(
                word,
                (x, rank),
                xytext=(x + 0.3, y),
                textcoords="data",
                va="center",
                color=color,
                fontsize=10,
            )
        axes.set_ylim(deepest + 0.7, 0.3)
        axes.set_xlim(trends.years[0] - 0.5, trends.years[-1] + 1.8)
        axes.set_xticks(trends.years)
        axes.tick_params(axis="x", labelrotation=45)
        axes.set_ylabel("rank in the year (1 = most frequent)")
        axes.set_title(
            f"How the {len(trends.ranks)} most frequent title words rank each year "
            f"(gap: not in that year's top {trends.depth})"
        )
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        # No "Software: matplotlib x.y" stamp: a library upgrade alone should not change the bytes.
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def rank_table(trends: RankTrends) -> str:
    """Markdown summary of the plot: where each word started, ended and peaked."""
    first, last = trends.years[0], trends.years[-1]
    header = f"| word | rank {first} | rank {last} | best rank (year) |"
    rows = [
        f"| {word} | {start or '-'} | {end or '-'} | {best} ({year}) |"
        for word, start, end, best, year in trends.summary_rows()
    ]
    return "\n".join([header, "|---|---:|---:|---|", *rows])
