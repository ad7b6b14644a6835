"""Year partitions on a real instance: added once, listed oldest first, materializations kept."""

import dagster as dg

from wordcloud_pipeline.partitions import (
    add_years,
    known_years,
    valid_year,
    year_partition_requests,
)


def test_years_are_added_once_and_kept_oldest_first_even_when_they_arrive_late():
    with dg.instance_for_test() as instance:
        assert add_years(instance, [2015, 2014, 2016]) == [2014, 2015, 2016]
        assert add_years(instance, [2015]) == []
        instance.report_runless_asset_event(
            dg.AssetMaterialization("word_clouds", partition="2015")
        )
        # 2003 arrives after 2014-2016: the later years move behind it, in the UI's order.
        assert add_years(instance, [2003, 2015]) == [2003]
        assert instance.get_dynamic_partitions("years") == ["2003", "2014", "2015", "2016"]
        assert known_years(instance) == [2003, 2014, 2015, 2016]
        # Only the keys moved: 2015 is still materialized.
        assert instance.get_materialized_partitions(dg.AssetKey("word_clouds")) == {"2015"}


def test_partition_requests_only_touch_the_years_after_the_oldest_new_one():
    assert year_partition_requests(["2001", "2002"], [2002]) == []
    (add,) = year_partition_requests(["2001", "2002"], [2004, 2003])
    assert list(add.partition_keys) == ["2003", "2004"]
    delete, add = year_partition_requests(["2001", "2005", "2006"], [2003])
    assert isinstance(delete, dg.DeleteDynamicPartitionsRequest)
    assert list(delete.partition_keys) == ["2005", "2006"]
    assert list(add.partition_keys) == ["2003", "2005", "2006"]


def test_years_of_reviews_run_from_1995_to_this_year():
    assert valid_year(1995) and valid_year(2015)
    assert not valid_year(1994) and not valid_year(2999)
