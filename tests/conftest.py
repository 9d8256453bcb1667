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


@pytest.fixture
def demo_app(tmp_path, monkeypatch, demo_con):
    """The app (under AppTest) on a copy of the session's demo store, with default configuration and
    empty caches. Yields the folder holding the copy."""
    import shutil

    import streamlit as st

    demo_con.execute("CHECKPOINT")  # everything in the file itself, so that the copy is complete
    source = demo_con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    shutil.copy(source, tmp_path / "app.duckdb")
    monkeypatch.setenv("KAOHE_DB", str(tmp_path / "app.duckdb"))
    monkeypatch.setenv("KAOHE_ID_KEY", "test-key")
    monkeypatch.setenv("KAOHE_DEMO_ON_EMPTY", "1")
    monkeypatch.setenv("KAOHE_CONFIG", str(tmp_path / "absent.toml"))  # defaults, whatever config.toml says
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()
