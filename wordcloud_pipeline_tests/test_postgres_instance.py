"""The whole graph once on a Dagster instance stored in a real PostgreSQL server (dagster.postgres.yaml).

Needs WORDCLOUD_TEST_POSTGRES_URL (a server URL whose user may create databases); `.ci/postgres start`
starts one on 127.0.0.1 and CI always sets it. Without it the test is skipped, unless
WORDCLOUD_REQUIRE_POSTGRES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import psycopg2
import pytest

from wordcloud_pipeline.checks.counting_modes import COUNTING_MODES_CHECK
from wordcloud_pipeline.demo import materialize_years
from wordcloud_pipeline.instance_home import INSTANCE_CONFIG, POSTGRES_INSTANCE_CONFIG
from wordcloud_pipeline_tests.conftest import local_test_resources

pytestmark = pytest.mark.slow
SERVER_URL = os.environ.get("WORDCLOUD_TEST_POSTGRES_URL")


def test_postgres_config_differs_from_the_default_only_in_storage():
    import yaml

    default = yaml.safe_load(INSTANCE_CONFIG.read_text())
    postgres = yaml.safe_load(POSTGRES_INSTANCE_CONFIG.read_text())
    assert postgres.pop("storage") == {
        "postgres": {"postgres_url": {"env": "WORDCLOUD_DAGSTER_POSTGRES_URL"}}
    }
    assert postgres == default


@pytest.fixture
def database_url():
    """A new database on the server for this test, dropped afterwards."""
    if not SERVER_URL:
        if os.environ.get("WORDCLOUD_REQUIRE_POSTGRES") == "1":
            pytest.fail("WORDCLOUD_REQUIRE_POSTGRES=1 but WORDCLOUD_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set WORDCLOUD_TEST_POSTGRES_URL (.ci/postgres start)")
    name = f"wordcloud_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(SERVER_URL)
    # The driver named, as dagster.postgres.yaml says: SQLAlchemy 2.1 would pick psycopg 3.
    yield urlunsplit(parts._replace(scheme="postgresql+psycopg2", path=f"/{name}"))
    admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def test_whole_graph_on_a_postgres_instance(database_url, sample_tsv, tmp_path, monkeypatch, spark):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(POSTGRES_INSTANCE_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("WORDCLOUD_DAGSTER_POSTGRES_URL", database_url)
    resources = local_test_resources(sample_tsv, tmp_path / "storage")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        yearly, summary = materialize_years(resources, instance, 2013, 2015)
        assert yearly.success and summary.success
        run_ids = {yearly.run_id, summary.run_id}
        word_clouds = dg.AssetKey("word_clouds")
        assert instance.get_materialized_partitions(word_clouds) == {"2013", "2014", "2015"}
        # The counting-modes check read the years' materializations back from PostgreSQL.
        (evaluation,) = [
            e
            for e in yearly.get_asset_check_evaluations()
            if e.check_name == COUNTING_MODES_CHECK.name
        ]
        assert evaluation.passed and evaluation.metadata["years"].value == 3

    # What Dagster stored is in PostgreSQL itself: the runs, the year partitions, the clouds' events.
    plain_url = database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    with psycopg2.connect(plain_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, status FROM runs")
        stored = dict(cur.fetchall())
        assert run_ids <= set(stored) and {stored[r] for r in run_ids} == {"SUCCESS"}
        cur.execute("SELECT partition FROM dynamic_partitions ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == ["2013", "2014", "2015"]
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE asset_key = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (word_clouds.to_string(),),
        )
        assert cur.fetchone()[0] == 3
