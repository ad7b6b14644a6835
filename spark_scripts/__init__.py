"""PySpark programs that run as EMR steps or on a local Spark session.

Nothing here imports dagster: every module is a plain set of DataFrame functions plus a ``main()`` CLI, so the
same file runs under ``spark-submit`` on a cluster and inside a local Dagster run. Their one Dagster dependency
is ``dagster-pipes`` (dependency-free), imported by ``job_cli`` only when a launcher opened a Pipes session;
``job_contract`` is the typed job and metrics both sides share.
"""
