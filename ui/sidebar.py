"""The global filters in the sidebar, kept in the URL so a view can be bookmarked or sent."""

from __future__ import annotations

import streamlit as st

from analytics import access, store
from analytics import filters as flt
from analytics.access import Scope
from analytics.filters import Filters
from ui import common

STATE_KEY = "global_filters"


@st.cache_data(ttl=60, show_spinner=False)
def _options(db_path: str, state: tuple, grants: Scope) -> dict[str, list]:
    with common.cursor(grants) as cur:  # a user is offered only the districts and units granted
        return flt.options(cur)


def _store_state() -> tuple:
    with common.root_cursor() as cur:
        return store.data_version(cur)


MULTI_KEYS = ("year", "quarter", "district", "level", "sector", "unit", "category")
SINGLE_KEYS = ("pilot", "role")
SEEN_KEY = "_query_seen"


def _adopt_links(valid: dict[str, list[str]]) -> None:
    """A link inside the session (``st.page_link(..., query_params=...)``, e.g. 查看单位人员) changes the
    URL, but a URL-bound widget keeps its session value. So a query parameter that changed since the
    last run is taken into the widget's state before the widget is drawn. A change made in the widget
    itself updates the URL to match, so it is never undone here."""
    seen = st.session_state.setdefault(SEEN_KEY, {})
    for key in MULTI_KEYS + SINGLE_KEYS:
        now = st.query_params.get_all(key)
        if key in seen and now != seen[key] and now and all(v in valid[key] for v in now):
            st.session_state[key] = now if key in MULTI_KEYS else now[0]
        seen[key] = now


LABELS = {  # the widgets' labels, also used to name a parameter the link got wrong
    "year": "年度", "quarter": "季度", "district": "地区", "level": "单位层级", "sector": "系统", "unit": "单位",
    "category": "人员类别", "pilot": "联系点", "role": "领导/工作人员",
}


def unknown_values(valid: dict[str, list[str]], given: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(parameter, value) for every filter value in the URL that the data does not have: the widget
    ignores those, so the page says so instead of silently showing more than the link asked for."""
    return [(key, value) for key in MULTI_KEYS + SINGLE_KEYS for value in given.get(key, [])
            if value not in valid[key]]


def _warn_unknown(ignored: list[tuple[str, str]]) -> None:
    if not ignored:
        return
    parts = "；".join(f"「{LABELS[key]}」（{key}）= {value}" for key, value in ignored)
    st.warning(f"链接中有筛选值在当前数据中不存在，已忽略：{parts}。页面按其余筛选条件显示；"
               "请检查链接，或在左侧重新选择。", icon=":material/link_off:")


def render() -> Filters:
    """Draw the filter widgets (every page) and remember the Filters for the page."""
    opts = _options(str(common.settings().db_path), _store_state(), access.grants(common.scope()))
    valid = {
        "year": [str(y) for y in opts["years"]], "quarter": opts["periods"], "district": opts["districts"],
        "level": opts["levels"], "sector": opts["sectors"], "unit": opts["units"], "category": opts["categories"],
        "pilot": ["全部", *flt.PILOT_LABELS.values()], "role": ["全部", *flt.ROLE_LABELS.values()],
    }
    _adopt_links(valid)
    ignored = unknown_values(valid, {key: st.query_params.get_all(key) for key in MULTI_KEYS + SINGLE_KEYS})
    _warn_unknown(ignored)
    if ignored and not common.scope().everything:  # possibly a value outside the grants: traceable
        common.log("denied", "链接中的筛选值不在授权范围或数据中：" + "；".join(f"{k}={v}" for k, v in ignored),
                   ok=False)
    bar = st.sidebar
    bar.header("筛选")

    def multi(label: str, key: str, values: list, help: str | None = None) -> list:
        return bar.multiselect(label, [str(v) for v in values], key=key, bind="query-params",
                               placeholder="全部", help=help)

    years = multi(LABELS["year"], "year", opts["years"])
    periods = multi(LABELS["quarter"], "quarter", opts["periods"], help="选了季度时，以季度为准")
    districts = multi(LABELS["district"], "district", opts["districts"])
    levels = multi(LABELS["level"], "level", opts["levels"])
    sectors = multi(LABELS["sector"], "sector", opts["sectors"])
    units = multi(LABELS["unit"], "unit", opts["units"])
    categories = multi(LABELS["category"], "category", opts["categories"])
    pilot = bar.selectbox(LABELS["pilot"], ["全部", *flt.PILOT_LABELS.values()], key="pilot", bind="query-params")
    role = bar.selectbox(LABELS["role"], ["全部", *flt.ROLE_LABELS.values()], key="role", bind="query-params")
    chosen = Filters(
        years=tuple(int(y) for y in years), periods=tuple(periods), districts=tuple(districts),
        levels=tuple(levels), sectors=tuple(sectors), units=tuple(units), categories=tuple(categories),
        pilot=next((k for k, v in flt.PILOT_LABELS.items() if v == pilot), None),
        role=next((k for k, v in flt.ROLE_LABELS.items() if v == role), None),
    )
    st.session_state[STATE_KEY] = chosen
    return chosen


def current() -> Filters:
    """The filters chosen in the sidebar on this run."""
    return st.session_state.get(STATE_KEY, Filters())
