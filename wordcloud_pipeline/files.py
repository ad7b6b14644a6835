"""Reading and writing outputs at a location that is a local folder or an ``s3://`` prefix.

pyarrow's filesystems cover both with one API, so the Dagster process reads a year's counts and writes PNGs
the same way whether the storage root is on disk or in the project bucket, without starting a JVM.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as pads
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


def write_bytes(uri: str, data: bytes) -> None:
    fs, path = resolve(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(data)


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


def read_year_counts(counts_uri: str, year: int, limit: int) -> list[tuple[str, int]]:
    """The ``limit`` most frequent (word, count) pairs of ``year`` from ``words_by_year``'s output."""
    fs, path = resolve(join(counts_uri, f"year={year}"))
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return []
    table = pads.dataset(path, filesystem=fs, format="parquet").to_table(
        columns=["word", "count", "rank"], filter=pads.field("rank") <= limit
    )
    rows = sorted(
        zip(*(table.column(c).to_pylist() for c in ("rank", "word", "count")), strict=True)
    )
    return [(word, count) for _, word, count in rows]


def local_path(uri: str) -> Path:
    """A local location as a Path; a remote one is an error (sample data is written locally only)."""
    if is_remote(uri):
        raise ValueError(f"{uri} is not a local folder")
    return Path(uri.removeprefix("file://"))
