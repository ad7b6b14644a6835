"""Word clouds of Amazon book-review titles per year, as Dagster assets on local Spark or EMR.

``defs`` (what ``dagster ... -m wordcloud_pipeline`` and ``workspace.yaml`` load) is built on first access,
not on import: importing one module of the package (a command-line tool, or the cloud-drawing worker
processes, which import ``wordcloud_pipeline.pictures.clouds`` in a fresh interpreter) would otherwise import Dagster,
dagster-aws and every asset first, about 4 s each time. Dagster finds it all the same: it looks a module's
definitions up with ``dir()`` and ``getattr``, which ``__dir__`` and ``__getattr__`` (PEP 562) answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wordcloud_pipeline.definitions import defs

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from wordcloud_pipeline.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
