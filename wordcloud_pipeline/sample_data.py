"""A deterministic sample of the Amazon Customer Reviews dataset, in its real schema and both layouts.

The public ``amazon-reviews-pds`` bucket is gone, so the demo, the tests and the benchmarks generate data
that looks like it: the 15 published columns, reviews growing year over year (1995-2015), Books the
largest of several categories, titles with series in parentheses, subtitles, editions, numbers, HTML
entities and non-ASCII letters, topics whose popularity rises and falls so each year's cloud differs, and a
few broken rows (short rows, bad dates, blank titles) as real files have.

Rows weigh what real ones weigh: about 650 bytes of uncompressed TSV a row (the published Books file is
about 6.7 GB for about 10 million rows), almost all of it ``review_body`` and ``review_headline``. Bodies
follow a long-tailed (log-normal) length: many one-liners, some of several thousand characters, with the
``<br />`` line breaks, ``&#34;`` and plain quotes, and backslash-escaped tabs (``\\t``, never a raw tab)
real bodies hold. Reading, decompressing and splitting lines is paid per byte, so per-row figures
measured on these rows hold for the real files.

Columns are generated at once with numpy (2M rows in about a minute here), one seeded generator, so the
same arguments give the same bytes.

    wordcloud-sample --rows 20000 --layout tsv --out data/reviews
"""

from __future__ import annotations

import argparse
import functools
import gzip
import itertools
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from spark_scripts.domain import DEFAULT_CATEGORY, FIRST_YEAR, LAST_YEAR
from spark_scripts.reviews import REVIEW_COLUMNS

log = logging.getLogger(__name__)

# The published dataset's 15 columns, as the Spark job reads them.
COLUMNS = REVIEW_COLUMNS
YEARLY_GROWTH = 1.22
# The sample written when the default reviews folder is empty (the demo's, the UI's first run).
DEMO_SAMPLE_ROWS = 20_000
CATEGORIES = {
    DEFAULT_CATEGORY: 0.62,
    "Digital_Ebook_Purchase": 0.12,
    "Music": 0.1,
    "Video DVD": 0.08,
    "Electronics": 0.08,
}
# (words, year of peak popularity, spread in years): a topic's weight follows a bell around its peak.
TOPICS = (
    (("internet", "web", "html", "netscape", "java", "modem"), 1997, 2.5),
    (("millennium", "prophecy", "computer", "future"), 1999, 2.0),
    (("wizard", "magic", "sorcerer", "potter", "spell", "stone"), 2002, 3.0),
    (("code", "conspiracy", "templar", "cipher", "angels"), 2005, 2.0),
    (("vampire", "twilight", "moon", "eclipse", "dawn", "blood"), 2009, 1.8),
    (("kindle", "blog", "social", "media", "marketing", "facebook"), 2011, 2.5),
    (("zombie", "apocalypse", "survival", "dead", "outbreak"), 2012, 2.0),
    (("hunger", "games", "dystopia", "rebel", "arena", "district"), 2012, 1.5),
    (("grey", "shades", "desire", "billionaire", "romance"), 2013, 1.2),
    (("paleo", "diet", "gluten", "smoothies", "clean", "recipes"), 2014, 1.8),
    (("python", "data", "analytics", "cloud", "learning"), 2015, 1.5),
    (("war", "history", "civil", "world", "army", "battle"), 2005, 15.0),
    (("love", "heart", "family", "life", "garden", "summer"), 2005, 15.0),
    (("murder", "mystery", "detective", "case", "killer"), 2005, 12.0),
    (("dragon", "kingdom", "sword", "quest", "throne"), 2011, 4.0),
    (("god", "faith", "prayer", "spirit", "bible"), 2001, 8.0),
    (("money", "investing", "wealth", "business", "leadership"), 2008, 5.0),
    (("cooking", "kitchen", "baking", "bread", "stories"), 2006, 10.0),
)
SERIES = ("Chronicles", "Saga", "Trilogy", "Cycle", "Legacy", "Files", "Quartet")
NAMES = ("Brontë", "Márquez", "Zoë", "Müller", "O&#39;Brien", "Renée", "José", "Dickens")
ORDINALS = ("2nd", "3rd", "4th", "5th", "10th")
# Stock headlines (Amazon filled in "Five Stars" and the like for reviews without one).
HEADLINES = (
    "Five Stars",
    "Four Stars",
    "Great read",
    "Loved it",
    "Disappointing",
    "Worth it",
    "Meh",
    "A classic",
)
STOCK_HEADLINE_SHARE = 0.3
BAD_DATES = ("2005-13-45", "n/a", "", "31/02/2007")
# Review text: words drawn by a Zipf law from this vocabulary (the topics' words added), in sentences,
# with the markup real bodies carry. Log-normal lengths in characters: median and spread (sigma) chosen so
# a row averages about 650 bytes, as the published files do; capped as Amazon capped reviews.
VOCABULARY = (
    "the and a to of i it is this in that was for book you with but my not have on as "
    "read be are all so one his her they very just an if at about from what story would "
    "or he she me more like had by there out will who reading good their great time "
    "characters which really much well also when up how some can were them could many "
    "author first other we books has did only no because than into been then even these "
    "life way new most series way people after end character ending plot writing too "
    "little think best first any recommend love know over world never found written long "
    "make through again another before both does each few find family get give go "
    "interesting information enjoyed highly excellent wonderful easy history years back "
    "novel page pages chapter chapters ever still work things bit felt feel real "
    "thought though while why reader readers edition copy kindle version thing wanted "
    "quite pretty lot makes made may must own right since something thing times used "
    "useful helpful loved enjoy favorite beautiful fun funny sad slow boring fast "
    "interesting detail details style voice prose dialogue twist twists surprise "
    "fascinating important understand point points part parts volume guide picture "
    "pictures illustrations recipes instructions children kids son daughter wife husband "
    "friend friends gift school class students teacher bought purchased received "
    "condition price worth money definitely absolutely certainly probably maybe "
    "café naïve résumé Brontë"
).split()
BODY_MEDIAN_CHARS = 255
BODY_SIGMA = 1.15
BODY_MAX_CHARS = 20_000
HEADLINE_MEDIAN_CHARS = 24
HEADLINE_SIGMA = 0.6
HEADLINE_MAX_CHARS = 120
# The shared text rows are cut from: much longer than the longest body, so rows rarely share text.
CORPUS_WORDS = 1_200_000
ROWS_PER_FILE = 250_000
# The fastest gzip level: writing is bound by compression, and reading costs the same at any level.
GZIP_LEVEL = 1


def year_weights() -> dict[int, float]:
    return {y: YEARLY_GROWTH ** (y - FIRST_YEAR) for y in range(FIRST_YEAR, LAST_YEAR + 1)}


def reviews_per_year(rows: int) -> dict[int, int]:
    """Splits ``rows`` over the years, growing each year, summing exactly to ``rows``."""
    weights = year_weights()
    total = sum(weights.values())
    counts = {y: math.floor(rows * w / total) for y, w in weights.items()}
    for year in sorted(weights, reverse=True)[: rows - sum(counts.values())]:
        counts[year] += 1
    return counts


@functools.cache
def _topic_cum_weights(year: int) -> list[float]:
    weights = [math.exp(-(((year - peak) / spread) ** 2) / 2) for _, peak, spread in TOPICS]
    return list(itertools.accumulate(weights))


# Templates with few fixed words are the most common, so topic words lead each year's cloud.
TEMPLATE_CUM_WEIGHTS = list(itertools.accumulate((10, 8, 5, 6, 0.4, 0.4, 2, 3, 1, 1, 1, 2)))


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def make_title(rng: random.Random, year: int) -> str:
    """A book-like title built from topics popular in ``year``."""
    words, _, _ = rng.choices(TOPICS, cum_weights=_topic_cum_weights(year))[0]
    a, b = (_cap(w) for w in rng.sample(words, 2))
    template = rng.choices(range(12), cum_weights=TEMPLATE_CUM_WEIGHTS)[0]
    if template == 0:
        return f"The {a} {b}"
    if template == 1:
        return f"{a} of the {b}: A Novel"
    if template == 2:
        return f"The {a} {b} ({b} {rng.choice(SERIES)}, Book {rng.randint(1, 7)})"
    if template == 3:
        return f"{a} &amp; {b}"
    if template == 4:
        return f"{a} for Dummies, {rng.choice(ORDINALS)} Edition"
    if template == 5:
        return f"The Complete Guide to {a}: {rng.randint(5, 101)} {b} Secrets You Need to Know"
    if template == 6:
        return f"{rng.choice(NAMES)}&#39;s {a}"
    if template == 7:
        return f"{a}, Vol. {rng.randint(1, 12)}: {b}"
    if template == 8:
        return f'"{a}" and Other {b} Stories'
    if template == 9:
        return f"Café {a}: {b} in {year - rng.randint(0, 40)}"
    if template == 10:
        return f"{a} {b}! (Illustrated {rng.choice(ORDINALS)} Edition)"
    return f"{a}'s {b} \u2013 {rng.choice(('A Memoir', 'Revised', 'Über-Edition', 'Poems'))}"


def _catalog(rng: np.random.Generator, titles: random.Random, rows: int) -> dict[str, np.ndarray]:
    """The products reviewed: release year, category, ids, title and a long-tailed popularity."""
    weights = year_weights()
    years = np.array(list(weights))
    size = max(60, rows // 6)
    # The first products cover every year once, so even a tiny sample has titles in each year.
    release = rng.choice(
        years, size=size, p=np.array(list(weights.values())) / sum(weights.values())
    )
    release[: len(years)] = years
    categories = np.array(list(CATEGORIES))
    shares = np.array(list(CATEGORIES.values()))
    category = categories[rng.choice(len(categories), size=size, p=shares / shares.sum())]
    isbn = np.char.zfill(rng.integers(0, 10**10, size=size).astype(str), 10)
    asin = np.char.add("B00", np.char.zfill(rng.integers(0, 10**7, size=size).astype(str), 7))
    return {
        "release": release,
        "category": category,
        "product_id": np.where(category == "Digital_Ebook_Purchase", asin, isbn),
        "parent": (100_000_000 + np.arange(size) * 7919 % 899_999_999).astype(str),
        "title": np.array([make_title(titles, int(year)) for year in release], dtype=object),
        "popularity": rng.pareto(1.3, size=size) + 1.0,
    }


def _picks(rng: np.random.Generator, catalog: dict[str, np.ndarray], rows: int) -> tuple:
    """(product index, year) of every review: mostly recent releases, weighted by popularity."""
    release, popularity = catalog["release"], catalog["popularity"]
    products, years = [], []
    for year, count in reviews_per_year(rows).items():
        eligible = np.flatnonzero(release <= year)
        recent = eligible[release[eligible] >= year - 2]
        recent = recent if len(recent) else eligible
        pick_recent = rng.choice(recent, size=count, p=_norm(popularity[recent]))
        pick_any = rng.choice(eligible, size=count, p=_norm(popularity[eligible]))
        products.append(np.where(rng.random(count) < 0.6, pick_recent, pick_any))
        years.append(np.full(count, year))
    return np.concatenate(products), np.concatenate(years)


def _norm(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _corpus(rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """Review-like text, and the offsets of its word starts (rows start and end on word boundaries)."""
    topic_words = sorted({word for words, _, _ in TOPICS for word in words})
    vocabulary = np.array([*VOCABULARY, *topic_words], dtype=object)
    zipf = 1.0 / np.arange(1, len(vocabulary) + 1) ** 1.05
    words = vocabulary[rng.choice(len(vocabulary), size=CORPUS_WORDS, p=_norm(zipf))]
    # Sentence ends, paragraph breaks, quotes and escaped tabs, as real bodies have them.
    marks = rng.random(CORPUS_WORDS)
    words = np.where(marks < 0.06, np.char.add(words.astype(str), "."), words)
    words = np.where(marks > 0.992, np.char.add(words.astype(str), ".<br /><br />"), words)
    words = np.where((marks > 0.98) & (marks <= 0.984), "&#34;" + words + "&#34;", words)
    words = np.where((marks > 0.984) & (marks <= 0.986), '"' + words + '"', words)
    words = np.where((marks > 0.986) & (marks <= 0.987), words + ":\\t", words)
    words = np.where((marks > 0.987) & (marks <= 0.989), words + "!", words)
    words = np.where((marks > 0.989) & (marks <= 0.990), words + "...", words)
    words = words.astype(str)
    text = " ".join(words.tolist())
    lengths = np.char.str_len(words).astype(np.int64) + 1
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return text, starts


def _passages(
    rng: np.random.Generator,
    starts: np.ndarray,
    text_length: int,
    n: int,
    median: float,
    sigma: float,
    cap: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(begin, end) offsets of ``n`` passages of the corpus, whole words, of log-normal lengths."""
    lengths = np.minimum(rng.lognormal(math.log(median), sigma, size=n), cap).astype(np.int64)
    first = rng.integers(0, np.searchsorted(starts, text_length - cap - 1), size=n)
    begin = starts[first]
    # The end snapped to the word boundary at or after the wanted length (at least one word).
    end_word = np.maximum(np.searchsorted(starts, begin + lengths), first + 1)
    return begin, starts[end_word] - 1


@dataclass(frozen=True)
class Sample:
    """Every review's fields as numbers and offsets; ``rows(index)`` makes the strings of some of them.

    The strings of 10M real-sized reviews take more memory than a laptop has; their numbers take about
    100 bytes a review. Files are written a slice at a time from the same numbers, so a file's bytes do
    not depend on how the rows are sliced.
    """

    catalog: dict[str, np.ndarray]
    columns: dict[str, np.ndarray]
    corpus: str

    def __len__(self) -> int:
        return len(self.columns["product"])

    def category_rows(self) -> dict[str, np.ndarray]:
        """The row numbers of each category, in row order."""
        category = self.catalog["category"][self.columns["product"]]
        return {str(c): np.flatnonzero(category == c) for c in sorted(set(category.tolist()))}

    def rows(self, index: np.ndarray | None = None) -> pa.Table:
        """The 15 columns and ``_short`` of the rows ``index`` (all rows when None)."""
        c = self.columns if index is None else {k: v[index] for k, v in self.columns.items()}
        n = len(c["product"])
        text = self.corpus
        headline = np.array(
            [
                text[b:e]
                for b, e in zip(c["head_begin"].tolist(), c["head_end"].tolist(), strict=True)
            ],
            dtype=object,
        )
        stock = np.array(HEADLINES, dtype=object)[c["stock_headline"]]
        body = [
            text[b:e] for b, e in zip(c["body_begin"].tolist(), c["body_end"].tolist(), strict=True)
        ]
        product = c["product"]
        return pa.table(
            {
                "marketplace": pa.array(np.full(n, "US", dtype=object), pa.string()),
                "customer_id": pa.array(c["customer_id"].astype(str)),
                "review_id": pa.array(c["review_id"].view("S14").ravel()).cast(pa.string()),
                "product_id": pa.array(self.catalog["product_id"][product]),
                "product_parent": pa.array(self.catalog["parent"][product]),
                "product_title": pa.array(
                    np.where(c["blank_title"], "", self.catalog["title"][product]), pa.string()
                ),
                "product_category": pa.array(self.catalog["category"][product]),
                "star_rating": pa.array(c["star_rating"], pa.int64()),
                "helpful_votes": pa.array(c["helpful_votes"]),
                "total_votes": pa.array(c["total_votes"]),
                "vine": pa.array(np.where(c["vine"], "Y", "N")),
                "verified_purchase": pa.array(np.where(c["verified"], "Y", "N")),
                "review_headline": pa.array(
                    np.where(c["stock_headline"] >= 0, stock, headline), pa.string()
                ),
                "review_body": pa.array(body, pa.string()),
                "review_date": pa.array(c["review_date"], pa.string()),
                "_short": pa.array(c["short"]),
            }
        )


def sample(rows: int, seed: int = 7, bad_fraction: float = 0.003) -> Sample:
    """``rows`` reviews, the same for the same arguments (strings made on demand: ``Sample.rows``)."""
    rng = np.random.default_rng(seed)
    catalog = _catalog(rng, random.Random(seed), rows)
    product, year = _picks(rng, catalog, rows)
    day = rng.integers(0, 365, size=rows)
    # Every (year, day) date once, then looked up: formatting millions of dates one by one is slow.
    calendar = np.array(
        [
            f"{y}-{1 + d // 31 % 12:02d}-{1 + d % 28:02d}"
            for y in range(FIRST_YEAR, LAST_YEAR + 1)
            for d in range(365)
        ],
        dtype=object,
    )
    dates = calendar[(year - FIRST_YEAR) * 365 + day]
    total = rng.exponential(1 / 0.3, size=rows).astype(np.int64)
    alphabet = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
    review_id = np.empty((rows, 14), dtype=np.uint8)
    review_id[:, 0] = ord("R")
    review_id[:, 1:] = alphabet[rng.integers(0, len(alphabet), size=(rows, 13))]
    text, starts = _corpus(rng)
    stock = np.where(
        rng.random(rows) < STOCK_HEADLINE_SHARE, rng.integers(0, len(HEADLINES), size=rows), -1
    ).astype(np.int8)
    head = _passages(
        rng, starts, len(text), rows, HEADLINE_MEDIAN_CHARS, HEADLINE_SIGMA, HEADLINE_MAX_CHARS
    )
    body = _passages(rng, starts, len(text), rows, BODY_MEDIAN_CHARS, BODY_SIGMA, BODY_MAX_CHARS)
    bad_date = rng.random(rows) < bad_fraction
    bad = np.array(BAD_DATES, dtype=object)[rng.integers(0, len(BAD_DATES), size=rows)]
    columns = {
        "product": product,
        "review_date": np.where(bad_date, bad, dates),
        "blank_title": rng.random(rows) < bad_fraction,
        "short": rng.random(rows) < bad_fraction,
        "star_rating": 1 + rng.choice(5, size=rows, p=_norm(np.array([6, 4, 8, 20, 62.0]))),
        "customer_id": rng.integers(10_000, 53_000_000, size=rows),
        "review_id": review_id,
        "total_votes": total,
        "helpful_votes": (rng.random(rows) * (total + 1)).astype(np.int64),
        "vine": rng.random(rows) < 0.01,
        "verified": rng.random(rows) < 0.7,
        "stock_headline": stock,
        "head_begin": head[0],
        "head_end": head[1],
        "body_begin": body[0],
        "body_end": body[1],
    }
    return Sample(catalog, columns, text)


def generate_table(rows: int, seed: int = 7, bad_fraction: float = 0.003) -> pa.Table:
    """``rows`` reviews as an Arrow table of the 15 columns plus ``_short`` (a row meant to be
    malformed in TSV, cut to its first 8 fields), the same for the same arguments."""
    return sample(rows, seed, bad_fraction).rows()


def generate(rows: int, seed: int = 7, bad_fraction: float = 0.003) -> list[dict[str, object]]:
    """``rows`` review records (dicts of the 15 columns and ``_short``), the same for the same
    arguments: ``generate_table`` as rows, for small samples built or edited row by row."""
    return generate_table(rows, seed, bad_fraction).to_pylist()


def _as_table(records: pa.Table | Sequence[dict[str, object]]) -> pa.Table:
    if isinstance(records, pa.Table):
        return records
    rows = [{c: r[c] for c in COLUMNS} | {"_short": bool(r.get("_short"))} for r in records]
    return pa.Table.from_pylist(rows)


def tsv_lines(table: pa.Table) -> pa.Array:
    """Each row as a TSV line (no newline), a short row cut to its first 8 fields, as real files hold."""
    fields = [pc.cast(table.column(c), pa.string()) for c in COLUMNS]
    full = pc.binary_join_element_wise(*fields, "\t")
    cut = pc.binary_join_element_wise(*fields[:8], "\t")
    if "_short" not in table.column_names:
        return full
    return pc.if_else(pc.fill_null(table.column("_short"), False), cut, full)


def write_tsv_file(path: Path, table: pa.Table) -> Path:
    """One TSV.gz file of ``table``'s rows, with the published header."""
    lines = tsv_lines(table).to_pylist()
    with gzip.open(path, "wb", compresslevel=GZIP_LEVEL) as f:
        f.write(("\t".join(COLUMNS) + "\n" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def _tsv_name(category: str, part: int) -> str:
    return f"amazon_reviews_us_{category.replace(' ', '_')}_v1_{part:02d}.tsv.gz"


def write_tsv(
    records: pa.Table | Sequence[dict[str, object]] | Sample,
    out: Path,
    rows_per_file: int = ROWS_PER_FILE,
) -> list[Path]:
    """``amazon_reviews_us_<Category>_v1_NN.tsv.gz`` files, as the dataset was published."""
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(records, Sample):
        return [
            write_tsv_file(
                out / _tsv_name(category, part), records.rows(index[start : start + rows_per_file])
            )
            for category, index in records.category_rows().items()
            for part, start in enumerate(range(0, len(index), rows_per_file))
        ]
    table = _as_table(records)
    categories = table.column("product_category")
    written = []
    for category in sorted(pc.unique(categories).to_pylist()):
        rows = table.filter(pc.equal(categories, category))
        for part, start in enumerate(range(0, len(rows), rows_per_file)):
            written.append(
                write_tsv_file(
                    out / _tsv_name(str(category), part), rows.slice(start, rows_per_file)
                )
            )
    return written


def write_parquet(
    records: pa.Table | Sequence[dict[str, object]] | Sample,
    out: Path,
    rows_per_file: int = ROWS_PER_FILE,
) -> None:
    """Parquet partitioned by ``product_category`` with an integer ``year`` (null when the date is bad)."""
    if isinstance(records, Sample):
        for index in records.category_rows().values():
            for part, start in enumerate(range(0, len(index), rows_per_file)):
                _parquet_part(records.rows(index[start : start + rows_per_file]), out, part)
        return
    _parquet_part(_as_table(records), out, 0)


def _parquet_part(table: pa.Table, out: Path, part: int) -> None:
    table = table.filter(pc.invert(pc.fill_null(table.column("_short"), False)))
    dates = table.column("review_date")
    parsed = pc.strptime(dates, format="%Y-%m-%d", unit="s", error_is_null=True)
    exact = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), dates)
    years = pc.if_else(exact, pc.cast(pc.year(parsed), pa.int32()), pa.scalar(None, pa.int32()))
    table = table.select(list(COLUMNS)).append_column("year", years)
    out.mkdir(parents=True, exist_ok=True)
    pads.write_dataset(
        table,
        out,
        format="parquet",
        partitioning=pads.partitioning(
            pa.schema([("product_category", pa.string())]), flavor="hive"
        ),
        existing_data_behavior="overwrite_or_ignore",
        basename_template=f"part-{part}" + "-{i}.parquet" if part else "part-{i}.parquet",
    )


def write_sample(out: Path, rows: int, layout: str = "tsv", seed: int = 7) -> Path:
    """Writes ``rows`` reviews under ``out`` in ``layout`` ('tsv', 'parquet' or 'both' in subfolders)."""
    reviews = sample(rows, seed)
    if layout in ("tsv", "both"):
        write_tsv(reviews, out / "tsv" if layout == "both" else out)
    if layout in ("parquet", "both"):
        write_parquet(reviews, out / "parquet" if layout == "both" else out)
    log.info("wrote %s sample reviews (%s) under %s", rows, layout, out)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=20_000, help="number of reviews (default 20,000)"
    )
    parser.add_argument("--out", type=Path, default=Path("data/reviews"), help="folder to write")
    parser.add_argument("--layout", choices=("tsv", "parquet", "both"), default="tsv")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_sample(args.out, args.rows, args.layout, args.seed)


if __name__ == "__main__":
    main()
