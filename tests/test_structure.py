"""The rules of the codebase, checked: layers, routing, and docs that cannot drift."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "pages").glob("*.py"))
APP = (ROOT / "app.py").read_text(encoding="utf-8")
NAV = dict(re.findall(r'st\.Page\("pages/(\w+)\.py".*?url_path="([^"]*)"', APP))
# Pages that explain metrics (the others explain how to import or show raw records).
NO_METRICS = {"data_status", "import_data", "audit"}  # data pages: no metrics to define


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_page_is_routed_through_app_py(page):
    # In the navigation, with the file name as URL (see ui/router.py for why).
    assert NAV.get(page.stem) == page.stem
    # And its first statement after the imports re-enters through app.py when opened directly.
    body = [n for n in tree(page).body if not isinstance(n, (ast.Import, ast.ImportFrom))
            and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert ast.unparse(body[0]) == "router.enter()", page.name


def test_analytics_never_imports_streamlit():
    for module in (ROOT / "analytics").glob("*.py"):
        for node in ast.walk(tree(module)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "streamlit" for n in names), module.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_pages_hold_no_sql(page):
    source = page.read_text(encoding="utf-8")
    assert ".execute(" not in source and not re.search(r"\bSELECT\b", source), page.name


def metric_labels(page: Path) -> list[str]:
    """Bold labels inside the page's ``st.expander("指标说明")``."""
    labels = []
    for node in ast.walk(tree(page)):
        if not isinstance(node, ast.With):
            continue
        call = node.items[0].context_expr
        if not (isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)
                and call.args[0].value == "指标说明"):
            continue
        text = "".join(c.value for n in node.body for c in ast.walk(n)
                       if isinstance(c, ast.Constant) and isinstance(c.value, str))
        labels += [label for label in re.findall(r"\*\*(.+?)\*\*", text) if "{" not in label]
    return labels


DOCS = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))


@pytest.mark.parametrize("page", [p for p in PAGES if p.stem not in NO_METRICS], ids=lambda p: p.stem)
def test_every_metric_on_a_page_is_documented(page):
    labels = metric_labels(page)
    assert labels, f"{page.name} has no 指标说明 expander with bold metric names"
    parts = [part.strip() for label in labels for part in re.split(r"\s*/\s*|、", label) if part.strip()]
    missing = [part for part in parts if part not in DOCS]
    assert not missing, f"{page.name}: metrics without an entry in docs/: {missing}"


def test_tables_have_no_export_of_their_own():
    """Streamlit's grid toolbar would download a table past the role check, the formula neutralisation
    and the audit log; the app's own buttons are the only way out."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
