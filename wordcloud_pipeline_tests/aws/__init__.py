"""Tests of the EMR launcher, infra and sensors against a moto server on 127.0.0.1."""
