"""Results remembered in the store, per state of the data.

Some results cost seconds at city scale and are asked for again and again with the same inputs:
总览's findings gather seven analyses. Such a result is kept in the ``memo`` table under a key made
of everything it depends on:

* the state of the data (``store.data_version``: any import or undo changes it);
* the program itself (a fingerprint of the ``analytics`` package's source files, so that an upgrade
  never serves a result of the old code);
* the caller's inputs: filters, minimum group size, and the access grants the result was computed
  under (a leader's findings are never served to another scope).

So a remembered result is the result the computation would give now, only earlier. Entries of
other data versions are deleted whenever a new one is kept. Keeping is best effort: on a read-only
connection, or when another session writes the same entry at the same moment, the result is
returned without being kept.

The table holds findings in words, which can name units and raters: it is as confidential as the
data. Non-administrators' cursors never see it (``access`` shadows it with an empty view); it is
read and written through the root connection only, with the grants in the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from analytics import store

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the analytics package's source: changes with any change of the code."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **{f.name: _plain(getattr(value, f.name))
                                                 for f in dataclasses.fields(value)}}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot key a memo on {type(value).__name__}")


def key(kind: str, version: tuple, *inputs: Any) -> str:
    """The memo key of one result: the kind, the data version, the code, and the inputs."""
    text = json.dumps([kind, _plain(version), code_fingerprint(), *(_plain(v) for v in inputs)],
                      ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def version_text(version: tuple) -> str:
    return json.dumps(_plain(version))


def recall(root: duckdb.DuckDBPyConnection, memo_key: str) -> str | None:
    """The payload kept under ``memo_key``, or None (also on a store older than the memo table)."""
    try:
        rows = root.execute("SELECT payload FROM memo WHERE key = ?", [memo_key]).fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0][0] if rows else None


def keep(root: duckdb.DuckDBPyConnection, memo_key: str, kind: str, version: tuple, payload: str) -> bool:
    """Keep ``payload`` under ``memo_key`` and drop the entries of other data versions. Best effort:
    False when the store cannot be written now (read-only, or a concurrent write)."""
    current = version_text(version)
    try:
        with store.transaction(root):
            root.execute("DELETE FROM memo WHERE data_version <> ?", [current])
            root.execute("INSERT OR REPLACE INTO memo VALUES (?, ?, ?, ?, ?)",
                         [memo_key, kind, current, dt.datetime.now(), payload])
    except duckdb.Error:
        return False
    return True


def entries(root: duckdb.DuckDBPyConnection) -> int:
    """How many results are kept (the tests read it)."""
    try:
        return int(store.scalar(root, "SELECT count(*) FROM memo") or 0)
    except duckdb.CatalogException:
        return 0
