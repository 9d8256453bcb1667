"""The three analyses done the way a capable analyst would in a notebook with pandas, against the
analytics module functions that compute the same numbers from the store.

    python bench/pandas_baselines.py --db PATH [--runs 5]

The analyst gets the raw tables (people, units, quarterly, ratings, worklogs, workday_calendar)
as DataFrames, read from the store once, outside the timing; only the columns an analysis needs
are read from the 30-million-row worklogs. Each analysis is timed for ours and for pandas in
turns (median of ``runs`` after one warm-up of each), and the two results are compared row by
row (every row, to 1e-9) before any time is reported: a benchmark of different results is
worthless.

* grade spread per unit and quarter: people rated (不确定等次 out), 好 count, share, the quarter's
  overall share p0 and the exact binomial P(X ≥ x | n, p0). Ours: ``grade_spread.good_share_tests``,
  which computes exactly these columns (the page's ``grade_spread`` gives the same numbers and
  also the funnel limits, overdispersion, shrinkage, quotas and the unit summary, which the
  analyst's notebook does not compute).
* monthly saturation per person: hours per person-month from the raw logs ÷ (working days × 8).
  Ours: ``saturation.person_months`` (reads the ``worklog_monthly`` pre-aggregate; also computes
  coverage, off-day hours and the monthly reconciliation columns), fetched into a DataFrame
  through Arrow (``store.frame``).
* rater leniency: each non-self rating minus the mean of the other non-self raters of the same
  person and quarter; per rater the mean, its SE and the ±5 points / 3 SE flags. Ours:
  ``raters.leniency`` (the same columns; the CLI report uses it; the page's ``rater_table`` gives
  the same numbers and also the compression ratio, top-score share, names and an example rating).
  Ours reads the others' mean of each rating from the ``rating_gaps`` pre-aggregate the importer
  keeps; the analyst recomputes it from the raw ratings, as a notebook would.

scipy is not a dependency of the project, so the analyst's exact binomial tail is a vectorised
numpy sum over a log-factorial table (what ``scipy.stats.binom.sf`` would give, at a similar cost).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from analytics import grade_spread, raters, saturation, store  # noqa: E402
from analytics.filters import Filters  # noqa: E402

RATED = ["好", "较好", "一般", "较差"]
SELF = "自评"
STANDARD_HOURS = 8
TOLERANCE = 1e-9

# What the analyst reads: whole small tables, and the three columns of the logs the analysis uses.
TABLES = {
    "people": "SELECT person_id, name, unit, dept, category, is_leader FROM people",
    "units": "SELECT unit, district, level, sector, is_pilot, pilot_since FROM units",
    "quarterly": "SELECT person_id, period, year, quarter, score, grade FROM quarterly",
    "ratings": "SELECT person_id, rater, rater_type, period, score FROM ratings",
    "worklogs": "SELECT person_id, work_date, hours FROM worklogs",
    "workday_calendar": "SELECT day, is_workday, note FROM workday_calendar",
}


def load_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The raw tables as the analyst would have them in a notebook (read once)."""
    return {name: con.execute(sql).df() for name, sql in TABLES.items()}


# --- pandas --------------------------------------------------------------------------------------

def binom_upper_tail(x: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(X ≥ x) for X ~ Binomial(n, p), row by row, vectorised over a padded 0..max(n) grid."""
    x, n, p = np.asarray(x, int), np.asarray(n, int), np.asarray(p, float)
    top = int(n.max()) if len(n) else 0
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, top + 1)))))
    k = np.arange(top + 1)
    n_minus_k = np.clip(n[:, None] - k[None, :], 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = (log_fact[n][:, None] - log_fact[k][None, :] - log_fact[n_minus_k]
                   + k[None, :] * np.log(p)[:, None] + n_minus_k * np.log1p(-p)[:, None])
    inside = (k[None, :] >= x[:, None]) & (k[None, :] <= n[:, None])
    return np.where(inside, np.exp(log_pmf), 0.0).sum(axis=1)


def grade_spread_pandas(fr: dict[str, pd.DataFrame]) -> pd.DataFrame:
    q = fr["quarterly"].merge(fr["people"][["person_id", "unit"]], on="person_id")
    q = q[q["unit"].notna() & q["grade"].isin(RATED)]
    g = (q.assign(is_good=q["grade"].eq("好"))
         .groupby(["unit", "period"], as_index=False)
         .agg(people=("is_good", "size"), good=("is_good", "sum")))
    totals = g.groupby("period")[["people", "good"]].transform("sum")
    g["p0"] = totals["good"] / totals["people"]
    g["share"] = g["good"] / g["people"]
    g["p_value"] = binom_upper_tail(g["good"].to_numpy(), g["people"].to_numpy(), g["p0"].to_numpy())
    return g


def saturation_pandas(fr: dict[str, pd.DataFrame]) -> pd.DataFrame:
    w = fr["worklogs"]
    month = w["work_date"].to_numpy().astype("datetime64[M]")
    hours = w.groupby([w["person_id"], month])["hours"].sum().rename_axis(["person_id", "month"])
    cal = fr["workday_calendar"]
    work = cal[cal["is_workday"]]
    workdays = work.groupby(work["day"].to_numpy().astype("datetime64[M]")).size()
    out = hours.reset_index(name="hours")
    out["workdays"] = out["month"].map(workdays)
    out["saturation"] = out["hours"] / (out["workdays"] * STANDARD_HOURS)
    # The roster, joined after aggregating (a person must be on it, as in the app).
    return out.merge(fr["people"][["person_id", "unit", "dept"]], on="person_id")


def leniency_pandas(fr: dict[str, pd.DataFrame]) -> pd.DataFrame:
    r = fr["ratings"]
    r = r[r["person_id"].isin(fr["people"]["person_id"])]
    ns = r[(r["rater_type"] != SELF) & (r["rater"] != r["person_id"])]
    same_quarter = ns.groupby(["person_id", "period"])["score"]
    same_rater = ns.groupby(["person_id", "period", "rater"])["score"]
    n_others = same_quarter.transform("size") - same_rater.transform("size")
    others_mean = (same_quarter.transform("sum") - same_rater.transform("sum")) / n_others.where(n_others > 0)
    diff = ns["score"] - others_mean
    by_rater = diff.groupby(ns["rater"])
    out = pd.DataFrame({"k": by_rater.count(), "leniency": by_rater.mean(), "sd_diff": by_rater.std()})
    out["se"] = out["sd_diff"] / np.sqrt(out["k"].where(out["k"] > 0))
    enough = (out["k"] >= raters.MIN_RATINGS) & out["se"].notna()
    far = out["leniency"].abs() >= raters.LENIENCY_SE * out["se"]
    out["lenient"] = enough & (out["leniency"] >= raters.LENIENCY_POINTS) & far
    out["harsh"] = enough & (out["leniency"] <= -raters.LENIENCY_POINTS) & far
    return out.rename_axis("rater").reset_index()


# --- ours ----------------------------------------------------------------------------------------

def grade_spread_ours(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    grade_spread._tails.cache_clear()  # no head start from binomial tails cached by an earlier run
    q = grade_spread.good_share_tests(con, Filters())
    return q[["unit", "period", "people", "good", "p0", "good_share", "p_value"]].rename(
        columns={"good_share": "share"})


def saturation_ours(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    with saturation.person_months(con, Filters()) as pm:  # fetched through Arrow, as the app fetches large frames
        return store.frame(con, f"""
            SELECT person_id, month, hours, workdays, saturation, unit, raw_dept AS dept, has_logs FROM {pm}
        """)


def leniency_ours(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return raters.leniency(con, Filters())


# --- the same numbers? ----------------------------------------------------------------------------

class Mismatch(AssertionError):
    pass


def _normal(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for key in keys:
        if pd.api.types.is_datetime64_any_dtype(frame[key]):
            frame[key] = frame[key].to_numpy().astype("datetime64[D]")
        else:
            frame[key] = frame[key].astype(str)
    return frame.set_index(keys).sort_index()


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str], numbers: list[str],
            flags: list[str] = ()) -> tuple[int, float]:
    """Every row of both, matched on ``keys``: the same key set, the numbers equal to 1e-9
    (NaN where the other is NaN) and the flags equal. Returns (rows, largest difference)."""
    a, b = _normal(ours, keys), _normal(theirs, keys)
    if not a.index.equals(b.index):
        only_a, only_b = a.index.difference(b.index), b.index.difference(a.index)
        raise Mismatch(f"different rows: {len(only_a)} only in ours (e.g. {list(only_a[:3])}), "
                       f"{len(only_b)} only in pandas (e.g. {list(only_b[:3])})")
    worst = 0.0
    for column in numbers:
        x, y = a[column].to_numpy(float), b[column].to_numpy(float)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            raise Mismatch(f"{column}: missing values differ in {int((np.isnan(x) != np.isnan(y)).sum())} rows")
        both = ~np.isnan(x)
        diff = float(np.max(np.abs(x[both] - y[both]), initial=0.0))
        if diff > TOLERANCE:
            raise Mismatch(f"{column}: differs by up to {diff:.3g}")
        worst = max(worst, diff)
    for column in flags:
        if not (a[column].astype(bool).to_numpy() == b[column].astype(bool).to_numpy()).all():
            raise Mismatch(f"{column}: flags differ")
    return len(a), worst


def _check_grade_spread(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[int, float]:
    return compare(ours, theirs, ["unit", "period"], ["people", "good", "p0", "share", "p_value"])


def _check_saturation(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[int, float]:
    # Ours also lists person-months with a monthly reconciliation and no log (0 hours); the
    # analyst's frame has only months with logs.
    logged = ours[ours["has_logs"]]
    return compare(logged, theirs, ["person_id", "month"], ["hours", "workdays", "saturation"])


def _check_leniency(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[int, float]:
    return compare(ours, theirs, ["rater"], ["k", "leniency", "sd_diff", "se"], ["lenient", "harsh"])


@dataclass(frozen=True)
class Baseline:
    key: str
    label: str
    ours_label: str
    ours: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
    pandas: Callable[[dict[str, pd.DataFrame]], pd.DataFrame]
    check: Callable[[pd.DataFrame, pd.DataFrame], tuple[int, float]]


BASELINES = (
    Baseline("grade_spread", "等次分布：单位季度好等次比例与精确二项 P 值", "grade_spread.good_share_tests",
             grade_spread_ours, grade_spread_pandas, _check_grade_spread),
    Baseline("saturation", "工作饱和度：每人每月饱和度", "saturation.person_months",
             saturation_ours, saturation_pandas, _check_saturation),
    Baseline("leniency", "评价人宽严度", "raters.leniency",
             leniency_ours, leniency_pandas, _check_leniency),
)


@dataclass(frozen=True)
class Comparison:
    baseline: Baseline
    ours: list[float]
    pandas: list[float]
    rows: int
    max_diff: float

    @property
    def ratio(self) -> float:
        return statistics.median(self.pandas) / statistics.median(self.ours)


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], runs: int = 5,
        log: Callable[[str], None] = print) -> list[Comparison]:
    """Check each analysis gives the same numbers both ways, then time both in turns."""
    out = []
    for b in BASELINES:
        cur = con.cursor()
        try:
            _, ours_result = _timed(lambda b=b, cur=cur: b.ours(cur))  # warm-up, and the numbers to check
            _, pandas_result = _timed(lambda b=b: b.pandas(frames))
            rows, worst = b.check(ours_result, pandas_result)
            del ours_result, pandas_result
            ours_times, pandas_times = [], []
            for _ in range(runs):
                ours_times.append(_timed(lambda b=b, cur=cur: b.ours(cur))[0])
                pandas_times.append(_timed(lambda b=b: b.pandas(frames))[0])
        finally:
            cur.close()
        result = Comparison(b, ours_times, pandas_times, rows, worst)
        log(f"  {b.key}: ours {statistics.median(ours_times):.3f} s, pandas {statistics.median(pandas_times):.3f} s, "
            f"{result.ratio:.1f}x (same numbers on {rows:,} rows, largest difference {worst:.1e})")
        out.append(result)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a store (the city demo)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    con = store.connect(args.db)
    start = time.perf_counter()
    frames = load_frames(con)
    print(f"read {sum(len(f) for f in frames.values()):,} rows into DataFrames in "
          f"{time.perf_counter() - start:.1f} s (not timed below)")
    run(con, frames, args.runs)
    con.close()


if __name__ == "__main__":
    main()
