"""What the UI shows in words: every config field described, no RST markup, every sensor described."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import dagster as dg
import pydantic

from wordcloud_pipeline.definitions import build_defs, emr_resources, local_resources


def config_fields(cls: type, path: str) -> Iterator[tuple[str, pydantic.fields.FieldInfo]]:
    """Every field of a resource, nested config classes included, with a dotted path."""
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if inspect.isclass(annotation) and issubclass(annotation, dg.ConfigurableResource):
            continue  # another resource this one uses, shown and described on its own
        yield f"{path}.{name}", field
        if inspect.isclass(annotation) and issubclass(annotation, dg.Config):
            yield from config_fields(annotation, f"{path}.{name}")


def resource_classes() -> dict[str, type]:
    classes = {}
    for resources in (local_resources(), emr_resources()):
        for key, resource in resources.items():
            classes[f"{key}:{type(resource).__name__}"] = type(resource)
    return classes


def test_every_config_field_of_every_resource_has_a_plain_text_description():
    missing, marked_up = [], []
    for name, cls in resource_classes().items():
        if "``" in (cls.__doc__ or ""):
            marked_up.append(f"{name} (docstring)")
        for path, field in config_fields(cls, name):
            if not field.description:
                missing.append(path)
            elif "``" in field.description:
                marked_up.append(path)
    assert not missing, f"config fields without a description: {missing}"
    assert not marked_up, f"RST double backticks the UI would show literally: {marked_up}"


def test_assets_sensors_jobs_and_checks_read_as_plain_text_in_the_ui():
    defs = build_defs("emr")  # the EMR set has every sensor
    texts = {}
    graph = defs.resolve_asset_graph()
    for node in graph.asset_nodes:
        texts[f"asset {node.key.to_user_string()}"] = node.description
    for check_key in graph.asset_check_keys:
        texts[f"check {check_key.name}"] = graph.get_check_spec(check_key).description
    for sensor in defs.sensors:
        texts[f"sensor {sensor.name}"] = sensor.description
    for job in ("yearly_job", "pictures_job"):
        texts[f"job {job}"] = defs.resolve_job_def(job).description
    assert not [name for name, text in texts.items() if not text], texts
    assert not [name for name, text in texts.items() if "``" in text]


def test_resource_descriptions_speak_to_users():
    """The UI renders descriptions as HTML-ish markdown: angle brackets vanish; internals do not help."""
    for name, cls in resource_classes().items():
        text = cls.__doc__ or ""
        assert "<" not in text and ">" not in text, name
        assert "thread" not in text and "Pipes" not in text, name


def test_raw_reviews_shows_both_layouts_it_reads():
    node = build_defs("local").resolve_asset_graph().get(dg.AssetKey("raw_reviews"))
    assert {"tsv", "parquet"} <= set(node.kinds)
