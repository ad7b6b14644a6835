"""The command-line tools write under the working directory and say where, first thing."""

import os
import subprocess
import sys
from pathlib import Path

from wordcloud_pipeline.resources.storage import PROJECT_ROOT, PipelineStorage


def test_default_locations_are_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORDCLOUD_STORAGE_URI", raising=False)
    monkeypatch.delenv("WORDCLOUD_REVIEWS_URI", raising=False)
    storage = PipelineStorage()
    assert storage.storage_root() == str(tmp_path / "data" / "storage")
    assert storage.reviews_location() == str(tmp_path / "data" / "reviews")
    assert storage.uses_default_reviews()


def test_wordcloud_years_makes_its_instance_here_and_says_so_first(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "wordcloud_pipeline.years_cli", "2003-2004"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    home = Path(tmp_path) / ".dagster_home"
    assert done.stdout.splitlines()[0] == f"Dagster instance: {home}"
    assert (home / "dagster.yaml").is_file()
    assert "added: 2003-2004" in done.stdout
