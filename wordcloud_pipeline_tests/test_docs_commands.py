"""Every shell block of README.md and docs/*.md runs, as a user would type it, so a command that rots fails.

Each document's ```bash blocks run in order in one sandbox (a temporary folder holding links to the
checkout, with a small held sample in ``data/reviews``), each block in its own ``bash -euo pipefail`` that
inherits the variables the previous blocks exported and the folder they ended in, as one terminal would.
Blocks that need AWS talk to a moto server on 127.0.0.1 with fake credentials, so none can reach real AWS.

What a user would run for minutes or against a real account is changed by ``SUBSTITUTIONS``, each with
its reason: fewer years, the sandbox's folders, ``dagster dev`` started until its code location has loaded
and then stopped, ``pytest`` only collecting. A block that cannot run here at all is marked on the line
right before its fence with ``<!-- illustrative: why -->``; the mark needs a reason, and every unmarked
block runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
FENCE = re.compile(r"^(\s*)```+\s*([\w+-]*)")
MARK = re.compile(r"^\s*<!--\s*illustrative:(.*?)-->")  # a line of its own, not prose quoting it
# Small, but every year the documents name (2001-2005) has Books titles.
SAMPLE_ROWS = 2_000
# A block's limit; on a machine shared with other work, raise it with WORDCLOUD_DOCS_BLOCK_TIMEOUT.
BLOCK_TIMEOUT_SECONDS = int(os.environ.get("WORDCLOUD_DOCS_BLOCK_TIMEOUT", "300"))
# moto's account, so the bucket `wordcloud-infra up` names is known before it runs.
MOTO_BUCKET = "wordcloud-123456789012-us-east-1"
# What the checkout holds that a sandbox must not share: outputs, instances, environments, history.
NOT_LINKED = {
    ".git",
    ".venv",
    "data",
    ".dagster_home",
    "test-artifacts",
    ".ruff_cache",
    ".pytest_cache",
}
# The Python code, copied into the sandbox and first on PYTHONPATH; the rest is linked.
COPIED = {"wordcloud_pipeline", "spark_scripts", "benchmarks", "docs"}
NOT_COPIED = ("__pycache__", "out", "*.pyc")


@dataclass(frozen=True)
class Substitution:
    pattern: str
    replacement: str
    why: str


SUBSTITUTIONS = [
    Substitution(
        r"python3 -m venv \.venv && \. \.venv/bin/activate",
        '. "$DOCS_VENV/bin/activate"',
        "the test runs in the project's environment, which .ci/run creates with this command",
    ),
    Substitution(
        r"(?<![\w/])\. \.venv/bin/activate",
        '. "$DOCS_VENV/bin/activate"',
        "the sandbox has no .venv of its own",
    ),
    Substitution(
        r'pip install -e "\.\[dev\]"',
        "true",
        ".ci/run runs this exact install before pytest",
    ),
    Substitution(
        r"--first-year 1995 --last-year 2015",
        "--first-year 2003 --last-year 2005",
        "three years draw in seconds; 21 take a minute",
    ),
    Substitution(
        r"wordcloud-demo(?! --first-year)",
        "wordcloud-demo --first-year 2003 --last-year 2005",
        "three years draw in seconds; 21 take a minute",
    ),
    Substitution(r"1995\.\.\.2015", "2003...2005", "three years draw in seconds; 21 take a minute"),
    Substitution(
        r"(?<![\w-])dagster dev(?![\w-])",
        "docs_dagster_dev",
        "a server runs until stopped: started until its code location has loaded, then stopped",
    ),
    Substitution(
        r"(?<![\w/.-])pytest(?![\w.-])",
        "pytest --collect-only -q -p no:cacheprovider",
        "the suite is CI's own step; here its selections must collect",
    ),
    Substitution(r"/path/to/(amazon_)?reviews", "$DOCS_SAMPLE", "the held sample"),
    Substitution(r"/path/to/(outputs|storage)", "$DOCS_TMP/outputs", "a temporary folder"),
    Substitution(r"(?<![\w.$])/tmp/", "$DOCS_TMP/", "a temporary folder"),
    Substitution(
        r"--rows 20000\b", f"--rows {SAMPLE_ROWS}", "a smaller sample draws the same pictures"
    ),
    Substitution(
        r"benchmarks/bench_clouds\.py(?! --)",
        "benchmarks/bench_clouds.py --years 2 --words 30 --width 300 --height 200",
        "two small clouds check the script; the figures need the full 21",
    ),
    Substitution(
        r"benchmarks/bench_many_files\.py(?! --)",
        "benchmarks/bench_many_files.py --files 60 --rows 600",
        "60 files check the script; the figures need 2,000",
    ),
    Substitution(r"--version 3\b", "--version 0", "the sandbox's tables have fewer versions"),
    Substitution(r"<bucket-with-your-reviews>", "docs-reviews", "a bucket name (moto)"),
    Substitution(r"<printed by up>", MOTO_BUCKET, "what `up` prints under moto's account"),
    Substitution(r"s3://<bucket>/<prefix>", "s3://docs-reviews/reviews", "a location (moto)"),
]

# Defined before every block: `dagster dev` on a free port of 127.0.0.1 until the webserver reports the
# project's code location loaded (a load error fails the block), then stopped as Ctrl-C stops it, with
# its whole group, and killed only if it has not ended 20 s later. A background command of a script
# starts with SIGINT ignored, and dagster dev maps SIGTERM to its SIGINT handler, so it would ignore
# both: `trap - INT` gives it the default handler back, and it shuts down cleanly in seconds.
PREAMBLE = r"""
docs_dagster_dev() {
  local port log pid rc=0
  port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  log="$DOCS_TMP/dagster_dev.$port.log"
  (trap - INT; exec setsid dagster dev -h 127.0.0.1 -p "$port" "$@" >"$log" 2>&1) &
  pid=$!
  python "$DOCS_TMP/wait_for_dagster.py" "$port" "$pid" || rc=$?
  kill -INT -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -KILL -- "-$pid" 2>/dev/null; then echo "dagster dev killed: not stopped 20 s after Ctrl-C"; fi
  wait "$pid" 2>/dev/null || true
  if [ "$rc" != 0 ]; then tail -30 "$log" >&2; fi
  return "$rc"
}
"""

WAIT_FOR_DAGSTER = '''
"""Waits until dagster dev's webserver has loaded every code location; exit 1 on a load error or death."""
import json, os, sys, time, urllib.request

port, pid = sys.argv[1], int(sys.argv[2])
query = ("{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus "
         "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
deadline = time.monotonic() + 240
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("dagster dev exited before its code location loaded")
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql", json.dumps({"query": query}).encode(),
            {"Content-Type": "application/json"})
        body = json.load(urllib.request.urlopen(request, timeout=5))
        entries = body["data"]["workspaceOrError"]["locationEntries"]
    except Exception:
        entries = []
    if entries and all(e["loadStatus"] == "LOADED" for e in entries):
        kinds = {e["name"]: e["locationOrLoadError"]["__typename"] for e in entries}
        errors = [e for e in entries if kinds[e["name"]] != "RepositoryLocation"]
        if errors:
            sys.exit(f"code location failed to load: {errors}")
        print(f"dagster dev on port {port}: {sorted(kinds)} loaded")
        sys.exit(0)
    time.sleep(1)
sys.exit("dagster dev did not load its code location in 240 s")
'''


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # of the opening fence, 1-based
    text: str
    illustrative: str | None  # the reason, when marked

    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def shell_blocks(document: Path) -> list[Block]:
    """The document's shell blocks, each with the illustrative mark of the line right before its fence."""
    lines = document.read_text(encoding="utf-8").splitlines()
    blocks, previous, index = [], "", 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            if lines[index].strip():
                previous = lines[index]
            index += 1
            continue
        indent, language, start = opening.group(1), opening.group(2), index
        body = []
        index += 1
        while index < len(lines) and not lines[index].lstrip().startswith("```"):
            body.append(lines[index].removeprefix(indent))
            index += 1
        if language in SHELL_LANGUAGES:
            mark = MARK.match(previous)
            reason = mark.group(1).strip() if mark else None
            blocks.append(Block(document, start + 1, "\n".join(body) + "\n", reason))
        previous = ""
        index += 1
    return blocks


def substituted(text: str) -> str:
    for sub in SUBSTITUTIONS:
        text = re.sub(sub.pattern, sub.replacement, text)
    return text


def block_script(block: Block, state: Path) -> str:
    """The block as a script that starts where the previous block ended and records where it ends."""
    return "\n".join(
        [
            "set -euo pipefail",
            PREAMBLE,
            f'. "{state}/env"',
            f'cd "$(cat "{state}/cwd")"',
            f"# {block.where()}",
            substituted(block.text),
            f'export -p > "{state}/env"',
            f'pwd > "{state}/cwd"',
        ]
    )


@dataclass
class Ran:
    block: Block
    seconds: float


class BlockFailed(AssertionError):
    pass


def run_document(blocks: list[Block], sandbox: Path, env: dict[str, str]) -> list[Ran]:
    """Runs the unmarked blocks in order; raises BlockFailed naming the block, its command and output."""
    state = sandbox.parent / f"{sandbox.name}.state"
    state.mkdir()
    (state / "env").write_text("")
    (state / "cwd").write_text(str(sandbox))
    ran = []
    for block in blocks:
        if block.illustrative is not None:
            continue
        started = time.monotonic()
        log = state / f"{block.document.stem}-{block.line}.log"  # tail it to follow a slow block
        with log.open("w") as out:
            process = subprocess.Popen(
                ["bash", "-c", block_script(block, state)],
                env=env,
                cwd=sandbox,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                process.wait(timeout=BLOCK_TIMEOUT_SECONDS)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            with contextlib.suppress(ProcessLookupError):  # nothing a block started outlives it
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        output = log.read_text(errors="replace")
        if timed_out:
            raise BlockFailed(
                f"{block.where()} ran longer than {BLOCK_TIMEOUT_SECONDS} s:\n"
                f"{substituted(block.text)}\n{output[-3000:]}"
            ) from None
        if process.returncode != 0:
            raise BlockFailed(
                f"{block.where()} failed (exit {process.returncode}):\n"
                f"{textwrap.indent(substituted(block.text), '    ')}\n--- output (end) ---\n"
                f"{output[-4000:]}"
            )
        ran.append(Ran(block, time.monotonic() - started))
    return ran


@pytest.fixture(scope="module")
def held_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample written by the `wordcloud-sample` command itself, shared by every document."""
    out = tmp_path_factory.mktemp("held_sample") / "reviews"
    subprocess.run(
        ["wordcloud-sample", "--rows", str(SAMPLE_ROWS), "--out", str(out)],
        check=True,
        env=base_env(out.parent),
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto in this process, with AWS's managed policies (which `wordcloud-infra up` attaches)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def base_env(tmp: Path, moto: str | None = None, code: Path = ROOT) -> dict[str, str]:
    """This environment without the project's settings or real AWS credentials; ``code`` first on
    PYTHONPATH and the interpreter's bin first on PATH, so commands use this checkout's code."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WORDCLOUD_", "AWS_", "DAGSTER_", "VIRTUAL_ENV"))
    }
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")])),
        DOCS_TMP=str(tmp),
        DOCS_VENV=sys.prefix,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    if moto:
        env["AWS_ENDPOINT_URL"] = moto
    return env


def make_sandbox(tmp: Path, sample: Path) -> Path:
    """A folder that looks like a fresh clone with the held sample as data. The code is copied, not
    linked: the package finds ``data/`` and ``.dagster_home`` next to its own resolved path."""
    sandbox = tmp / "clone"
    sandbox.mkdir()
    for entry in ROOT.iterdir():
        if entry.name in NOT_LINKED:
            continue
        if entry.name in COPIED:
            shutil.copytree(entry, sandbox / entry.name, ignore=shutil.ignore_patterns(*NOT_COPIED))
        else:
            (sandbox / entry.name).symlink_to(entry)
    shutil.copytree(sample, sandbox / "data" / "reviews")
    return sandbox


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_document_commands_run(
    document: Path, held_sample: Path, moto_endpoint: str, tmp_path: Path
) -> None:
    blocks = shell_blocks(document)
    if all(b.illustrative is not None for b in blocks):
        pytest.skip(f"{document.name} has no runnable shell block")
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    (tmp_path / "wait_for_dagster.py").write_text(WAIT_FOR_DAGSTER)
    sandbox = make_sandbox(tmp_path, held_sample)
    env = base_env(tmp_path, moto_endpoint, code=sandbox)
    env["DOCS_SAMPLE"] = str(held_sample)
    ran = run_document(blocks, sandbox, env)
    runnable = [b for b in blocks if b.illustrative is None]
    assert [r.block for r in ran] == runnable
    for r in ran:
        print(f"{r.block.where()}: {r.seconds:.1f} s")  # noqa: T201 - pytest -s shows the costs


def test_every_block_is_run_or_marked_with_a_reason() -> None:
    blocks = [b for d in DOCUMENTS for b in shell_blocks(d)]
    assert len([b for b in blocks if b.illustrative is None]) >= 10, (
        "the documents lost their commands"
    )
    no_reason = [b.where() for b in blocks if b.illustrative == ""]
    assert not no_reason, f"illustrative without a reason: {no_reason}"
    # A mark must sit right before a fence, or it marks nothing (and its block would run unnoticed).
    for document in DOCUMENTS:
        lines = document.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if MARK.match(line):
                following = next((n for n in lines[number + 1 :] if n.strip()), "")
                assert FENCE.match(following), f"{document.name}:{number + 1}: mark before no fence"


def test_every_substitution_is_still_used() -> None:
    """A substitution that matches nothing is stale: the command it shortened changed or went away."""
    texts = [b.text for d in DOCUMENTS for b in shell_blocks(d) if b.illustrative is None]
    unused = [s.pattern for s in SUBSTITUTIONS if not any(re.search(s.pattern, t) for t in texts)]
    assert not unused, f"substitutions that match no runnable block: {unused}"


def test_a_rotten_command_fails_naming_its_block(tmp_path: Path) -> None:
    """The runner itself: a block whose command no longer exists fails, and the failure names the block;
    blocks after a good one see its exports and folder; an illustrative block is not run."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```bash\nexport GREETING=hello\nmkdir -p sub && cd sub\n```\n\n"
        "<!-- illustrative: shows a command that does not exist -->\n```bash\nno-such-cmd\n```\n\n"
        '```bash\ntest "$GREETING" = hello && test "$(basename "$PWD")" = sub\n```\n\n'
        "```sh\nwordcloud-tables history words_by_year --no-such-flag\n```\n"
    )
    blocks = shell_blocks(doc)
    assert [b.illustrative for b in blocks] == [
        None,
        "shows a command that does not exist",
        None,
        None,
    ]
    sandbox = tmp_path / "clone"
    sandbox.mkdir()
    with pytest.raises(BlockFailed, match=r"doc\.md:15 failed") as failed:
        run_document([_relocated(b) for b in blocks], sandbox, base_env(tmp_path))
    assert "--no-such-flag" in str(failed.value)


def _relocated(block: Block) -> Block:
    """Blocks of a file outside the checkout, named relative to it for ``where``."""
    return Block(ROOT / block.document.name, block.line, block.text, block.illustrative)
