"""The README screenshot script still works: three 1400×900 PNGs of a sensible size (written to
test-artifacts/readme/; `python tests/e2e/screenshots.py` writes docs/screenshots/)."""

from __future__ import annotations

import struct

import harness
import screenshots


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_readme_screenshots(app, page):
    paths = screenshots.take(page, app, harness.ARTIFACTS / "readme")
    assert [p.name for p in paths] == ["overview.png", "grade_spread.png", "import.png"]
    for path in paths:
        data = path.read_bytes()
        assert png_size(data) == (harness.VIEWPORT["width"], harness.VIEWPORT["height"]), path
        assert 30_000 < len(data) < 400_000, (path, len(data))
    assert harness.problems(page) == []  # the import page after checking the sample: no error
