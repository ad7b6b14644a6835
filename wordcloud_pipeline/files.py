"""Reading and writing outputs at a location that is a local folder or an ``s3://`` prefix.

pyarrow's filesystems cover both with one API, so the Dagster process reads a year's counts and writes PNGs
the same way whether the storage root is on disk or in the project bucket, without starting a JVM.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow.fs as pafs


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def join(root: str, *parts: str) -> str:
    """``root`` and ``parts`` joined with '/', for local folders and s3:// prefixes alike."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem of ``uri`` and the path in it, for local folders and s3:// alike."""
    if is_remote(uri):
        filesystem, _decoded = pafs.FileSystem.from_uri(uri)
        # from_uri percent-decodes the path, but keys are literal: Spark and pyarrow write hive folders
        # like 'product_category=Video%20DVD', which decoded would name another key.
        return filesystem, uri.split("://", 1)[1]
    return pafs.LocalFileSystem(), str(Path(uri.removeprefix("file://")).resolve())


TEMPORARY_PREFIX = ".tmp-"
# A temporary file older than this is left by a killed writer (a picture is written in seconds).
STALE_TEMPORARY_SECONDS = 600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder: Path) -> None:
    """Removes what a writer killed mid-write left (``.tmp-*``); a recent one may be another run's."""
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for leftover in folder.glob(TEMPORARY_PREFIX + "*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except FileNotFoundError:
            pass  # its writer renamed or removed it meanwhile


def write_bytes(uri: str, data: bytes) -> None:
    """Writes ``data`` so readers see the old file or the new one, never a part of it.

    An S3 put is atomic by itself; a local file is written next to its target and renamed over it, so a
    run killed mid-write leaves the previous image intact (and a ``.tmp-*`` file that the next write to
    the folder removes once it is ``STALE_TEMPORARY_SECONDS`` old). The file gets the mode the umask
    gives new files (0644 under the usual 022), not the temporary file's 0600.
    """
    fs, path = resolve(uri)
    folder = path.rsplit("/", 1)[0]
    fs.create_dir(folder, recursive=True)
    if is_remote(uri):
        with fs.open_output_stream(path) as out:
            out.write(data)
        return
    _remove_stale_temporaries(Path(folder))
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=TEMPORARY_PREFIX, suffix=Path(path).suffix
    )
    try:
        # mkstemp makes the file private (0600); the picture is for everyone the umask lets read it.
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def exists(uri: str) -> bool:
    fs, path = resolve(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def check_writable(uri: str) -> None:
    """Creates ``uri`` if needed and writes and removes a probe in it; a clear error if that fails.

    Run before a Spark job starts, so an unwritable storage root fails in a second, not after the job.
    """
    fs, path = resolve(uri)
    probe = f"{path}/.write-probe-{uuid.uuid4().hex}"
    try:
        fs.create_dir(path, recursive=True)
        with fs.open_output_stream(probe) as out:
            out.write(b"")
        fs.delete_file(probe)
    except OSError as error:
        raise PermissionError(
            f"cannot write to {uri} ({error}); set WORDCLOUD_STORAGE_URI (or the storage "
            "resource's storage_uri) to a location this process may write"
        ) from None


def check_location(uri: str) -> str:
    """``uri`` as given, refused if it climbs out of where it points (a ``..`` part).

    Locations come from run config and environment variables; a ``..`` part would let a setting
    that looks like a folder under the storage root write anywhere else.
    """
    path = uri.split("://", 1)[1] if is_remote(uri) else uri.removeprefix("file://")
    if any(part == ".." for part in path.replace("\\", "/").split("/")):
        raise ValueError(f"location {uri!r} contains '..': give the location itself")
    return uri


def read_bytes(uri: str) -> bytes:
    fs, path = resolve(uri)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def has_files(uri: str) -> bool:
    """Whether anything but hidden files lies below ``uri``."""
    fs, path = resolve(uri)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return False
    selector = pafs.FileSelector(path, recursive=True)
    return any(
        info.type == pafs.FileType.File and not info.base_name.startswith(("_", "."))
        for info in fs.get_file_info(selector)
    )


def local_path(uri: str) -> Path:
    """A local location as a Path; a remote one is an error (sample data is written locally only)."""
    if is_remote(uri):
        raise ValueError(f"{uri} is not a local folder")
    return Path(uri.removeprefix("file://"))
