"""When downstream assets follow an update without anyone clicking (declarative automation).

Two conditions, evaluated by ``wordcloud_automation_sensor`` (stopped until switched on, see
docs/automation.md):

- Dagster's own ``AutomationCondition.eager()`` on ``words_by_year`` and ``word_clouds``: a year is
  requested when its upstream year was updated (by the new-reviews sensor, a backfill or a person), for
  ANY year. eager() restricts time-window partitions to the latest window, but the years are dynamic
  partitions, which have no time window, so it acts on every year
  (``test_automation.test_an_old_year_flows_down_and_the_summaries_refresh_once``).
- ``after_upstream_batch()`` on the unpartitioned pictures of all years (``word_cloud_animation``,
  ``word_rank_trends``): requested once when a batch of upstream years has landed, not once per year. It
  waits while any upstream year is still in progress (a run or a backfill) or about to be requested, so
  a batch that lands over several runs ends in one refresh.

An update made by a run that also targeted the downstream asset does not count (the run already refreshed
it), which is what keeps a backfill of all yearly assets from being followed by a second round.
"""

from __future__ import annotations

import dagster as dg

AC = dg.AutomationCondition


def after_upstream_batch() -> dg.AutomationCondition:
    """Once after upstream years were updated and none is still in progress or about to be requested."""
    upstream_updated = AC.any_deps_match(
        (AC.newly_updated() & ~AC.executed_with_root_target()).with_label(
            "newly_updated_without_root"
        )
    ).with_label("any_upstream_year_updated")
    upstream_requested = AC.any_deps_match(AC.will_be_requested()).with_label(
        "any_upstream_year_requested"
    )
    return (
        upstream_updated.since_last_handled()
        & ~AC.any_deps_in_progress()
        & ~upstream_requested
        & ~AC.in_progress()
    ).with_label("after_upstream_batch")
