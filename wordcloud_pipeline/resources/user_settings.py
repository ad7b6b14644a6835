"""The base of every resource a user configures: a refused setting is one line, never a pydantic trace.

Why a base class of our own: pydantic refuses an out-of-range or malformed value with a multi-line
``ValidationError``, which Dagster shows under a Python trace of its own resource machinery. Dagster's
config schema carries types and enums (the launchpad refuses those before launch) but no ranges, so a
width of 50 or a mask that is not an image can only be refused when the run's resources start, before
any step. This makes that refusal one line per setting: where it is (the resource's key in the
definitions and the field's path), the value, and what is allowed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import dagster as dg
from pydantic import ValidationError


class SettingsRefused(dg.Failure):
    """A run's settings cannot work; the description names each field, its value and what is allowed."""


def refusal_lines(key: str, error: ValidationError) -> list[str]:
    """One line per refused value: ``<key>.<field path>: <value> refused: <what is allowed>``; a rule
    across fields (a model validator) is ``<key>: <its reason>``."""
    lines = []
    for problem in error.errors(include_url=False):
        where = ".".join([key, *(str(part) for part in problem["loc"])])
        reason = problem["msg"].removeprefix("Value error, ")
        if reason.startswith("Input should"):
            reason = "should" + reason.removeprefix("Input should")
        if not problem["loc"]:  # a rule across fields: its reason names them
            lines.append(f"{where}: {reason}")
        elif problem["type"] == "missing":
            lines.append(f"{where}: missing, it has no default")
        elif problem["type"] == "value_error" and repr(problem["input"]) in reason:
            # our own validators' reasons name the value themselves
            lines.append(f"{where}: {reason}")
        else:
            lines.append(f"{where}: {problem['input']!r} refused: {reason}")
    return lines


class UserSettings(dg.ConfigurableResource):
    """A resource whose settings come from users; ``config_key`` is its key in the definitions."""

    config_key: ClassVar[str]

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise SettingsRefused("; ".join(refusal_lines(self.config_key, error))) from None
