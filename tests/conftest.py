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
