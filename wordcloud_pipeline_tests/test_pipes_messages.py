"""The local launcher's Pipes message reader keeps every message a script wrote before its session closed."""

from __future__ import annotations

import json
import threading

import dagster as dg
from dagster_pipes import (
    PipesContext,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesMappingParamsLoader,
)

from wordcloud_pipeline.resources.pipes_messages import (
    READER_THREAD,
    DrainingTempFileMessageReader,
    drained_lines,
)


def test_lines_written_while_the_session_closes_are_still_read(tmp_path):
    """The race of the CI failure, made certain: the last lines land after the tail's empty read and
    before it learns that the session closed. A tail that asks after reading stops without them."""
    path = tmp_path / "messages"
    path.write_text('{"n": 1}\n')
    last = ['{"n": 2}\n', '{"method": "closed"}\n']

    def closed_with_a_last_write() -> bool:
        if last:
            with open(path, "a", encoding="utf-8") as f:
                f.write("".join(last))
            last.clear()
        return True

    lines = list(drained_lines(str(path), closed_with_a_last_write))
    assert [json.loads(line) for line in lines] == [{"n": 1}, {"n": 2}, {"method": "closed"}]


def test_a_line_that_reaches_the_file_in_pieces_is_read_whole(tmp_path):
    path = tmp_path / "messages"
    path.write_text('{"text": "first half')
    pieces = [' second half"}\n']
    calls = {"n": 0}

    def closed() -> bool:
        calls["n"] += 1
        if calls["n"] == 3 and pieces:  # after the tail has seen the first half alone
            with open(path, "a", encoding="utf-8") as f:
                f.write(pieces.pop())
        return calls["n"] > 4

    assert [json.loads(line) for line in drained_lines(str(path), closed)] == [
        {"text": "first half second half"}
    ]


def _pipes_session(context: dg.AssetExecutionContext):
    return dg.open_pipes_session(
        context=context,
        context_injector=dg.PipesTempFileContextInjector(),
        message_reader=DrainingTempFileMessageReader(),
    )


def test_every_message_of_an_in_process_script_reaches_the_session():
    """The launcher's way: the script writes through PipesDefaultMessageWriter in this process, and the
    session is closed the moment the script returns. Repeated, since the lost-message race was rare."""
    received = []

    @dg.asset
    def reported(context) -> dg.MaterializeResult:
        for attempt in range(40):
            with _pipes_session(context) as session:
                params = PipesMappingParamsLoader(session.get_bootstrap_env_vars())
                writer = PipesDefaultMessageWriter()
                with PipesContext(params, PipesDefaultContextLoader(), writer) as pipes:
                    for n in range(25):
                        pipes.report_custom_message({"attempt": attempt, "n": n})
            received.append(list(session.get_custom_messages()))
        return dg.MaterializeResult()

    assert dg.materialize([reported]).success
    assert received == [[{"attempt": a, "n": n} for n in range(25)] for a in range(40)]


def test_the_reader_thread_stops_when_the_session_closes():
    readers = {}

    def alive() -> int:
        return sum(thread.name == READER_THREAD for thread in threading.enumerate())

    @dg.asset
    def opened(context) -> dg.MaterializeResult:
        readers["before"] = alive()
        with _pipes_session(context):
            readers["open"] = alive()
        readers["after"] = alive()
        return dg.MaterializeResult()

    assert dg.materialize([opened]).success
    assert readers == {"before": 0, "open": 1, "after": 0}
