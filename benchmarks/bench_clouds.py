"""Drawing the 21 yearly clouds one by one versus in parallel across cores; prints both and the ratio.

    python benchmarks/bench_clouds.py                  # 21 clouds of 1200 x 800, 200 words each
    python benchmarks/bench_clouds.py --years 8 --width 600 --height 400

The words are synthetic (Zipf-like counts over made-up words) so the figure depends on drawing alone; the
parallel images must be byte-identical to the serial ones, and the script checks it.
"""

from __future__ import annotations

import argparse
import os
import random
import time

from wordcloud_pipeline.pictures.clouds import render_clouds

TARGET_RATIO = 0.6  # issue 11: parallel drawing in at most 0.6 of the serial time


def synthetic_years(years: int, words: int, seed: int = 7) -> dict[int, list[tuple[str, int]]]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    found = {}
    for year in range(1995, 1995 + years):
        vocabulary = ["".join(rng.choices(letters, k=rng.randint(4, 10))) for _ in range(words)]
        found[year] = [(word, 10_000 // rank) for rank, word in enumerate(vocabulary, 1)]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=21)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    frequencies = synthetic_years(args.years, args.words)
    cores = os.cpu_count() or 1

    timings, images = {}, {}
    for label, workers in (("serial", 1), (f"parallel ({cores} processes)", cores)):
        started = time.perf_counter()
        images[label] = render_clouds(frequencies, args.width, args.height, workers=workers)
        timings[label] = time.perf_counter() - started
        print(f"{label}: {timings[label]:.2f} s for {args.years} clouds")
    serial, parallel = timings.values()
    identical = len({tuple(sorted(found.items())) for found in images.values()}) == 1
    print(
        f"parallel / serial: {parallel / serial:.2f} (target <= {TARGET_RATIO}, {'met' if parallel / serial <= TARGET_RATIO else 'NOT met'})"
    )
    print(f"byte-identical to serial: {identical}")


if __name__ == "__main__":
    main()
