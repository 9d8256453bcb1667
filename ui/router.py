"""Every page goes through app.py.

Streamlit 1.67 treats a ``pages/`` folder next to the entry point as a legacy multipage app: a URL
that names a page file (``/raters``) runs that file directly, without app.py — no settings check,
no sidebar filters from the URL, no demo banner (and later no sign-in). So app.py marks each run it
routes, and a page that finds itself not routed runs app.py instead, which then routes to that
same page through ``st.navigation`` (page URLs are the file names, so both agree and Streamlit
shows no "page not found").
"""

from __future__ import annotations

import runpy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parent.parent / "app.py"
_state = threading.local()


@contextmanager
def routing() -> Iterator[None]:
    """Wrap app.py's ``page.run()``: pages run inside it are routed."""
    previous = getattr(_state, "routed", False)
    _state.routed = True
    try:
        yield
    finally:
        _state.routed = previous


def enter() -> None:
    """First line of every page: if this run did not come through app.py, go through it now."""
    if getattr(_state, "routed", False):
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
