"""Shared fixtures: a fresh store file per test, settings with a fixed hashing key."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import store
from analytics.config import ImportLimits, Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "store.duckdb", id_hash_key=b"test-key",
                    limits=ImportLimits())


@pytest.fixture
def con(settings: Settings):
    connection = store.connect(settings.db_path)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def demo_con(tmp_path_factory):
    """The demo store, built once per test session. Tests read it and must not change it;
    take ``demo_con.cursor()`` where a test needs its own connection."""
    from analytics import demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    connection = store.connect(path)
    demo.build_demo(connection)
    yield connection
    connection.close()
