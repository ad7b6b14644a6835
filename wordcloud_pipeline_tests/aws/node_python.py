"""The Python of the emulated EMR nodes: a bare venv holding exactly what the cluster's bootstrap installs.

On EMR the steps' driver and executors run on the interpreter the ``spark-env`` classification names
(``PYSPARK_PYTHON``), which is AL2023's ``python3.11`` with only what the bootstrap action pip-installs. So a
script importing a package nobody installed works in the project's venv and fails on the cluster. Here:

- the bootstrap script is the one the cluster was given (read from S3, as EMR does), and its
  ``<python> -m pip install ...`` lines are parsed into the package list;
- a venv without system site packages is built from a Python of the same minor version, with exactly those
  packages (from PyPI through pip's cache), once per package list and test session;
- what EMR itself provides comes from the Spark install, as on EMR: ``spark-submit`` puts the Spark
  install's ``python/lib/pyspark.zip`` and ``py4j-*.zip`` on the driver's and executors' ``PYTHONPATH``
  (EMR: ``/usr/lib/spark/python/lib``). Nothing else of the test's venv is visible to a step.

Not emulated: the rest of the bootstrap script (``dnf install python3.11``), which runs as root on real nodes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PYTHON_NAME = re.compile(r"python(\d+)\.(\d+)$")
SYSTEM_PYTHON = re.compile(r"^python3\.\d+$")


class BootstrapError(RuntimeError):
    """The bootstrap's packages could not be installed: on EMR the cluster would never start."""


@dataclass(frozen=True)
class BootstrapPython:
    """The interpreter a bootstrap script installs into, and what it pip-installs there."""

    python: str
    packages: tuple[str, ...]

    @property
    def version(self) -> tuple[int, int]:
        match = PYTHON_NAME.search(Path(self.python).name)
        if match is None:
            raise ValueError(f"cannot tell the Python version of {self.python!r}")
        return int(match.group(1)), int(match.group(2))


def parse_bootstrap(script: str) -> BootstrapPython:
    """The interpreter a bootstrap script provides and what it pip-installs there.

    The interpreter is the one of its ``<python> -m pip install <packages>`` lines (``sudo`` and pip options
    skipped), or, when nothing is pip-installed, the single ``python3.X`` it installs with dnf or yum
    (``/usr/bin/python3.X``). Anything else is an error: the steps would have no interpreter of ours.
    """
    pip_python: str | None = None
    system_pythons: list[str] = []
    packages: list[str] = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if "install" not in words:
            continue
        if {"dnf", "yum"} & set(words):
            system_pythons += [f"/usr/bin/{w}" for w in words if SYSTEM_PYTHON.match(w)]
        if "pip" not in words:
            continue
        at = words.index("pip")
        if at < 2 or words[at - 1] != "-m":
            raise ValueError(f"unrecognized pip line in the bootstrap: {line!r}")
        if pip_python not in (None, words[at - 2]):
            raise ValueError(f"the bootstrap pip-installs into {pip_python} and {words[at - 2]}")
        pip_python = words[at - 2]
        packages += [w for w in words[words.index("install", at) + 1 :] if not w.startswith("-")]
    if pip_python is not None:
        return BootstrapPython(pip_python, tuple(packages))
    if len(system_pythons) == 1:
        return BootstrapPython(system_pythons[0], ())
    raise ValueError(f"cannot tell which Python the bootstrap provides:\n{script}")


def base_interpreter(version: tuple[int, int]) -> str:
    """A Python of ``version``: this one when it matches (a venv made from a venv is still bare)."""
    if sys.version_info[:2] == version:
        return sys.executable
    found = shutil.which(f"python{version[0]}.{version[1]}")
    if found is None:
        raise RuntimeError(
            f"the nodes run Python {version[0]}.{version[1]}, which is not installed"
        )
    return found


def node_python(wanted: BootstrapPython, cache_root: Path) -> Path:
    """The interpreter of a bare venv with ``wanted.packages``, built once per package list."""
    key = hashlib.sha256(json.dumps([wanted.version, wanted.packages]).encode()).hexdigest()[:16]
    home = cache_root / f"node-python-{key}"
    python = home / "bin" / "python"
    if (home / "ready").exists():
        return python
    if home.exists():
        shutil.rmtree(home)
    base = base_interpreter(wanted.version)
    subprocess.run([base, "-m", "venv", str(home)], check=True, capture_output=True)
    if wanted.packages:
        install = subprocess.run(
            [
                *(str(python), "-m", "pip", "install", "--quiet"),
                *("--disable-pip-version-check", "--no-input", *wanted.packages),
            ],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            raise BootstrapError(
                f"pip install {' '.join(wanted.packages)} failed:\n{install.stdout}{install.stderr}"
            )
    (home / "ready").write_text(json.dumps(list(wanted.packages)))
    return python


def installed(python: Path) -> set[str]:
    """The distribution names importable from ``python`` (lowercase), to check the venv is bare."""
    code = "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return {name.strip().lower() for name in out.stdout.splitlines() if name.strip()}
