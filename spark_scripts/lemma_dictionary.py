"""The English lemma dictionary that spark-nlp's ``Lemmatizer`` is trained from, made from lemminflect's table.

spark-nlp's pretrained lemmatizers come from John Snow Labs' model store, which a machine without that
access (a CI runner, an EMR node in a private subnet) cannot reach. Its dictionary ``Lemmatizer`` instead
learns from a text file, ``lemma -> form<TAB>form...`` per line (``setDictionary(path, "->", "\\t")``).
That file is made here from ``lemma_lu.csv.gz``, the lookup table the ``lemminflect`` package ships (MIT
licence; the forms come from the US National Library of Medicine's SPECIALIST Lexicon), on first use, into
a cache folder keyed by the lemminflect version. The EMR launcher ships the same bytes next to the scripts,
so a cluster needs neither lemminflect nor any download.

The table has one entry per part of speech (``cooking``: verb ``cook``; ``best``: adjective ``good``). The
dictionary lemmatizer sees no part of speech, and a title is mostly a noun phrase whose words name its
topic, so only the noun entries are kept: plurals fold to their singular (``stories`` -> ``story``,
``wolves`` -> ``wolf``, ``mice`` -> ``mouse``) while ``cooking``, ``running`` or ``best`` stay as written.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable
from importlib import metadata, resources
from pathlib import Path

KEY_DELIMITER = "->"
VALUE_DELIMITER = "\t"
FILE_NAME = "lemma_dictionary.txt"
# The parts of speech whose forms are folded, most wanted first when a form has several.
CATEGORY_PREFERENCE = ("noun",)
_WORD = re.compile(r"^[^\W\d_]+$")


def table_lines() -> Iterable[str]:
    """The lines of lemminflect's lemma table: ``form,category,lemma[/lemma...]``."""
    table = resources.files("lemminflect").joinpath("resources", "lemma_lu.csv.gz")
    with gzip.open(table.open("rb"), "rt", encoding="utf-8") as lines:
        yield from lines


def form_to_lemma(lines: Iterable[str]) -> dict[str, str]:
    """Lowercased form -> its preferred lemma; forms equal to their lemma and non-words are left out.

    Only letters survive spark-nlp's Normalizer here, so forms with apostrophes, hyphens or digits could
    never be looked up. A lowercase entry wins over a capitalised one (``Bill`` the name, ``bill`` the noun).
    """
    rank = {category: i for i, category in enumerate(CATEGORY_PREFERENCE)}
    best: dict[str, tuple[tuple[int, int], str]] = {}
    for line in lines:
        parts = line.rstrip("\n").split(",")
        if len(parts) != 3 or parts[1] not in rank:
            continue
        form, category, lemmas = parts
        lemma = lemmas.split("/")[0].lower()
        key = form.lower()
        if not (_WORD.match(key) and _WORD.match(lemma)):
            continue
        priority = (rank[category], 0 if form == key else 1)
        if key not in best or priority < best[key][0]:
            best[key] = (priority, lemma)
    return {form: lemma for form, (_, lemma) in best.items() if form != lemma}


def dictionary_text(form_lemma: dict[str, str]) -> str:
    """spark-nlp's dictionary format: one line per lemma, its forms after ``->``, tab-separated, sorted."""
    forms_by_lemma: dict[str, list[str]] = {}
    for form, lemma in form_lemma.items():
        forms_by_lemma.setdefault(lemma, []).append(form)
    return "".join(
        f"{lemma} {KEY_DELIMITER} {VALUE_DELIMITER.join(sorted(forms))}\n"
        for lemma, forms in sorted(forms_by_lemma.items())
    )


def dictionary_bytes() -> bytes:
    """The whole dictionary file, identical for the same lemminflect version."""
    return dictionary_text(form_to_lemma(table_lines())).encode("utf-8")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wordcloud_pipeline"


def ensure_dictionary(cache_dir: Path | None = None) -> Path:
    """The dictionary file, made from lemminflect on first use (about a second) and reused afterwards."""
    folder = cache_dir or default_cache_dir()
    path = folder / f"lemmas-lemminflect-{metadata.version('lemminflect')}.txt"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(dictionary_bytes())
        partial.replace(path)  # atomic: a concurrent reader sees the whole file or none
    return path
