"""Spark assets as job runs of an EMR Serverless application (``WORDCLOUD_LAUNCHER=emr-serverless``).

``packed_env`` (the nodes' Python as one relocatable archive), ``job_run`` (the StartJobRun request),
``launcher`` (the ``SparkJobLauncher``, Pipes through dagster-aws), ``cost`` (billed usage at published
rates) and ``provision`` (application, job role, identity statements, the archive's upload).
"""

from wordcloud_pipeline.aws.serverless.launcher import EmrServerlessSparkLauncher

__all__ = ["EmrServerlessSparkLauncher"]
