"""What the pipeline computes: the title settings a user changes without touching code.

How the pictures look is ``pictures.style.CloudStyle``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from spark_scripts.domain import (
    DEFAULT_BACKEND,
    DEFAULT_CATEGORY,
    DEFAULT_COUNTING,
    DEFAULT_DOMAIN_STOPWORDS,
    DEFAULT_MIN_TOKEN_LENGTH,
    Backend,
    Counting,
)
from spark_scripts.job_contract import TitleOptions
from wordcloud_pipeline.resources.user_settings import UserSettings


class TitleProcessing(UserSettings):
    """Which reviews count and how titles become words (passed to spark_scripts/preprocess_titles.py)."""

    config_key: ClassVar[str] = "title_processing"

    category: str = Field(
        default=DEFAULT_CATEGORY, description="product_category whose titles are counted"
    )
    counting: Counting = Field(
        default=DEFAULT_COUNTING,
        description="'titles': a word once per distinct title per year (the original template); "
        "'reviews': once per review, so popular books weigh more",
    )
    backend: Backend = Field(
        default=DEFAULT_BACKEND,
        description="'sparkml': Spark SQL expressions, rule-based plural folding; 'sparknlp': spark-nlp's "
        "pipeline with a dictionary lemmatizer (its jar, 287 MB, is downloaded on first use). The same "
        "on every launcher.",
    )
    domain_stopwords: list[str] = Field(
        default=list(DEFAULT_DOMAIN_STOPWORDS),
        description="words dropped besides the English stop words",
    )
    min_token_length: int = Field(
        default=DEFAULT_MIN_TOKEN_LENGTH, ge=1, description="shorter words are dropped, in letters"
    )

    def options(self) -> TitleOptions:
        """These settings as the options of a ``preprocess_titles`` job."""
        return TitleOptions(
            category=self.category,
            counting=self.counting,
            backend=self.backend,
            domain_stopwords=tuple(self.domain_stopwords),
            min_token_length=self.min_token_length,
        )

    def script_args(self) -> list[str]:
        """The options as the script's flags: what the assets' data versions are computed from."""
        return self.options().to_argv()
