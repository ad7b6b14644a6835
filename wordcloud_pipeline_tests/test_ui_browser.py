"""A real browser on the real UI: the year partitions, the sensor preview, a year launched from yearly_job.

Starts ``dagster-webserver`` on 127.0.0.1 (a free port, a temporary ``DAGSTER_HOME`` whose years come from
``wordcloud-years``, a small generated sample) and drives Debian's chromium with Playwright, as a user would:
the partitions tab, *Preview tick result* with a blank cursor, the yearly job's partition dialog, the run,
the check result, the metadata preview. Every wait is for a state (a run's status in the instance, an element),
with timeouts sized for a loaded 2-core machine; none is a fixed sleep. Screenshots land in ``test-artifacts/ui/`` (or ``$WORDCLOUD_UI_ARTIFACTS``); the
README's pictures are taken this way (see docs/pictures.md). Every process started here is in one process
group, stopped and checked gone at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from wordcloud_pipeline import files
from wordcloud_pipeline.pictures import clouds
from wordcloud_pipeline.resources.storage import PipelineStorage
from wordcloud_pipeline.sample_data import write_sample

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[1]
# The run started from the UI is a separate process with its own JVM: keep its input small.
SAMPLE_ROWS = 2_000
YEAR = "2015"  # the sample's biggest year, so its cloud has the most words
LOCATION = "wordcloud_pipeline"
# Local runs start a JVM (~10 s) and count a small sample; 2 shared cores can make that slow.
BOOT_TIMEOUT_S = 120
UI_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 600_000
STOP_TIMEOUT_S = 30
# Runs start at once in a subprocess (no daemon needed, unlike the shipped dagster.yaml's run queue, tested
# in test_run_queue.py); no telemetry, no first-visit dialog in the way.
DAGSTER_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
nux:
  enabled: false
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is absent: `apt-get install -y chromium` (CI installs it and never skips)",
    ),
]


@dataclass(frozen=True)
class Webserver:
    url: str
    storage: PipelineStorage
    log: Path
    home: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (webserver, code server, run, JVM), then SIGKILL what remains."""
    pgid = process.pid  # start_new_session made the server the leader of its own group
    for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 10)):
        if not group_members(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
    process.wait(timeout=10)
    assert not group_members(pgid), f"processes of group {pgid} survived: {group_members(pgid)}"


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver not serving after {BOOT_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    root = tmp_path_factory.mktemp("ui")
    reviews = write_sample(root / "reviews", SAMPLE_ROWS, "tsv")
    storage = PipelineStorage(reviews_uri=str(reviews), storage_uri=str(root / "storage"))
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WORDCLOUD_LAUNCHER": "local",
        "WORDCLOUD_REVIEWS_URI": str(reviews),
        "WORDCLOUD_STORAGE_URI": str(root / "storage"),
    }
    # As a user on a fresh instance: the sample's years become partitions.
    subprocess.run(
        [str(Path(sys.executable).with_name("wordcloud-years"))], env=env, cwd=REPO, check=True
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "webserver.log"
    command = [
        str(Path(sys.executable).with_name("dagster-webserver")),
        *("--host", "127.0.0.1", "--port", str(port), "-m", "wordcloud_pipeline"),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_serving(url, process, log)
        yield Webserver(url=url, storage=storage, log=log, home=home)
    finally:
        stop_group(process)


# The screenshots docs/images/ shows, by the name each has there.
DOC_IMAGES = {
    "asset-graph-after-run.png": "asset-graph.png",
    "cloud-preview.png": "cloud-preview.png",
    "animation-preview.png": "animation-preview.png",
}


@pytest.fixture(scope="module")
def artifacts() -> Iterator[Path]:
    """Where screenshots go; with ``$WORDCLOUD_UI_DOC_IMAGES`` set, the documented ones are then copied there.

    The copy is the test's, not a ``cp`` after it, so refreshing the pictures is one command and a run that
    did not take a screenshot copies nothing rather than an older file.
    """
    folder = Path(os.environ.get("WORDCLOUD_UI_ARTIFACTS") or REPO / "test-artifacts" / "ui")
    folder.mkdir(parents=True, exist_ok=True)
    started = time.time()
    yield folder
    doc_images = os.environ.get("WORDCLOUD_UI_DOC_IMAGES")
    if not doc_images:
        return
    for taken, documented in DOC_IMAGES.items():
        screenshot = folder / taken
        if screenshot.exists() and screenshot.stat().st_mtime >= started:
            shutil.copyfile(screenshot, Path(doc_images) / documented)


@pytest.fixture
def page(webserver: Webserver) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            # Assertions wait as long as actions do (Playwright's own default is 5 s).
            expect.set_options(timeout=UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def run_ids(webserver: Webserver) -> set[str]:
    with dg.DagsterInstance.from_config(str(webserver.home)) as instance:
        return {run.run_id for run in instance.get_runs()}


def wait_for_run(
    page: Page, webserver: Webserver, before: set[str], expected: str = "Success"
) -> str:
    """Waits for the run the UI just launched to appear in the instance, then on its page until it
    ends with ``expected``. No toast: a toast shows for seconds, and a loaded machine can miss it."""
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while not (new := run_ids(webserver) - before):
        assert time.monotonic() < deadline, "the UI launched no run"
        time.sleep(0.5)
    (run_id,) = new
    page.goto(f"{webserver.url}/runs/{run_id}")
    status = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first
    expect(status).to_be_visible(timeout=RUN_TIMEOUT_MS)
    outcome = status.inner_text()
    assert outcome == expected, f"run {run_id} ended with {outcome}:\n{webserver.log.read_text()}"
    return run_id


def settle(page: Page) -> None:
    """Waits until finite CSS animations and transitions (dialogs fading in) are over, for screenshots."""
    page.wait_for_function(
        """() => document.getAnimations()
            .filter(a => a.effect && a.effect.getTiming().iterations !== Infinity)
            .every(a => a.playState !== "running")"""
    )


def center_graph(page: Page, leftmost: str, rightmost: str) -> None:
    """Drags the zoomed graph so the nodes from ``leftmost`` to ``rightmost`` sit mid-screen.

    Only for the README's screenshot: the graph draws only the nodes in view, so when zooming pushed one
    off-screen there is nothing to measure and the graph is left as it is.
    """
    nodes = [page.get_by_text(name, exact=True) for name in (leftmost, rightmost)]
    if any(node.count() == 0 for node in nodes):
        return
    left = page.get_by_text(leftmost, exact=True).last.bounding_box()
    right = page.get_by_text(rightmost, exact=True).last.bounding_box()
    assert left and right, "graph nodes are on the page"
    width = page.viewport_size["width"]
    shift = width / 2 - (left["x"] + right["x"] + right["width"]) / 2
    start_y = page.viewport_size["height"] - 80  # empty canvas below the nodes
    page.mouse.move(width / 2, start_y)
    page.mouse.down()
    page.mouse.move(width / 2 + shift, start_y, steps=10)
    page.mouse.up()
    settle(page)


def open_preview(page: Page, alt: str) -> Locator:
    """Opens the 'preview' markdown of the latest materialization and returns its image."""
    page.get_by_text("[Show Markdown]").first.click()
    image = page.get_by_role("dialog").get_by_role("img", name=alt)
    expect(image).to_be_visible()
    # Decoded and drawn, not a broken-image icon: the browser knows its pixel size.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    settle(page)
    return image


def launch_year(page: Page, webserver: Webserver, artifacts: Path | None = None) -> str:
    """Launches ``yearly_job`` for YEAR from its partition dialog, as a user does, and waits for success."""
    # The named job: everything a year needs, upstream included.
    page.goto(f"{webserver.url}/locations/{LOCATION}/jobs/yearly_job")
    page.get_by_role("button", name=re.compile(r"Materialize all")).click()
    dialog = page.get_by_role("dialog")
    title = dialog.get_by_text("Launch runs to materialize 4 assets")
    expect(title).to_be_visible()
    # One year from the instance's years, so one run (not a backfill, which would need the daemon).
    dialog.get_by_text("Select a partition or create one").click()
    page.keyboard.type(YEAR)
    page.get_by_role("menuitem").filter(has_text=re.compile(rf"^{YEAR}")).last.click()
    title.click()  # closes the partition menu, keeps the dialog
    launch = dialog.get_by_role("button", name="Launch 1 run")
    expect(launch).to_be_enabled()
    settle(page)
    if artifacts:
        page.screenshot(path=artifacts / "launch-dialog.png")
    before = run_ids(webserver)
    launch.click()

    return wait_for_run(page, webserver, before)


def test_partitions_are_the_years_of_the_data_oldest_first(
    page: Page, webserver: Webserver, artifacts: Path
) -> None:
    page.goto(f"{webserver.url}/assets/word_clouds?view=partitions")
    first, last = (page.get_by_text(year, exact=True).first for year in ("1995", "2015"))
    expect(first).to_be_visible()
    expect(last).to_be_visible()
    assert first.bounding_box()["y"] < last.bounding_box()["y"], "oldest year first"
    # No empty future years: the years stop where the sample's data stops.
    for year in ("2016", str(time.gmtime().tm_year)):
        expect(page.get_by_text(year, exact=True)).to_have_count(0)
    page.screenshot(path=artifacts / "partitions.png")


def test_sensor_preview_with_a_blank_cursor_is_a_first_tick(
    page: Page, webserver: Webserver, artifacts: Path
) -> None:
    page.goto(f"{webserver.url}/locations/{LOCATION}/sensors/new_reviews_sensor")
    expect(page.get_by_text("Adds a year partition for every year").first).to_be_visible()
    page.get_by_role("button", name="Preview tick result").click()
    dialog = page.get_by_role("dialog")
    cursor = dialog.get_by_placeholder("Enter a cursor value")
    cursor.fill("x")
    cursor.fill("")  # typed, then cleared: the field is blank
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.get_by_text("Skipped", exact=True)).to_be_visible()
    expect(dialog.get_by_text(re.compile(r"first tick: 5 review files"))).to_be_visible()
    settle(page)
    page.screenshot(path=artifacts / "sensor-preview.png")


def test_launch_one_year_from_the_yearly_job_shows_its_cloud_and_check(
    page: Page, webserver: Webserver, artifacts: Path
) -> None:
    page.goto(f"{webserver.url}/asset-groups")
    for name in (
        "raw_reviews",
        "ingested_reviews",
        "preprocessed_titles",
        "words_by_year",
        "word_clouds",
    ):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    page.screenshot(path=artifacts / "asset-graph.png")

    run_id = launch_year(page, webserver, artifacts)
    expect(page.get_by_text(f"partition: {YEAR}")).to_be_visible()
    expect(page.get_by_text("yearly_job").first).to_be_visible()
    page.screenshot(path=artifacts / "run-success.png")

    # The counting-modes check ran with the year and passed.
    page.goto(f"{webserver.url}/assets/word_clouds?view=checks")
    expect(page.get_by_text("counting_modes_agree").first).to_be_visible()
    expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible()
    page.screenshot(path=artifacts / "check-result.png")

    page.goto(f"{webserver.url}/assets/word_clouds?partition={YEAR}")
    expect(page.get_by_text("top_words", exact=True)).to_be_visible()
    # The top words table sits next to the preview, rendered (not raw markdown).
    expect(page.get_by_role("cell", name=f"word ({YEAR})")).to_be_visible()
    image = open_preview(page, f"word cloud {YEAR}")
    assert image.evaluate("img => img.naturalWidth") == 800  # clouds.PREVIEW_WIDTH
    image.screenshot(path=artifacts / "cloud-preview-image.png")
    page.screenshot(path=artifacts / "cloud-preview.png")

    # The files behind the UI: the run wrote this year's cloud, and only this year's.
    assert files.read_bytes(webserver.storage.cloud_uri(int(YEAR))).startswith(b"\x89PNG")
    written = Path(webserver.storage.asset_location(dg.AssetKey("word_clouds")))
    assert sorted(p.name for p in written.iterdir()) == [f"{YEAR}.png"], run_id

    page.goto(f"{webserver.url}/asset-groups")
    expect(page.get_by_text("word_cloud_animation", exact=True).first).to_be_visible()
    # For the README: the graph alone, zoomed in far enough that nodes show their status and kinds.
    page.get_by_role("button", name="Hide navigation").click()
    page.get_by_role("button", name="panel_show_right").click()
    details = page.get_by_text("Latest event").first
    for _ in range(6):  # each click zooms in one step; nodes show details past a threshold
        if details.is_visible():
            break
        page.get_by_role("button", name="zoom_in").click()
        settle(page)
    expect(details).to_be_visible()
    center_graph(page, "raw_reviews", "word_cloud_animation")
    page.screenshot(path=artifacts / "asset-graph-after-run.png")


def test_the_animation_preview_plays_in_the_ui(
    page: Page, webserver: Webserver, artifacts: Path
) -> None:
    """word_cloud_animation, materialized from its asset page, shows its GIF inline."""
    # Independent of the test above: make sure at least one cloud exists to animate.
    if not files.has_files(webserver.storage.asset_location(dg.AssetKey("word_clouds"))):
        png = clouds.render_cloud([("wizard", 3), ("magic", 2), ("stone", 1)], 600, 400)
        files.write_bytes(webserver.storage.cloud_uri(1995), png)

    page.goto(f"{webserver.url}/assets/word_cloud_animation")
    before = run_ids(webserver)
    page.get_by_role("button", name=re.compile(r"\bMaterialize$")).click()
    wait_for_run(page, webserver, before)

    page.goto(f"{webserver.url}/assets/word_cloud_animation")
    expect(page.get_by_text("frames", exact=True)).to_be_visible()
    image = open_preview(page, "word clouds by year")
    assert image.get_attribute("src").startswith("data:image/gif;base64,")
    # Large enough to read the words: the clouds' width up to the preview's 640 px.
    assert image.evaluate("img => img.naturalWidth") in (600, 640)
    page.screenshot(path=artifacts / "animation-preview.png")


def files_under(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``folder`` with its size and modification time: what a run would change."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def run_events(webserver: Webserver, run_id: str) -> list[str]:
    with dg.DagsterInstance.from_config(str(webserver.home)) as instance:
        return [e.dagster_event_type.value for e in instance.all_logs(run_id) if e.is_dagster_event]


def test_a_bad_mask_set_in_the_launchpad_is_refused_before_any_spark_job(
    page: Page, webserver: Webserver, artifacts: Path
) -> None:
    """The launchpad's config reaches the run; the run fails as its resources start, in one line."""
    storage = Path(webserver.storage.storage_uri)
    written = files_under(storage)
    page.goto(f"{webserver.url}/locations/{LOCATION}/jobs/yearly_job/playground")
    page.get_by_placeholder("Partition").click()
    page.keyboard.type(YEAR)
    page.get_by_role("menuitem").filter(has_text=re.compile(rf"^{YEAR}$")).last.click()
    # The partition's config replaces the editor's: edit the mask once it is there.
    expect(page.get_by_text(f"partition: {YEAR}")).to_be_visible()
    mask = page.locator(".CodeMirror-line", has_text="mask: 'usa'")
    mask.click()
    page.keyboard.press("End")
    for _ in "'usa'":
        page.keyboard.press("Backspace")
    page.keyboard.type("'/no/such/mask.png'")
    expect(page.locator(".CodeMirror-line", has_text="mask: '/no/such/mask.png'")).to_be_visible()
    before = run_ids(webserver)
    page.get_by_role("button", name="Launch Run").click()

    run_id = wait_for_run(page, webserver, before, expected="Failure")
    refusal = "cloud_style.mask: '/no/such/mask.png' is neither one of usa, none nor an image file"
    expect(page.get_by_text(refusal).first).to_be_visible()
    page.screenshot(path=artifacts / "bad-mask-refused.png")
    events = run_events(webserver, run_id)
    assert "RESOURCE_INIT_FAILURE" in events
    assert "STEP_START" not in events and "ASSET_MATERIALIZATION" not in events
    assert files_under(storage) == written, "the refused run changed the data"


def graphql(page: Page, webserver: Webserver, query: str) -> dict:
    response = page.request.post(f"{webserver.url}/graphql", data={"query": query})
    assert response.ok, response.text()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def stale_status(page: Page, webserver: Webserver, asset: str) -> tuple[str, list[str]]:
    """What the UI's asset graph shows for ``asset``: its status and the reasons it is unsynced."""
    data = graphql(
        page,
        webserver,
        f'{{ assetNodes(assetKeys: [{{path: ["{asset}"]}}]) '
        "{ staleStatus staleCauses { reason } } }",
    )
    (node,) = data["assetNodes"]
    return node["staleStatus"], [cause["reason"] for cause in node["staleCauses"]]


def test_a_no_op_rerun_of_a_year_leaves_nothing_unsynced(
    page: Page, webserver: Webserver, artifacts: Path
) -> None:
    """The same data gives the same data version, so the pictures drawn from it stay in sync."""
    counts = dg.AssetKey("words_by_year")
    if not files.has_files(webserver.storage.asset_location(counts)):
        launch_year(page, webserver)  # when run alone: the year the re-run repeats
    page.goto(f"{webserver.url}/assets/word_rank_trends")
    before = run_ids(webserver)
    page.get_by_role("button", name=re.compile(r"\bMaterialize$")).click()
    wait_for_run(page, webserver, before)
    assert stale_status(page, webserver, "word_rank_trends") == ("FRESH", [])

    def year_version() -> str | None:
        with dg.DagsterInstance.from_config(str(webserver.home)) as instance:
            event = instance.get_latest_materialization_event(counts)
            assert event and event.dagster_event.partition == YEAR
            return event.asset_materialization.tags.get("dagster/data_version")

    version = year_version()
    rerun = launch_year(page, webserver)
    assert year_version() == version, f"run {rerun} gave the unchanged year a new data version"
    assert stale_status(page, webserver, "word_rank_trends") == ("FRESH", [])
    page.goto(f"{webserver.url}/asset-groups")
    expect(page.get_by_text("word_rank_trends", exact=True).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Unsynced"))).to_have_count(0)
    page.screenshot(path=artifacts / "no-op-rerun.png")
