"""Where the project bucket keeps things: ``s3://<bucket>/<prefix>/{code,logs/emr,runs/<run>/pipes}``.

One object for the pipeline (which writes there) and ``wordcloud-infra`` (whose lifecycle rules expire
the logs), so a non-default prefix moves the rules with the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from wordcloud_pipeline.aws.names import DEFAULT_PREFIX


@dataclass(frozen=True)
class BucketLayout:
    bucket: str
    prefix: str = DEFAULT_PREFIX

    @property
    def key_prefix(self) -> str:
        return self.prefix.strip("/")

    @property
    def root_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key_prefix}"

    @property
    def log_key_prefix(self) -> str:
        """Where EMR writes cluster and step logs (``LogUri``), as a key prefix for lifecycle rules."""
        return f"{self.key_prefix}/logs/"

    @property
    def log_uri(self) -> str:
        return f"s3://{self.bucket}/{self.log_key_prefix}emr/"

    @property
    def code_root_uri(self) -> str:
        return f"{self.root_uri}/code"

    @property
    def runs_key_prefix(self) -> str:
        """Each run's objects (Pipes context and messages) live below this key prefix."""
        return f"{self.key_prefix}/runs/"

    def pipes_key_prefix(self, run_id: str) -> str:
        return f"{self.runs_key_prefix}{run_id}/pipes"
