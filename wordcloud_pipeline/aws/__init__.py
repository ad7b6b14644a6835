"""Everything that talks to AWS, grouped by service.

- ``names``: the tags, the name prefix and the names of roles, profile, groups and policies, defined once
  for the pipeline and the provisioning command alike;
- ``layout``: where the project bucket keeps code, EMR logs and each run's Pipes messages;
- ``clients``: the one boto3 client factory (adaptive retries, ``AWS_ENDPOINT_URL`` for emulators);
- ``emr``: Spark assets as steps on an EMR-on-EC2 cluster (settings, lifecycle, launcher, sensors, cost);
- ``infra``: ``wordcloud-infra``, which provisions what ``emr`` needs.

Another AWS backend (EMR Serverless, say) joins as a sibling of ``emr`` and shares ``names``, ``layout``
and ``clients``.
"""
