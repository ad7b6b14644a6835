"""Spark assets as steps on an EMR-on-EC2 spot-fleet cluster that a run owns.

``config`` (typed cluster settings and the checks that need no AWS call), ``settings`` (the
``EmrClusterResource``: settings, bucket layout, clients), ``job_flow`` (the RunJobFlow request),
``network`` (subnets and groups looked up before creating), ``cluster`` (find-or-create by tag,
terminate, sweep), ``steps`` (code upload, spark-submit, polling, logs), ``spot`` (lost instances and
the retry), ``cost`` (instance-hours and price), ``launcher`` (the ``SparkJobLauncher`` the assets use),
and the two sensors that end clusters (``run_end_sensor``, ``cost_guard_sensor``).
"""

from wordcloud_pipeline.aws.emr.launcher import EmrSparkLauncher
from wordcloud_pipeline.aws.emr.settings import EmrClusterResource

__all__ = ["EmrClusterResource", "EmrSparkLauncher"]
