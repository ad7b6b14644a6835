"""Pictures are readable by other users, and a writer killed mid-write leaves nothing for long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from wordcloud_pipeline import files

# Writes pictures into a folder for ever, until killed (a draw killed mid-write).
ENDLESS_WRITER = """
import sys
from wordcloud_pipeline import files
data = b"x" * 20_000_000
while True:
    files.write_bytes(sys.argv[1], data)
"""


def test_a_picture_gets_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        files.write_bytes(str(tmp_path / "2005.png"), b"png")
    finally:
        os.umask(old)
    assert (tmp_path / "2005.png").stat().st_mode & 0o777 == 0o644


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "clouds" / "2005.png"
    writer = subprocess.Popen([sys.executable, "-c", ENDLESS_WRITER, str(target)])
    try:
        deadline = time.monotonic() + 60
        while not list(target.parent.glob(".tmp-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    finally:
        if writer.poll() is None:
            writer.kill()
    (left,) = target.parent.glob(".tmp-*.png")
    files.write_bytes(str(target), b"new")
    assert left.exists()  # recent: it may be another run's write in progress
    past = time.time() - files.STALE_TEMPORARY_SECONDS - 1
    os.utime(left, (past, past))
    files.write_bytes(str(target), b"newer")
    assert not left.exists()
    assert list(target.parent.glob(".tmp-*")) == []
    assert target.read_bytes() == b"newer"
