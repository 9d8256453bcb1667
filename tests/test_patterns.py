"""好/一般 走势: person-year counts, transitions, the follow-up list, the annual cross-table and the
rotation test, against a hand-made fixture worked out by hand; the demo; the page under AppTest."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import apptools
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import patterns, store
from analytics.demo import PLANTED
from analytics.filters import Filters
from analytics.registry import ReportArgs, ReportError

ROOT = Path(__file__).resolve().parent.parent

# --- the hand-made fixture --------------------------------------------------------------------------
# 轮局 R1–R8, 2024: two 好 a quarter, each person exactly once (Q1 R1 R2, Q2 R3 R4, Q3 R5 R6, Q4 R7 R8);
#      R1 also has 2023Q4 好 (a pair across the year end; 轮局 2023 has one quarter only).
# 固局 F1–F8, 2024: F1 F2 好 every quarter, F3–F6 较好 every quarter, F7 较好 / 不确定等次 / 较好 / 较好,
#      F8 较好 / 一般 / 较差 / 较好.
# 小办 S1–S3 好 every quarter (a unit of 3 where everyone is 好), M1 好 / (no row) / 好 / 好.
# Annual 2024: R1 优秀, R2–R8 称职; F1 F2 优秀, F3–F6 称职, F7 不定等次, F8 基本称职; S1 优秀, S2 S3 称职; M1 none.

GRADES = {
    **{f"R{i}": ["好" if (i - 1) // 2 == q else "较好" for q in range(4)] for i in range(1, 9)},
    "F1": ["好"] * 4, "F2": ["好"] * 4, **{f"F{i}": ["较好"] * 4 for i in range(3, 7)},
    "F7": ["较好", "不确定等次", "较好", "较好"], "F8": ["较好", "一般", "较差", "较好"],
    "S1": ["好"] * 4, "S2": ["好"] * 4, "S3": ["好"] * 4, "M1": ["好", None, "好", "好"],
}
ANNUAL = {"R1": "优秀", **{f"R{i}": "称职" for i in range(2, 9)}, "F1": "优秀", "F2": "优秀",
          **{f"F{i}": "称职" for i in range(3, 7)}, "F7": "不定等次", "F8": "基本称职",
          "S1": "优秀", "S2": "称职", "S3": "称职"}
UNIT = {"R": "轮局", "F": "固局", "S": "小办", "M": "小办"}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """One store for the whole module (tests only read it): opening a store costs a second or two."""
    con = store.connect(tmp_path_factory.mktemp("patterns") / "small.duckdb")
    con.execute("""
        INSERT INTO units VALUES ('轮局', '东区', '市直', '税务', false, NULL, false, 1),
                                 ('固局', '东区', '市直', '财政', false, NULL, false, 1),
                                 ('小办', '西区', '市直', '史志', false, NULL, false, 1)""")
    people = [(pid, f"姓{pid}", UNIT[pid[0]]) for pid in GRADES]
    con.executemany("INSERT INTO people (person_id, name, unit, batch_id) VALUES (?, ?, ?, 1)", people)
    rows = [(pid, f"2024Q{q + 1}", 2024, q + 1, None if g == "不确定等次" else 85.0, g)
            for pid, grades in GRADES.items() for q, g in enumerate(grades) if g is not None]
    rows.append(("R1", "2023Q4", 2023, 4, 90.0, "好"))
    con.executemany("INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, 1)", rows)
    con.executemany("INSERT INTO annual (person_id, year, grade, batch_id) VALUES (?, 2024, ?, 1)",
                    list(ANNUAL.items()))
    yield con
    con.close()


def test_person_years_by_hand(small):
    py = patterns.person_years(small, Filters()).set_index(["person_id", "year"])
    assert len(py) == 21  # 20 people in 2024 + R1 in 2023
    assert py.loc[("F7", 2024), "grades"] == ["较好", "不确定等次", "较好", "较好"]
    assert py.loc[("F7", 2024), ["rated_quarters", "uncertain_quarters", "good_count"]].tolist() == [3, 1, 0]
    assert py.loc[("F8", 2024), ["general_or_worse_count", "low_quarters", "annual_grade"]].tolist() == [
        2, "2024Q2一般、2024Q3较差", "基本称职"]
    assert py.loc[("M1", 2024), "quarters"] == [1, 3, 4] and py.loc[("M1", 2024), "annual_grade"] is None
    assert py.loc[("R1", 2023), ["grades", "good_count", "annual_grade"]].tolist() == [["好"], 1, None]


def test_transition_matrix_by_hand(small):
    t = patterns.transitions(small, Filters())
    counts = t.counts.set_index("上季度等次")
    states = ["好", "较好", "一般", "较差", "不确定等次"]
    expected = pd.DataFrame(
        # to:  好 较好 一般 较差 不确定
        [[17, 6, 0, 0, 0],   # 好: F1 F2 6, S 9, M1 Q3→Q4 1, R1 2023Q4→2024Q1 1 | R1–R6 好→较好 6
         [6, 25, 1, 0, 1],   # 较好: R3–R8 →好 6; 较好→较好 轮局 12 + F3–F6 12 + F7 1; F8 →一般; F7 →不确定等次
         [0, 0, 0, 1, 0],    # F8 一般→较差
         [0, 1, 0, 0, 0],    # F8 较差→较好
         [0, 1, 0, 0, 0]],   # F7 不确定等次→较好
        index=pd.Index(states, name="上季度等次"), columns=states)
    pd.testing.assert_frame_equal(counts[states], expected, check_names=False)
    assert counts["合计"].tolist() == [23, 33, 1, 1, 1] and t.pairs == 59
    # distinct people per row: 好 row R1–R6, F1 F2, S1–S3, M1 (R7 R8 have 好 only in the last quarter);
    # 较好 row R1–R8, F3–F7, F8
    assert counts["人数"].tolist() == [12, 14, 1, 1, 1]
    assert t.good_stays == pytest.approx(17 / 23)
    shares = t.shares.set_index("上季度等次")
    assert shares.loc["好", ["好", "较好", "一般"]].tolist() == ["73.9%", "26.1%", "0.0%"]
    assert shares.loc["一般"].tolist()[:5] == ["样本过少"] * 5  # one person: no rate


def test_transitions_need_both_quarters_selected(small):
    t = patterns.transitions(small, Filters(periods=("2024Q1", "2024Q3")))
    assert t.pairs == 0 and t.good_stays is None
    t = patterns.transitions(small, Filters(periods=("2023Q4", "2024Q1")))
    assert t.pairs == 1 and t.counts.loc[0, "好"] == 1  # R1 好 → 好 across the year end
    assert t.good_stays is None  # one person: no rate (样本过少)
    assert patterns.transitions(small, Filters(periods=("2023Q4", "2024Q1")), min_group=1).good_stays == 1.0


def test_good_counts_by_unit_by_hand(small):
    g = patterns.good_counts_by_unit(patterns.person_years(small, Filters())).set_index(["单位", "年度"])
    assert g.loc[("轮局", 2024)].tolist() == [8, "1.00", "25.0%", "0.0%", "100.0%", "0.0%", "0.0%", "0.0%"]
    # 固局: 8 people (F7 rated 3 quarters), 8 好 of 31 rated quarters; 6 with none, 2 with four
    assert g.loc[("固局", 2024)].tolist() == [8, "1.00", "25.8%", "75.0%", "0.0%", "0.0%", "0.0%", "25.0%"]
    assert g.loc[("小办", 2024)].tolist() == [4] + ["样本过少"] * 7
    assert g.loc[("轮局", 2023)].tolist() == [1] + ["样本过少"] * 7


def test_follow_up_list(small):
    f = patterns.follow_up(patterns.person_years(small, Filters()))
    assert f.to_dict("records") == [{
        "人员编号": "F8", "姓名": "姓F8", "单位": "固局", "年度": 2024, "一般及以下次数": 2,
        "一般及以下季度": "2024Q2一般、2024Q3较差", "全年等次": "Q1 较好 → Q2 一般 → Q3 较差 → Q4 较好",
        "年度等次": "基本称职"}]


def test_annual_alignment_cross_table(small):
    a = patterns.annual_alignment(patterns.person_years(small, Filters()))
    expected = pd.DataFrame({
        "好等次次数": ["0 次", "1 次", "2 次", "3 次", "4 次"],
        "优秀": [0, 1, 0, 0, 3],       # R1 | F1 F2 S1
        "称职": [4, 7, 0, 0, 2],       # F3–F6 | R2–R8 | S2 S3
        "基本称职": [1, 0, 0, 0, 0],   # F8
        "不定等次": [1, 0, 0, 0, 0],   # F7
        "无年度等次": [0, 1, 0, 1, 0],  # R1 in 2023 | M1
        "合计": [6, 9, 0, 1, 5],
    })
    pd.testing.assert_frame_equal(a.counts, expected, check_dtype=False)
    assert a.shares.loc[4, "优秀"] == "60.0%" and a.shares.loc[3, "优秀"] == "样本过少"
    assert a.shares.loc[2, "优秀"] == "—"


# --- rotation --------------------------------------------------------------------------------------

def test_rotation_on_the_fixture(small):
    rot = patterns.rotation(patterns.person_years(small, Filters())).set_index(["unit", "year"])
    assert rot["status"].to_dict() == {("固局", 2024): "已检验", ("小办", 2024): "样本过少",
                                       ("轮局", 2023): "季度不足", ("轮局", 2024): "已检验"}
    r = rot.loc[("轮局", 2024)]
    # every person exactly one 好 of 4: variance 0; p = 8/32 = 0.25, expected 4 × 0.25 × 0.75 = 0.75
    assert (r["people"], r["observed_var"], r["expected_var"], r["index"]) == (8, 0.0, 0.75, 0.0)
    # exact P(variance 0) when each quarter's two 好 go to random pairs: 8!/(2!^4) / C(8,2)^4 = 2520/614656
    # = 0.0041. The sequential test flags at alpha = 0.01 unless 10 of its first 1,000 simulations hit
    # (Poisson(4.1) ≥ 10: under 1 %); its p-value is either h/L with L ≥ 1,000 or (hits + 1)/2,000 ≤ 0.005.
    exact = 2520 / math.comb(8, 2) ** 4
    assert exact == pytest.approx(0.0041, abs=1e-4)
    assert r["p_even"] < patterns.ROTATION_ALPHA and bool(r["flagged"])
    assert r["p_even"] == pytest.approx(exact, abs=0.006)
    f = rot.loc[("固局", 2024)]
    # F7 is not rated all year: 7 people, X = 4 4 0 0 0 0 0; p = 8/28; var = 32/7 − (8/7)² = 160/49;
    # expected 4 × 2/7 × 5/7 = 40/49; index 4
    assert f["people"] == 7
    assert f["observed_var"] == pytest.approx(160 / 49) and f["expected_var"] == pytest.approx(40 / 49)
    assert f["index"] == pytest.approx(4.0) and not bool(f["flagged"])
    # the same pair every quarter: exact P = 1/C(7,2)^3; the 偏集中 p-value's floor is 1/(199 + 1)
    assert f["p_concentrated"] == pytest.approx(1 / (patterns.ROTATION_CONCENTRATED_MAX + 1))
    # no hand-out can be more concentrated: every simulation is ≤ observed, so the sequential test stops
    # at the 10th simulation with p = 10/10
    assert f["p_even"] == 1.0


def test_rotation_p_values_do_not_depend_on_the_selection(small):
    """Unit-years with the same null share a stream seeded by that null, not by the selection."""
    everything = patterns.rotation(patterns.person_years(small, Filters())).set_index(["unit", "year"])
    one = patterns.rotation(patterns.person_years(small, Filters(units=("轮局",)))).set_index(["unit", "year"])
    pd.testing.assert_series_equal(everything.loc[("轮局", 2024)], one.loc[("轮局", 2024)])


def test_sequential_p_value_by_hand():
    """Besag & Clifford (1991): stop at the h-th hit (p = h/L), else (hits + 1)/(n_max + 1) at n_max."""
    hits = np.array([0, 1, 0, 0, 1, 0, 1, 1, 0], dtype=bool)  # hits at simulations 2, 5, 7, 8
    assert patterns.sequential_p(hits, h=3, n_max=9) == pytest.approx(3 / 7)  # stopped at the 3rd hit
    assert patterns.sequential_p(hits[:6], h=3, n_max=9) is None  # 2 hits in 6: not settled yet
    assert patterns.sequential_p(hits, h=5, n_max=9) == pytest.approx(5 / 10)  # 4 hits in all 9: (4+1)/10
    assert patterns.sequential_p(hits, h=None, n_max=9) == pytest.approx(5 / 10)  # the fixed-size test
    assert patterns.sequential_p(np.zeros(9, dtype=bool), h=3, n_max=9) == pytest.approx(1 / 10)
    assert patterns.sequential_p(np.ones(3, dtype=bool), h=3, n_max=9) == 1.0
    # at h = 10, n_max = 1999: p < 0.01 exactly when at most 9 of the first 1,000 simulations hit
    at_1000 = np.zeros(1999, dtype=bool)
    at_1000[[*range(9), 999]] = True  # the 10th hit is simulation 1,000: p = 10/1000, not below 0.01
    assert patterns.sequential_p(at_1000, 10, 1999) == pytest.approx(0.01)
    at_1001 = np.zeros(1999, dtype=bool)
    at_1001[[*range(9), 1000]] = True
    assert patterns.sequential_p(at_1001, 10, 1999) < 0.01


def exact_p_even(good: np.ndarray) -> float:
    """P(variance ≤ observed) by enumerating every way to hand out each quarter's 好."""
    n, quarters = good.shape
    observed = good.sum(axis=1).var()
    subsets = [list(itertools.combinations(range(n), int(k))) for k in good.sum(axis=0)]
    hits = total = 0
    for choice in itertools.product(*subsets):
        x = np.zeros(n)
        for chosen in choice:
            x[list(chosen)] += 1
        total += 1
        hits += x.var() <= observed + 1e-9
    return hits / total


def test_rotation_p_value_agrees_with_exact_enumeration():
    # 6 people; quarterly 好 counts 1, 2, 2, 1 → 6 × 15 × 15 × 6 = 8,100 ways; a fairly even hand-out
    good = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=bool)
    exact = exact_p_even(good)
    # the simulated null itself, checked with the fixed-size test (every simulation counted)
    test = patterns.rotation_test(good, n_perm=19_999, seed=7, hits=None)
    se = math.sqrt(exact * (1 - exact) / 19_999)
    assert abs(test.p_even - exact) < 4 * se + 1e-4
    # the sequential test on the same null: stopped at the 10th hit, p = 10/L, a rougher estimate
    # (relative error about 1/√10) of the same exact value
    sequential = patterns.rotation_test(good, seed=7)
    assert sequential.p_even == pytest.approx(exact, rel=0.8)
    assert test.observed_var == pytest.approx(good.sum(axis=1).var())
    assert test.permutation_var == pytest.approx(sum(k / 6 * (1 - k / 6) for k in (1, 2, 2, 1)))


def test_sequential_rule_keeps_the_false_alarm_rate_on_an_exact_null():
    """Under the null, P(flag) ≤ alpha: computed exactly for the 6-person example, from the exact null
    distribution of the variance (8,100 equally likely hand-outs) and the sequential rule's rejection
    probability given each hand-out's exact tail probability q (no simulation)."""
    good = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=bool)
    n = good.shape[0]
    subsets = [list(itertools.combinations(range(n), int(k))) for k in good.sum(axis=0)]
    variances = []
    for choice in itertools.product(*subsets):
        x = np.zeros(n)
        for chosen in choice:
            x[list(chosen)] += 1
        variances.append(round(float(x.var()), 9))
    values, counts = np.unique(variances, return_counts=True)
    prob = counts / counts.sum()
    q = np.cumsum(prob)  # q[i] = P(variance ≤ values[i]): a simulation "hits" with this probability

    def binom_cdf(k: int, trials: int, p: float) -> float:
        return sum(math.comb(trials, j) * p ** j * (1 - p) ** (trials - j) for j in range(k + 1))

    h, n_max = patterns.ROTATION_HITS, patterns.ROTATION_PERMUTATIONS
    for alpha in (0.01, 0.05):
        # p = h/L < alpha exactly when the h-th hit comes after simulation h/alpha, i.e. at most h − 1 hits
        # in the first h/alpha; without a stop p = (hits + 1)/(n_max + 1) ≤ h/(n_max + 1) < alpha as well
        first = round(h / alpha)
        assert patterns.sequential_p(np.r_[np.ones(h - 1), np.zeros(first - h), 1.0].astype(bool), h, n_max) \
            == pytest.approx(alpha)  # the h-th hit at simulation h/alpha: p = alpha, not below
        reject = sum(pv * binom_cdf(h - 1, first, float(qv)) for pv, qv in zip(prob, q, strict=True))
        assert reject <= alpha


def test_rotation_is_reproducible():
    good = np.random.default_rng(1).random((12, 4)) < 0.3
    assert patterns.rotation_test(good, seed=[1, 2]) == patterns.rotation_test(good, seed=[1, 2])


def reference_simulated_sumsq(n: int, k: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """The hand-out simulation written out plainly: group counts as a (quarters + 1) × size matrix, one
    hypergeometric draw per group and quarter over all hand-outs (the order ``_simulated_sumsq`` keeps)."""
    quarters = len(k)
    counts = np.zeros((quarters + 1, size), dtype=np.int64)
    counts[0] = n
    for t, kt in enumerate(int(v) for v in k):
        left_people = np.full(size, n, dtype=np.int64)
        left_k = np.full(size, kt, dtype=np.int64)
        drawn = np.zeros((t + 1, size), dtype=np.int64)
        for x in range(t + 1):
            d = left_k if x == t else rng.hypergeometric(counts[x], left_people - counts[x], left_k)
            drawn[x] = d
            left_people = left_people - counts[x]
            left_k = left_k - d
        counts[: t + 1] -= drawn
        counts[1 : t + 2] += drawn
    return (np.arange(quarters + 1, dtype=np.int64) ** 2) @ counts


def test_simulated_hand_outs_match_the_plain_simulation():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        k = rng.integers(0, n + 1, size=int(rng.integers(1, 5)))
        size = int(rng.choice([1, 7, 200]))
        fast, plain = np.random.default_rng([9, n]), np.random.default_rng([9, n])
        for _ in range(2):  # and the generator is left in the same state
            np.testing.assert_array_equal(patterns._simulated_sumsq(n, k, size, fast),
                                          reference_simulated_sumsq(n, k, size, plain))


def reference_rotation_p_values(rot_input: pd.DataFrame, min_group: int, n_perm: int) -> dict:
    """(unit, year) → (p_even, p_concentrated), null by null: the unit-years sharing a null (n, sorted k)
    use the stream of the first of them (in (unit, year) order) and ``_even_concentrated``."""
    full = rot_input[rot_input["rated_quarters"] == 4]
    groups = {}
    for (unit, year), g in full.groupby(["unit", "year"], sort=True):
        if len(g) < min_group:
            continue
        k = np.array([((g["good_mask"].to_numpy() >> t) & 1).sum() for t in range(4)], dtype=np.int64)
        if ((k == 0) | (k == len(g))).all():
            continue
        groups.setdefault((len(g), *sorted(k.tolist())), []).append(((unit, year), k, int((g["good_count"] ** 2).sum())))
    out = {}
    for (n, *_), members in groups.items():
        rng = np.random.default_rng(patterns._signature_seed(n, members[0][1]))
        ps = patterns._even_concentrated(n, np.sort(members[0][1]), [m[2] for m in members], n_perm,
                                         patterns.ROTATION_HITS, rng)
        out.update({m[0]: p for m, p in zip(members, ps, strict=True)})
    return out


def synthetic_person_years(seed: int) -> pd.DataFrame:
    """Units of 5–30 people over two years: some hand 好 around (each person once), most by merit, some
    with the same quarterly counts in another quarter order (a shared null); a few people miss a quarter."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(60):
        n = int(rng.integers(5, 31))
        for year in (2023, 2024):
            if u % 6 == 0:  # rotation: each quarter hands 好 to the next quarter of the people
                masks = [1 << (i % 4) for i in range(n)]
            elif u % 6 == 1:  # the same counts as unit u − 1 in reverse quarter order
                masks = [1 << (3 - i % 4) for i in range(n)]
            else:
                merit = rng.random(n)
                masks = [sum(1 << t for t in range(4) if rng.random() < 0.15 + 0.6 * m) for m in merit]
            for i, mask in enumerate(masks):
                rated = 0b1111 if rng.random() > 0.05 else 0b0111
                mask &= rated
                rows.append({"person_id": f"P{u}-{i}", "unit": f"单位{u:02d}", "year": year,
                             "rated_quarters": bin(rated).count("1"), "good_count": bin(mask).count("1"),
                             "general_or_worse_count": 0, "good_mask": mask, "rated_mask": rated})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_perm", [patterns.ROTATION_PERMUTATIONS, 300])
def test_rotation_p_values_match_the_null_by_null_reference(n_perm):
    py = synthetic_person_years(11)
    expected = reference_rotation_p_values(py, 5, n_perm)
    assert len(expected) >= 100
    patterns.clear_null_streams()
    cold = patterns.rotation(py, n_perm=n_perm)
    warm = patterns.rotation(py, n_perm=n_perm)  # from the kept simulations
    pd.testing.assert_frame_equal(cold, warm)
    tested = cold[cold["status"] == "已检验"]
    got = {(u, y): (pe, pc) for u, y, pe, pc in
           zip(tested["unit"], tested["year"], tested["p_even"], tested["p_concentrated"], strict=True)}
    assert got == expected  # exactly, not approximately
    assert tested["flagged"].sum() >= 10  # the rotating units (p-values that needed every batch)
    # a part of the selection, after the whole (kept streams), as the reference computes it on the part
    # (units 单位00/单位01 have the same null in reverse quarter order)
    part_py = py[py["unit"] >= "单位01"]
    part = patterns.rotation(part_py, n_perm=n_perm)
    tested = part[part["status"] == "已检验"]
    assert {(u, y): (pe, pc) for u, y, pe, pc in
            zip(tested["unit"], tested["year"], tested["p_even"], tested["p_concentrated"], strict=True)} \
        == reference_rotation_p_values(part_py, 5, n_perm)


def test_a_shared_null_in_another_quarter_order_gives_the_same_p_values_in_any_selection():
    """甲 and 乙 have the same quarterly 好 counts in reverse quarter order (one null). 甲's p-values are
    the same whether 乙 is selected (and comes first: 乙 sorts before 甲) or not; 甲's and 乙's are
    equal, as their hand-outs mirror each other (the same Σ X²)."""
    rng = np.random.default_rng(5)
    masks = [0] * 12
    for t, k in enumerate((3, 5, 6, 4)):
        for i in rng.choice(12, size=k, replace=False):
            masks[i] |= 1 << t
    mirrored = [sum(1 << (3 - t) for t in range(4) if m >> t & 1) for m in masks]
    rows = [{"person_id": f"{u}{i}", "unit": u, "year": 2024, "rated_quarters": 4, "good_count": bin(m).count("1"),
             "general_or_worse_count": 0, "good_mask": m, "rated_mask": 0b1111}
            for u, ms in (("甲局", masks), ("乙局", mirrored)) for i, m in enumerate(ms)]
    py = pd.DataFrame(rows)
    columns = ["people", "p_even", "p_concentrated", "flagged"]
    both = patterns.rotation(py).set_index("unit")[columns]
    assert list(both.index) == ["乙局", "甲局"]
    alone = patterns.rotation(py[py["unit"] == "甲局"]).set_index("unit")[columns]
    assert 0.02 < both.loc["甲局", "p_even"] < 0.98  # not an extreme p-value, which any stream would give
    pd.testing.assert_series_equal(alone.loc["甲局"], both.loc["甲局"])
    pd.testing.assert_series_equal(both.loc["甲局"], both.loc["乙局"], check_names=False)


def test_kept_simulations_are_bounded(monkeypatch):
    py = synthetic_person_years(12)
    patterns.clear_null_streams()
    first = patterns.rotation(py)
    monkeypatch.setattr(patterns, "STREAM_CACHE_SIMULATIONS", 1000)
    patterns.clear_null_streams()
    again = patterns.rotation(py)
    assert patterns._streams_size <= 1999 + patterns.STREAM_OVERHEAD and len(patterns._streams) == 1
    pd.testing.assert_frame_equal(first, again)


# --- filters, empty selections, the report ------------------------------------------------------------

def test_filters_that_select_nothing(small):
    result = patterns.grade_patterns(small, Filters(districts=("北区",)))
    assert result.empty
    assert result.sequences.empty and result.follow_up.empty and result.rotation.empty
    assert result.transitions.pairs == 0 and int(result.alignment.counts["合计"].sum()) == 0
    assert patterns.top_findings(small, Filters(districts=("北区",))) == []


def test_top_findings(small):
    findings = patterns.top_findings(small, Filters())
    assert [f.title for f in findings] == ["1 个单位年度疑似轮流坐庄", "2024 年 1 人至少一个季度为一般或较差"]
    assert all(f.page == "pages/patterns.py" for f in findings)


def test_findings_sums_are_the_rotation_of_the_person_years(small, demo_con):
    """top_findings aggregates per unit-year in SQL; the same table as rotation() on the person-years."""
    for con, f in ((small, Filters()), (small, Filters(units=("轮局",))), (demo_con.cursor(), Filters()),
                   (demo_con.cursor(), Filters(years=(2024,)))):
        for min_group in (5, 3):
            rot, low_by_year = patterns._finding_sums(con, f, min_group)
            py = patterns.person_years(con, f)
            pd.testing.assert_frame_equal(rot, patterns.rotation(py, min_group))
            low = py[py["general_or_worse_count"] > 0]
            assert low_by_year == {int(y): (len(g), int((g["general_or_worse_count"] >= 2).sum()))
                                   for y, g in low.groupby("year")}


def test_fast_paths_agree_with_the_sql(small, demo_con):
    """The person-years, sequences and transitions unpacked from the packed grades equal the text
    aggregates and SQL pivots they replace (kept for stores where the packing does not hold)."""
    for con, f in ((small, Filters()), (small, Filters(periods=("2023Q4", "2024Q1", "2024Q2"))),
                   (demo_con.cursor(), Filters()), (demo_con.cursor(), Filters(periods=("2024Q4", "2025Q1")))):
        pyg = patterns._person_year_grades(con, f)
        assert pyg.plain and pyg.named
        pd.testing.assert_frame_equal(pyg.frame, patterns._person_years_by_text(con, f))
        pd.testing.assert_frame_equal(patterns._grade_sequences(pyg, con, f), patterns._grade_sequences_by_sql(con, f))
        matrix, persons = patterns._transition_counts_by_sql(con, f)
        fast, slow = patterns._transitions(pyg, con, f, 5), patterns._transition_tables(matrix, persons, 5)
        pd.testing.assert_frame_equal(fast.counts, slow.counts)
        pd.testing.assert_frame_equal(fast.shares, slow.shares)
        assert (fast.pairs, fast.good_stays) == (slow.pairs, slow.good_stays)
        result = patterns.grade_patterns(con, f)
        assert result.grades(result.person_years.index) == list(pyg.frame["grades"])
        pd.testing.assert_frame_equal(result.follow_up, patterns.follow_up(pyg.frame))


def test_stores_the_packing_does_not_fit_take_the_sql_path(tmp_path):
    """A grade outside the five, or a period not named after its quarter: the text aggregates."""
    con = store.connect(tmp_path / "odd.duckdb")
    con.execute("INSERT INTO units VALUES ('甲局', '东区', '市直', '税务', false, NULL, false, 1)")
    con.executemany("INSERT INTO people (person_id, name, unit, batch_id) VALUES (?, ?, '甲局', 1)",
                    [(f"A{i}", f"姓{i}") for i in range(6)])
    rows = [(f"A{i}", f"2024Q{q}", 2024, q, 80.0, "好" if (i + q) % 3 == 0 else "一般", 1)
            for i in range(6) for q in range(1, 5)]
    con.executemany("INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    plain = patterns.grade_patterns(con, Filters())
    assert patterns._person_year_grades(con, Filters()).plain
    con.execute("UPDATE quarterly SET grade = '优' WHERE person_id = 'A0' AND quarter = 2")
    pyg = patterns._person_year_grades(con, Filters())
    assert not pyg.plain and pyg.frame.loc[0, "grades"] == ["一般", "优", "好", "一般"]
    odd = patterns.grade_patterns(con, Filters())
    assert odd.grades(odd.person_years.index[:1]) == [["一般", "优", "好", "一般"]]
    assert odd.follow_up.loc[odd.follow_up["人员编号"] == "A0", "全年等次"].item() == "Q1 一般 → Q2 优 → Q3 好 → Q4 一般"
    assert odd.transitions.pairs == plain.transitions.pairs - 2  # 优 is not one of the five states
    con.execute("UPDATE quarterly SET grade = '一般' WHERE person_id = 'A0' AND quarter = 2")
    con.execute("UPDATE quarterly SET period = '2024-2' WHERE quarter = 2")
    pyg = patterns._person_year_grades(con, Filters())
    assert not pyg.named
    named_by_text = patterns.grade_patterns(con, Filters())
    assert list(named_by_text.sequences.columns[3:]) == ["2024-2", "2024Q1", "2024Q3", "2024Q4"]
    assert named_by_text.follow_up.loc[0, "一般及以下季度"].startswith("2024Q1一般、2024-2")
    con.execute("UPDATE quarterly SET period = '2024Q2' WHERE quarter = 2")
    assert patterns._person_year_grades(con, Filters()).plain
    con.execute("INSERT INTO people (person_id, name, unit, batch_id) VALUES ('A1', '姓1', '甲局', 2)")  # twice
    pyg = patterns._person_year_grades(con, Filters())
    assert not pyg.plain
    pd.testing.assert_frame_equal(pyg.frame, patterns._person_years_by_text(con, Filters()))
    rot, _ = patterns._finding_sums(con, Filters(), 5)
    pd.testing.assert_frame_equal(rot, patterns.rotation(patterns.person_years(con, Filters())))
    con.close()


def test_report_keys_and_rows(small):
    frame = patterns.patterns_report(small, Filters(), ReportArgs(year=2024))
    assert list(frame.columns) == ["person_id", "unit", "grades", "good_count", "general_or_worse_count",
                                   "annual_grade"]
    assert len(frame) == 20 and frame["person_id"].is_unique
    records = {r["person_id"]: r for r in json.loads(frame.to_json(orient="records", force_ascii=False))}
    assert records["F8"] == {"person_id": "F8", "unit": "固局", "grades": ["较好", "一般", "较差", "较好"],
                             "good_count": 0, "general_or_worse_count": 2, "annual_grade": "基本称职"}
    assert records["M1"] == {"person_id": "M1", "unit": "小办", "grades": ["好", "好", "好"],
                             "good_count": 3, "general_or_worse_count": 0, "annual_grade": None}
    assert records["R3"]["grades"] == ["较好", "好", "较好", "较好"]
    frame = patterns.patterns_report(small, Filters(), ReportArgs(year=2023))
    assert frame.to_dict("records") == [{"person_id": "R1", "unit": "轮局", "grades": ["好"], "good_count": 1,
                                         "general_or_worse_count": 0, "annual_grade": None}]
    with pytest.raises(ReportError, match="--year"):
        patterns.patterns_report(small, Filters(), ReportArgs())


# --- the demo ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_patterns(demo_con):
    return patterns.grade_patterns(demo_con.cursor(), Filters())


def test_demo_rotation_false_alarms_within_the_promised_rate(demo_patterns):
    # Nothing is planted for rotation. Each tested unit-year is flagged by chance with probability at
    # most alpha = 1 %; with m tested unit-years, allow the count a Binomial(m, 1 %) exceeds only 0.1 % of
    # the time (normal units give 好 by merit, so their index is above 1 and flags should be rarer still).
    tested = demo_patterns.rotation.query("status == '已检验'")
    m = len(tested)
    assert m >= 150
    alpha = patterns.ROTATION_ALPHA
    bound = next(k for k in range(m + 1)
                 if sum(math.comb(m, j) * alpha ** j * (1 - alpha) ** (m - j) for j in range(k + 1)) >= 0.999)
    assert int(tested["flagged"].sum()) <= bound
    assert tested["index"].median() > 1.5  # merit: the same people tend to get 好 again


def test_demo_planted_annual_patterns_show_on_the_page(demo_patterns):
    follow = demo_patterns.follow_up
    for item in PLANTED["annual_violations"]["excellent_with_general"]:
        row = follow[(follow["人员编号"] == item["person_id"]) & (follow["年度"] == item["year"])]
        assert row["一般及以下季度"].item() == f"{item['general_period']}一般" and row["年度等次"].item() == "优秀"
    # 优秀 with no 好 all year: exactly the planted people (2023) in the cross-table's first row
    py = demo_patterns.person_years
    no_good = py[(py["good_count"] == 0) & (py["annual_grade"] == "优秀") & (py["rated_quarters"] > 0)]
    assert set(zip(no_good["person_id"], no_good["year"], strict=True)) == {
        (p["person_id"], p["year"]) for p in PLANTED["annual_violations"]["excellent_without_good"]}
    assert demo_patterns.alignment.counts.loc[0, "优秀"] == len(no_good)


def test_demo_tiny_and_inflated_units(demo_patterns):
    g = demo_patterns.good_by_unit
    tiny = g[g["单位"] == PLANTED["tiny_unit"]["unit"]]
    assert len(tiny) == 3 and (tiny["好等次比例"] == "样本过少").all()
    flat = g[g["单位"].isin(PLANTED["inflated_flat_units"])]
    assert all(float(v.rstrip("%")) > 85 for v in flat["好等次比例"])
    rot = demo_patterns.rotation
    assert (rot.loc[rot["unit"] == PLANTED["tiny_unit"]["unit"], "status"] == "样本过少").all()


# --- the page ------------------------------------------------------------------------------------------------


def open_page(filters: dict[str, list[str]] | None = None) -> AppTest:
    return apptools.open_page("pages/patterns.py", filters)


def test_page_renders_on_the_demo(demo_app):
    at = open_page()
    assert at.title[0].value == "好/一般 走势"
    assert "列入跟踪名单" in at.markdown[0].value and "单位年度" in at.markdown[0].value
    assert [s.value for s in at.subheader] == ["等次序列", "季度间等次转移", "好等次次数", "跟踪名单",
                                               "平时等次与年度等次", "轮流坐庄"]
    assert len(at.get("plotly_chart")) == 6
    follow = next(d.value for d in at.dataframe if "一般及以下季度" in d.value.columns)
    planted = {p["person_id"] for p in PLANTED["annual_violations"]["excellent_with_general"]}
    assert planted <= set(follow["人员编号"])
    unit = PLANTED["inflated_flat_units"][0]
    at.selectbox(key="patterns-unit").set_value(unit)
    at.selectbox(key="patterns-rotation-pick").set_value((unit, 2024)).run()
    assert not at.exception
    detail = next(d.value for d in at.dataframe if "各季度等次" in d.value.columns)
    assert len(detail) >= 5


def test_page_with_filters_that_leave_nothing(demo_app):
    at = open_page({"district": ["东湖区"], "sector": ["史志"]})  # 史志 exists only at city level
    assert any("没有数据" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe


def test_the_good_count_chart_of_many_units_draws_the_largest(monkeypatch):
    rows = [{"单位": f"单位{i:02d}", "年度": 2024, "人数": 5 + i % 7, "人均好等次次数": 1.0, "好等次比例": "25.0%",
             **{f"{k}次好": "20.0%" for k in range(5)}} for i in range(12)]
    table = pd.DataFrame(rows)
    monkeypatch.setattr(patterns, "GOOD_COUNT_MAX_UNITS", 4)
    fig = patterns.good_count_figure(table, 2024)
    # sizes 5, 6, … 11 repeating: the four largest are 单位06 (11), 单位05 (10), 单位04 (9) and 单位11 (9)
    assert list(fig.data[0].y) == ["单位04", "单位05", "单位06", "单位11"]  # in the table's order
    assert "共 12 个" in fig.layout.legend.title.text
    monkeypatch.setattr(patterns, "GOOD_COUNT_MAX_UNITS", 80)
    assert len(patterns.good_count_figure(table, 2024).data[0].y) == 12
