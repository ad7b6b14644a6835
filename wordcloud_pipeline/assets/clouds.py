"""word_clouds: one PNG per year, drawn in the Dagster process from that year's top words."""

import hashlib
import os
from collections.abc import Iterator

import dagster as dg

from wordcloud_pipeline import files, metadata, tables
from wordcloud_pipeline.assets.counts import words_by_year
from wordcloud_pipeline.checks import data_quality
from wordcloud_pipeline.checks.counting_modes import COUNTING_MODES_CHECK, counting_modes_result
from wordcloud_pipeline.concurrency import writer_pool
from wordcloud_pipeline.partitions import YEAR_RANGE_IN_ONE_RUN, partition_years, year_partitions
from wordcloud_pipeline.pictures import clouds
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.storage import PipelineStorage

TOP_WORDS_SHOWN = 10


@dg.asset(
    partitions_def=year_partitions,
    backfill_policy=YEAR_RANGE_IN_ONE_RUN,
    deps=[words_by_year],
    automation_condition=dg.AutomationCondition.eager(),
    group_name="wordcloud",
    pool=writer_pool("word_clouds"),
    code_version="1",  # bump when this asset computes differently: marks it and downstream stale
    kinds={"python", "png"},
    # Each year is yielded as its own materialization (and no output), so every partition shows its
    # own preview; returning a value would add a second, metadata-less materialization per year.
    output_required=False,
    check_specs=[data_quality.CLOUDS_NOT_LOST_SPEC, COUNTING_MODES_CHECK],
)
def word_clouds(
    context: dg.AssetExecutionContext, storage: PipelineStorage, cloud_style: CloudStyle
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    """One word cloud per year of the most frequent title words, on a map of the US."""
    counts_uri = storage.input_location(context)
    years = partition_years(context)
    top_by_year = tables.top_words_by_year(counts_uri, years, cloud_style.max_words)
    settings = tables.settings_by_year(counts_uri, years)
    kept_previous: list[int] = []
    drawable = {}
    for year in years:
        drawable[year] = clouds.drawable_words(top_by_year[year], cloud_style.font_path)
        left_out = drawable[year][1]
        if left_out:
            context.log.info(
                f"{year}: {len(left_out)} words left out, the font has no letters for them "
                f"(e.g. {', '.join(left_out[:5])})"
            )
    # Drawing is the slow part and each year is independent: one process per core.
    drawn = clouds.render_clouds(
        {year: words for year, (words, _) in drawable.items() if words},
        cloud_style.width,
        cloud_style.height,
        workers=cloud_style.draw_workers or os.cpu_count() or 1,
        mask=cloud_style.mask,
        background_color=cloud_style.background_color,
        colormap=cloud_style.colormap,
        font_path=cloud_style.font_path,
        seed=cloud_style.seed,
    )
    for year in years:
        uri = storage.cloud_uri(year)
        frequencies, left_out = drawable[year]
        if frequencies:
            png = drawn[year]
        elif files.exists(uri) and not clouds.is_placeholder(files.read_bytes(uri)):
            # Counts that vanished upstream must not turn a good cloud into a placeholder.
            context.log.error(f"{year}: no counted words; keeping the previous cloud at {uri}")
            kept_previous.append(year)
            continue
        else:
            context.log.warning(
                f"{year}: no words counted, drawing a placeholder instead of a cloud"
            )
            png = clouds.render_placeholder(
                f"no book titles in {year}",
                cloud_style.width,
                cloud_style.height,
                background_color=cloud_style.background_color,
            )
        files.write_bytes(uri, png)
        context.log.info(f"{year}: {len(frequencies)} words drawn to {uri}")
        top = frequencies[:TOP_WORDS_SHOWN]
        yield dg.AssetMaterialization(
            asset_key=context.asset_key,
            partition=str(year),
            # The picture's own bytes: a year whose cloud changed makes the animation stale.
            tags={"dagster/data_version": hashlib.sha256(png).hexdigest()[:16]},
            metadata={
                "preview": dg.MetadataValue.md(
                    clouds.preview_markdown(png, alt=f"word cloud {year}", full_size=uri)
                ),
                "top_words": dg.MetadataValue.md(
                    metadata.top_words_table({str(year): [list(t) for t in top]})
                ),
                "words_drawn": dg.MetadataValue.int(len(frequencies)),
                "words_left_out_no_glyphs": dg.MetadataValue.int(len(left_out)),
                "words_left_out_examples": ", ".join(left_out[:10]) or "none",
                # How the drawn words were made, as words_by_year stores it for the year.
                "counting": settings[year]["counting"],
                "backend": settings[year]["backend"],
                "path": dg.MetadataValue.path(uri),
                "size": f"{cloud_style.width}x{cloud_style.height}",
            },
        )
    yield data_quality.clouds_not_lost_result(kept_previous)
    # After every year is recorded: do the years, this run's included, count words the same way?
    yield counting_modes_result(context.instance)
