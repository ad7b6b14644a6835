"""Bad settings stop a run when it starts, before any Spark job, with one line naming field and value."""

from pathlib import Path

import dagster as dg
import pytest

from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources


def refusal(resources: dict, storage: Path) -> str:
    instance = instance_with_years(first=2005, last=2005)
    result = dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=instance,
        selection=YEARLY_ASSETS,
        partition_key="2005",
        raise_on_error=False,
    )
    assert not result.success
    # Nothing ran: no asset materialized, no step started, nothing written.
    assert result.get_asset_materialization_events() == []
    assert [e for e in result.all_events if e.event_type_value == "STEP_START"] == []
    assert not storage.exists() or not any(storage.iterdir())
    (failure,) = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    return failure.event_specific_data.error.message.strip()


def test_a_missing_mask_is_refused_before_any_spark_job(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    resources = local_test_resources(tmp_path / "reviews", storage, mask=str(tmp_path / "no.png"))
    message = refusal(resources, storage)
    assert message.endswith(
        f"cloud_style.mask: '{tmp_path / 'no.png'}' is neither one of usa, none nor an image file"
    )
    assert "\n" not in message


def test_every_bad_picture_setting_is_named_at_once(tmp_path: Path) -> None:
    not_an_image = tmp_path / "mask.png"
    not_an_image.write_text("not a picture")
    style = CloudStyle(
        mask=str(not_an_image), colormap="rainbowish", background_color="transparent-ish"
    )
    problems = style.problems()
    assert [p.split(":")[0] for p in problems] == [
        "cloud_style.mask",
        "cloud_style.colormap",
        "cloud_style.background_color",
    ]
    assert "'rainbowish' is not a matplotlib colormap" in problems[1]
    assert CloudStyle().problems() == []


@pytest.mark.parametrize("setting", [{"backend": "spacy"}, {"counting": "words"}])
def test_the_launchpad_schema_refuses_unknown_backends_and_counting_units(setting) -> None:
    from dagster._config import validate_config

    from wordcloud_pipeline.resources.settings import TitleProcessing

    schema = TitleProcessing.to_config_schema().as_field().config_type
    result = validate_config(schema, setting)
    assert not result.success
    assert "not in enum type" in result.errors[0].message
