"""The storage layout: every location comes from one object, inputs from the declared dependencies."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from wordcloud_pipeline.resources.storage import (
    LOCATION_METADATA,
    REVIEWS_LOCATION,
    PipelineStorage,
)


def test_outputs_are_root_plus_asset_and_the_pictures_file_names(tmp_path: Path) -> None:
    storage = PipelineStorage(storage_uri=str(tmp_path), reviews_uri=str(tmp_path / "in"))
    assert storage.asset_location(dg.AssetKey("words_by_year")) == f"{tmp_path}/words_by_year"
    assert storage.cloud_uri(2003) == f"{tmp_path}/word_clouds/2003.png"
    assert storage.animation_uri() == f"{tmp_path}/word_cloud_animation/word_clouds.gif"
    assert storage.rank_plot_uri() == f"{tmp_path}/word_rank_trends/word_rank_trends.png"


def test_an_assets_input_is_where_its_declared_dependency_lives(tmp_path: Path) -> None:
    """A source asset of any name that says so reads at the reviews location, a materialized one at
    its output, also when the run does not materialize it (a stub in the run's graph)."""
    seen: dict[str, str] = {}
    files_from_elsewhere = dg.AssetSpec(
        "files_from_elsewhere", metadata={LOCATION_METADATA: REVIEWS_LOCATION}
    )

    @dg.asset(deps=[files_from_elsewhere])
    def first(context: dg.AssetExecutionContext, storage: PipelineStorage) -> None:
        seen["first"] = storage.input_location(context)

    @dg.asset(deps=[first])
    def second(context: dg.AssetExecutionContext, storage: PipelineStorage) -> None:
        seen["second"] = storage.input_location(context)

    storage = PipelineStorage(storage_uri=str(tmp_path / "out"), reviews_uri=str(tmp_path / "in"))
    result = dg.materialize([files_from_elsewhere, first, second], resources={"storage": storage})
    assert result.success
    assert seen == {"first": str(tmp_path / "in"), "second": f"{tmp_path / 'out'}/first"}
    seen.clear()
    assert dg.materialize([second], resources={"storage": storage}).success
    assert seen == {"second": f"{tmp_path / 'out'}/first"}


def test_command_line_tools_import_no_asset_module() -> None:
    """They ask the storage layout for paths; importing assets would load the whole graph for a path."""
    code = (
        "import sys, wordcloud_pipeline.demo, wordcloud_pipeline.years_cli;"
        "print(sorted(m for m in sys.modules if m.startswith('wordcloud_pipeline.assets')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
