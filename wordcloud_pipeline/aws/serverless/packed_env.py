"""The nodes' Python for EMR Serverless: one archive holding an interpreter, its standard library and the
packages the scripts import, unpacked by Spark on the driver and on every executor (``spark.archives``).

EMR Serverless images run Python 3.9 (emr-7.x) and install nothing; the scripts need Python 3.10+ and the
same packages the EMR bootstrap pip-installs. So the archive carries its own interpreter, built from the one
requirement list (``BOOTSTRAP_PACKAGES`` plus the configured extras), the way AWS's guide to other Python
versions does (a ``--copies`` venv with the standard library copied in), but:

- **relocatable**: no ``pyvenv.cfg``; ``bin/python3.X`` finds its prefix from its own location (the
  ``lib/python3.X/os.py`` landmark), so the archive works wherever Spark unpacks it
  (``/home/hadoop/environment`` on EMR Serverless, a temp folder in the tests). Packages sit in
  ``lib/python3.X/site-packages``, with ``dist-packages`` linked to it for Debian-built interpreters;
- **reproducible**: no bytecode, no console scripts (their shebangs name the build folder), entries sorted,
  owner root, mtime 0, gzip without a timestamp: the same interpreter and the same resolved packages give the
  same bytes, and the archive's key in S3 is the hash of its requirement list and interpreter version
  (``environment_key``), so a changed list is a new archive and a stale one is never used;
- **checked** before it is packed: the unpacked copy's interpreter, in a clean environment, imports every
  package and reports its own folder as ``sys.prefix``. An interpreter linked to a shared ``libpython``
  (pyenv's, Amazon Linux's ``python3.11``) is refused: the nodes would not have that library. Build on the
  nodes' architecture (``x86_64`` for the default application) with a static one: Debian's ``python3.11``,
  or a python.org source build without ``--enable-shared`` in an ``amazonlinux:2023`` container.

Not venv-pack: it keeps ``pyvenv.cfg`` with an absolute ``home`` (its ``--python-prefix``) and so ties the
archive to one unpack folder, and it leaves the interpreter and the standard library outside the archive.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

# What the archive does not need from the standard library (tests, GUI, the installer of pip).
STDLIB_SKIPPED = frozenset(
    {
        "test",
        "idlelib",
        "tkinter",
        "turtledemo",
        "ensurepip",
        "lib2to3",
        "__pycache__",
        "site-packages",
        "dist-packages",
        "config-3.11-x86_64-linux-gnu",
    }
)
ARCHIVE_ALIAS = "environment"
PYTHON_IN_ARCHIVE = f"./{ARCHIVE_ALIAS}/bin/python"


class PackError(RuntimeError):
    """The environment could not be built; the message says why and what to do."""


def interpreter_facts(python: str) -> dict[str, str]:
    """Version, standard library folder and ``lib-dynload`` of ``python``."""
    code = (
        "import json, sys, sysconfig; print(json.dumps({'version': '%d.%d' % sys.version_info[:2], "
        "'stdlib': sysconfig.get_paths()['stdlib'], 'dynload': sysconfig.get_config_var('DESTSHARED'),"
        " 'executable': sys.executable}))"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PackError(f"{python}: cannot run it ({done.stderr.strip()[-300:]})")
    return json.loads(done.stdout)


def check_static(executable: str) -> None:
    """Refuses an interpreter that needs a shared ``libpython``: the nodes would not have it."""
    done = subprocess.run(["ldd", executable], capture_output=True, text=True, check=False)
    if "libpython" in done.stdout:
        raise PackError(
            f"{executable} is linked to a shared libpython, which EMR Serverless nodes do not have: "
            "pack with a statically linked python3.11 (--python /usr/bin/python3.11 on Debian, or a "
            "source build without --enable-shared)"
        )


def environment_key(requirements: Sequence[str], python_version: str, machine: str) -> str:
    """The archive's name: what it was built from, so a changed requirement list is a new archive."""
    described = json.dumps([python_version, machine, list(requirements)])
    return f"python{python_version}-{machine}-{hashlib.sha256(described.encode()).hexdigest()[:16]}"


def _copy_stdlib(stdlib: Path, dynload: Path, target: Path) -> None:
    def skipped(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in STDLIB_SKIPPED or n.endswith(".pyc")}

    shutil.copytree(stdlib, target, ignore=skipped, symlinks=False)
    if not (target / "lib-dynload").exists():
        shutil.copytree(dynload, target / "lib-dynload", ignore=skipped)


def _install(python: str, requirements: Sequence[str], site: Path) -> None:
    done = subprocess.run(
        [
            *(python, "-m", "pip", "install", "--quiet", "--no-compile", "--no-input"),
            *("--disable-pip-version-check", "--only-binary=:all:", "--target", str(site)),
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PackError(f"pip install {' '.join(requirements)} failed:\n{done.stderr[-2000:]}")
    for scripts in (site / "bin",):  # console scripts: their shebangs name this build folder
        shutil.rmtree(scripts, ignore_errors=True)
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def build_tree(python: str, requirements: Sequence[str], root: Path) -> dict[str, str]:
    """The environment's folder at ``root``: interpreter, standard library, packages."""
    facts = interpreter_facts(python)
    check_static(facts["executable"])
    version = facts["version"]
    lib = root / "lib" / f"python{version}"
    _copy_stdlib(Path(facts["stdlib"]), Path(facts["dynload"]), lib)
    (root / "bin").mkdir(parents=True)
    shutil.copy2(facts["executable"], root / "bin" / f"python{version}")
    (root / "bin" / "python").symlink_to(f"python{version}")
    (root / "bin" / "python3").symlink_to(f"python{version}")
    _install(python, requirements, lib / "site-packages")
    (lib / "dist-packages").symlink_to("site-packages")
    (root / "wordcloud-requirements.txt").write_text("\n".join(requirements) + "\n")
    return facts


def verify(root: Path, requirements: Sequence[str]) -> None:
    """The unpacked interpreter, with nothing of this machine's Python set, imports what it must."""
    modules = ["dagster_pipes", "boto3", "numpy"]
    code = (
        "import importlib, json, sys; "
        f"[importlib.import_module(m) for m in {modules!r}]; print(json.dumps(sys.prefix))"
    )
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run(
        [str(root / "bin" / "python"), "-I", "-B", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    if done.returncode != 0:
        raise PackError(f"the packed Python does not start or import its packages:\n{done.stderr}")
    prefix = json.loads(done.stdout)
    if Path(prefix).resolve() != root.resolve():
        raise PackError(f"the packed Python took {prefix} as its prefix, not its own folder {root}")


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if info.isfile() or info.isdir():
        info.mode = 0o755 if (info.isdir() or info.mode & 0o111) else 0o644
    return info


def archive_bytes(root: Path) -> bytes:
    """``root`` as a tar.gz whose bytes depend only on its files' paths, contents and modes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
            tar.add(
                path, arcname=path.relative_to(root).as_posix(), recursive=False, filter=_normalized
            )
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def pack(python: str, requirements: Sequence[str], out_dir: Path) -> Path:
    """Builds, verifies and packs the environment; returns ``<out_dir>/<environment_key>.tar.gz``."""
    with tempfile.TemporaryDirectory(prefix="wordcloud-env-") as scratch:
        root = Path(scratch) / ARCHIVE_ALIAS
        facts = build_tree(python, requirements, root)
        verify(root, requirements)
        data = archive_bytes(root)
    machine = os.uname().machine
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{environment_key(requirements, facts['version'], machine)}.tar.gz"
    target.write_bytes(data)
    return target
