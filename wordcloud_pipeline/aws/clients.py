"""The one boto3 client factory of the AWS package.

``AWS_ENDPOINT_URL`` (botocore's own setting) points every client at an emulator; nothing here reads it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

# Adaptive retries: botocore backs off on throttling for every call, not only for our polling loops.
BOTO_CONFIG = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})


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
