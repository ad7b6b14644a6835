"""The evolution GIF: frames in year order, the year on each frame, one palette, reproducible bytes."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from wordcloud_pipeline import files
from wordcloud_pipeline.assets.animation import word_cloud_animation
from wordcloud_pipeline.pictures import animation, clouds
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline_tests.conftest import instance_with_years

WORDS = [("wizard", 90), ("magic", 60), ("history", 40), ("cooking", 25), ("garden", 10)]


def cloud(seed: int, width: int = 300, height: int = 200) -> bytes:
    return clouds.render_cloud(WORDS, width, height, mask="none", seed=seed)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_one_frame_per_year_in_order_scaled_with_durations() -> None:
    frames = [(str(year), cloud(seed=year)) for year in (2001, 2002, 2003)]
    gif = animation.render_animation(frames, width=150, frame_duration_ms=400)

    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF"
    assert image.info["loop"] == 0  # loops forever
    decoded = animation.gif_frames(gif)
    assert len(decoded) == 3
    assert {frame.size for frame, _ in decoded} == {(150, 100)}
    # The last year stays longer so the loop's end is visible.
    assert [duration for _, duration in decoded] == [400, 400, 800]


def test_each_frame_shows_its_own_year_and_nothing_else_changes() -> None:
    same = cloud(seed=7)
    gif = animation.render_animation([("1999", same), ("2000", same), ("2011", same)], width=300)
    decoded = [pixels(frame) for frame, _ in animation.gif_frames(gif)]

    left, top, right, bottom = animation.label_box(200)
    in_label = np.zeros((200, 300), dtype=bool)
    in_label[top : bottom + 1, left : right + 1] = True
    bar_top = 200 - max(2, round(200 * animation.BAR_SCALE))
    in_label[bar_top:, :] = True
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        # The clouds are the same image, so frames differ only where the year and the bar are drawn...
        assert np.array_equal(decoded[a][~in_label], decoded[b][~in_label])
        # ...and there they differ, because each frame names a different year.
        assert not np.array_equal(decoded[a][in_label], decoded[b][in_label])
    for frame in decoded:
        label = frame[top:bottom, left:right]
        dark = (label.sum(axis=2) < 200).sum()  # black text on the white label box
        assert dark > 50, "the year is written in the label box"


def test_same_frames_same_bytes_and_order_matters() -> None:
    frames = [(str(year), cloud(seed=year)) for year in (2004, 2005)]
    gif = animation.render_animation(frames, width=200, colors=64)
    assert animation.render_animation(frames, width=200, colors=64) == gif
    assert animation.render_animation(frames[::-1], width=200, colors=64) != gif


def test_settings_change_the_picture() -> None:
    frames = [("2004", cloud(seed=1))]
    plain = animation.render_animation(frames, width=200)
    assert animation.render_animation(frames, width=200, label_color="red") != plain
    assert animation.render_animation(frames, width=200, frame_duration_ms=300) != plain
    font = animation.DEFAULT_LABEL_FONT
    assert animation.render_animation(frames, width=200, font_path=font) == plain
    with pytest.raises(OSError):
        animation.render_animation(frames, width=200, font_path="/no/such/font.ttf")


def test_a_frame_smaller_than_the_width_is_not_enlarged() -> None:
    gif = animation.render_animation([("2001", cloud(seed=1, width=120, height=80))], width=600)
    assert animation.gif_frames(gif)[0][0].size == (120, 80)


def test_rejects_nothing_to_animate_and_bad_palettes() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        animation.render_animation([], width=100)
    with pytest.raises(ValueError, match="2 to 256"):
        animation.render_animation([("2001", cloud(seed=1))], width=100, colors=300)


def test_preview_markdown_is_an_inline_gif() -> None:
    gif = animation.render_animation([("2001", cloud(seed=1))], width=100)
    markdown = animation.preview_markdown(gif, alt="clouds")
    assert markdown.startswith("![clouds](data:image/gif;base64,R0lGOD")  # "GIF8" in base64


def materialize_animation(storage: Path) -> dg.MaterializeResult:
    return dg.materialize(
        [word_cloud_animation],
        instance=instance_with_years(),
        resources={
            "storage": PipelineStorage(reviews_uri=str(storage), storage_uri=str(storage)),
            "cloud_style": CloudStyle(width=300, height=200, frame_width=240),
        },
    )


def test_asset_animates_the_clouds_on_disk_and_skips_missing_years(tmp_path: Path) -> None:
    storage = PipelineStorage(storage_uri=str(tmp_path))
    years = [1995, 2003, 2015]
    for year in years:  # wider than the preview, which is never enlarged
        files.write_bytes(storage.cloud_uri(year), cloud(seed=year, width=800, height=600))

    result = materialize_animation(tmp_path)

    assert result.success
    gif = files.read_bytes(storage.animation_uri())
    decoded = animation.gif_frames(gif)
    assert len(decoded) == len(years)
    assert decoded[0][0].size == (240, 180)
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["frames"].value == 3
    assert metadata["years"].value == "1995, 2003, 2015"
    assert metadata["years_missing"].value.startswith("1996-2002, 2004-2014")
    assert metadata["preview"].value.startswith("![word clouds by year](data:image/gif;base64,")
    # The preview lives in the event log: it must stay small, yet wide enough to read the words.
    assert len(metadata["preview"].value) < 200_000
    encoded = metadata["preview"].value.split("base64,", 1)[1].split(")", 1)[0]
    preview_frames = animation.gif_frames(base64.b64decode(encoded))
    assert preview_frames[0][0].size == (640, 480)
    assert metadata["preview"].value.endswith(f"Full size: `{storage.animation_uri()}`")

    # A re-run over the same clouds leaves the file byte for byte unchanged.
    assert materialize_animation(tmp_path).success
    assert files.read_bytes(storage.animation_uri()) == gif


def test_asset_fails_clearly_without_clouds(tmp_path: Path) -> None:
    with pytest.raises(dg.Failure, match="materialize word_clouds first"):
        materialize_animation(tmp_path)


@pytest.mark.slow
def test_after_a_range_of_years_the_pictures_follow(
    spark, sample_tsv: Path, tmp_path: Path
) -> None:
    """The real graph: a single-run range of years, then the animation and the plot of those years."""
    from wordcloud_pipeline.demo import materialize_years
    from wordcloud_pipeline_tests.conftest import local_test_resources

    resources = local_test_resources(sample_tsv, tmp_path / "storage", frame_width=200)
    with dg.DagsterInstance.ephemeral() as instance:
        yearly, summary = materialize_years(resources, instance, 2004, 2006)
    assert yearly.success and summary.success
    storage = resources["storage"]
    decoded = animation.gif_frames(files.read_bytes(storage.animation_uri()))
    assert len(decoded) == 3
    assert decoded[0][0].size == (200, 133)
    # Different years, different clouds.
    assert not np.array_equal(pixels(decoded[0][0]), pixels(decoded[2][0]))
    plot = Image.open(io.BytesIO(files.read_bytes(storage.rank_plot_uri())))
    assert plot.size == (1200, 700)
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in summary.get_asset_materialization_events()
    }
    assert events["word_cloud_animation"]["years"].value == "2004, 2005, 2006"
    assert events["word_rank_trends"]["years"].value == 3


def test_the_readme_pictures_stay_small() -> None:
    """docs/images is embedded in the README: every picture must load fast (see docs/pictures.md)."""
    images = Path(__file__).resolve().parents[1] / "docs" / "images"
    sizes = {p.name: p.stat().st_size for p in images.iterdir()}
    assert {"word_clouds.gif", "asset-graph.png", "cloud-preview.png"} <= set(sizes)
    assert max(sizes.values()) < 600_000, sizes
    assert len(animation.gif_frames((images / "word_clouds.gif").read_bytes())) == 21
