"""word_rank_trends: a plot of how the most frequent words' ranks move from year to year."""

import dagster as dg

from wordcloud_pipeline import files, tables
from wordcloud_pipeline.assets.counts import words_by_year
from wordcloud_pipeline.automation import after_upstream_batch
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import known_years
from wordcloud_pipeline.pictures import clouds, plots
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.storage import PipelineStorage

# How deep into each year's ranking a word is followed; below it, the plot shows a gap.
RANK_DEPTH = 30


@dg.asset(
    deps=[words_by_year],
    group_name="wordcloud",
    pool=writer_pool("word_rank_trends"),
    code_version="1",  # bump when this asset computes differently: marks it and downstream stale
    kinds={"python", "png"},
    automation_condition=after_upstream_batch(),
)
def word_rank_trends(
    context: dg.AssetExecutionContext, storage: PipelineStorage, cloud_style: CloudStyle
) -> dg.MaterializeResult:
    """How the ranks of the most frequent title words move across the years (a bump chart)."""
    counts_uri = storage.input_location(context)
    top_by_year = tables.top_words_by_year(counts_uri, known_years(context.instance), RANK_DEPTH)
    if not any(top_by_year.values()):
        raise dg.Failure(f"no counted words under {counts_uri}: materialize words_by_year first")
    trends = plots.rank_trends(top_by_year, cloud_style.plot_words, RANK_DEPTH)
    png = plots.render_rank_plot(
        trends,
        width=cloud_style.plot_width,
        height=cloud_style.plot_height,
        colormap=cloud_style.plot_colormap,
        font_path=cloud_style.font_path,
    )
    uri = storage.rank_plot_uri()
    files.write_bytes(uri, png)
    context.log.info(f"ranks of {len(trends.ranks)} words over {len(trends.years)} years: {uri}")
    return dg.MaterializeResult(
        metadata={
            "preview": dg.MetadataValue.md(
                clouds.preview_markdown(png, alt="word rank trends", full_size=uri)
            ),
            "ranks": dg.MetadataValue.md(plots.rank_table(trends)),
            "years": dg.MetadataValue.int(len(trends.years)),
            "words": ", ".join(trends.ranks),
            "size": f"{cloud_style.plot_width}x{cloud_style.plot_height}",
            "path": dg.MetadataValue.path(uri),
        }
    )
