"""counting_modes_agree: flags word clouds whose years were counted in different units.

A cloud counts words once per title or once per review (``title_processing.counting``). Re-running some
years in the other mode leaves the years mixed: the animation and the rank plot then compare numbers that
mean different things. The check reads the ``counting`` metadata of each year's latest ``word_clouds``
materialization and warns, naming the years of each mode. It does not block: the clouds themselves are
right, only comparing them is not.

``word_clouds`` declares the check and yields its result after its years: it records each year as its own
materialization and returns no output, and Dagster skips an ``@asset_check`` whose asset step yielded no
output. So the check runs with every run of ``word_clouds`` (``yearly_job`` included), never on its own.
"""

from collections import defaultdict

import dagster as dg

from spark_scripts.domain import format_years
from wordcloud_pipeline.partitions import known_years


def counting_by_year(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> dict[int, str]:
    """The ``counting`` metadata of the latest materialization of each year that has one."""
    modes: dict[int, str] = {}
    for year in known_years(instance):
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[str(year)]),
            limit=1,
            ascending=False,
        ).records
        if records:
            counting = records[0].asset_materialization.metadata.get("counting")
            modes[year] = str(counting.value) if counting is not None else "unknown"
    return modes


def mixed_modes(modes: dict[int, str]) -> dict[str, list[int]]:
    """The years of each counting mode, when there is more than one mode; else empty.

    A year whose mode is 'unknown' (no words counted, so none stored with them) differs from nothing.
    """
    by_mode: dict[str, list[int]] = defaultdict(list)
    for year, mode in sorted(modes.items()):
        if mode != "unknown":
            by_mode[mode].append(year)
    return dict(by_mode) if len(by_mode) > 1 else {}


COUNTING_MODES_CHECK = dg.AssetCheckSpec(
    "counting_modes_agree",
    asset="word_clouds",
    description="Every year's latest cloud counts words the same way (all 'titles' or all "
    "'reviews'), so the years, the animation and the rank plot can be compared.",
)


def counting_modes_result(instance: dg.DagsterInstance) -> dg.AssetCheckResult:
    """The check's verdict on the word clouds as the instance has them now."""
    modes = counting_by_year(instance, COUNTING_MODES_CHECK.asset_key)
    mixed = mixed_modes(modes)
    if not mixed:
        known = sorted(set(modes.values()) - {"unknown"})
        mode = known[0] if known else ("unknown" if modes else "none")
        return dg.AssetCheckResult(
            check_name=COUNTING_MODES_CHECK.name,
            passed=True,
            metadata={"counting": mode, "years": dg.MetadataValue.int(len(modes))},
        )
    described = "; ".join(f"{mode}: {format_years(years)}" for mode, years in mixed.items())
    return dg.AssetCheckResult(
        check_name=COUNTING_MODES_CHECK.name,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"the years mix counting modes ({described}): re-run the minority with one "
        "title_processing.counting so the clouds compare",
        metadata={f"years_{mode}": format_years(years) for mode, years in mixed.items()},
    )
