"""new_reviews_sensor: recompute only the years that new or changed review files touch.

Each tick lists the raw reviews location (a local folder, or an s3:// prefix in EMR mode), compares it with
the JSON cursor (one entry per file: its version and the years it held), and learns the years of each new or
changed file cheaply (``review_years``). A deleted file's years are recomputed too, when the sensor knew
them. The years become one run per contiguous range of the yearly assets, so a batch of years runs as one
Spark job per asset (one cluster in EMR mode), with a run key derived from the files that caused it.

The first tick only records what is already there: existing data is the job of a backfill, and switching
the sensor on must not recompute 21 years by surprise. A file that cannot be read is named in the log and
remembered with its version, so it is not retried every tick, and the good files of the same tick still
move the cursor. A rewritten version of it is read again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import dagster as dg

from spark_scripts.job_cli import format_years, parse_years
from wordcloud_pipeline.assets.clouds import word_clouds
from wordcloud_pipeline.assets.counts import words_by_year
from wordcloud_pipeline.assets.titles import preprocessed_titles
from wordcloud_pipeline.partitions import year_partitions
from wordcloud_pipeline.resources.settings import TitleProcessing
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.review_years import (
    ReviewFile,
    UnreadableReviewFile,
    list_review_files,
    years_in_file,
)

# A TSV.gz of the real dataset takes seconds to scan; a tick should end well within the sensor timeout.
# Files beyond this are read on the next ticks (the cursor only records files that were read).
MAX_FILES_PER_TICK = 20
TRIGGER_TAG = "wordcloud/trigger"
CURSOR_FORMAT = 1


@dataclass
class SeenFile:
    """What the cursor remembers of one file: its version, and its years ('' none, None unknown)."""

    version: str
    years: str | None = None
    unreadable: bool = False

    def year_set(self) -> set[int]:
        return set(parse_years(self.years)) if self.years else set()


@dataclass
class ReviewsCursor:
    """The sensor's cursor: every file seen under the location, by its name relative to the location."""

    files: dict[str, SeenFile] = field(default_factory=dict)

    def to_json(self) -> str:
        files = {name: asdict(seen) for name, seen in sorted(self.files.items())}
        return json.dumps({"format": CURSOR_FORMAT, "files": files}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReviewsCursor:
        data = json.loads(text)
        return cls({name: SeenFile(**seen) for name, seen in data["files"].items()})


@dataclass
class TickPlan:
    """What one tick decided: the years to recompute, the new cursor, and what to tell the log."""

    years: set[int]
    cursor: ReviewsCursor
    triggers: list[str]
    unreadable: dict[str, str]
    deferred: int


def plan_tick(
    listing: Sequence[ReviewFile],
    cursor: ReviewsCursor,
    category: str | None,
    max_files: int = MAX_FILES_PER_TICK,
) -> TickPlan:
    """Compares ``listing`` with ``cursor`` and reads the years of up to ``max_files`` new or changed files.

    A changed file recomputes the years it holds now and the years it held before; a removed one the years
    it held (unknown for files recorded by the first tick, which are never read).
    """
    seen = dict(cursor.files)
    changed = [f for f in listing if f.name not in seen or seen[f.name].version != f.version]
    present = {f.name for f in listing}
    years: set[int] = set()
    triggers: list[str] = []
    unreadable: dict[str, str] = {}
    for file in changed[:max_files]:
        before = seen.get(file.name)
        try:
            now = years_in_file(file.uri, category)
        except UnreadableReviewFile as error:
            unreadable[file.name] = str(error)
            # Keep what the last good version held: the next readable version recomputes those years.
            seen[file.name] = SeenFile(
                file.version, before.years if before else "", unreadable=True
            )
            continue
        # For an unreadable entry, these are the years of the last version that could be read.
        old = before.year_set() if before else set()
        years |= now | old
        seen[file.name] = SeenFile(file.version, format_years(sorted(now)) if now else "")
        triggers.append(f"{file.name}@{file.version}")
    for name in sorted(set(seen) - present):
        years |= seen.pop(name).year_set()
        triggers.append(f"{name}@removed")
    return TickPlan(years, ReviewsCursor(seen), triggers, unreadable, len(changed[max_files:]))


def year_ranges(years: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of ``years``: 2003, 2014, 2015 -> [(2003, 2003), (2014, 2015)]."""
    ranges: list[tuple[int, int]] = []
    for year in sorted(set(years)):
        if ranges and ranges[-1][1] == year - 1:
            ranges[-1] = (ranges[-1][0], year)
        else:
            ranges.append((year, year))
    return ranges


def run_requests(years: Iterable[int], triggers: Sequence[str]) -> list[dg.RunRequest]:
    """One run per contiguous range of years; the run key names the range and the files behind it."""
    digest = hashlib.sha256("\n".join(sorted(triggers)).encode()).hexdigest()[:16]
    requests = []
    for first, last in year_ranges(years):
        span = str(first) if first == last else f"{first}-{last}"
        tags = {TRIGGER_TAG: "new_reviews"}
        run_key = f"new_reviews:{span}:{digest}"
        if first == last:
            requests.append(dg.RunRequest(run_key=run_key, partition_key=str(first), tags=tags))
        else:
            range_tags = {
                "dagster/asset_partition_range_start": str(first),
                "dagster/asset_partition_range_end": str(last),
            }
            requests.append(dg.RunRequest(run_key=run_key, tags={**tags, **range_tags}))
    return requests


@dg.sensor(
    target=[preprocessed_titles, words_by_year, word_clouds],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def new_reviews_sensor(
    context: dg.SensorEvaluationContext,
    storage: PipelineStorage,
    title_processing: TitleProcessing,
) -> dg.SensorResult:
    """Runs the yearly assets for exactly the years that new or changed review files touch."""
    location = storage.reviews_location()
    try:
        listing = list_review_files(location)
    except OSError as error:
        return dg.SensorResult(skip_reason=f"cannot list {location}: {error}")

    if context.cursor is None:
        baseline = ReviewsCursor({f.name: SeenFile(f.version) for f in listing})
        return dg.SensorResult(
            skip_reason=f"first tick: {len(listing)} review files at {location} recorded as already "
            "there; new or changed files from now on are recomputed (backfill to recompute these)",
            cursor=baseline.to_json(),
        )

    plan = plan_tick(listing, ReviewsCursor.from_json(context.cursor), title_processing.category)
    for name, reason in plan.unreadable.items():
        context.log.warning(
            f"skipped unreadable review file {name}: {reason}. Fix or remove it: the Spark job reads "
            "every file under the location and would fail on it too"
        )
    if plan.deferred:
        context.log.info(f"{plan.deferred} more new or changed files are left for the next tick")
    partitions = set(year_partitions.get_partition_keys())
    outside = sorted(y for y in plan.years if str(y) not in partitions)
    if outside:
        context.log.warning(
            f"years {format_years(outside)} are not partitions of year_partitions "
            f"({next(iter(sorted(partitions)))}..{max(partitions)}): not recomputed"
        )
    years = sorted(plan.years - set(outside))
    cursor = plan.cursor.to_json()
    if not years:
        skipped = f"; skipped unreadable: {', '.join(plan.unreadable)}" if plan.unreadable else ""
        return dg.SensorResult(skip_reason=f"no year to recompute{skipped}", cursor=cursor)
    context.log.info(f"recomputing {format_years(years)} for {len(plan.triggers)} changed files")
    return dg.SensorResult(run_requests=run_requests(years, plan.triggers), cursor=cursor)
