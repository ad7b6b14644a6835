"""word_cloud_animation: the yearly clouds as one animated GIF, refreshed after a batch of years."""

import dagster as dg

from spark_scripts.domain import format_years
from wordcloud_pipeline import files
from wordcloud_pipeline.assets.clouds import word_clouds
from wordcloud_pipeline.automation import after_upstream_batch
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import known_years
from wordcloud_pipeline.pictures import animation
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.storage import PipelineStorage

# The UI preview is a GIF of fewer colours than the file: it is stored in the event log with every
# materialization. 640 px wide: a year's middle-sized words can be read, and it fits the panel.
PREVIEW_WIDTH = 640
PREVIEW_COLORS = 32


def read_clouds(
    storage: PipelineStorage, years: list[int]
) -> tuple[list[tuple[str, bytes]], list[int]]:
    """The PNG of every year of ``years`` that has one, in year order, and the years that have none."""
    frames: list[tuple[str, bytes]] = []
    missing: list[int] = []
    for year in sorted(years):
        try:
            frames.append((str(year), files.read_bytes(storage.cloud_uri(year))))
        except FileNotFoundError:
            missing.append(year)
    return frames, missing


@dg.asset(
    deps=[word_clouds],
    group_name="wordcloud",
    pool=writer_pool("word_cloud_animation"),
    code_version="1",  # bump when this asset computes differently: marks it and downstream stale
    kinds={"python", "gif"},
    automation_condition=after_upstream_batch(),
)
def word_cloud_animation(
    context: dg.AssetExecutionContext, storage: PipelineStorage, cloud_style: CloudStyle
) -> dg.MaterializeResult:
    """The word clouds of all years in order, as one animated GIF with the year on each frame."""
    frames, missing = read_clouds(storage, known_years(context.instance))
    if not frames:
        raise dg.Failure(
            "no word cloud found under "
            f"{storage.asset_location(word_clouds.key)}: materialize word_clouds first"
        )
    if missing:
        context.log.info(f"years without a cloud, left out: {format_years(missing, ', ')}")
    options = {
        "frame_duration_ms": cloud_style.frame_duration_ms,
        "font_path": cloud_style.font_path,
        "label_color": cloud_style.label_color,
        "background": cloud_style.background_color,
    }
    gif = animation.render_animation(
        frames, width=cloud_style.frame_width, colors=cloud_style.animation_colors, **options
    )
    uri = storage.animation_uri()
    files.write_bytes(uri, gif)
    preview = animation.render_animation(
        frames, width=PREVIEW_WIDTH, colors=PREVIEW_COLORS, **options
    )
    years = [label for label, _ in frames]
    context.log.info(f"{len(frames)} frames ({years[0]}..{years[-1]}) written to {uri}")
    width, height = animation.gif_frames(gif)[0][0].size
    return dg.MaterializeResult(
        metadata={
            "preview": dg.MetadataValue.md(
                animation.preview_markdown(preview, alt="word clouds by year", full_size=uri)
            ),
            "frames": dg.MetadataValue.int(len(frames)),
            "years": ", ".join(years),
            "years_missing": format_years(missing, ", ") or "none",
            "size": f"{width}x{height}",
            "bytes": dg.MetadataValue.int(len(gif)),
            "path": dg.MetadataValue.path(uri),
        }
    )
