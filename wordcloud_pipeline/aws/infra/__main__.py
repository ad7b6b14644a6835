"""``python -m wordcloud_pipeline.aws.infra``: the same command as ``wordcloud-infra``."""

from wordcloud_pipeline.aws.infra.cli import main

raise SystemExit(main())
