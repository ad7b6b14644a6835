"""wordcloud_automation_sensor: evaluates the assets' automation conditions (see automation.py).

Stopped until someone switches it on (docs/automation.md): in EMR mode every request it makes starts a
cluster. Requests of several years become a backfill, which honours the yearly assets' single-run backfill
policy: one run, one Spark job per asset, for a contiguous range of years.
"""

import dagster as dg

wordcloud_automation_sensor = dg.AutomationConditionSensorDefinition(
    "wordcloud_automation_sensor",
    target=dg.AssetSelection.groups("wordcloud"),
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=30,
    emit_backfills=True,
    run_tags={"wordcloud/trigger": "automation"},
    description="Brings words_by_year, word_clouds and the all-years pictures up to date after "
    "their upstream changes.",
)
