"""Running the Spark assets on an EMR spot-fleet cluster that a Dagster resource owns.

``config`` (typed settings and pre-flight checks), ``job_flow`` (the RunJobFlow request), ``cluster``
(find-or-create by tag, terminate, sweep), ``steps`` (code upload, spark-submit, polling, logs), ``cost``
(instance-hours and price) and ``launcher`` (the ``SparkJobLauncher`` the assets use).
"""

from wordcloud_pipeline.resources.emr.cluster import EmrClusterResource
from wordcloud_pipeline.resources.emr.launcher import EmrSparkLauncher

__all__ = ["EmrClusterResource", "EmrSparkLauncher"]
