"""The two NLP backends side by side: per year, how many of their top 50 words agree; rows/s; JVM memory.

    python benchmarks/bench_nlp_backends.py                # demo sample (20,000 reviews) + the title list

Two datasets: the demo sample (``wordcloud_pipeline.sample_data.write_sample``, 20,000 reviews, the titles
``preprocessed_titles`` counts by default: each distinct title once per year), and ``REAL_LOOKING_TITLES``
below, a hand-made list of real-book-title-like strings (the project has no real review data), spread over
the years 1995-2015 and repeated to ``--title-rows`` rows. Each backend runs in its own process and JVM (a
sparkml session does not load the spark-nlp jar, as in the pipeline), so memory is per backend.

Throughput is the titles -> words -> per-year counts of one dataset, timed after a warm-up pass on 200 rows
of it (so it leaves out JVM start and Ivy resolution, which the script prints apart). JVM memory is the
peak resident set size (VmHWM) of the Spark JVM process at the end, which includes the heap, code and
loaded jars.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

YEARS = list(range(1995, 2016))
TOP = 50

# Hand-made, real-looking titles (not real review data): punctuation, HTML entities, accents, series.
REAL_LOOKING_TITLES = [
    "The Very Hungry Caterpillar",
    "Harry Potter and the Sorcerer&#39;s Stone (Book 1)",
    "Harry Potter and the Chamber of Secrets",
    "The Lord of the Rings: The Fellowship of the Ring",
    "Where the Wild Things Are",
    "The Da Vinci Code: A Novel",
    "Women Who Run With the Wolves: Myths and Stories of the Wild Woman Archetype",
    "Chicken Soup for the Soul: 101 Stories to Open the Heart",
    "The 7 Habits of Highly Effective People",
    "Men Are from Mars, Women Are from Venus",
    "Rich Dad, Poor Dad: What the Rich Teach Their Kids About Money",
    "The Joy of Cooking",
    "Mastering the Art of French Cooking, Vol. 1",
    "Everyday Italian: 125 Simple and Delicious Recipes",
    "The South Beach Diet Cookbook",
    "Eat, Pray, Love: One Woman&#39;s Search for Everything",
    "The Kite Runner",
    "A Thousand Splendid Suns",
    "The Girl with the Dragon Tattoo (Millennium Series)",
    "The Hunger Games (Book 1)",
    "Catching Fire",
    "Twilight (The Twilight Saga, Book 1)",
    "The Help",
    "Water for Elephants: A Novel",
    "The Lovely Bones",
    "The Curious Incident of the Dog in the Night-Time",
    "Life of Pi",
    "The Secret Life of Bees",
    "Memoirs of a Geisha",
    "Angela&#39;s Ashes: A Memoir",
    "Tuesdays with Morrie: An Old Man, a Young Man, and Life&#39;s Greatest Lesson",
    "The Five People You Meet in Heaven",
    "Who Moved My Cheese?",
    "The Purpose Driven Life: What on Earth Am I Here For?",
    "Your Best Life Now: 7 Steps to Living at Your Full Potential",
    "The Power of Now: A Guide to Spiritual Enlightenment",
    "Outliers: The Story of Success",
    "Freakonomics: A Rogue Economist Explores the Hidden Side of Everything",
    "Guns, Germs, and Steel: The Fates of Human Societies",
    "A Brief History of Time",
    "The Omnivore&#39;s Dilemma: A Natural History of Four Meals",
    "Into the Wild",
    "Into Thin Air: A Personal Account of the Mt. Everest Disaster",
    "Seabiscuit: An American Legend",
    "Band of Brothers: E Company, 506th Regiment, 101st Airborne",
    "The Greatest Generation",
    "John Adams",
    "Team of Rivals: The Political Genius of Abraham Lincoln",
    "Dreams from My Father: A Story of Race and Inheritance",
    "The Audacity of Hope: Thoughts on Reclaiming the American Dream",
    "Goodnight Moon",
    "Green Eggs and Ham",
    "Oh, the Places You&#39;ll Go!",
    "The Giving Tree",
    "Diary of a Wimpy Kid",
    "Magic Tree House: Dinosaurs Before Dark",
    "Goosebumps: Night of the Living Dummy",
    "The Cat in the Hat",
    "Charlotte&#39;s Web",
    "The Chronicles of Narnia: The Lion, the Witch and the Wardrobe",
    "A Series of Unfortunate Events: The Bad Beginning",
    "Percy Jackson and the Olympians: The Lightning Thief",
    "The Book Thief",
    "The Alchemist",
    "One Hundred Years of Solitude",
    "Love in the Time of Cholera",
    "Les Misérables",
    "Don Quixote",
    "Crime and Punishment",
    "Pride and Prejudice",
    "Jane Eyre",
    "Wuthering Heights",
    "Little Women",
    "Great Expectations",
    "The Adventures of Sherlock Holmes",
    "The Hound of the Baskervilles",
    "Murder on the Orient Express",
    "And Then There Were None",
    "The Girl on the Train",
    "Gone Girl",
    "The Silence of the Lambs",
    "The Stand",
    "It: A Novel",
    "The Shining",
    "Jurassic Park",
    "The Hunt for Red October",
    "The Firm",
    "A Time to Kill",
    "The Pelican Brief",
    "The Notebook",
    "A Walk to Remember",
    "Outlander",
    "Fifty Shades of Grey",
    "Bridget Jones&#39;s Diary",
    "The Devil Wears Prada",
    "Confessions of a Shopaholic",
    "Dune",
    "Ender&#39;s Game",
    "Foundation and Empire",
    "The Hitchhiker&#39;s Guide to the Galaxy",
    "A Game of Thrones (A Song of Ice and Fire, Book 1)",
    "A Clash of Kings",
    "The Name of the Wind",
    "The Way of Kings",
    "Mistborn: The Final Empire",
    "American Gods",
    "Good Omens",
    "Brave New World",
    "Nineteen Eighty-Four",
    "Fahrenheit 451",
    "The Handmaid&#39;s Tale",
    "The Road",
    "No Country for Old Men",
    "Cold Mountain",
    "The Poisonwood Bible",
    "The Corrections",
    "Atonement",
    "Never Let Me Go",
    "The Remains of the Day",
    "Beloved",
    "The Color Purple",
    "Their Eyes Were Watching God",
    "I Know Why the Caged Bird Sings",
    "Night",
    "The Diary of a Young Girl",
    "Man&#39;s Search for Meaning",
    "The Art of War",
    "How to Win Friends and Influence People",
    "Think and Grow Rich",
    "The Millionaire Next Door: The Surprising Secrets of America&#39;s Wealthy",
    "Good to Great: Why Some Companies Make the Leap... and Others Don&#39;t",
    "The Tipping Point: How Little Things Can Make a Big Difference",
    "Blink: The Power of Thinking Without Thinking",
    "Thinking, Fast and Slow",
    "The Lean Startup",
    "Steve Jobs",
    "The Wright Brothers",
    "Unbroken: A World War II Story of Survival, Resilience, and Redemption",
    "The Boys in the Boat: Nine Americans and Their Epic Quest for Gold",
    "Wild: From Lost to Found on the Pacific Crest Trail",
    "The Glass Castle: A Memoir",
    "Educated",
    "Moosewood Cookbook: 40th Anniversary Edition",
    "Betty Crocker&#39;s Cookbook: Everyday Cooking with America&#39;s Most Trusted Kitchen",
    "Baking Illustrated",
    "The Pioneer Woman Cooks: Recipes from an Accidental Country Girl",
    "Barefoot Contessa Family Style",
    "Plenty: Vibrant Vegetable Recipes from London&#39;s Ottolenghi",
    "Salt, Fat, Acid, Heat: Mastering the Elements of Good Cooking",
    "What to Expect When You&#39;re Expecting",
    "The Happiest Baby on the Block",
    "Healthy Sleep Habits, Happy Child",
    "The Five Love Languages: How to Express Heartfelt Commitment to Your Mate",
    "Wherever You Go, There You Are",
    "The Four Agreements: A Practical Guide to Personal Freedom",
    "The Celestine Prophecy: An Adventure",
    "Conversations with God: An Uncommon Dialogue",
    "Mere Christianity",
    "The Screwtape Letters",
    "Left Behind: A Novel of the Earth&#39;s Last Days",
    "The Shack",
    "Heaven Is for Real: A Little Boy&#39;s Astounding Story of His Trip to Heaven and Back",
    "National Geographic Birds of North America",
    "Lonely Planet Italy (Travel Guide)",
    "Fodor&#39;s Paris 2005",
    "Frommer&#39;s New York City with Kids",
    "The Complete Idiot&#39;s Guide to Learning Spanish",
    "SAT Prep: 5 Practice Tests",
    "Calculus: Early Transcendentals",
    "Campbell Biology",
    "Gray&#39;s Anatomy for Students",
    "JavaScript: The Good Parts",
    "Design Patterns: Elements of Reusable Object-Oriented Software",
    "The Pragmatic Programmer: From Journeyman to Master",
    "Python for Data Analysis",
    "Photography: The Beginner&#39;s Guide to Digital Cameras",
    "Knitting for Dummies",
    "Quilts and Quilting Stories",
    "Gardening Through the Seasons: Flowers, Trees and Vegetables",
    "Dogs: The Ultimate Dictionary of Over 1,000 Dog Breeds",
    "Cats Are Not Peas: A Calico History of Genetics",
    "Marley &amp; Me: Life and Love with the World&#39;s Worst Dog",
    "The Art of Racing in the Rain",
    "Where the Red Fern Grows",
    "Hatchet",
    "Holes",
    "Wonder",
    "The Giver",
    "Bridge to Terabithia",
    "Island of the Blue Dolphins",
    "Anne of Green Gables",
    "The Secret Garden",
    "Peter Pan",
    "Alice&#39;s Adventures in Wonderland",
    "The Wonderful Wizard of Oz",
    "Stories for Children: Fairy Tales of the Brothers Grimm",
    "Aesop&#39;s Fables",
    "Grimms&#39; Fairy Tales",
    "The Complete Poems of Emily Dickinson",
    "Leaves of Grass",
    "The Odyssey",
    "The Iliad",
    "Mythology: Timeless Tales of Gods and Heroes",
]


def title_rows(rows: int) -> list[tuple[int, str]]:
    """``rows`` (year, title) pairs: the list spread over the years, each year a different slice."""
    n = len(REAL_LOOKING_TITLES)
    return [(YEARS[i % len(YEARS)], REAL_LOOKING_TITLES[(i * 7 + i // n) % n]) for i in range(rows)]


def jvm_peak_rss_mb(spark) -> float:
    """Peak resident set of the Spark JVM (the gateway's process, which ``exec``s java)."""
    pid = spark.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(backend: str, reviews: str, rows: int) -> dict:
    """One backend on both datasets, in this process's own JVM; prints nothing but the JSON result."""
    from pyspark.sql import SparkSession

    from spark_scripts import spark_packages
    from spark_scripts.job_contract import TitleOptions
    from spark_scripts.preprocess_titles import (
        titles_to_count,
        to_words,
        usable_titles,
        with_drop_reason,
    )
    from spark_scripts.reviews import read_reviews
    from wordcloud_pipeline.resources.local_spark import session_conf

    started = time.monotonic()
    builder = SparkSession.builder
    conf = session_conf({"spark.master": "local[2]"}, spark_packages.backend_packages(backend))
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.monotonic() - started

    demo = titles_to_count(
        usable_titles(with_drop_reason(read_reviews(spark, reviews).frame, "Books", YEARS)),
        "titles",
    ).cache()
    listed = spark.createDataFrame(title_rows(rows), "year int, product_title string").cache()
    options = TitleOptions(backend=backend)
    result = {"backend": backend, "session_seconds": session_seconds, "datasets": {}}
    for name, titles in (("demo sample", demo), ("real-looking titles", listed)):
        n = titles.count()
        to_words(titles.limit(200), options).count()  # warm-up: class loading, code generation
        timer = time.monotonic()
        counts = to_words(titles, options).groupBy("year", "word").count().collect()
        seconds = time.monotonic() - timer
        top: dict[int, list[str]] = {}
        for year in YEARS:
            ranked = sorted(
                ((r["count"], r["word"]) for r in counts if r["year"] == year),
                key=lambda cw: (-cw[0], cw[1]),
            )
            top[year] = [w for _, w in ranked[:TOP]]
        result["datasets"][name] = {
            "rows": n,
            "seconds": seconds,
            "rows_per_second": n / seconds,
            "top": top,
        }
    result["jvm_peak_rss_mb"] = jvm_peak_rss_mb(spark)
    result["jvm_heap_used_mb"] = (
        spark.sparkContext._jvm.java.lang.Runtime.getRuntime().totalMemory()
        - spark.sparkContext._jvm.java.lang.Runtime.getRuntime().freeMemory()
    ) / 2**20
    spark.stop()
    return result


def report(results: dict[str, dict]) -> str:
    ml, nlp = results["sparkml"], results["sparknlp"]
    lines = []
    for name in ml["datasets"]:
        a, b = ml["datasets"][name], nlp["datasets"][name]
        lines.append(f"\n{name}: {a['rows']:,} titles")
        lines.append("| year | top-50 overlap |")
        lines.append("|---|---:|")
        overlaps = []
        for year in YEARS:
            ta, tb = a["top"][str(year)], b["top"][str(year)]
            size = min(TOP, len(ta), len(tb))
            if not size:
                continue
            shared = len(set(ta[:size]) & set(tb[:size]))
            overlaps.append(shared / size)
            lines.append(f"| {year} | {shared}/{size} |")
        lines.append(f"| mean | {100 * sum(overlaps) / len(overlaps):.0f}% |")
        lines.append("| backend | rows/s | seconds |")
        lines.append("|---|---:|---:|")
        for r in (ml, nlp):
            d = r["datasets"][name]
            lines.append(f"| {r['backend']} | {d['rows_per_second']:,.0f} | {d['seconds']:.1f} |")
        only_ml = sorted(
            {w for y in YEARS for w in a["top"][str(y)]}
            - {w for y in YEARS for w in b["top"][str(y)]}
        )
        only_nlp = sorted(
            {w for y in YEARS for w in b["top"][str(y)]}
            - {w for y in YEARS for w in a["top"][str(y)]}
        )
        lines.append(f"only in sparkml's top 50s: {', '.join(only_ml[:25])}")
        lines.append(f"only in sparknlp's top 50s: {', '.join(only_nlp[:25])}")
    lines.append("\n| backend | session start (s) | JVM peak RSS (MB) | JVM heap used (MB) |")
    lines.append("|---|---:|---:|---:|")
    lines.extend(
        f"| {r['backend']} | {r['session_seconds']:.1f} | {r['jvm_peak_rss_mb']:,.0f} "
        f"| {r['jvm_heap_used_mb']:,.0f} |"
        for r in (ml, nlp)
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-rows", type=int, default=20_000)
    parser.add_argument("--title-rows", type=int, default=20_000)
    parser.add_argument("--worker", choices=("sparkml", "sparknlp"), help=argparse.SUPPRESS)
    parser.add_argument("--reviews", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.reviews, args.title_rows)))
        return

    from wordcloud_pipeline.sample_data import write_sample

    with tempfile.TemporaryDirectory() as folder:
        reviews = write_sample(Path(folder) / "reviews", args.sample_rows)
        results = {}
        for backend in ("sparkml", "sparknlp"):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    backend,
                    "--reviews",
                    str(reviews),
                    "--title-rows",
                    str(args.title_rows),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if not line:
                raise SystemExit(f"{backend} failed:\n{done.stderr[-4000:]}")
            results[backend] = json.loads(line[-1][len("RESULT ") :])
    print(report(results))


if __name__ == "__main__":
    main()
