"""new_reviews_sensor: recompute only the years that new or changed review files touch.

Each tick lists the raw reviews location (a local folder, or an s3:// prefix in EMR mode), compares it with
the JSON cursor (one entry per file: its version and the years it held), and learns the years of each new or
changed file cheaply (``review_years``). A deleted file's years are recomputed too, when the sensor knew
them. The years become one run per tick: a range from the first to the last year (the years between are
recomputed too, which costs less than a run's fixed cost), cut only around years a run in flight holds; so
a batch of years runs as one Spark job per asset (one cluster in EMR mode), with a run key derived from the
files that caused it.

The first tick (also with a blank cursor, as the UI's *Preview tick result* sends) only records what is
already there: existing data is the job of a backfill, and switching the sensor on must not recompute 21
years by surprise. The years of those files are still read, a budget of files per tick, and become year
partitions (``partitions.add_years`` order, oldest first), so a backfill can select them.

A year that a queued or running run (or a requested backfill) will write is not requested again while that
run is in flight: it waits in the cursor and is requested on a later tick, once no run holds it (the run
queue's pools make two writers of one asset wait for each other; this keeps the sensor from queueing them). A file that cannot be read is named in the log and
remembered with its version, so it is not retried every tick, and the good files of the same tick still
move the cursor. A rewritten version of it is read again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import dagster as dg

from spark_scripts.domain import format_years, parse_years, year_spans
from wordcloud_pipeline.concurrency import (
    ACTIVE_RUN_STATUSES,
    run_asset_keys,
    run_years,
    years_in_flight,
)
from wordcloud_pipeline.jobs import YEARLY_ASSETS, yearly_job
from wordcloud_pipeline.partitions import (
    YEAR_PARTITIONS_NAME,
    range_tags,
    valid_year,
    year_partition_requests,
)
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
# Beyond those, small files are read while the tick's files add up to this many bytes: 2,000 small files
# took 100 ticks at 20 a tick.
MAX_BYTES_PER_TICK = 64 * 1024 * 1024
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
    # Years whose files changed while a run in flight held them, and the changes behind them.
    pending: list[int] = field(default_factory=list)
    pending_triggers: list[str] = field(default_factory=list)
    # The storage id of the last ingested_reviews materialization whose changed years were accounted for.
    ingest_seen: int | None = None

    def to_json(self) -> str:
        files = {name: asdict(seen) for name, seen in sorted(self.files.items())}
        data: dict[str, object] = {"format": CURSOR_FORMAT, "files": files}
        if self.pending:
            data["pending"] = format_years(self.pending)
            data["pending_triggers"] = sorted(self.pending_triggers)
        if self.ingest_seen is not None:
            data["ingest_seen"] = self.ingest_seen
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ReviewsCursor:
        data = json.loads(text)
        return cls(
            {name: SeenFile(**seen) for name, seen in data["files"].items()},
            parse_years(data["pending"]) if data.get("pending") else [],
            list(data.get("pending_triggers", [])),
            data.get("ingest_seen"),
        )

    def data_years(self) -> set[int]:
        """Every year some readable file under the location held when it was read."""
        return {year for seen in self.files.values() for year in seen.year_set()}


@dataclass
class TickPlan:
    """What one tick decided: the years to recompute, the new cursor, and what to tell the log."""

    years: set[int]
    cursor: ReviewsCursor
    triggers: list[str]
    unreadable: dict[str, str]
    deferred: int
    catalogued: int = 0


def plan_tick(
    listing: Sequence[ReviewFile],
    cursor: ReviewsCursor,
    category: str | None,
    max_files: int = MAX_FILES_PER_TICK,
    max_bytes: int = MAX_BYTES_PER_TICK,
) -> TickPlan:
    """Compares ``listing`` with ``cursor`` and reads the years of up to ``max_files`` new or changed files.

    A changed file recomputes the years it holds now and the years it held before; a removed one the years
    it held. What budget is left reads files recorded by the first tick (their years are unknown): their
    years become partitions but are not recomputed.
    """
    seen = dict(cursor.files)
    changed = [f for f in listing if f.name not in seen or seen[f.name].version != f.version]
    present = {f.name for f in listing}
    years: set[int] = set()
    triggers: list[str] = []
    unreadable: dict[str, str] = {}
    budget = len(within_budget(changed, max_files, max_bytes))
    for file in changed[:budget]:
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
    catalogued = 0
    unknown = [
        f
        for f in listing
        if f.name in seen and seen[f.name].years is None and not seen[f.name].unreadable
    ]
    for file in unknown[: max(0, max_files - budget)]:
        try:
            held = years_in_file(file.uri, category)
        except UnreadableReviewFile as error:
            unreadable[file.name] = str(error)
            seen[file.name] = SeenFile(file.version, None, unreadable=True)
            continue
        seen[file.name] = SeenFile(file.version, format_years(sorted(held)) if held else "")
        catalogued += 1
    for name in sorted(set(seen) - present):
        years |= seen.pop(name).year_set()
        triggers.append(f"{name}@removed")
    next_cursor = ReviewsCursor(
        seen, list(cursor.pending), list(cursor.pending_triggers), cursor.ingest_seen
    )
    return TickPlan(years, next_cursor, triggers, unreadable, len(changed[budget:]), catalogued)


INGEST_KEY = dg.AssetKey("ingested_reviews")
# Materializations looked at per tick; more wait for the next tick.
MAX_INGESTS_PER_TICK = 100


def latest_ingest(instance: dg.DagsterInstance) -> int:
    """The storage id of the latest ingested_reviews materialization (0 before the first)."""
    records = instance.fetch_materializations(INGEST_KEY, limit=1).records
    return records[0].storage_id if records else 0


def years_left_stale(
    instance: dg.DagsterInstance, since: int | None
) -> tuple[set[int], list[str], int]:
    """Years an ingest commit changed that its own run did not recompute, the runs behind them, and
    the storage id to look after next time.

    A run that failed after its ingest committed (or a run for 2005 whose ingest also committed the
    file of an earlier, failed run for 2003) leaves those years stale: they are requested again. An
    ingest whose run is still in flight is looked at once it ended.
    """
    if since is None:
        return set(), [], latest_ingest(instance)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=INGEST_KEY, after_storage_id=since),
        limit=MAX_INGESTS_PER_TICK,
        ascending=True,
    ).records
    years: set[int] = set()
    runs: list[str] = []
    seen = since
    yearly = {key for asset in YEARLY_ASSETS for key in asset.keys} - {INGEST_KEY}
    for record in records:
        run = instance.get_run_by_id(record.run_id) if record.run_id else None
        if run is not None and run.status in ACTIVE_RUN_STATUSES:
            break
        seen = record.storage_id
        materialization = record.asset_materialization
        text = materialization.metadata.get("years_changed") if materialization else None
        value = str(getattr(text, "value", text) or "")
        changed = {int(y) for y in value.replace(",", " ").split() if y.isdigit()}
        covered: set[int] = set()
        if run is not None and run.status == dg.DagsterRunStatus.SUCCESS:
            if yearly <= run_asset_keys(instance, run):
                covered = run_years(run)
        if changed - covered:
            years |= changed - covered
            runs.append(f"ingest@{record.run_id or record.storage_id}")
    return years, runs, seen


def within_budget(files: Sequence[ReviewFile], max_files: int, max_bytes: int) -> list[ReviewFile]:
    """The first ``max_files`` of ``files``, and more after them while all add up to ``max_bytes``."""
    chosen: list[ReviewFile] = []
    total = 0
    for file in files:
        size = int(file.version.rsplit(":", 1)[-1])
        if len(chosen) >= max_files and total + size > max_bytes:
            break
        chosen.append(file)
        total += size
    return chosen


def batched_years(years: Iterable[int], held: Iterable[int] = ()) -> list[int]:
    """Every year from the first to the last of ``years`` but those ``held`` by runs in flight: one
    run per tick instead of one per contiguous range (2,000 new files made 206 runs). The years
    between cost a recompute each, which is less than a run's fixed cost."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    blocked = set(held)
    return [y for y in range(wanted[0], wanted[-1] + 1) if y not in blocked]


def run_requests(years: Iterable[int], triggers: Sequence[str]) -> list[dg.RunRequest]:
    """One run per contiguous range of years; the run key names the range and the files behind it."""
    digest = hashlib.sha256("\n".join(sorted(triggers)).encode()).hexdigest()[:16]
    requests = []
    for first, last in year_spans(years):
        span = str(first) if first == last else f"{first}-{last}"
        tags = {TRIGGER_TAG: "new_reviews"}
        run_key = f"new_reviews:{span}:{digest}"
        if first == last:
            requests.append(dg.RunRequest(run_key=run_key, partition_key=str(first), tags=tags))
        else:
            requests.append(
                dg.RunRequest(run_key=run_key, tags={**tags, **range_tags(first, last)})
            )
    return requests


@dg.sensor(
    job=yearly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches the raw reviews location (WORDCLOUD_REVIEWS_URI). Adds a year partition for "
    "every year the review files hold, and runs yearly_job (ingested_reviews, which reads only the new "
    "or changed files, then preprocessed_titles, words_by_year and word_clouds) for exactly the years "
    "that new, changed or deleted files touch: one run per tick, over the range of those years. "
    "The first tick only records the files already there. Years a queued or running run will write "
    "wait for a later tick.",
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
        context.log.warning(f"cannot list {location}: {error}")
        return dg.SensorResult(skip_reason=f"cannot list {location}: {error}")

    first_tick = not context.cursor  # None for a new sensor, "" from the UI's blank cursor field
    if first_tick:
        cursor = ReviewsCursor({f.name: SeenFile(f.version) for f in listing})
        cursor.ingest_seen = latest_ingest(context.instance)
    else:
        cursor = ReviewsCursor.from_json(context.cursor)
    plan = plan_tick(listing, cursor, title_processing.category)
    for name, reason in plan.unreadable.items():
        context.log.warning(
            f"skipped unreadable review file {name}: {reason}. Fix or remove it: the ingest reads "
            "every new or changed file under the location and would fail on it too"
        )
    if plan.deferred:
        context.log.info(f"{plan.deferred} more new or changed files are left for the next tick")

    data_years = plan.cursor.data_years() | plan.years
    outside = sorted(y for y in data_years if not valid_year(y))
    if outside:
        context.log.warning(
            f"years {format_years(outside)} are outside the years reviews can have "
            "(1995 to the current year): not partitions, not recomputed"
        )
    partition_requests = year_partition_requests(
        context.instance.get_dynamic_partitions(YEAR_PARTITIONS_NAME),
        [y for y in data_years if valid_year(y)],
    )
    if partition_requests:
        added = partition_requests[-1].partition_keys
        context.log.info(f"year partitions added (in order): {', '.join(added)}")

    if first_tick:
        read = f"; years of {plan.catalogued} read" if plan.catalogued else ""
        message = (
            f"first tick: {len(listing)} review files at {location} recorded as already there{read}; "
            "new or changed files from now on are recomputed (backfill to recompute these)"
        )
        context.log.info(message)
        return dg.SensorResult(
            skip_reason=message,
            cursor=plan.cursor.to_json(),
            dynamic_partitions_requests=partition_requests,
        )

    stale, stale_runs, plan.cursor.ingest_seen = years_left_stale(
        context.instance, plan.cursor.ingest_seen
    )
    if stale:
        context.log.info(
            f"{format_years(sorted(stale))} changed in an ingest commit that its run did not "
            f"recompute ({', '.join(stale_runs)}): requested again"
        )
    wanted = {y for y in plan.years | stale if valid_year(y)} | set(plan.cursor.pending)
    triggers = [*plan.triggers, *stale_runs, *plan.cursor.pending_triggers]
    held = years_in_flight(context.instance, [k.key for k in YEARLY_ASSETS])
    waiting = sorted(wanted & set(held))
    for year in waiting:
        context.log.info(f"{year} waits for the next tick: {held[year]} will write it")
    years = sorted(wanted - set(held))
    next_cursor = plan.cursor
    next_cursor.pending = waiting
    next_cursor.pending_triggers = sorted(set(triggers)) if waiting else []
    cursor_json = next_cursor.to_json()
    if not years:
        reason = "no year to recompute"
        if waiting:
            reason += f"; {format_years(waiting)} wait for the runs in flight"
        if plan.unreadable:
            reason += f"; skipped unreadable: {', '.join(plan.unreadable)}"
        context.log.info(reason)
        return dg.SensorResult(
            skip_reason=reason,
            cursor=cursor_json,
            dynamic_partitions_requests=partition_requests,
        )
    context.log.info(f"recomputing {format_years(years)} for {len(triggers)} changed files")
    return dg.SensorResult(
        run_requests=run_requests(batched_years(years, held), triggers),
        cursor=cursor_json,
        dynamic_partitions_requests=partition_requests,
    )
