"""What a run will take and cost before it starts, on the default EMR fleet and on EMR Serverless.

From one measured figure and the input's size: the Spark work of a run (ingest, titles, counts) costs
``CORE_SECONDS_PER_GB`` core-seconds per GB of gzip'd TSV of real-sized reviews, measured on this project's
machine with ``benchmarks/bench_throughput.py`` (marginal CPU cost between two sizes, so without the fixed
cost of a Spark session; see its comment). A route's wall time is its boot, a fixed start per Spark job, and
that work spread over its executor cores at ``PARALLEL_EFFICIENCY``; its price is what it bills for that
time: the whole fleet from creation to termination for EMR (boot included: instances bill while they
bootstrap), the workers' vCPU and memory for EMR Serverless (each worker at least a minute).

Boot and per-job figures are AWS's typical values, not measured here (no AWS account): an EMR cluster with a
bootstrap action is ready in 7 to 10 minutes; an EMR Serverless application without pre-initialized
capacity starts in 1 to 2 minutes and its job runs get workers in tens of seconds. Parquet input is read
faster than TSV.gz per GB; the estimate treats every byte as TSV.gz, so it errs high there. gzip does not
split: one core reads each .gz file, so the ingest takes at least the largest file's share of the work on
one core, and the estimate says how many cores that leaves idle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wordcloud_pipeline.aws.emr.config import INSTANCE_CATALOG, ClusterConfig, FleetConfig
from wordcloud_pipeline.aws.emr.cost import PriceTable

if TYPE_CHECKING:
    from wordcloud_pipeline.aws.serverless.cost import ServerlessPrices

GB = 1024**3
# Measured with benchmarks/bench_throughput.py --rows 1000000 4000000 on the 2-core machine of
# docs/performance.md: 102.7 CPU-s for 0.241 GB gz, 144.5 CPU-s for 0.969 GB gz, so 57 core-s per extra GB
# (the fixed 89 CPU-s of a local JVM and session are the routes' per-job start instead). Local disk, not
# S3: reads over the network cost a remote run more, which the route's parallel efficiency only partly
# covers. The verdicts for the full Books data (6.5 GB in three .gz files) keep a margin: EMR Serverless
# stays under 20 min and 1 USD up to about 500 core-s per GB (9x this figure), the fleet up to about 380.
CORE_SECONDS_PER_GB = 57.0
PARALLEL_EFFICIENCY = 0.7
# The ingest's part of that work (bench_throughput: 26.2 of 40.7 s at 1M reviews, 41.3 of 61.1 s at 4M).
INGEST_SHARE = 0.65
SPARK_JOBS_PER_RUN = 3  # ingested_reviews, preprocessed_titles, words_by_year
EMR_BOOT_MINUTES = 9.0
EMR_JOB_START_MINUTES = 0.5  # spark-submit and YARN's application master per step
SERVERLESS_BOOT_MINUTES = 2.0  # the application's auto-start and the first job's workers
SERVERLESS_JOB_START_MINUTES = 0.75  # each job run's driver and executors
# The default application (``wordcloud-infra up --serverless``): at most this many vCPUs at once, workers
# of 4 vCPU / 16 GB (EMR Serverless's default Spark driver and executor sizes).
SERVERLESS_MAX_VCPU = 64
SERVERLESS_WORKER_VCPU, SERVERLESS_WORKER_GB = 4, 16


@dataclass(frozen=True)
class RouteEstimate:
    route: str
    boot_minutes: float
    work_minutes: float
    usd: float
    cores: int
    ingest_minutes: float = 0.0
    gzip_files: int = 0

    @property
    def wall_minutes(self) -> float:
        return self.boot_minutes + self.work_minutes

    def line(self) -> str:
        return (
            f"{self.route}: about {self.wall_minutes:.0f} min ({self.boot_minutes:.1f} min to start, "
            f"{self.work_minutes:.1f} min of Spark on {self.cores} cores), about {self.usd:.2f} USD"
        )

    def idle_note(self) -> str | None:
        """What reading fewer gzip files than cores leaves idle, or None when every core reads."""
        if not self.gzip_files or self.gzip_files >= self.cores:
            return None
        return (
            f"{self.route}: gzip does not split, so the ingest reads its {self.gzip_files} .gz file(s) "
            f"one core each, about {self.ingest_minutes:.1f} min with {self.cores - self.gzip_files} "
            f"of {self.cores} cores idle (more, smaller files would spread it)"
        )


def work_minutes(gb: float, cores: int, largest_gzip_gb: float = 0.0) -> float:
    """The Spark minutes of ``gb`` of reviews on ``cores``: the ingest and the rest spread over the cores,
    except that one core reads each gzip file, so the ingest takes at least the largest file's share."""
    return ingest_minutes(gb, cores, largest_gzip_gb) + (1 - INGEST_SHARE) * _spread(gb, cores)


def ingest_minutes(gb: float, cores: int, largest_gzip_gb: float = 0.0) -> float:
    one_core = largest_gzip_gb * CORE_SECONDS_PER_GB * INGEST_SHARE / 60
    return max(INGEST_SHARE * _spread(gb, cores), one_core)


def _spread(gb: float, cores: int) -> float:
    return gb * CORE_SECONDS_PER_GB / (cores * PARALLEL_EFFICIENCY) / 60


def _fleet_instances(fleet: FleetConfig) -> tuple[str, int, str]:
    """The type EMR would most likely fill the fleet with (the first listed), how many, which market."""
    instance_type, weight = next(iter(fleet.instance_types.items()))
    units = fleet.on_demand_units + fleet.spot_units
    market = "SPOT" if fleet.spot_units and not fleet.on_demand_units else "ON_DEMAND"
    return instance_type, math.ceil(units / max(weight, 1)), market


def emr_estimate(
    gb: float, config: ClusterConfig, prices: PriceTable, files: ReviewFiles | None = None
) -> RouteEstimate:
    hourly = 0.0
    cores = 0
    for role, fleet in config.fleets().items():
        if not fleet.on_demand_units and not fleet.spot_units:
            continue
        instance_type, count, market = _fleet_instances(fleet)
        price = prices.hourly(instance_type, market) or 0.0
        hourly += count * (price + prices.ebs_hourly(fleet.ebs_gb))
        if role != "MASTER":
            cores += count * INSTANCE_CATALOG[instance_type].vcpus
    largest, count = (files or ReviewFiles()).gzip()
    minutes = SPARK_JOBS_PER_RUN * EMR_JOB_START_MINUTES + work_minutes(gb, cores, largest)
    usd = hourly * (EMR_BOOT_MINUTES + minutes) / 60
    ingest = ingest_minutes(gb, cores, largest)
    return RouteEstimate(
        "EMR (default fleet)", EMR_BOOT_MINUTES, minutes, usd, cores, ingest, count
    )


def serverless_estimate(
    gb: float,
    prices: ServerlessPrices,
    max_vcpu: int = SERVERLESS_MAX_VCPU,
    files: ReviewFiles | None = None,
) -> RouteEstimate:
    executors = max(1, (max_vcpu - SERVERLESS_WORKER_VCPU) // SERVERLESS_WORKER_VCPU)
    cores = executors * SERVERLESS_WORKER_VCPU
    largest, count = (files or ReviewFiles()).gzip()
    spark = work_minutes(gb, cores, largest)
    starts = SPARK_JOBS_PER_RUN * SERVERLESS_JOB_START_MINUTES
    # Executors bill for the work (at least a minute each); each job's driver for its whole job run.
    executor_hours = executors * max(spark, SPARK_JOBS_PER_RUN * 1.0) / 60
    driver_hours = (starts + spark) / 60
    worker_hours = executor_hours + driver_hours
    usd = prices.usd(worker_hours * SERVERLESS_WORKER_VCPU, worker_hours * SERVERLESS_WORKER_GB)
    ingest = ingest_minutes(gb, cores, largest)
    return RouteEstimate(
        "EMR Serverless", SERVERLESS_BOOT_MINUTES, starts + spark, usd, cores, ingest, count
    )


@dataclass(frozen=True)
class ReviewFiles:
    """The sizes of the files at a reviews location, by name."""

    sizes: tuple[tuple[str, int], ...] = ()

    @property
    def total(self) -> int:
        return sum(size for _, size in self.sizes)

    def gzip(self) -> tuple[float, int]:
        """(the largest .gz file in GB, how many .gz files): one core reads each."""
        gz = [size for name, size in self.sizes if name.endswith(".gz")]
        return (max(gz) / GB if gz else 0.0), len(gz)


def review_files(uri: str, s3: Any = None) -> ReviewFiles:
    """The files at a folder or an ``s3://`` prefix."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix.rstrip("/") + "/" if prefix else ""
        )
        found = [(o["Key"], o["Size"]) for page in pages for o in page.get("Contents", [])]
        return ReviewFiles(tuple(found))
    files = [(str(p), p.stat().st_size) for p in Path(uri).rglob("*") if p.is_file()]
    return ReviewFiles(tuple(files))


def input_bytes(uri: str, s3: Any = None) -> int:
    """Total size of the review files at a folder or an ``s3://`` prefix."""
    return review_files(uri, s3).total


def estimates(size_bytes: int, files: ReviewFiles | None = None) -> list[RouteEstimate]:
    # Here, not at the top: the serverless package imports the EMR launcher, which uses this module.
    from wordcloud_pipeline.aws.serverless.cost import ServerlessPrices

    gb = size_bytes / GB
    return [
        emr_estimate(gb, ClusterConfig(), PriceTable(), files),
        serverless_estimate(gb, ServerlessPrices(), files=files),
    ]


def summary(size_bytes: int, routes: Sequence[RouteEstimate]) -> str:
    """One line: the input's size, then each route's wall time and price."""
    return (
        f"estimate for {size_bytes / GB:.2f} GB of reviews: "
        + "; ".join(r.line() for r in routes)
        + f" (assumes {CORE_SECONDS_PER_GB:.0f} core-s of Spark per GB, measured locally)"
    )


def run_start_line(reviews_uri: str, s3: Any = None) -> str:
    """The estimate a remote launcher logs before a run's first job (the ingest of ``reviews_uri``)."""
    try:
        files = review_files(reviews_uri, s3)
    except Exception as error:  # an estimate must never fail a run
        return f"no estimate: could not list {reviews_uri} ({error})"
    return summary(files.total, estimates(files.total, files))


def report(reviews_uri: str, s3: Any = None) -> str:
    """What ``wordcloud-infra estimate`` prints: the size, then one line per route, then the pick."""
    files = review_files(reviews_uri, s3)
    size = files.total
    routes = estimates(size, files)
    best = min(routes, key=lambda r: (r.usd, r.wall_minutes))
    lines = [f"{reviews_uri}: {size / GB:.2f} GB of review files"]
    lines += [f"  {r.line()}" for r in routes]
    lines += [f"  {note}" for r in routes if (note := r.idle_note())]
    lines.append(f"cheapest: {best.route}")
    return "\n".join(lines)
