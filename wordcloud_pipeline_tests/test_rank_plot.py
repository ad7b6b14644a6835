"""The rank plot: which words it follows, their ranks per year, and a reproducible PNG of the right size."""

from __future__ import annotations

import io
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from PIL import Image

from wordcloud_pipeline import files
from wordcloud_pipeline.assets.rank_plot import word_rank_trends
from wordcloud_pipeline.pictures import animation, plots
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline_tests.conftest import instance_with_years

# Each year's (word, count), most frequent first: "magic" rises, "internet" falls, "zebra" appears once.
TOP_BY_YEAR = {
    2001: [("internet", 50), ("history", 30), ("magic", 10), ("cooking", 5)],
    2002: [("history", 40), ("magic", 35), ("internet", 20), ("zebra", 1)],
    2003: [("magic", 80), ("history", 30), ("cooking", 6)],
}


def test_follows_the_most_frequent_words_over_all_years() -> None:
    trends = plots.rank_trends(TOP_BY_YEAR, words=3, depth=10)
    assert trends.years == [2001, 2002, 2003]
    # Totals: magic 125, history 100, internet 70, cooking 11, zebra 1.
    assert trends.ranks == {
        "magic": [3, 2, 1],
        "history": [2, 1, 2],
        "internet": [1, 3, None],  # not in 2003's list: a gap in the plot
    }
    assert trends.summary_rows()[2] == ("internet", 1, None, 1, 2001)


def test_depth_limits_what_counts_as_ranked_and_empty_years_are_skipped() -> None:
    trends = plots.rank_trends({**TOP_BY_YEAR, 2004: []}, words=5, depth=2)
    assert trends.years == [2001, 2002, 2003]
    assert trends.ranks["magic"] == [None, 2, 1]
    assert "cooking" not in trends.ranks  # only ever below the depth
    with pytest.raises(ValueError, match="materialize words_by_year first"):
        plots.rank_trends({2001: []}, words=5, depth=2)


def test_ties_are_broken_alphabetically() -> None:
    trends = plots.rank_trends({2001: [("b", 5), ("a", 5), ("c", 5)]}, words=2, depth=10)
    assert list(trends.ranks) == ["a", "b"]


def test_plot_is_a_png_of_the_configured_size_and_reproducible() -> None:
    trends = plots.rank_trends(TOP_BY_YEAR, words=4, depth=10)
    png = plots.render_rank_plot(trends, width=640, height=400)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (640, 400))
    assert plots.render_rank_plot(trends, width=640, height=400) == png
    assert b"matplotlib" not in png  # no version stamp in the file
    # Several distinct line colours are drawn, not a blank canvas.
    assert len(image.convert("RGB").getcolors(maxcolors=100_000)) > 50


def test_plot_settings_change_the_picture() -> None:
    trends = plots.rank_trends(TOP_BY_YEAR, words=4, depth=10)
    plain = plots.render_rank_plot(trends, width=640, height=400)
    assert plots.render_rank_plot(trends, width=640, height=400, colormap="Set1") != plain
    font = animation.DEFAULT_LABEL_FONT
    assert plots.render_rank_plot(trends, width=640, height=400, font_path=font) != plain
    other = plots.rank_trends(TOP_BY_YEAR, words=2, depth=10)
    assert plots.render_rank_plot(other, width=640, height=400) != plain


def test_rank_table_summarises_each_word() -> None:
    table = plots.rank_table(plots.rank_trends(TOP_BY_YEAR, words=3, depth=10))
    assert table.splitlines()[0] == "| word | rank 2001 | rank 2003 | best rank (year) |"
    assert "| internet | 1 | - | 1 (2001) |" in table


def write_counts(root: Path, top_by_year: dict[int, list[tuple[str, int]]]) -> None:
    """Counts in words_by_year's layout: a Delta table partitioned by year with word, count, rank."""
    table = pa.table(
        {
            "year": [year for year, top in top_by_year.items() for _ in top],
            "word": [w for top in top_by_year.values() for w, _ in top],
            "count": [c for top in top_by_year.values() for _, c in top],
            "rank": [r for top in top_by_year.values() for r in range(1, len(top) + 1)],
        }
    )
    write_deltalake(str(root / "words_by_year"), table, partition_by=["year"])


def materialize_plot(storage: Path) -> dg.MaterializeResult:
    return dg.materialize(
        [word_rank_trends],
        instance=instance_with_years(),
        resources={
            "storage": PipelineStorage(reviews_uri=str(storage), storage_uri=str(storage)),
            "cloud_style": CloudStyle(plot_words=3, plot_width=800, plot_height=500),
        },
    )


def test_asset_plots_the_counts_on_disk(tmp_path: Path) -> None:
    write_counts(tmp_path, TOP_BY_YEAR)

    result = materialize_plot(tmp_path)

    png = files.read_bytes(PipelineStorage(storage_uri=str(tmp_path)).rank_plot_uri())
    assert Image.open(io.BytesIO(png)).size == (800, 500)
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["words"].value == "magic, history, internet"
    assert metadata["years"].value == 3
    assert metadata["preview"].value.startswith("![word rank trends](data:image/png;base64,")
    assert "| magic | 3 | 1 | 1 (2003) |" in metadata["ranks"].value
    assert materialize_plot(tmp_path).success
    assert files.read_bytes(PipelineStorage(storage_uri=str(tmp_path)).rank_plot_uri()) == png


def test_asset_fails_clearly_without_counts(tmp_path: Path) -> None:
    with pytest.raises(dg.Failure, match="materialize words_by_year first"):
        materialize_plot(tmp_path)


def test_labels_ending_together_are_pushed_apart() -> None:
    labels = [(2015, 10.0, "b", None), (2015, 10.0, "a", None), (2014, 10.2, "c", None)]
    assert plots.spread_labels(labels, gap=0.7) == [10.7, 10.0, 10.2]


def test_qualitative_colormaps_keep_their_distinct_colours() -> None:
    import matplotlib

    assert plots.line_colors("tab10", 3) == [matplotlib.colormaps["tab10"](i) for i in range(3)]
    assert len(set(plots.line_colors("viridis", 5))) == 5
