"""counting_modes_agree on a real instance: the latest materialization of each year decides."""

import dagster as dg

from wordcloud_pipeline.checks.counting_modes import counting_modes_result
from wordcloud_pipeline_tests.conftest import instance_with_years


def record_cloud(instance: dg.DagsterInstance, year: int, counting: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization("word_clouds", partition=str(year), metadata={"counting": counting})
    )


def test_one_mode_passes_and_a_year_recounted_another_way_warns_with_the_years():
    with dg.instance_for_test() as instance:
        instance_with_years(instance, 2001, 2005)
        for year in range(2001, 2005):  # 2005 never drawn
            record_cloud(instance, year, "titles")
        result = counting_modes_result(instance)
        assert result.passed
        assert result.metadata["counting"].value == "titles"
        assert result.metadata["years"].value == 4

        record_cloud(instance, 2003, "reviews")
        result = counting_modes_result(instance)
        assert not result.passed
        assert result.severity == dg.AssetCheckSeverity.WARN
        assert result.metadata["years_titles"].value == "2001-2002,2004"
        assert result.metadata["years_reviews"].value == "2003"
        assert "2003" in result.description

        record_cloud(instance, 2003, "titles")  # only the latest materialization counts
        assert counting_modes_result(instance).passed
