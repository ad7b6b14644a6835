"""``wordcloud-infra up | status | down``: the AWS resources EMR mode needs, least privilege, idempotent.

``up`` converges each resource to its desired state and reports created / updated / unchanged, so running
it twice changes nothing. ``down`` deletes only what carries this project's ``managed-by`` tag, so it never
removes something it did not create; the bucket (which holds data) goes only with ``--delete-bucket``.

What is created:
- the project bucket: public access blocked, default encryption, TLS-only bucket policy, a lifecycle rule
  expiring EMR logs, tags;
- the EMR service role (AWS's scoped ``AmazonEMRServicePolicy_v2``, which only acts on resources tagged
  ``for-use-with-amazon-emr-managed-policies``, plus ``iam:PassRole`` on the instance role only);
- the EC2 instance role and profile: read/write on the project bucket, read-only on a reviews bucket;
- security groups for master, workers and service access, with ingress only from each other;
- the tag ``for-use-with-amazon-emr-managed-policies=true`` on the VPC and the clusters' subnets, without
  which ``AmazonEMRServicePolicy_v2`` cannot launch anything there;
- the customer-managed policy for the identity that runs Dagster (attach it to that user or role).
An existing bucket without this tool's tag is changed only with ``--adopt-bucket``.
Nothing gets ``0.0.0.0/0`` ingress, ``AdministratorAccess``, or ``s3:*`` on ``*``.
"""
