"""EMR steps: shipping the scripts, building ``spark-submit``, waiting, and explaining failures.

Scripts are uploaded under content-addressed keys (the hash of everything shipped), so an unchanged
checkout uploads nothing and two versions never overwrite each other while a step still reads one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

import spark_scripts
from spark_scripts import lemma_dictionary
from wordcloud_pipeline.resources.spark_launcher import SparkJob

SCRIPTS_DIR = Path(spark_scripts.__file__).resolve().parent
TERMINAL_STEP_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"})
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
# A fixed timestamp keeps the zip's bytes, and so its key, identical for identical sources.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri} is not an s3:// location")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def package_scripts(source: Path = SCRIPTS_DIR) -> bytes:
    """The ``spark_scripts`` package as a zip for ``--py-files``, byte-identical for identical sources."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.glob("*.py")):
            info = zipfile.ZipInfo(f"spark_scripts/{path.name}", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


@dataclass(frozen=True)
class ShippedCode:
    """Where a version of the code lives in S3."""

    version: str
    py_files_uri: str
    bootstrap_uri: str
    prefix_uri: str

    def script_uri(self, script: str) -> str:
        return f"{self.prefix_uri}/spark_scripts/{script}.py"

    @property
    def lemma_dictionary_uri(self) -> str:
        """The sparknlp backend's lemma dictionary, shipped with the scripts (no download on the nodes)."""
        return f"{self.prefix_uri}/{lemma_dictionary.FILE_NAME}"


def _s3_error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def ship_code(
    s3: Any, code_root_uri: str, bootstrap: str, log: Callable[[str], None]
) -> ShippedCode:
    """Uploads scripts, their zip, the bootstrap script and the lemma dictionary under ``<root>/<hash>/``.

    An object already there is reused only when its bytes hash to what this checkout ships: the key names
    the version, but anyone with write access to the bucket could have replaced the object behind it, and
    ``bootstrap.sh`` runs as root on every node. A differing object is overwritten and logged.
    """
    zipped = package_scripts()
    files = {f"spark_scripts/{p.name}": p.read_bytes() for p in sorted(SCRIPTS_DIR.glob("*.py"))}
    files["spark_scripts.zip"] = zipped
    files["bootstrap.sh"] = bootstrap.encode()
    files[lemma_dictionary.FILE_NAME] = lemma_dictionary.ensure_dictionary().read_bytes()
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    version = digest.hexdigest()[:16]
    prefix = f"{code_root_uri.rstrip('/')}/{version}"
    bucket, key_prefix = split_s3(prefix)
    uploaded, replaced = 0, []
    for name, data in files.items():
        key = f"{key_prefix}/{name}"
        try:
            current = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _s3_error_code(error) not in ("404", "NoSuchKey", "NotFound"):
                raise
            current = None
        if (
            current is not None
            and hashlib.sha256(current).digest() == hashlib.sha256(data).digest()
        ):
            continue
        if current is not None:
            replaced.append(name)
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        uploaded += 1
    log(
        f"code version {version}: {uploaded} file(s) uploaded, {len(files) - uploaded} already in S3"
        + (
            f"; replaced {', '.join(replaced)}: its content in S3 differed from this checkout's"
            if replaced
            else ""
        )
    )
    return ShippedCode(
        version=version,
        py_files_uri=f"{prefix}/spark_scripts.zip",
        bootstrap_uri=f"{prefix}/bootstrap.sh",
        prefix_uri=prefix,
    )


def spark_submit_args(
    job: SparkJob,
    code: ShippedCode,
    *,
    pipes: Mapping[str, str] | None = None,
    packages: Sequence[str] = (),
    spark_conf: dict[str, str] | None = None,
) -> list[str]:
    """``spark-submit`` for one job, in client mode so the step's stderr holds the driver's traceback.

    ``pipes``: the Pipes session's bootstrap arguments (``--dagster-pipes-context`` and
    ``--dagster-pipes-messages``), appended after the job's own; the script finds them in its argv.
    """
    args = ["spark-submit", "--deploy-mode", "client", "--py-files", code.py_files_uri]
    if packages:
        args += ["--packages", ",".join(packages)]
    for key, value in sorted((spark_conf or {}).items()):
        args += ["--conf", f"{key}={value}"]
    bootstrap = [part for flag, value in (pipes or {}).items() for part in (flag, value)]
    return [*args, code.script_uri(job.script), *job.argv(), *bootstrap]


def redact_pipes_args(args: Sequence[str]) -> list[str]:
    """``args`` with the Pipes bootstrap values (opaque, and useless once the session closed) shortened."""
    shown = list(args)
    for i, part in enumerate(shown[:-1]):
        if part.startswith("--dagster-pipes-"):
            shown[i + 1] = "…"
    return shown


def step_request(job: SparkJob, args: list[str]) -> dict[str, Any]:
    return {
        "Name": job.name[:256],
        # The Dagster run decides what happens next; a failed step must not take the cluster down.
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
    }


@dataclass(frozen=True)
class PollPolicy:
    """Exponential backoff between ``DescribeStep`` calls; throttling doubles the wait again."""

    initial_seconds: float = 5.0
    max_seconds: float = 60.0
    factor: float = 1.5
    timeout_seconds: float = 24 * 3600.0


class StepTimeoutError(RuntimeError):
    pass


def is_throttling(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in THROTTLING_CODES


def wait_for_step(
    emr: Any,
    cluster_id: str,
    step_id: str,
    policy: PollPolicy,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Polls until the step reaches a terminal state; returns its ``Step`` description.

    Not boto3's ``step_complete`` waiter: it polls at a fixed delay for a fixed number of attempts (no
    backoff for a day-long step, no longer wait when throttled), logs nothing on state changes, and
    ends a FAILED or CANCELLED step with a ``WaiterError`` the caller would have to unpick for the step
    description this launcher needs (failure details, timeline for the cost). Cancelling on interrupt
    works either way (the caller catches the interrupt around this call).
    """
    delay = policy.initial_seconds
    deadline = clock() + policy.timeout_seconds
    last_state = None
    while True:
        try:
            step = emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]
        except ClientError as error:
            if not is_throttling(error):
                raise
            delay = min(policy.max_seconds, delay * 2)
            log(f"DescribeStep throttled; next poll in {delay:.0f} s")
            sleep(delay)
            continue
        state = step["Status"]["State"]
        if state != last_state:
            log(f"step {step_id} on {cluster_id}: {state}")
            last_state = state
        if state in TERMINAL_STEP_STATES:
            return step
        if clock() > deadline:
            raise StepTimeoutError(
                f"step {step_id} still {state} after {policy.timeout_seconds:.0f} s"
            )
        sleep(delay)
        delay = min(policy.max_seconds, delay * policy.factor)


def step_log_uri(log_uri: str, cluster_id: str, step_id: str, stream: str = "stderr") -> str:
    """Where EMR copies a step's logs: ``<LogUri>/<cluster>/steps/<step>/<stream>.gz``."""
    return f"{log_uri.rstrip('/')}/{cluster_id}/steps/{step_id}/{stream}.gz"


@dataclass(frozen=True)
class LogTail:
    """The tail of a step log, or why there is none (``missing``)."""

    text: str | None
    missing: str = ""


def read_log_tail(
    s3: Any,
    uri: str,
    lines: int,
    attempts: int = 1,
    wait_seconds: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> LogTail:
    """The last ``lines`` lines of a gzipped log; ``text`` None when it never appeared.

    EMR uploads step logs a little after the step ends, so the caller may allow a few attempts. Without
    ``s3:ListBucket`` S3 answers a missing object with 403 instead of 404: that is treated as "not there
    yet" too, but the reason says so, so a real permission problem is not mistaken for a slow upload.
    """
    bucket, key = split_s3(uri)
    missing = f"no stderr at {uri} (none after {attempts} attempt(s))"
    for attempt in range(attempts):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            code = _s3_error_code(error)
            if code in ("403", "AccessDenied"):
                missing = (
                    f"no stderr read from {uri}: S3 answered 403 {code}. Without s3:ListBucket on "
                    f"{bucket}, S3 reports a missing object as 403, so the log may just not be there "
                    "yet; grant s3:ListBucket (the identity policy `wordcloud-infra up` writes does) "
                    "and s3:GetObject on the log prefix"
                )
            elif code not in ("NoSuchKey", "404"):
                raise
            if attempt + 1 < attempts:
                sleep(wait_seconds)
            continue
        text = gzip.decompress(body).decode("utf-8", errors="replace")
        return LogTail("\n".join(text.splitlines()[-lines:]))
    return LogTail(None, missing)


def cancel_step(emr: Any, cluster_id: str, step_id: str, log: Callable[[str], None]) -> bool:
    """Asks EMR to cancel a pending or running step; False (logged) when the API refuses.

    ``CancelSteps`` can fail (some emulators do not implement it, a step may be past cancelling); the
    caller still terminates a run-owned cluster, so a refused cancel never leaves work running.
    """
    try:
        response = emr.cancel_steps(
            ClusterId=cluster_id,
            StepIds=[step_id],
            StepCancellationOption="SEND_INTERRUPT",
        )
    except ClientError as error:
        log(f"could not cancel step {step_id} on {cluster_id}: {error}")
        return False
    info = (response.get("CancelStepsInfoList") or [{}])[0]
    log(f"cancel of step {step_id}: {info.get('Status', 'unknown')} {info.get('Reason', '')}")
    return info.get("Status") == "SUBMITTED"
