"""The Dagster instance this project ships: ``dagster.yaml`` at the repository root, copied into a home.

``DAGSTER_HOME`` must hold the instance's ``dagster.yaml``; without one Dagster runs with defaults, which
leave the writer pools (``concurrency.py``) unlimited. ``wordcloud-demo`` and ``wordcloud-years`` call
``prepare_home`` so ``.dagster_home`` (under the working directory) gets the shipped file; a home that already has a
``dagster.yaml`` is left as it is (someone chose it, e.g. the PostgreSQL variant).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from wordcloud_pipeline.resources.storage import PROJECT_ROOT

INSTANCE_CONFIG = PROJECT_ROOT / "dagster.yaml"
# The same instance with its runs, events and schedules in PostgreSQL (how to use it: its own comments).
POSTGRES_INSTANCE_CONFIG = PROJECT_ROOT / "dagster.postgres.yaml"


class HomeNotWritable(SystemExit):
    """The command stops with one line (a SystemExit's message), before Dagster's SQLite fails in a
    trace of its own on the first run it records."""


def prepare_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Creates the Dagster home (default: ``DAGSTER_HOME``, else ``.dagster_home`` under the working
    directory), sets ``DAGSTER_HOME`` to it, and copies the shipped ``dagster.yaml`` there unless it has
    one. Returns the home."""
    path = Path(home or os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A probe file, not os.access: permission bits say nothing to root, nor of a read-only mount.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise HomeNotWritable(
            f"DAGSTER_HOME {path} is not writable ({error.strerror}): Dagster keeps the runs, their "
            "events and the year partitions there; set DAGSTER_HOME to a folder you can write"
        ) from None
    os.environ["DAGSTER_HOME"] = str(path)
    config = path / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_CONFIG, config)
    return path
