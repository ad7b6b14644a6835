"""A Pipes message reader for the local launcher that never drops the last messages of a script.

Why not ``dg.PipesTempFileMessageReader``: its thread tails the file with ``dagster._utils.tail_file``,
which reads a line, finds none, and only then asks whether the session has closed. The in-process
script can write its last messages (its metrics, then ``closed``) and the session can close in between,
after the empty read and before the question; the thread then stops with those lines unread, and the
run fails with "the script ended without reporting its metrics" although the script reported them. It
happened once in a CI run of the 21-year backfill test (the 2013 run of ``ingested_reviews``). The fix
is the usual one for a tailer: decide to stop *before* the read that finds nothing, so the read that
ends the loop comes after every write. A partly written line (a message longer than the writer's buffer
reaches the file in pieces) is kept until its newline arrives instead of failing ``json.loads``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_pipes import PipesDefaultMessageWriter

POLL_SECONDS = 0.01
READER_THREAD = "pipes-messages-reader"


def drained_lines(path: str, closed: Callable[[], bool]) -> Iterator[str]:
    """The complete lines appended to ``path`` until ``closed()``, every one of them.

    ``closed()`` is asked before each read, so the empty read that ends the loop happened after the
    writer had finished: no line written before the session closed is left behind.
    """
    pending = ""
    with open(path, encoding="utf-8") as stream:
        while True:
            was_closed = closed()
            chunk = stream.readline()
            if chunk:
                pending += chunk
                if pending.endswith("\n"):
                    yield pending
                    pending = ""
                continue
            if was_closed:
                break
            time.sleep(POLL_SECONDS)
    if pending.strip():
        yield pending  # a last line without its newline: the writer stopped mid-line


class DrainingTempFileMessageReader(dg.PipesMessageReader):
    """``dg.PipesTempFileMessageReader`` with a tail that reads every message before it stops.

    Same parameters for the script (a temp file under ``PipesDefaultMessageWriter.FILE_PATH_KEY``), so
    ``PipesDefaultMessageWriter`` writes to it unchanged; only the reading thread differs (module
    docstring).
    """

    @contextmanager
    def read_messages(self, handler) -> Iterator[dg.PipesParams]:
        with tempfile.TemporaryDirectory() as tempdir:
            path = os.path.join(tempdir, "messages")
            open(path, "w", encoding="utf-8").close()
            closed = threading.Event()
            thread = threading.Thread(
                target=self._read,
                args=(path, handler, closed.is_set),
                name=READER_THREAD,
                daemon=True,
            )
            thread.start()
            try:
                yield {
                    PipesDefaultMessageWriter.FILE_PATH_KEY: path,
                    PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: False,
                }
            finally:
                closed.set()
                thread.join()

    @staticmethod
    def _read(path: str, handler, closed: Callable[[], bool]) -> None:
        try:
            for line in drained_lines(path, closed):
                handler.handle_message(json.loads(line))
        except Exception:
            handler.report_pipes_framework_exception(
                "DrainingTempFileMessageReader reader thread", sys.exc_info()
            )
            raise

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a local temporary file."
