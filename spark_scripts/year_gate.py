"""The quality gate a yearly table passes before a run may replace its years.

A year that had rows must not be replaced by an empty or collapsed result: a wrong ``category``, a file
that vanished upstream or a half-written input would otherwise wipe good data and still "succeed". The job
compares each year's new row count with the committed one before it commits, so a refused run leaves the
table exactly as it was. Plain Python (no Spark) so the rule itself is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["YearChange", "YearCollapseError", "check_years"]
# The Pipes custom message a script sends when the gate refuses its commit.
REFUSAL_MESSAGE = "year_gate_refused"


class YearCollapseError(RuntimeError):
    """A run would replace years that had data with an empty or much smaller result."""

    def __init__(self, table: str, collapsed: Sequence[YearChange], max_drop_fraction: float):
        self.table = table
        self.collapsed = list(collapsed)
        self.max_drop_fraction = max_drop_fraction
        shown = "; ".join(f"{c.year}: {c.before:,} rows -> {c.after:,}" for c in collapsed)
        super().__init__(
            f"refusing to replace {len(collapsed)} year(s) of {table}: {shown} (a year may lose at "
            f"most {max_drop_fraction:.0%} of its rows in one run). The table keeps its previous "
            "version. If the smaller result is right (say, counting 'titles' after 'reviews'), re-run "
            "with a larger max_row_drop_fraction (1.0 allows any change)."
        )


@dataclass(frozen=True)
class YearChange:
    year: int
    before: int
    after: int


def check_years(
    table: str,
    before: Mapping[int, int],
    after: Mapping[int, int],
    years: Sequence[int],
    max_drop_fraction: float,
) -> list[YearChange]:
    """Every year's change; raises ``YearCollapseError`` if one that had rows drops too far."""
    if not 0.0 <= max_drop_fraction <= 1.0:
        raise ValueError(f"max_drop_fraction must be within 0..1, not {max_drop_fraction}")
    changes = [YearChange(y, before.get(y, 0), after.get(y, 0)) for y in sorted(years)]
    collapsed = [
        c for c in changes if c.before > 0 and c.after < c.before * (1.0 - max_drop_fraction)
    ]
    if collapsed:
        raise YearCollapseError(table, collapsed, max_drop_fraction)
    return changes


def refusal_message(error: YearCollapseError) -> dict[str, Any]:
    """The refusal as a JSON-able Pipes custom message, so a launcher that runs the script elsewhere
    (an EMR step) raises the same ``YearCollapseError`` in the Dagster process."""
    return {
        REFUSAL_MESSAGE: {
            "table": error.table,
            "collapsed": [[c.year, c.before, c.after] for c in error.collapsed],
            "max_drop_fraction": error.max_drop_fraction,
        }
    }


def refusal_from_messages(payloads: Sequence[Any]) -> YearCollapseError | None:
    """The ``YearCollapseError`` a script reported among a session's custom messages, or None."""
    for payload in payloads:
        if isinstance(payload, Mapping) and isinstance(payload.get(REFUSAL_MESSAGE), Mapping):
            refused = payload[REFUSAL_MESSAGE]
            return YearCollapseError(
                refused["table"],
                [YearChange(*change) for change in refused["collapsed"]],
                refused["max_drop_fraction"],
            )
    return None
