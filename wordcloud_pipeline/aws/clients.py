"""The one boto3 client factory of the AWS package.

``AWS_ENDPOINT_URL`` (botocore's own setting) points every client at an emulator; nothing here reads it.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

# Adaptive retries: botocore backs off on throttling for every call, not only for our polling loops.
BOTO_CONFIG = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})


# Where the region comes from when no setting names it, first match wins. botocore alone reads only
# AWS_DEFAULT_REGION; the project's own variable comes first so that Dagster and wordcloud-infra agree.
REGION_VARIABLES = ("WORDCLOUD_EMR_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
DEFAULT_REGION = "us-east-1"


def region_name(explicit: str | None = None) -> str:
    """``explicit``, else the first of ``REGION_VARIABLES`` that is set, else ``DEFAULT_REGION``; read when
    called, never at import."""
    return explicit or next(
        (os.environ[v] for v in REGION_VARIABLES if os.environ.get(v)), DEFAULT_REGION
    )


def client(service: str, region: str, max_attempts: int | None = None) -> Any:
    """A boto3 client for ``service`` in ``region``.

    ``max_attempts`` lowers the retries for calls made while a run is being torn down, where a refused
    call should be reported quickly rather than retried for half a minute.
    """
    config = BOTO_CONFIG
    if max_attempts is not None:
        config = BOTO_CONFIG.merge(
            BotoConfig(retries={"mode": "adaptive", "max_attempts": max_attempts})
        )
    return boto3.client(service, region_name=region, config=config)
