"""A deterministic sample of the Amazon Customer Reviews dataset, in its real schema and both layouts.

The public ``amazon-reviews-pds`` bucket is gone, so the demo, the tests and the benchmark generate data that
looks like it: the 15 published columns, reviews growing year over year (1995-2015), Books the largest of
several categories, titles with series in parentheses, subtitles, editions, numbers, HTML entities and
non-ASCII letters, topics whose popularity rises and falls so each year's cloud differs, and a few broken
rows (short rows, bad dates, blank titles) as real files have.

    wordcloud-sample --rows 20000 --layout tsv --out data/reviews
"""

from __future__ import annotations

import argparse
import gzip
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
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
HEADLINES = (
    "Five Stars",
    "Great read",
    "Loved it",
    "Disappointing",
    "Worth it",
    "Meh",
    "A classic",
)
BODIES = (
    "I could not put it down.",
    "The characters felt real and the ending surprised me.",
    "Arrived quickly, good condition.",
    "Not what I expected from the description.",
    "My book club loved this one.",
    "Too long in the middle, but worth finishing.",
)
BAD_DATES = ("2005-13-45", "n/a", "", "31/02/2007")


@dataclass(frozen=True)
class Product:
    product_id: str
    parent: str
    title: str
    category: str
    release_year: int
    popularity: float


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


def _topic_weights(year: int) -> list[float]:
    return [math.exp(-(((year - peak) / spread) ** 2) / 2) for _, peak, spread in TOPICS]


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def make_title(rng: random.Random, year: int) -> str:
    """A book-like title built from topics popular in ``year``."""
    words, _, _ = rng.choices(TOPICS, weights=_topic_weights(year))[0]
    a, b = (_cap(w) for w in rng.sample(words, 2))
    # Templates with few fixed words are the most common, so topic words lead each year's cloud.
    template = rng.choices(range(12), weights=(10, 8, 5, 6, 0.4, 0.4, 2, 3, 1, 1, 1, 2))[0]
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


def make_catalog(rng: random.Random, rows: int) -> list[Product]:
    weights = year_weights()
    years = list(weights)
    size = max(60, rows // 6)
    categories = list(CATEGORIES)
    catalog = []
    for i in range(size):
        # The first products cover every year once, so even a tiny sample has titles in each year.
        release = (
            years[i] if i < len(years) else rng.choices(years, weights=list(weights.values()))[0]
        )
        category = rng.choices(categories, weights=list(CATEGORIES.values()))[0]
        ebook = category == "Digital_Ebook_Purchase"
        product_id = f"B00{rng.randrange(10**7):07d}" if ebook else f"{rng.randrange(10**10):010d}"
        catalog.append(
            Product(
                product_id=product_id,
                parent=str(100_000_000 + i * 7919 % 899_999_999),
                title=make_title(rng, release),
                category=category,
                release_year=release,
                popularity=rng.paretovariate(1.3),
            )
        )
    return catalog


def generate(rows: int, seed: int = 7, bad_fraction: float = 0.003) -> list[dict[str, object]]:
    """``rows`` review records (dicts of the 15 columns), the same for the same arguments.

    A record whose row is meant to be short (malformed in TSV) carries ``_short=True``.
    """
    rng = random.Random(seed)
    catalog = make_catalog(rng, rows)
    records: list[dict[str, object]] = []
    for year, count in reviews_per_year(rows).items():
        eligible = [p for p in catalog if p.release_year <= year]
        recent = [p for p in eligible if p.release_year >= year - 2] or eligible
        picks_recent = rng.choices(recent, weights=[p.popularity for p in recent], k=count)
        picks_any = rng.choices(eligible, weights=[p.popularity for p in eligible], k=count)
        for n in range(count):
            product = picks_recent[n] if rng.random() < 0.6 else picks_any[n]
            records.append(_review(rng, product, year))
    for record in records:
        if rng.random() < bad_fraction:
            record["review_date"] = rng.choice(BAD_DATES)
        if rng.random() < bad_fraction:
            record["product_title"] = ""
        if rng.random() < bad_fraction:
            record["_short"] = True
    return records


def _review(rng: random.Random, product: Product, year: int) -> dict[str, object]:
    total = int(rng.expovariate(0.3))
    day = rng.randrange(365)
    month, dom = 1 + day // 31 % 12, 1 + day % 28
    return {
        "marketplace": "US",
        "customer_id": str(rng.randrange(10_000, 53_000_000)),
        "review_id": "R" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=13)),
        "product_id": product.product_id,
        "product_parent": product.parent,
        "product_title": product.title,
        "product_category": product.category,
        "star_rating": rng.choices((1, 2, 3, 4, 5), weights=(6, 4, 8, 20, 62))[0],
        "helpful_votes": rng.randint(0, total),
        "total_votes": total,
        "vine": "Y" if rng.random() < 0.01 else "N",
        "verified_purchase": "Y" if rng.random() < 0.7 else "N",
        "review_headline": rng.choice(HEADLINES),
        "review_body": rng.choice(BODIES),
        "review_date": f"{year}-{month:02d}-{dom:02d}",
    }


def write_tsv(records: Sequence[dict[str, object]], out: Path, rows_per_file: int = 250_000):
    """``amazon_reviews_us_<Category>_v1_NN.tsv.gz`` files, as the dataset was published."""
    out.mkdir(parents=True, exist_ok=True)
    by_category: dict[str, list[dict[str, object]]] = {}
    for record in records:
        by_category.setdefault(str(record["product_category"]), []).append(record)
    written = []
    for category, rows in sorted(by_category.items()):
        name = category.replace(" ", "_")
        for part, start in enumerate(range(0, len(rows), rows_per_file)):
            path = out / f"amazon_reviews_us_{name}_v1_{part:02d}.tsv.gz"
            with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as f:
                f.write("\t".join(COLUMNS) + "\n")
                for row in rows[start : start + rows_per_file]:
                    fields = [str(row[c]) for c in COLUMNS]
                    if row.get("_short"):
                        fields = fields[:8]
                    f.write("\t".join(fields) + "\n")
            written.append(path)
    return written


def write_parquet(records: Sequence[dict[str, object]], out: Path) -> None:
    """Parquet partitioned by ``product_category`` with an integer ``year`` (null when the date is bad)."""
    kept = [r for r in records if not r.get("_short")]
    columns: dict[str, list[object]] = {c: [r[c] for r in kept] for c in COLUMNS}
    for numeric in ("star_rating", "helpful_votes", "total_votes"):
        columns[numeric] = [int(v) for v in columns[numeric]]
    years = []
    for value in columns["review_date"]:
        text = str(value)
        valid = len(text) == 10 and text[4] == "-" and 1 <= int(text[5:7] or 0) <= 12
        years.append(int(text[:4]) if valid else None)
    table = pa.table({**columns, "year": pa.array(years, pa.int32())})
    out.mkdir(parents=True, exist_ok=True)
    pads.write_dataset(
        table,
        out,
        format="parquet",
        partitioning=pads.partitioning(
            pa.schema([("product_category", pa.string())]), flavor="hive"
        ),
        existing_data_behavior="overwrite_or_ignore",
        basename_template="part-{i}.parquet",
    )


def write_sample(out: Path, rows: int, layout: str = "tsv", seed: int = 7) -> Path:
    """Writes ``rows`` reviews under ``out`` in ``layout`` ('tsv', 'parquet' or 'both' in subfolders)."""
    records = generate(rows, seed)
    if layout in ("tsv", "both"):
        write_tsv(records, out / "tsv" if layout == "both" else out)
    if layout in ("parquet", "both"):
        write_parquet(records, out / "parquet" if layout == "both" else out)
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
