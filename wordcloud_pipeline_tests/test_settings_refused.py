"""Bad settings stop a run when it starts, before any Spark job, with one line naming field and value."""

from pathlib import Path

import dagster as dg
import pytest

from wordcloud_pipeline.definitions import ALL_ASSETS, YEARLY_ASSETS
from wordcloud_pipeline.pictures.style import CloudStyle
from wordcloud_pipeline.resources.local_spark import LocalSparkLauncher
from wordcloud_pipeline.resources.quality import QualityGates
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.resources.user_settings import SettingsRefused
from wordcloud_pipeline_tests.conftest import instance_with_years, local_test_resources


def refusal(resources: dict, storage: Path, run_config: dict | None = None) -> str:
    instance = instance_with_years(first=2005, last=2005)
    result = dg.materialize(
        ALL_ASSETS,
        resources=resources,
        instance=instance,
        selection=YEARLY_ASSETS,
        partition_key="2005",
        run_config=run_config,
        raise_on_error=False,
    )
    assert not result.success
    # Nothing ran: no asset materialized, no step started, nothing written.
    assert result.get_asset_materialization_events() == []
    assert [e for e in result.all_events if e.event_type_value == "STEP_START"] == []
    assert not storage.exists() or not any(storage.iterdir())
    (failure,) = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    message = failure.event_specific_data.error.message.strip()
    assert "\n" not in message and "pydantic" not in message
    return message.removeprefix(f"{SettingsRefused.__module__}.SettingsRefused: ")


def test_a_missing_mask_is_refused_before_any_spark_job(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    resources = local_test_resources(tmp_path / "reviews", storage, mask=str(tmp_path / "no.png"))
    message = refusal(resources, storage)
    assert message == (
        f"cloud_style.mask: '{tmp_path / 'no.png'}' is neither one of usa, none nor an image file"
    )


def test_settings_out_of_range_in_the_launchpad_are_one_line_each(tmp_path: Path) -> None:
    """Dagster's config schema has no ranges: the run refuses them when its resources start."""
    storage = tmp_path / "storage"
    resources = {
        **local_test_resources(tmp_path / "reviews", storage),
        "cloud_style": CloudStyle.configure_at_launch(),
    }
    run_config = {"resources": {"cloud_style": {"config": {"width": 50, "max_words": 0}}}}
    assert refusal(resources, storage, run_config).split("; ") == [
        "cloud_style.width: 50 refused: should be greater than or equal to 100",
        "cloud_style.max_words: 0 refused: should be greater than or equal to 1",
    ]


@pytest.mark.parametrize(
    ("resource", "config", "line"),
    [
        (
            QualityGates,
            {"max_row_drop_fraction": -0.1},
            "quality_gates.max_row_drop_fraction: -0.1",
        ),
        (CloudStyle, {"frame_duration_ms": 5}, "cloud_style.frame_duration_ms: 5"),
        (LocalSparkLauncher, {"spark_conf": {"spark.jars": "x"}}, "spark_jobs.spark_conf: "),
        (
            PipelineStorage,
            {"storage_uri": "data/../../etc"},
            "storage.storage_uri: location 'data/../../etc' contains '..'",
        ),
        (TitleProcessing, {"min_token_length": 0}, "title_processing.min_token_length: 0"),
    ],
)
def test_each_resource_names_its_key_field_and_value(resource, config, line) -> None:
    with pytest.raises(SettingsRefused) as refused:
        resource(**config)
    assert refused.value.description.startswith(line)
    assert "\n" not in refused.value.description


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
