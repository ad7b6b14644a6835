"""The typed contract between the Dagster launchers and the Spark scripts: what a job is, what it reports.

A ``SparkJob`` is built Dagster-side, rendered to the script's command line (``argv()``), and parsed back by
the script (``SparkJob.from_argv``), so both sides share one definition of every flag. Launchers inspect the
job's fields (``locations``, ``backend``) instead of re-parsing argv. What a script reports back is one
metrics dataclass per script, sent as a JSON-able dict through Dagster Pipes (``to_dict`` / ``from_dict``).

The domain's values (years, backends, counting units, defaults) are ``spark_scripts.domain``'s.

Plain Python (stdlib only, no pyspark, no dagster): the Dagster process imports it without a JVM, and it is
shipped to EMR inside ``spark_scripts.zip`` with the scripts.

Adding a script: give it an options dataclass (``to_argv``, ``add_arguments``, ``from_namespace``) and a
metrics dataclass, and register both in ``SCRIPTS`` (``yearly=False`` for a script that takes no years).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from spark_scripts.domain import (
    BACKENDS,
    COUNTING_UNITS,
    DEFAULT_BACKEND,
    DEFAULT_CATEGORY,
    DEFAULT_COUNTING,
    DEFAULT_DOMAIN_STOPWORDS,
    DEFAULT_MAX_DROP_FRACTION,
    DEFAULT_MIN_TOKEN_LENGTH,
    format_years,
    parse_years,
)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


# -- per-script options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TitleOptions:
    """``preprocess_titles``: which reviews count and how titles become words."""

    category: str = DEFAULT_CATEGORY
    counting: str = DEFAULT_COUNTING
    backend: str = DEFAULT_BACKEND
    domain_stopwords: tuple[str, ...] = DEFAULT_DOMAIN_STOPWORDS
    min_token_length: int = DEFAULT_MIN_TOKEN_LENGTH
    # sparknlp backend: where its lemma dictionary is (None: made from lemminflect on this machine).
    lemma_dictionary: str | None = None

    def __post_init__(self) -> None:
        if self.counting not in COUNTING_UNITS:
            raise ValueError(f"counting must be one of {COUNTING_UNITS}, not {self.counting!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {self.backend!r}")
        object.__setattr__(self, "domain_stopwords", tuple(self.domain_stopwords))

    def to_argv(self) -> list[str]:
        argv = [
            *("--category", self.category),
            *("--counting", self.counting),
            *("--backend", self.backend),
            *("--stopwords", ",".join(self.domain_stopwords)),
            *("--min-token-length", str(self.min_token_length)),
        ]
        if self.lemma_dictionary:
            argv += ["--lemma-dictionary", self.lemma_dictionary]
        return argv

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--category", default=DEFAULT_CATEGORY, help="product_category to keep")
        parser.add_argument("--counting", choices=COUNTING_UNITS, default=DEFAULT_COUNTING)
        parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND)
        parser.add_argument(
            "--stopwords",
            default=",".join(DEFAULT_DOMAIN_STOPWORDS),
            help="domain stop words added to the English list, comma-separated",
        )
        parser.add_argument("--min-token-length", type=int, default=DEFAULT_MIN_TOKEN_LENGTH)
        parser.add_argument(
            "--lemma-dictionary",
            help="sparknlp backend: the lemma dictionary file (any Hadoop path; default: made from "
            "lemminflect on this machine)",
        )

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> TitleOptions:
        return cls(
            category=args.category,
            counting=args.counting,
            backend=args.backend,
            domain_stopwords=tuple(w for w in args.stopwords.split(",") if w.strip()),
            min_token_length=args.min_token_length,
            lemma_dictionary=args.lemma_dictionary,
        )


@dataclass(frozen=True)
class CountOptions:
    """``count_words`` has no options of its own."""

    def to_argv(self) -> list[str]:
        return []

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        return None

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> CountOptions:
        return cls()


@dataclass(frozen=True)
class IngestOptions:
    """``ingest_reviews``: the category whose reviews the reviews table keeps, and the share of the
    table's reviews one run may withdraw (files gone or shrunk) before it is refused."""

    category: str = DEFAULT_CATEGORY
    max_withdraw_fraction: float = DEFAULT_MAX_DROP_FRACTION

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_withdraw_fraction <= 1.0:
            raise ValueError(f"max_withdraw_fraction must be within 0..1: {self}")

    def to_argv(self) -> list[str]:
        return [
            *("--category", self.category),
            *("--max-withdraw-fraction", repr(float(self.max_withdraw_fraction))),
        ]

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--category", default=DEFAULT_CATEGORY, help="product_category to keep")
        parser.add_argument(
            "--max-withdraw-fraction",
            type=_fraction,
            default=DEFAULT_MAX_DROP_FRACTION,
            help="refuse a run that would withdraw more than this share of the table's reviews "
            "(0..1; 1 allows any change, say after removing most files on purpose)",
        )

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> IngestOptions:
        return cls(category=args.category, max_withdraw_fraction=args.max_withdraw_fraction)


# -- the job -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkJob:
    """One run of ``spark_scripts/<script>.py``: the whole command line, typed.

    A yearly script works on ``years`` of its tables (at least one) behind the year gate; the ingest is
    not yearly (it takes neither ``--years`` nor the gate's threshold).
    """

    script: str
    input: str
    output: str
    years: tuple[int, ...]
    options: Any = field(default=None)  # the script's options dataclass (SCRIPTS[script].options)
    max_row_drop_fraction: float = DEFAULT_MAX_DROP_FRACTION
    name: str = ""

    def __post_init__(self) -> None:
        contract = script_contract(self.script)
        object.__setattr__(self, "years", tuple(sorted(set(self.years))))
        if contract.yearly and not self.years:
            raise ValueError(f"{self.script}: a job needs at least one year")
        if not contract.yearly and self.years:
            raise ValueError(f"{self.script} is not yearly: it takes no years")
        if self.options is None:
            object.__setattr__(self, "options", contract.options())
        elif not isinstance(self.options, contract.options):
            raise TypeError(
                f"{self.script} takes {contract.options.__name__}, not {type(self.options).__name__}"
            )
        if not 0.0 <= self.max_row_drop_fraction <= 1.0:
            raise ValueError(f"max_row_drop_fraction must be within 0..1: {self}")
        if not self.name:
            years = f"[{format_years(self.years)}]" if self.years else ""
            object.__setattr__(self, "name", f"{self.script}{years}")

    @property
    def backend(self) -> str | None:
        """The NLP backend of a job that has one (it decides the jars a session needs)."""
        return getattr(self.options, "backend", None)

    @property
    def locations(self) -> dict[str, str]:
        """Every location the job reads or writes, by flag."""
        return {"--input": self.input, "--output": self.output}

    def with_options(self, **changes: Any) -> SparkJob:
        return dataclasses.replace(self, options=dataclasses.replace(self.options, **changes))

    def argv(self) -> list[str]:
        """The script's command line (without the script itself)."""
        yearly = []
        if script_contract(self.script).yearly:
            yearly = [
                *("--years", format_years(self.years)),
                *("--max-row-drop-fraction", repr(float(self.max_row_drop_fraction))),
            ]
        return [
            *("--input", self.input),
            *("--output", self.output),
            *yearly,
            *self.options.to_argv(),
        ]

    @classmethod
    def parser(cls, script: str, description: str = "") -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog=script, description=description or None)
        parser.add_argument("--input", required=True, help="folder or s3:// prefix to read")
        parser.add_argument("--output", required=True, help="folder or s3:// prefix to write")
        contract = script_contract(script)
        if contract.yearly:
            parser.add_argument("--years", required=True, type=parse_years, help="e.g. 1995-2015")
            parser.add_argument(
                "--max-row-drop-fraction",
                type=_fraction,
                default=DEFAULT_MAX_DROP_FRACTION,
                help="refuse to replace a year that would lose more than this share of its rows "
                "(0..1; 1 allows any change)",
            )
        contract.options.add_arguments(parser)
        return parser

    @classmethod
    def from_argv(cls, script: str, argv: Sequence[str], description: str = "") -> SparkJob:
        """Parses a command line ``argv()`` rendered; unknown arguments (Dagster Pipes' bootstrap
        ``--dagster-pipes-*`` pair) are left to their own parser."""
        args, _ = cls.parser(script, description).parse_known_args(list(argv))
        return cls(
            script=script,
            input=args.input,
            output=args.output,
            years=tuple(getattr(args, "years", ())),
            options=script_contract(script).options.from_namespace(args),
            max_row_drop_fraction=getattr(args, "max_row_drop_fraction", DEFAULT_MAX_DROP_FRACTION),
        )


# -- metrics -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """What a yearly job reports about its Delta commit: the version, each year's rows before and after."""

    table_version: int
    rows_before_by_year: dict[str, int]
    rows_after_by_year: dict[str, int]


@dataclass(frozen=True)
class Metrics:
    """Base of the per-script metrics: JSON-able both ways, keyed by year strings like JSON itself."""

    script: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metrics:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class TitlesMetrics(Metrics):
    """What ``preprocess_titles`` read, kept, dropped (by reason) and wrote."""

    script: ClassVar[str] = "preprocess_titles"

    input: str
    output: str
    layout: str
    files_read: int
    years: list[int]
    category: str
    counting: str
    backend: str
    rows_read: int
    rows_kept: int
    rows_dropped: dict[str, int]
    tokens: int
    tokens_by_year: dict[str, int]
    # The rows kept (for the reviews table: read) of each year; drops have no year.
    rows_kept_by_year: dict[str, int]
    distinct_words_by_year: dict[str, int]
    commit: Commit

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TitlesMetrics:
        return super().from_dict({**data, "commit": Commit(**data["commit"])})  # type: ignore[return-value]


@dataclass(frozen=True)
class YearCounts:
    """One year of ``count_words``: its figures, top words, and the settings its words were made with
    (from the titles table; None for a year written before the settings were stored)."""

    tokens: int = 0
    distinct_words: int = 0
    top_words: list[tuple[str, int]] = field(default_factory=list)
    counting: str | None = None
    backend: str | None = None


@dataclass(frozen=True)
class CountsMetrics(Metrics):
    """What ``count_words`` counted, per year, with each year's top words."""

    script: ClassVar[str] = "count_words"

    input: str
    output: str
    years: list[int]
    tokens: int
    distinct_words: int
    by_year: dict[str, YearCounts]
    commit: Commit

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CountsMetrics:
        by_year = {
            year: YearCounts(
                y["tokens"],
                y["distinct_words"],
                [tuple(t) for t in y["top_words"]],
                y.get("counting"),
                y.get("backend"),
            )
            for year, y in data["by_year"].items()
        }
        return super().from_dict(  # type: ignore[return-value]
            {**data, "by_year": by_year, "commit": Commit(**data["commit"])}
        )


@dataclass(frozen=True)
class IngestMetrics(Metrics):
    """Which files ``ingest_reviews`` read (new, changed) or withdrew (removed), what their rows were, and
    the years whose reviews changed, with the replaced files' kept reviews before and after."""

    script: ClassVar[str] = "ingest_reviews"

    input: str
    output: str
    layout: str
    category: str
    files_listed: int
    files_new: list[str]
    files_changed: list[str]
    files_removed: list[str]
    rows_read: int
    rows_kept: int
    rows_dropped: dict[str, int]
    years_changed: list[int]
    reviews_before_by_year: dict[str, int]
    reviews_after_by_year: dict[str, int]
    table_version: int | None

    @property
    def files_read(self) -> int:
        return len(self.files_new) + len(self.files_changed)


# -- the registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptContract:
    options: type
    metrics: type[Metrics]
    yearly: bool = True


SCRIPTS: dict[str, ScriptContract] = {
    "ingest_reviews": ScriptContract(IngestOptions, IngestMetrics, yearly=False),
    "preprocess_titles": ScriptContract(TitleOptions, TitlesMetrics),
    "count_words": ScriptContract(CountOptions, CountsMetrics),
}

# The Pipes custom message a script reports its metrics in: {"metrics": {"script": ..., "values": ...}}.
METRICS_MESSAGE = "metrics"


def script_contract(script: str) -> ScriptContract:
    if script not in SCRIPTS:
        raise ValueError(f"unknown script {script!r}; known: {', '.join(sorted(SCRIPTS))}")
    return SCRIPTS[script]


def metrics_message(metrics: Metrics) -> dict[str, Any]:
    """The JSON-able payload a script reports (``report_custom_message``)."""
    return {METRICS_MESSAGE: {"script": metrics.script, "values": metrics.to_dict()}}


def metrics_from_messages(script: str, payloads: Sequence[Any]) -> Metrics | None:
    """The typed metrics of ``script`` among a session's custom messages (the last reported), or None."""
    found = None
    for payload in payloads:
        if isinstance(payload, Mapping) and isinstance(payload.get(METRICS_MESSAGE), Mapping):
            message = payload[METRICS_MESSAGE]
            if message.get("script") == script:
                found = script_contract(script).metrics.from_dict(message["values"])
    return found
