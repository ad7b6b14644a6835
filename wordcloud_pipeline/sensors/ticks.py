"""What a cleanup sensor's tick did, in one place: such a sensor requests no runs, so the reason it returns
is what the UI shows for the tick, and the same line goes to the tick's log."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg


def cleanup_tick(
    context: dg.SensorEvaluationContext, done: Sequence[str], did: str, things: str, idle: str
) -> dg.SkipReason:
    """``did`` ("terminated") ``len(done)`` ``things`` ("cluster(s)") with their ids, or ``idle``."""
    reason = f"{did} {len(done)} {things}: {', '.join(done)}" if done else idle
    context.log.info(reason)
    return dg.SkipReason(reason)
