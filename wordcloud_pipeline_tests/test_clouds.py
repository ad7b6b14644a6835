"""Drawing clouds: only what the font can draw, and the same bytes whether drawn in parallel or not."""

from wordcloud_pipeline.pictures import clouds


def test_words_the_font_cannot_draw_are_left_out_not_drawn_as_boxes():
    kept, left_out = clouds.drawable_words(
        [("dragon", 5), ("東京", 4), ("café", 3), ("москва", 2)], None
    )
    assert kept == [("dragon", 5), ("café", 3), ("москва", 2)]
    assert left_out == ["東京"]


def test_clouds_drawn_in_parallel_are_the_same_bytes_as_one_by_one():
    words = {
        year: [(f"word{year}", 5), ("dragon", 3), ("wizard", 2)] for year in (2001, 2002, 2003)
    }
    serial = clouds.render_clouds(words, 200, 150, workers=1, mask="none")
    parallel = clouds.render_clouds(words, 200, 150, workers=2, mask="none")
    assert list(parallel) == [2001, 2002, 2003]
    assert parallel == serial
