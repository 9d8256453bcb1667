"""Demo data: a deterministic, fictional city (青崖市) written straight into an empty store.

``build_demo(con, seed, scale)`` fills every kind table of ``analytics.store`` plus the
``worklog_daily`` pre-aggregate inside one transaction, and registers one ``import_batch`` row
per kind (``is_demo = true``) so the import page can undo the demo like any other import.

How it is generated
-------------------
The layout (units, their sizes, departments, which unit or person carries a planted pattern)
is fixed by the scale and does not depend on the seed, so ``PLANTED`` can name units and
person ids. Everything else (names, scores, grades, ratings, logs) comes from the seed: each
pseudo-random number is a DuckDB ``hash`` of the seed, a constant tag and the row's keys (person,
period, day…) mapped to [0, 1), so the result does not depend on thread count or row order
(aggregates that feed decisions are exact integer sums for the same reason). Bulk rows are made
in SQL (``range``, ``unnest``, joins with ``workday_calendar``), never in a Python loop per row.
Person-days, log rows and ``worklog_daily`` are made ``Scale.log_chunk_months`` months at a time
(the city: a quarter, about 1.2M person-days and 2.7M log rows), each piece sorted by
(work_date, person_id) and the pieces in date order, so both tables are stored in date order
(zone maps skip row groups outside a date filter) while sorts and memory stay small; the chunk
size does not change a single value (tested). ``worklog_monthly`` is then filled by
``store.refresh_worklog_monthly``. The build runs with at most two threads.

Scales
------
* ``small`` (default): 4 districts, 62 units, 1,505 people, 1.9M log rows; about 2.5 s of CPU.
* ``city`` (issue 4): 12 districts (the four above plus 云溪区, 石桥区, 柳塘区, 鹤鸣县, 雁回县,
  梧岗县, 青萍县, 栖云县), 35 sectors in the city and in every district (the small scale's 13
  plus the party committee's 纪委监委, 组织部, 宣传部, 统战部, 政法委, more government bureaus
  and the 总工会, 共青团, 妇联) and 53 乡镇街道 per district: 1,092 units (towns 8–15 people,
  bureaus 8–100, median 23), 19,989 people, 33M log rows (a logged day has 1, 2 or 3 entries
  with probability 15/40/45 % instead of 40/40/20 %), 14M person-days. About 50 s of CPU and
  1.9 GB peak memory on a 2-core machine; about 290 MB on disk. The small city's units are all
  there, with other sizes, so the planted roles name the same units (``planted_for(SCALES["city"])``
  gives the person ids).

Baseline (what a "clean" unit looks like)
----------------------------------------
* Quarterly scores: unit mean 86 ± 0.8, person effect SD 3, quarter noise SD 2.5; every unit of
  10 or more has one weak performer (8 points lower) and about 0.6 % of people are weak at
  random (10 lower). Grades follow scores within unit-quarter: the top 25–35 % get 好 (never
  more than the 40 % quota, rounded down), a score 8 points below the unit's mean is 一般 (about
  4 %), 14 below 较差 (rare), the rest 较好. About 1 % of person-quarters are 不确定等次 (NULL score), plus a
  few people on leave for two quarters of a year (annual 不定等次); they have no ratings, logs
  or monthly rows in those quarters.
* Element scores 德能勤绩廉 are 15/25/15/35/10 % of the score and add up to it exactly.
* Ratings: 自评 = score + 2.5 ± 2; three 互评 by colleagues of the same unit (never the one who
  rates as 上级, so rater, ratee and period are unique); one 上级 by the department leader
  (department leaders are rated by the unit head; the unit head has no 上级 rating). Each rating
  is the quarterly score + the rater's bias + noise (SD 2.5); raters' own bias SD 0.8.
* Logs: every working day (``workday_calendar``) with about 97 % coverage (leave), 1–3 entries
  in half-hour steps, about 7.75 h a logged day (saturation about 94 %).
* Monthly reconciliation: planned 6–15 items, done ≤ planned, 饱和度评价 from the month's hours.
* Annual: 优秀 for the best quarterly averages among people with at least one 好, no 一般/较差
  and an average of at least 85, at most 20 % of the unit (rounded down); two or more 一般 or an
  average below 75 gives 基本称职, two or more 较差 不称职.

Planted patterns (small scale ids in ``PLANTED``; city ids from ``planted_for``)
--------------------------------------------------------------------
(a) ``inflated_flat_units``: 西岭区自然资源局, 南川县市场监督管理局, 北原县教育局 — every
    score in 90.0–92.0 and everyone 好 except, in about half the quarters, the lowest scorer.
    Expected: flagged by the funnel plot (99.8 %), by flattened scoring (SD below half the
    median), and by the 40 % 好 quota every quarter; no 一般 at all.
(b) ``inflating_unit``: 东湖区财政局 is normal until 2024Q2; from 2024Q3 scores rise by 3.5 and
    85 % get 好. Expected: funnel and quota flags from 2024Q3 only, a visible trend break.
(c) ``tiny_unit``: 青崖市史志办公室 (4 people) — everyone 好 in 2023Q4 and 2025Q2.
    Expected: breaks the 40 % quota rule in those quarters, but NOT flagged by the funnel plot
    (P(X = 4 | n = 4, p0 ≈ 0.33) ≈ 0.01 > 0.001), and shown as 样本过少 (n < 5).
(d) ``lenient_raters`` / ``harsh_raters``: two raters who score about 8 points above what the
    other raters give the same people (a department leader as 上级 and a colleague as 互评), and
    two who score about 8 below. Expected: flagged lenient / harsh (|mean diff| ≥ 5, ≥ 3 SE).
(e) ``overloaded_depts`` (about 9.75 h a logged day, 99.5 % coverage, saturation about 115–122 %)
    and ``underloaded_depts`` (about 4.6 h, 92 % coverage, saturation about 51–53 %). Expected: bands
    超负荷 and 不饱和; monthly 饱和度评价 follows.
(f) ``annual_violations``: people with a 一般 quarter who get 优秀 (2024), people with a
    quarterly average below 85 who get 优秀 (2025), people with no 好 quarter who get 优秀
    (2023), and one unit-year whose 优秀 share exceeds the 20 % quota (青崖市中级人民法院, 2024,
    about 40 % of those eligible by the other rules). Expected: each rule lists exactly these.
(g) ``pilot_units`` (联系点 since 2024Q1) and ``control_units`` (same sectors, not pilots): both
    groups start compressed (SD about 1.5, 好 exactly at the 40 % quota, no 一般, 90 % log
    coverage). From 2024Q1 the pilots score like a normal unit (SD about 4, 好 25–35 %, some
    一般, 98.5 % coverage) while the controls stay as before. Expected: difference-in-differences
    of SD clearly positive, of 好 share clearly negative; the controls (and the pilots before
    2024Q1) are also flagged as flattened scoring and quota-capped (每季度好等次用满名额).

Nothing else is planted; with about 60 units × 12 quarters, a rare chance flag (for example
flattened scoring in a small unit) is possible. At city scale (13,000 unit-quarters) such chance
findings are expected and measured (docs/demo-data.md): flattened scoring in about 0.45 % of the
unplanted unit-quarters (units of 7–16 people), a handful of units with no 一般 in three years,
an occasional small unit whose 好 count sits at the quota every quarter.

Adding a scale: put a ``Scale`` in ``SCALES`` (more districts, more towns, more people); the
layout, planted roles and SQL do not change, as long as the scale keeps the four districts and
the sectors the planted roles name (``planted_for`` raises ``DemoError`` if a named unit,
department or person is missing, or a 上级 rater would not lead a department).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analytics import store

CITY = "青崖市"
DEMO_FILE_NAME = "演示数据（自动生成）"
DEFAULT_SEED = 20261121


class DemoError(Exception):
    """The demo cannot be built; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class Scale:
    name: str
    years: tuple[int, ...]
    people: int  # target head count (the result is close, not exact)
    districts: tuple[tuple[str, str], ...]  # (name, '区' or '县')
    city_sectors: tuple[str, ...]
    district_sectors: tuple[str, ...]
    towns_per_district: int
    tiny_units: tuple[tuple[str, str, int], ...]  # (name, sector, size) at city level
    min_unit_size: int = 8
    town_weight: float = 1.0  # size weight of a 乡镇街道 (a bureau's weight is its sector's)
    size_low: float = 0.8  # a unit's size is weight × (size_low + size_range × a stable fraction)
    size_range: float = 0.4
    entry_split: tuple[float, float] = (0.4, 0.8)  # P(1 log entry a day), P(1 or 2); else 3
    log_chunk_months: int = 12 * 100  # logs are made this many months at a time (memory)


_SMALL_DISTRICTS = (("东湖区", "区"), ("西岭区", "区"), ("南川县", "县"), ("北原县", "县"))
_CITY_DISTRICTS = _SMALL_DISTRICTS + (
    ("云溪区", "区"), ("石桥区", "区"), ("柳塘区", "区"), ("鹤鸣县", "县"),
    ("雁回县", "县"), ("梧岗县", "县"), ("青萍县", "县"), ("栖云县", "县"),
)
# Every sector with a unit in the city and in each district at city scale: the small scale's
# thirteen, the party committee's departments, more government bureaus, people's organisations.
_ALL_SECTORS = (
    "公安", "检察", "法院", "司法", "自然资源", "财政", "教育", "卫健", "市场监管", "税务",
    "人社", "生态环境", "应急管理",
    "纪检监察", "组织", "宣传", "统战", "政法委",
    "发改", "工信", "民政", "住建", "交通", "水利", "农业农村", "商务", "文旅", "审计", "统计",
    "医保", "退役军人", "城管",
    "工会", "共青团", "妇联",
)

SCALES: dict[str, Scale] = {
    "small": Scale(
        name="small",
        years=(2023, 2024, 2025),
        people=1500,
        districts=_SMALL_DISTRICTS,
        city_sectors=("公安", "检察", "法院", "司法", "自然资源", "财政", "教育", "卫健",
                      "市场监管", "税务", "人社", "生态环境", "应急管理"),
        district_sectors=("公安", "检察", "法院", "司法", "自然资源", "财政", "教育", "卫健",
                          "市场监管", "税务"),
        towns_per_district=2,
        tiny_units=((f"{CITY}史志办公室", "史志", 4),),
    ),
    # The whole city (issue 4): 12 districts, 35 sectors (the party committees' departments,
    # the government's bureaus, the people's organisations) in the city and in every district,
    # 53 towns per district; about 1,100 units, 20,000 people and 31M log rows.
    "city": Scale(
        name="city",
        years=(2023, 2024, 2025),
        people=20_000,
        districts=_CITY_DISTRICTS,
        city_sectors=_ALL_SECTORS,
        district_sectors=_ALL_SECTORS,
        towns_per_district=53,
        tiny_units=((f"{CITY}史志办公室", "史志", 4),),
        town_weight=0.34,
        size_low=0.7,
        size_range=0.6,
        entry_split=(0.15, 0.55),
        log_chunk_months=3,
    ),
}

# --- Sectors: unit names, head titles, categories, departments -----------------------------

# name templates: {c} = city, {d} = district; (city, district 区, district 县)
_SECTOR_NAMES: dict[str, tuple[str, str, str]] = {
    "公安": ("{c}公安局", "{d}公安分局", "{d}公安局"),
    "检察": ("{c}人民检察院", "{d}人民检察院", "{d}人民检察院"),
    "法院": ("{c}中级人民法院", "{d}人民法院", "{d}人民法院"),
    "司法": ("{c}司法局", "{d}司法局", "{d}司法局"),
    "自然资源": ("{c}自然资源局", "{d}自然资源局", "{d}自然资源局"),
    "财政": ("{c}财政局", "{d}财政局", "{d}财政局"),
    "教育": ("{c}教育局", "{d}教育局", "{d}教育局"),
    "卫健": ("{c}卫生健康委员会", "{d}卫生健康局", "{d}卫生健康局"),
    "市场监管": ("{c}市场监督管理局", "{d}市场监督管理局", "{d}市场监督管理局"),
    "税务": ("国家税务总局{c}税务局", "国家税务总局{d}税务局", "国家税务总局{d}税务局"),
    "人社": ("{c}人力资源和社会保障局", "{d}人力资源和社会保障局", "{d}人力资源和社会保障局"),
    "生态环境": ("{c}生态环境局", "{d}生态环境分局", "{d}生态环境分局"),
    "应急管理": ("{c}应急管理局", "{d}应急管理局", "{d}应急管理局"),
    # city scale only
    "纪检监察": ("{c}纪委监委", "{d}纪委监委", "{d}纪委监委"),
    "组织": ("中共{c}委组织部", "中共{d}委组织部", "中共{d}委组织部"),
    "宣传": ("中共{c}委宣传部", "中共{d}委宣传部", "中共{d}委宣传部"),
    "统战": ("中共{c}委统战部", "中共{d}委统战部", "中共{d}委统战部"),
    "政法委": ("中共{c}委政法委员会", "中共{d}委政法委员会", "中共{d}委政法委员会"),
    "发改": ("{c}发展和改革委员会", "{d}发展和改革局", "{d}发展和改革局"),
    "工信": ("{c}工业和信息化局", "{d}工业和信息化局", "{d}工业和信息化局"),
    "民政": ("{c}民政局", "{d}民政局", "{d}民政局"),
    "住建": ("{c}住房和城乡建设局", "{d}住房和城乡建设局", "{d}住房和城乡建设局"),
    "交通": ("{c}交通运输局", "{d}交通运输局", "{d}交通运输局"),
    "水利": ("{c}水利局", "{d}水利局", "{d}水利局"),
    "农业农村": ("{c}农业农村局", "{d}农业农村局", "{d}农业农村局"),
    "商务": ("{c}商务局", "{d}商务局", "{d}商务局"),
    "文旅": ("{c}文化广电和旅游局", "{d}文化广电和旅游局", "{d}文化广电和旅游局"),
    "审计": ("{c}审计局", "{d}审计局", "{d}审计局"),
    "统计": ("{c}统计局", "{d}统计局", "{d}统计局"),
    "医保": ("{c}医疗保障局", "{d}医疗保障局", "{d}医疗保障局"),
    "退役军人": ("{c}退役军人事务局", "{d}退役军人事务局", "{d}退役军人事务局"),
    "城管": ("{c}城市管理局", "{d}城市管理局", "{d}综合行政执法局"),
    "工会": ("{c}总工会", "{d}总工会", "{d}总工会"),
    "共青团": ("共青团{c}委员会", "共青团{d}委员会", "共青团{d}委员会"),
    "妇联": ("{c}妇女联合会", "{d}妇女联合会", "{d}妇女联合会"),
}
_HEAD_TITLE = {"公安": "局长", "检察": "检察长", "法院": "院长", "史志": "主任",
               "纪检监察": "书记", "组织": "部长", "宣传": "部长", "统战": "部长", "政法委": "书记",
               "工会": "主席", "共青团": "书记", "妇联": "主席"}
_SIZE_WEIGHT = {"公安": 2.4, "法院": 1.5, "检察": 1.2, "税务": 1.4, "市场监管": 1.1,
                "自然资源": 1.0, "财政": 0.85, "教育": 0.8, "卫健": 0.8, "司法": 0.7,
                "人社": 0.8, "生态环境": 0.7, "应急管理": 0.6, "乡镇街道": 1.0,
                "纪检监察": 1.0, "组织": 0.6, "宣传": 0.45, "统战": 0.35, "政法委": 0.4,
                "发改": 0.7, "工信": 0.5, "民政": 0.55, "住建": 0.8, "交通": 0.8, "水利": 0.55,
                "农业农村": 0.9, "商务": 0.45, "文旅": 0.6, "审计": 0.5, "统计": 0.4, "医保": 0.45,
                "退役军人": 0.4, "城管": 1.0, "工会": 0.35, "共青团": 0.3, "妇联": 0.3}
# (main category, share, second category, share); the rest (and leaders) 综合管理类
_CATEGORIES = {
    "公安": ("执法勤务类", 0.72, "警务技术类", 0.10),
    "检察": ("综合管理类", 0.0, "专业技术类", 0.08),
    "法院": ("综合管理类", 0.0, "专业技术类", 0.08),
    "司法": ("行政执法类", 0.45, "专业技术类", 0.05),
    "自然资源": ("行政执法类", 0.50, "专业技术类", 0.10),
    "财政": ("综合管理类", 0.0, "专业技术类", 0.12),
    "教育": ("综合管理类", 0.0, "专业技术类", 0.12),
    "卫健": ("综合管理类", 0.0, "专业技术类", 0.15),
    "市场监管": ("行政执法类", 0.60, "专业技术类", 0.05),
    "税务": ("行政执法类", 0.50, "专业技术类", 0.05),
    "人社": ("行政执法类", 0.20, "专业技术类", 0.08),
    "生态环境": ("行政执法类", 0.55, "专业技术类", 0.10),
    "应急管理": ("行政执法类", 0.55, "专业技术类", 0.05),
    "乡镇街道": ("行政执法类", 0.15, "专业技术类", 0.03),
    "史志": ("综合管理类", 0.0, "专业技术类", 0.25),
    "纪检监察": ("综合管理类", 0.0, "专业技术类", 0.02),
    "组织": ("综合管理类", 0.0, "专业技术类", 0.03),
    "宣传": ("综合管理类", 0.0, "专业技术类", 0.05),
    "统战": ("综合管理类", 0.0, "专业技术类", 0.03),
    "政法委": ("综合管理类", 0.0, "专业技术类", 0.03),
    "发改": ("综合管理类", 0.0, "专业技术类", 0.08),
    "工信": ("综合管理类", 0.0, "专业技术类", 0.08),
    "民政": ("综合管理类", 0.0, "专业技术类", 0.05),
    "住建": ("行政执法类", 0.30, "专业技术类", 0.12),
    "交通": ("行政执法类", 0.50, "专业技术类", 0.08),
    "水利": ("行政执法类", 0.20, "专业技术类", 0.15),
    "农业农村": ("行政执法类", 0.35, "专业技术类", 0.12),
    "商务": ("综合管理类", 0.0, "专业技术类", 0.05),
    "文旅": ("行政执法类", 0.30, "专业技术类", 0.08),
    "审计": ("综合管理类", 0.0, "专业技术类", 0.20),
    "统计": ("综合管理类", 0.0, "专业技术类", 0.20),
    "医保": ("行政执法类", 0.20, "专业技术类", 0.08),
    "退役军人": ("综合管理类", 0.0, "专业技术类", 0.03),
    "城管": ("行政执法类", 0.65, "专业技术类", 0.03),
    "工会": ("综合管理类", 0.0, "专业技术类", 0.02),
    "共青团": ("综合管理类", 0.0, "专业技术类", 0.02),
    "妇联": ("综合管理类", 0.0, "专业技术类", 0.02),
}
_DEPTS = {
    "公安": ("办公室", "指挥中心", "刑事侦查大队", "治安管理大队", "交通管理大队",
             "户政管理科", "法制科", "警务保障科"),
    "检察": ("办公室", "第一检察部", "第二检察部", "第三检察部", "控告申诉检察部",
             "检务保障部"),
    "法院": ("办公室", "立案庭", "刑事审判庭", "民事审判庭", "行政审判庭", "执行局",
             "审判管理办公室"),
    "司法": ("办公室", "法治督察科", "公共法律服务管理科", "人民参与和促进法治科",
             "社区矫正管理科"),
    "自然资源": ("办公室", "国土空间规划科", "耕地保护监督科", "不动产登记科",
                 "执法监察大队"),
    "财政": ("办公室", "预算科", "国库科", "综合科", "政府采购监督管理科", "会计科"),
    "教育": ("办公室", "督导室", "基础教育科", "职业教育科", "人事科"),
    "卫健": ("办公室", "医政医管科", "疾病预防控制科", "基层卫生健康科", "老龄健康科"),
    "市场监管": ("办公室", "登记注册科", "食品安全协调科", "价格监督检查科",
                 "执法稽查大队"),
    "税务": ("办公室", "征收管理科", "纳税服务科", "税政科", "稽查局"),
    "人社": ("办公室", "就业促进科", "社会保险科", "劳动关系科", "劳动保障监察大队"),
    "生态环境": ("办公室", "水生态环境科", "大气环境科", "生态环境执法大队"),
    "应急管理": ("办公室", "安全生产综合协调科", "应急救援科", "危险化学品监管科"),
    "乡镇街道": ("党政综合办公室", "党建工作办公室", "经济发展办公室", "社会事务办公室",
                 "综合行政执法队", "社会治安综合治理中心"),
    "史志": ("编研室",),
    "纪检监察": ("办公室", "党风政风监督室", "信访室", "第一纪检监察室", "第二纪检监察室",
                 "第三纪检监察室", "案件审理室"),
    "组织": ("办公室", "组织科", "干部科", "公务员管理科", "人才工作科"),
    "宣传": ("办公室", "理论科", "新闻科", "文明创建科"),
    "统战": ("办公室", "党派工作科", "民族宗教科"),
    "政法委": ("办公室", "执法监督科", "综治督导科", "维稳指导科"),
    "发改": ("办公室", "发展规划科", "固定资产投资科", "价格科", "经济运行科"),
    "工信": ("办公室", "工业运行科", "中小企业科", "信息化推进科"),
    "民政": ("办公室", "社会救助科", "养老服务科", "社会组织管理科", "区划地名科"),
    "住建": ("办公室", "建筑市场监管科", "质量安全科", "房地产市场科", "城市建设科",
             "住房保障科"),
    "交通": ("办公室", "综合规划科", "运输管理科", "公路管理科", "交通运输执法大队"),
    "水利": ("办公室", "水资源科", "河湖管理科", "水旱灾害防御科"),
    "农业农村": ("办公室", "种植业管理科", "畜牧兽医科", "农村经济科", "农田建设管理科",
                 "农业综合执法大队"),
    "商务": ("办公室", "对外贸易科", "市场运行科", "投资促进科"),
    "文旅": ("办公室", "文化艺术科", "旅游发展科", "文物保护科", "文化市场综合执法大队"),
    "审计": ("办公室", "财政审计科", "经济责任审计科", "固定资产投资审计科"),
    "统计": ("办公室", "综合科", "农村统计科", "工业统计科"),
    "医保": ("办公室", "待遇保障科", "医药服务管理科", "基金监管科"),
    "退役军人": ("办公室", "移交安置科", "优抚科", "就业创业科"),
    "城管": ("办公室", "市容环境科", "市政设施科", "环境卫生科", "城管执法大队",
             "违法建设治理科"),
    "工会": ("办公室", "基层工作部", "权益保障部"),
    "共青团": ("办公室", "组织部", "宣传部"),
    "妇联": ("办公室", "组织联络部", "权益部"),
}
_RANKS = ("一级科员", "一级科员", "一级科员", "二级科员", "二级科员", "四级主任科员",
          "四级主任科员", "四级主任科员", "三级主任科员", "三级主任科员", "二级主任科员",
          "一级主任科员", "四级调研员")
_SURNAMES = tuple("王王王王王李李李李李张张张张刘刘刘刘陈陈陈杨杨杨赵赵黄黄周周吴吴徐孙马"
                  "胡朱郭何罗高林郑梁谢唐许冯宋韩邓彭曹曾田萧潘袁蔡蒋余于杜叶程魏苏吕丁"
                  "任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎")
_GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红志建国文斌辉鹏"
               "宇浩然晨阳雪梅海燕婷琳欣怡佳俊峰丹宁慧颖凯亮飞波鑫博昊天翔瑞雨萍倩晓"
               "东旭春晖学忠德民振兴林森思远嘉庆云龙凤琴淑珍宏彬坤新立成荣丽萱子涵一诺")
_GENERIC_CONTENT = (
    "参加单位例会并传达学习会议精神", "起草工作总结和计划", "整理归档业务资料",
    "参加政治理论学习", "办理上级交办事项", "撰写专题调研报告", "参加业务培训",
    "处理日常公文", "统计上报业务数据", "对接协调相关部门工作", "参加党支部组织生活",
    "接待群众来访咨询", "整理会议纪要", "参加专题会议研究工作", "督办重点工作进展",
    "修改完善制度文件", "开展作风建设自查", "核对台账并更新信息",
)
_SECTOR_CONTENT = {
    "公安": ("接处警及现场处置", "开展治安巡逻防控", "办理刑事案件侦查取证",
             "开展交通秩序整治", "办理户籍业务", "排查化解矛盾纠纷"),
    "检察": ("审查批捕案件", "审查起诉案件", "开展公益诉讼线索调查", "办理控告申诉案件",
             "出庭支持公诉", "开展法律监督调查"),
    "法院": ("审理民事案件", "审理刑事案件", "撰写裁判文书", "组织庭前调解",
             "执行案件财产查控", "开展诉讼服务"),
    "司法": ("开展普法宣传活动", "指导人民调解工作", "走访社区矫正对象",
             "审核行政规范性文件", "办理法律援助申请", "开展行政执法监督"),
    "自然资源": ("开展耕地保护巡查", "办理不动产登记", "审查国土空间规划", "查处违法用地",
                 "排查地质灾害隐患", "办理建设用地审批"),
    "财政": ("编制部门预算", "审核资金拨付", "开展政府采购监管", "开展财政资金绩效评价",
             "核算国库收支", "开展会计监督检查"),
    "教育": ("开展学校督导检查", "组织教师培训", "处理招生入学事宜", "开展校园安全检查",
             "统计教育事业数据", "调研课后服务工作"),
    "卫健": ("开展医疗机构监督检查", "推进基本公共卫生服务", "处置传染病疫情报告",
             "开展老年健康服务", "组织卫生应急演练", "审核医疗机构执业登记"),
    "市场监管": ("开展食品安全抽检", "办理市场主体登记", "开展价格监督检查",
                 "查处投诉举报案件", "开展特种设备安全检查", "开展计量监督检查"),
    "税务": ("开展纳税申报辅导", "开展税收风险应对", "审核出口退税", "开展纳税服务咨询",
             "办理税务稽查案件", "落实减税降费政策"),
    "人社": ("开展就业创业服务", "办理社会保险业务", "调处劳动争议", "开展劳动保障监察",
             "组织职业技能培训", "审核人才引进材料"),
    "生态环境": ("开展环境执法检查", "处理环境信访投诉", "开展大气污染防治巡查",
                 "审核建设项目环评", "开展水环境监测", "督办环保问题整改"),
    "应急管理": ("开展安全生产执法检查", "组织应急救援演练", "排查危化品企业隐患",
                 "修订应急预案", "开展防灾减灾宣传", "值班值守与信息报送"),
    "乡镇街道": ("入户走访群众", "开展网格化巡查", "办理民生事项", "调处邻里纠纷",
                 "推进乡村振兴项目", "开展人居环境整治"),
    "史志": ("编纂地方志稿", "收集整理史料", "审校年鉴稿件", "开展口述史采访",
             "编写大事记", "开展史志宣传"),
    "纪检监察": ("受理信访举报", "开展日常监督检查", "审查调查违纪违法案件", "开展廉政警示教育",
                 "审理违纪违法案件", "开展专项巡察"),
    "组织": ("办理干部调配手续", "开展干部考察", "组织公务员平时考核", "开展党员教育培训",
             "整理干部人事档案", "统计党内数据"),
    "宣传": ("组织理论学习中心组学习", "撰写新闻稿件", "开展文明城市创建", "开展网络舆情监测",
             "组织主题宣传活动", "审核宣传材料"),
    "统战": ("联系走访民主党派", "开展民族宗教工作调研", "组织党外人士座谈", "服务非公经济人士",
             "开展侨务工作", "联系新的社会阶层人士"),
    "政法委": ("督导平安建设工作", "开展执法监督检查", "排查化解重大矛盾纠纷", "协调重点案件办理",
               "推进网格化服务管理", "组织政法队伍教育整顿"),
    "发改": ("编制发展规划", "审核投资项目", "开展价格监测", "调度重点项目进展",
             "分析经济运行数据", "开展能耗双控工作"),
    "工信": ("走访服务工业企业", "监测工业经济运行", "推进企业数字化转型", "培育专精特新企业",
             "申报技术改造项目", "开展工业企业安全检查"),
    "民政": ("审核低保申请", "检查养老机构", "办理婚姻登记", "开展社会组织年检",
             "走访困难群众", "推进地名普查"),
    "住建": ("开展建筑工地安全检查", "办理施工许可", "开展房地产市场检查", "推进老旧小区改造",
             "审核保障性住房申请", "处理物业服务投诉"),
    "交通": ("开展道路运输执法检查", "推进农村公路建设", "检查客运站安全", "审批道路运输许可",
             "巡查公路养护", "处理出租车服务投诉"),
    "水利": ("开展河湖巡查", "检查水库安全度汛", "审批取水许可", "推进农村供水工程",
             "开展水土保持监督", "值守防汛抗旱"),
    "农业农村": ("开展农作物病虫害监测", "推进高标准农田建设", "检查农资经营门店",
                 "开展动物防疫检查", "指导农村集体经济发展", "推进乡村振兴项目"),
    "商务": ("走访外贸企业", "监测重要商品市场", "开展招商引资洽谈", "组织促消费活动",
             "统计商贸流通数据", "检查成品油市场"),
    "文旅": ("组织群众文化活动", "检查文化市场经营场所", "推进景区提质升级", "开展文物安全巡查",
             "组织旅游推介活动", "指导公共图书馆工作"),
    "审计": ("开展经济责任审计", "复核审计底稿", "开展预算执行审计", "撰写审计报告",
             "跟踪审计整改落实", "开展投资项目审计"),
    "统计": ("审核企业统计报表", "开展统计执法检查", "组织人口抽样调查", "撰写统计分析报告",
             "指导基层统计工作", "发布统计数据"),
    "医保": ("审核医保待遇申请", "检查定点医药机构", "开展医保基金监管", "办理异地就医备案",
             "推进药品集采落地", "开展医保政策宣传"),
    "退役军人": ("走访慰问退役军人", "审核优抚对象资格", "组织退役军人就业培训", "接待退役军人来访",
                 "办理退役士兵安置", "维护烈士纪念设施"),
    "城管": ("开展市容秩序巡查", "查处违法建设", "检查市政设施", "督导垃圾分类",
             "处理城市管理投诉", "整治占道经营"),
    "工会": ("走访慰问困难职工", "调处劳动争议", "组织职工技能竞赛", "推进基层工会建设",
             "组织职工文体活动", "开展工会经费审查"),
    "共青团": ("组织青年志愿服务", "推进基层团组织建设", "开展青少年思想教育", "组织青年创业培训",
               "发展新团员", "指导少先队工作"),
    "妇联": ("开展妇女儿童维权服务", "组织巾帼建功活动", "推进家庭文明建设", "走访困难妇女儿童",
             "开展儿童关爱服务", "组织妇女技能培训"),
}
_COMMENTS = {
    "饱满": ("工作饱满，各项任务完成较好", "工作量饱满，能按时高质量完成任务",
             "任务繁重，加班加点完成工作"),
    "较饱满": ("工作较为饱满，完成情况良好", "能够完成计划任务，个别事项需加快进度"),
    "一般": ("工作量一般，主动性有待加强", "部分时间工作量不足，需统筹安排"),
    "不饱满": ("工作量不饱满，建议调整分工", "任务偏少，需进一步压实责任"),
}
_TOWN_FIRST = "湖文岭松川白原红清石桥柳泉云凤安宁河新和"
_TOWN_SECOND = "滨昌北林口沙上柳溪桥源山阳平丰兴台湾"


def _stable_fraction(text: str) -> float:
    """A seed-independent number in [0, 1) for layout decisions (sizes, integer scoring)."""
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:12], 16) / 16**12


def _town_names(district: str, kind: str, count: int, offset: int) -> list[str]:
    """``count`` towns of a district: the hand-picked ones of the small scale first, then
    generated two-character names (distinct within the district). A 区 has 街道 and, in its
    outer parts, 镇; a 县 has its 城关镇, then 镇 and 乡."""
    picked = list(_SMALL_TOWNS.get(district, []))[:count]
    stems = {name[:2] for name in picked}
    names = [district + name for name in picked]
    j = offset
    while len(names) < count:
        first = _TOWN_FIRST[j % len(_TOWN_FIRST)]
        second = _TOWN_SECOND[(j * 7 + j // len(_TOWN_FIRST)) % len(_TOWN_SECOND)]
        j += 1
        if first == second or first + second in stems:
            continue
        stems.add(first + second)
        k = len(names)
        if kind == "区":
            suffix = "街道" if k < 0.65 * count else "镇"
        elif k == 0:
            first, second, suffix = "城", "关", "镇"
        else:
            suffix = "乡" if k % 3 == 2 else "镇"
        names.append(f"{district}{first}{second}{suffix}")
    return names


_SMALL_TOWNS = {
    "东湖区": ["湖滨街道", "文昌街道"], "西岭区": ["岭北街道", "松林街道"],
    "南川县": ["川口镇", "白沙乡"], "北原县": ["原上镇", "红柳乡"],
}


def _dept_leader_title(dept: str) -> str:
    for suffix, title in (("大队", "大队长"), ("支队", "支队长"), ("执法队", "队长"),
                          ("庭", "庭长"), ("科", "科长"), ("局", "局长"), ("部", "主任"),
                          ("室", "主任"), ("中心", "主任"), ("所", "所长")):
        if dept.endswith(suffix):
            return title
    return "负责人"


@dataclass(frozen=True)
class UnitLayout:
    unit: str
    district: str
    level: str
    sector: str
    size: int
    start: int  # people of this unit are P{start+1:05d} .. P{start+size:05d}

    @property
    def n_depts(self) -> int:
        return max(1, min(len(_DEPTS[self.sector]), round(self.size / 7)))

    def person(self, i: int) -> str:
        if not 0 <= i < self.size:
            raise IndexError(f"{self.unit} has {self.size} people, not {i + 1}")
        return f"P{self.start + i + 1:05d}"

    def dept_leader(self, dept: str) -> str:
        return self.person(_DEPTS[self.sector].index(dept))

    def member(self, k: int, dept_idx: int = 0) -> str:
        """The k-th non-leader member of department ``dept_idx``."""
        return self.person(self.n_depts * (k + 1) + dept_idx)


def layout(scale: Scale) -> list[UnitLayout]:
    """Units in a fixed order with their sizes: independent of the seed."""
    raw: list[tuple[str, str, str, str, float]] = []
    for sector in scale.city_sectors:
        raw.append((_SECTOR_NAMES[sector][0].format(c=CITY), "市直", "市直", sector,
                    _SIZE_WEIGHT[sector] * 1.3))
    tiny = [(name, "市直", "市直", sector, -size) for name, sector, size in scale.tiny_units]
    raw.extend(tiny)
    for d_index, (district, kind) in enumerate(scale.districts):
        template = 1 if kind == "区" else 2
        for sector in scale.district_sectors:
            raw.append((_SECTOR_NAMES[sector][template].format(d=district), district,
                        "旗县区", sector, _SIZE_WEIGHT[sector]))
        towns = _town_names(district, kind, scale.towns_per_district,
                            d_index * scale.towns_per_district)
        town_weight = _SIZE_WEIGHT["乡镇街道"] * scale.town_weight
        for town in towns:
            raw.append((town, district, "乡镇街道", "乡镇街道", town_weight))
    weights = [w * (scale.size_low + scale.size_range * _stable_fraction(name))
               for name, _, _, _, w in raw if w > 0]
    fixed = sum(-w for *_, w in raw if w < 0)
    factor = (scale.people - fixed) / sum(weights)
    units: list[UnitLayout] = []
    start = 0
    for name, district, level, sector, w in raw:
        size = int(-w) if w < 0 else max(
            scale.min_unit_size,
            round(w * (scale.size_low + scale.size_range * _stable_fraction(name)) * factor))
        units.append(UnitLayout(name, district, level, sector, size, start))
        start += size
    return units


def _periods(scale: Scale) -> list[str]:
    return [f"{y}Q{q}" for y in scale.years for q in range(1, 5)]


# --- Planted patterns ------------------------------------------------------------------------

def planted_for(scale: Scale) -> dict:
    """Which units, departments, people and periods carry a planted pattern.

    Raises ``DemoError`` when the scale lacks a unit, department or person a role names, or
    when a 上级 rater would not lead a department (see ``_check_planted``)."""
    units = {u.unit: u for u in layout(scale)}

    def u(name: str) -> UnitLayout:
        if name not in units:
            raise DemoError(f"演示数据规模 {scale.name} 缺少埋设模式所需的单位：{name}")
        return units[name]

    try:
        planted = _planted(scale, u)
    except IndexError as exc:
        raise DemoError(f"演示数据规模 {scale.name} 的单位人数不足以埋设模式：{exc}") from exc
    _check_planted(scale, planted, u)
    return planted


def _check_planted(scale: Scale, planted: dict, u) -> None:
    """Every named unit exists, named departments are departments of their unit (a unit has
    ``n_depts`` of them), 上级 raters lead one, and the unit roles do not overlap."""
    named = (planted["inflated_flat_units"] + planted["pilot_units"] + planted["control_units"]
             + [planted["inflating_unit"]["unit"], planted["tiny_unit"]["unit"]])
    if len(set(named)) != len(named):
        raise DemoError(f"演示数据规模 {scale.name} 的埋设单位有重复")
    for name in named + [q["unit"] for q in planted["annual_violations"]["excellent_quota"]]:
        u(name)
    for d in planted["overloaded_depts"] + planted["underloaded_depts"]:
        unit = u(d["unit"])
        if d["dept"] not in _DEPTS[unit.sector][: unit.n_depts]:
            raise DemoError(f"演示数据规模 {scale.name} 中 {d['unit']} 没有科室 {d['dept']}")
    for r in planted["lenient_raters"] + planted["harsh_raters"]:
        unit = u(r["unit"])
        i = int(r["rater"][1:]) - unit.start - 1
        if not 0 <= i < unit.size or (r["role"] == "上级") != (i < unit.n_depts):
            raise DemoError(f"演示数据规模 {scale.name} 中评价人 {r['rater']} 不能担任{r['role']}")


def _planted(scale: Scale, u) -> dict:
    police = u(f"{CITY}公安局")
    court = u("东湖区人民法院")
    finance = u(f"{CITY}财政局")
    police_bei = u("北原县公安局")
    return {
        "city": CITY,
        "scale": scale.name,
        "periods": _periods(scale),
        # (a) everyone 好 (but one, half the time) and every score within 90.0–92.0
        "inflated_flat_units": ["西岭区自然资源局", "南川县市场监督管理局", "北原县教育局"],
        "flat_score_range": (90.0, 92.0),
        # (b) normal, then inflated from the given quarter
        "inflating_unit": {"unit": "东湖区财政局", "from": "2024Q3", "good_share": 0.85},
        # (c) everyone 好 in these quarters, but n is too small for the funnel plot
        "tiny_unit": {
            "unit": f"{CITY}史志办公室",
            "people": [u(f"{CITY}史志办公室").person(i)
                       for i in range(u(f"{CITY}史志办公室").size)],
            "all_good_periods": ["2023Q4", "2025Q2"],
        },
        # (d) mean difference against the other raters of the same person and quarter
        "lenient_raters": [
            {"rater": police.dept_leader("交通管理大队"), "unit": police.unit,
             "role": "上级", "bias": 8.0},
            {"rater": court.member(4, 2), "unit": court.unit, "role": "互评", "bias": 8.0},
        ],
        "harsh_raters": [
            {"rater": finance.dept_leader("预算科"), "unit": finance.unit,
             "role": "上级", "bias": -8.0},
            {"rater": police_bei.member(5, 1), "unit": police_bei.unit,
             "role": "互评", "bias": -8.0},
        ],
        # (e) hours per logged day and share of working days logged
        "overloaded_depts": [
            {"unit": police.unit, "dept": "刑事侦查大队", "hours": 9.75, "coverage": 0.995},
            {"unit": "南川县公安局", "dept": "治安管理大队", "hours": 9.75, "coverage": 0.995},
        ],
        "underloaded_depts": [
            {"unit": "西岭区教育局", "dept": "督导室", "hours": 4.6, "coverage": 0.92},
            {"unit": f"{CITY}生态环境局", "dept": "大气环境科", "hours": 4.6,
             "coverage": 0.92},
        ],
        # (f) annual 优秀 against the rules in DOMAIN.md
        "annual_violations": {
            "excellent_with_general": [
                {"person_id": u(f"{CITY}人民检察院").member(3, 1), "year": 2024,
                 "general_period": "2024Q2"},
                {"person_id": u("西岭区公安分局").member(4, 2), "year": 2024,
                 "general_period": "2024Q2"},
            ],
            "excellent_low_average": [
                {"person_id": u(f"国家税务总局{CITY}税务局").member(2, 1), "year": 2025},
                {"person_id": u("东湖区卫生健康局").member(1, 1), "year": 2025},
            ],
            "excellent_without_good": [
                {"person_id": u("南川县人民法院").member(2, 1), "year": 2023},
                {"person_id": u(f"{CITY}人力资源和社会保障局").member(3, 1), "year": 2023},
            ],
            "excellent_quota": [
                {"unit": f"{CITY}中级人民法院", "year": 2024, "target_share": 0.4},
            ],
        },
        # (g) pilots (units.is_pilot) differentiate better after joining; controls do not
        "pilot_units": ["东湖区司法局", "西岭区市场监督管理局", "南川县卫生健康局"],
        "pilot_since": "2024Q1",
        "control_units": ["北原县司法局", "东湖区市场监督管理局", "北原县卫生健康局"],
    }


PLANTED: dict = planted_for(SCALES["small"])


# --- Generation ------------------------------------------------------------------------------

@dataclass
class DemoSummary:
    seed: int
    scale: str
    rows: dict[str, int] = field(default_factory=dict)  # per kind, plus worklog_daily
    batch_ids: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # CPU time of the whole process (every thread) during the build

    @property
    def counts(self) -> dict[str, int]:
        """Rows per kind (without the worklog_daily pre-aggregate)."""
        return {k: v for k, v in self.rows.items() if k in store.KIND_TABLES}


def _u(tag: str, *keys: str) -> str:
    """SQL for a pseudo-random number in [0, 1) from the seed, a constant tag and row keys.

    DuckDB's multi-argument ``hash(a, b)`` combines the argument hashes too weakly for this
    (keys that differ a little give nearly the same top bits), so each key is folded in with
    ``hash(xor(h, hash(key)))``: hashing a UBIGINT applies a full 64-bit mixer.
    """
    expr = f"hash($seed::BIGINT, '{tag}')"
    for key in keys:
        expr = f"hash(xor({expr}, hash({key})))"
    return f"(({expr} >> 11)::DOUBLE / 9007199254740992.0)"


def _n(tag: str, *keys: str) -> str:
    """SQL for a standard normal number (Box-Muller on two hash uniforms)."""
    return (f"(sqrt(-2 * ln(1 - {_u(tag + '.a', *keys)}))"
            f" * cos(2 * pi() * {_u(tag + '.b', *keys)}))")


def _period_index(scale: Scale, period: str) -> int:
    return _periods(scale).index(period)


def _frames(scale: Scale, planted: dict) -> dict[str, pd.DataFrame]:
    """The small constant tables the SQL joins against."""
    units = layout(scale)
    flat = set(planted["inflated_flat_units"])
    pilots = set(planted["pilot_units"])
    controls = set(planted["control_units"])
    inflating = planted["inflating_unit"]
    tiny = planted["tiny_unit"]["unit"]
    pilot_idx = _period_index(scale, planted["pilot_since"])
    rows = []
    for k, u in enumerate(units):
        if u.unit in flat:
            mode = "flat"
        elif u.unit == inflating["unit"]:
            mode = "inflate"
        elif u.unit == tiny:
            mode = "tiny"
        elif u.unit in pilots:
            mode = "pilot"
        elif u.unit in controls:
            mode = "control"
        else:
            mode = "normal"
        cat1, p1, cat2, p2 = _CATEGORIES[u.sector]
        if u.level == "乡镇街道":
            head = "主任" if u.unit.endswith("街道") else u.unit[-1] + "长"
        elif u.sector in ("卫健", "发改") and u.unit.endswith("委员会"):
            head = "主任"
        else:
            head = _HEAD_TITLE.get(u.sector, "局长")
        rows.append({
            "ord": k, "unit": u.unit, "district": u.district, "level": u.level,
            "sector": u.sector, "size": u.size, "start": u.start, "n_depts": u.n_depts,
            "mode": mode, "is_pilot": u.unit in pilots,
            "pilot_since": planted["pilot_since"] if u.unit in pilots else None,
            "pilot_idx": pilot_idx if mode in ("pilot", "control") else None,
            "inflate_idx": _period_index(scale, inflating["from"]) if mode == "inflate" else None,
            "int_scores": mode == "normal" and _stable_fraction("int" + u.unit) < 0.3,
            "cat1": cat1, "p1": p1, "cat2": cat2, "p2": p2, "head_title": head,
        })
    unit_frame = pd.DataFrame(rows)

    over = {(d["unit"], d["dept"]): d for d in planted["overloaded_depts"]}
    under = {(d["unit"], d["dept"]): d for d in planted["underloaded_depts"]}
    dept_rows = []
    for u in units:
        for j in range(u.n_depts):
            dept = _DEPTS[u.sector][j]
            special = over.get((u.unit, dept)) or under.get((u.unit, dept))
            dept_rows.append({
                "unit": u.unit, "dept_idx": j, "dept": dept,
                "leader_title": _dept_leader_title(dept),
                "hours_base": special["hours"] if special else 7.75,
                "coverage": special["coverage"] if special else 0.97,
                "planted": bool(special),
            })
    missing = [key for key in (*over, *under)
               if not any((r["unit"], r["dept"]) == key for r in dept_rows)]
    if missing:
        raise DemoError(f"演示数据布局有误：找不到科室 {missing}")

    periods = _periods(scale)
    period_frame = pd.DataFrame({
        "period": periods,
        "year": [int(p[:4]) for p in periods],
        "quarter": [int(p[-1]) for p in periods],
        "pidx": list(range(len(periods))),
    })

    # Forced quarterly scores for the annual-rule breaches (f).
    forced_q, forced_a = [], []
    av = planted["annual_violations"]
    for item in av["excellent_with_general"]:
        y = item["year"]
        for q, s in zip((1, 2, 3, 4), (93.0, 76.5, 94.0, 93.0), strict=True):
            forced_q.append((item["person_id"], f"{y}Q{q}", s, "好" if s >= 90 else "一般"))
        forced_a.append((item["person_id"], y))
    for item in av["excellent_low_average"]:
        y = item["year"]
        for q, s in zip((1, 2, 3, 4), (93.0, 81.0, 80.5, 81.5), strict=True):
            forced_q.append((item["person_id"], f"{y}Q{q}", s, "好" if s >= 90 else "较好"))
        forced_a.append((item["person_id"], y))
    for item in av["excellent_without_good"]:
        y = item["year"]
        for q, s in zip((1, 2, 3, 4), (86.5, 86.0, 86.8, 86.2), strict=True):
            forced_q.append((item["person_id"], f"{y}Q{q}", s, "较好"))
        forced_a.append((item["person_id"], y))
    forced_q_frame = pd.DataFrame(
        forced_q, columns=["person_id", "period", "score", "grade"])
    forced_a_frame = pd.DataFrame(forced_a, columns=["person_id", "year"])
    quota_frame = pd.DataFrame(
        [(q["unit"], q["year"], q["target_share"]) for q in av["excellent_quota"]],
        columns=["unit", "year", "share"])
    bias_frame = pd.DataFrame(
        [(r["rater"], r["bias"]) for r in planted["lenient_raters"] + planted["harsh_raters"]],
        columns=["person_id", "bias"])
    all_good_frame = pd.DataFrame(
        [(planted["tiny_unit"]["unit"], p) for p in planted["tiny_unit"]["all_good_periods"]],
        columns=["unit", "period"])
    sectors = sorted({u.sector for u in units})
    content_rows = []
    for sector in sectors:
        texts = list(_GENERIC_CONTENT) + list(_SECTOR_CONTENT[sector])
        content_rows += [(sector, i, t) for i, t in enumerate(texts)]
    content_frame = pd.DataFrame(content_rows, columns=["sector", "idx", "content"])
    comment_frame = pd.DataFrame(
        [(r, i, c) for r, cs in _COMMENTS.items() for i, c in enumerate(cs)],
        columns=["rating", "idx", "comment"])
    comment_counts = pd.DataFrame(
        [(r, len(cs)) for r, cs in _COMMENTS.items()], columns=["rating", "n"])
    return {
        "_demo_units": unit_frame, "_demo_depts": pd.DataFrame(dept_rows),
        "_demo_periods": period_frame, "_demo_forced_q": forced_q_frame,
        "_demo_forced_a": forced_a_frame, "_demo_quota": quota_frame,
        "_demo_bias": bias_frame, "_demo_all_good": all_good_frame,
        "_demo_contents": content_frame, "_demo_comments": comment_frame,
        "_demo_comment_n": comment_counts,
    }


_CONTENT_PER_SECTOR = len(_GENERIC_CONTENT) + 6


def _people_sql() -> str:
    pid = "ids.person_id"
    return f"""
    CREATE TEMP TABLE _demo_people AS
    WITH base AS (
        SELECT u.unit, u.sector, u.mode, u.n_depts, u.head_title, u.cat1, u.p1, u.cat2, u.p2,
               u.start, u.size, unnest(range(u.size)) AS i
        FROM _demo_units u
    ), ids0 AS (
        SELECT *, printf('P%05d', start + i + 1) AS person_id, i % n_depts AS dept_idx,
               i < n_depts AS is_leader
        FROM base
    ), ids AS (
        -- one designated weak performer per unit of 10 or more (so that every normal unit
        -- shows some 一般 over three years), besides about 1 % weak people at random
        SELECT *, row_number() OVER (PARTITION BY unit ORDER BY is_leader,
                  {_u('weakpick', 'person_id')}, person_id) AS weak_rank
        FROM ids0
    )
    SELECT ids.person_id, ids.unit, ids.sector, ids.mode, ids.i, ids.size, ids.dept_idx,
           d.dept, ids.is_leader,
           CASE WHEN ids.i = 0 THEN NULL WHEN ids.i < ids.n_depts THEN 0
                ELSE ids.dept_idx END AS superior_i,
           CASE WHEN ids.is_leader THEN '综合管理类'
                WHEN {_u('cat', pid)} < ids.p1 THEN ids.cat1
                WHEN {_u('cat', pid)} < ids.p1 + ids.p2 THEN ids.cat2
                ELSE '综合管理类' END AS category,
           CASE WHEN ids.i = 0 THEN ids.head_title
                WHEN ids.is_leader THEN d.leader_title
                ELSE list_extract($ranks, 1 + floor({_u('rank', pid)} * len($ranks))::INT)
           END AS position,
           3.0 * {_n('pe', pid)}
             - CASE WHEN {_u('weak', pid)} < 0.006 THEN 10
                    WHEN ids.weak_rank = 1 AND ids.size >= 10 THEN 8 ELSE 0 END AS person_eff,
           d.hours_base * (1 + CASE WHEN d.planted THEN 0
                                    ELSE 0.03 * {_n('dh', 'ids.unit', 'ids.dept_idx')} END)
             * (1 + 0.05 * {_n('hf', pid)}) AS hours_mean,
           d.coverage,
           coalesce(b.bias, 0.8 * {_n('rb', pid)}) AS rater_bias,
           NULL::VARCHAR AS name,
           NULL::VARCHAR AS superior_id,
           NULL::VARCHAR AS superior_name
    FROM ids
    JOIN _demo_depts d ON d.unit = ids.unit AND d.dept_idx = ids.dept_idx
    LEFT JOIN _demo_bias b ON b.person_id = ids.person_id
    """


def _name_sql(attempt: int) -> str:
    keys = ("person_id", str(attempt))
    return f"""
    list_extract($surnames, 1 + floor({_u('sn', *keys)} * len($surnames))::INT)
    || list_extract($given, 1 + floor({_u('g1', *keys)} * len($given))::INT)
    || CASE WHEN {_u('g2n', *keys)} < 0.7
            THEN list_extract($given, 1 + floor({_u('g2', *keys)} * len($given))::INT)
            ELSE '' END
    """


def _pq_sql() -> str:
    """Person-quarter scores and grades (rated rows) plus 不确定等次 rows."""
    pid = "p.person_id"
    return f"""
    CREATE TEMP TABLE _demo_pq AS
    WITH units AS (
        SELECT *, 86 + 0.8 * {_n('um', 'unit')} AS unit_mean FROM _demo_units
    ), pp AS (
        SELECT p.person_id, p.unit, p.i, p.is_leader, p.superior_id, p.superior_name,
               p.person_eff, u.mode, u.int_scores, u.pilot_idx, u.inflate_idx, u.unit_mean,
               per.period, per.year, per.quarter, per.pidx,
               f.score AS forced_score,
               f.grade AS forced_grade,
               coalesce(f.grade = '好', false) AS force_good,
               coalesce(f.grade <> '好', false) AS force_no_good,
               fa.person_id IS NOT NULL AS forced_year,
               ag.unit IS NOT NULL AS all_good,
               {_n('qn', pid, 'per.period')} * 2.5 AS noise,
               {_n('uq', 'p.unit', 'per.period')} * 0.6 AS unit_q,
               {_u('unc', pid, 'per.period')} < 0.01
                 OR ({_u('leave', pid, 'per.year')} < 0.004 AND per.quarter IN (2, 3))
                 AS uncertain0
        FROM _demo_people p
        JOIN units u ON u.unit = p.unit
        CROSS JOIN _demo_periods per
        LEFT JOIN _demo_forced_q f ON f.person_id = p.person_id AND f.period = per.period
        LEFT JOIN _demo_forced_a fa ON fa.person_id = p.person_id AND fa.year = per.year
        LEFT JOIN _demo_all_good ag ON ag.unit = p.unit AND ag.period = per.period
    ), raw AS (
        SELECT *,
            uncertain0 AND NOT forced_year AS uncertain,
            (mode = 'control' OR (mode = 'pilot' AND pidx < pilot_idx)) AS compressed,
            CASE
              WHEN forced_score IS NOT NULL THEN forced_score
              WHEN mode = 'flat' THEN 90 + 2 * {_u('flat', 'person_id', 'period')}
              WHEN mode = 'control' OR (mode = 'pilot' AND pidx < pilot_idx)
                THEN 88 + (unit_mean - 86) + 0.3 * (person_eff + noise)
              ELSE unit_mean + unit_q + person_eff + noise
                   + CASE WHEN mode = 'inflate' AND pidx >= inflate_idx THEN 3.5 ELSE 0 END
            END AS s0
        FROM pp
    ), scored AS (
        SELECT *,
            CASE WHEN forced_score IS NOT NULL THEN forced_score
                 WHEN mode = 'flat' THEN round(s0, 1)
                 WHEN int_scores THEN round(least(99.4, greatest(50, s0)))
                 ELSE round(least(99.4, greatest(50,
                        CASE WHEN all_good THEN greatest(s0, 82) ELSE s0 END)), 1)
            END AS score
        FROM raw
    ), ranked AS (
        SELECT *,
            row_number() OVER (PARTITION BY unit, period
                ORDER BY force_good DESC, force_no_good ASC, score DESC, person_id) AS r,
            count(*) OVER (PARTITION BY unit, period) AS n
        FROM scored WHERE NOT uncertain
    ), graded AS (
        SELECT *,
            CASE
              WHEN mode = 'flat' THEN n - CASE WHEN {_u('fk', 'unit', 'period')} < 0.5
                                               THEN 1 ELSE 0 END
              WHEN mode = 'inflate' AND pidx >= inflate_idx THEN round(0.85 * n)
              WHEN all_good THEN n
              WHEN compressed THEN floor(0.4 * n)
              ELSE least(floor(0.4 * n),
                         round(n * (0.25 + 0.10 * {_u('kq', 'unit', 'period')})))
            END AS k_good
        FROM ranked
    )
    SELECT person_id, unit, i, is_leader, superior_id, superior_name, period, year, quarter,
           pidx, false AS uncertain, score,
           CASE WHEN forced_grade IS NOT NULL THEN forced_grade
                WHEN score < unit_mean - 14 THEN '较差'
                WHEN score < unit_mean - 8 THEN '一般'
                WHEN r <= k_good THEN '好'
                ELSE '较好' END AS grade
    FROM graded
    UNION ALL
    SELECT person_id, unit, i, is_leader, superior_id, superior_name, period, year, quarter,
           pidx, true, NULL, '不确定等次'
    FROM scored WHERE uncertain
    """


def _quarterly_sql() -> str:
    return """
    INSERT INTO quarterly
    SELECT person_id, period, year, quarter, score, grade,
           de / 10, neng / 10, qin / 10, (t - de - neng - qin - lian) / 10, lian / 10,
           NULL, NULL,
           coalesce(superior_name, unit || '考核委员会'), $batch
    FROM (
        SELECT *, round(score * 10) AS t,
               round(round(score * 10) * 0.15) AS de, round(round(score * 10) * 0.25) AS neng,
               round(round(score * 10) * 0.15) AS qin, round(round(score * 10) * 0.10) AS lian
        FROM _demo_pq
    )
    ORDER BY period, person_id
    """


def _ratings_sql() -> str:
    clip = "round(least(100, greatest(0, {x})), 1)"
    rated = "SELECT * FROM _demo_pq WHERE NOT uncertain"
    self_score = clip.format(x=f"q.score + 2.5 + 2 * {_n('self', 'q.person_id', 'q.period')}")
    sup_score = clip.format(
        x=f"q.score + s.rater_bias + 2.5 * {_n('sup', 'q.person_id', 'q.period')}")
    peer_score = clip.format(
        x=f"q.score + r.rater_bias + 2.5 * {_n('peer', 'q.person_id', 'r.person_id', 'q.period')}")
    return f"""
    INSERT INTO ratings
    WITH rated AS ({rated}),
    candidates AS (
        -- up to four colleagues at consecutive offsets from a random start (never oneself);
        -- the superior, who rates as 上级, is skipped, and the first three remain
        SELECT q.person_id, q.period, q.year, q.quarter, q.score, q.unit, q.pidx, j.j,
               (q.i + off.r0 + j.j) % p.size AS peer_i, p.superior_i
        FROM rated q
        JOIN _demo_people p ON p.person_id = q.person_id
        CROSS JOIN LATERAL (
            SELECT least(4, p.size - 1) AS m,
                   1 + floor({_u('po', 'q.person_id', 'q.period')}
                             * (p.size - least(4, p.size - 1)))::INT AS r0
        ) off
        CROSS JOIN range(4) j(j)
        WHERE j.j < off.m
    ), peers AS (
        SELECT * FROM (
            SELECT *, row_number() OVER (PARTITION BY person_id, period ORDER BY j) AS pick
            FROM candidates WHERE peer_i IS DISTINCT FROM superior_i
        ) WHERE pick <= 3
    )
    SELECT q.person_id, q.person_id, '自评', q.period, q.year, q.quarter, {self_score}, $batch
    FROM rated q
    UNION ALL
    SELECT q.person_id, s.person_id, '上级', q.period, q.year, q.quarter, {sup_score}, $batch
    FROM rated q
    JOIN _demo_people s ON s.person_id = q.superior_id
    JOIN rated sq ON sq.person_id = s.person_id AND sq.period = q.period
    UNION ALL
    SELECT q.person_id, r.person_id, '互评', q.period, q.year, q.quarter, {peer_score}, $batch
    FROM peers q
    JOIN _demo_people r ON r.unit = q.unit AND r.i = q.peer_i
    JOIN rated rq ON rq.person_id = r.person_id AND rq.period = q.period
    ORDER BY 4, 1, 3, 2
    """


def _days_sql(scale: Scale) -> str:
    one, two = scale.entry_split
    pid = "p.person_id"
    day = "d.day"
    return f"""
    CREATE TEMP TABLE _demo_pd AS
    WITH wd AS (
        SELECT day, year(day) AS year, quarter(day) AS quarter,
               (year(day) - $y0) * 4 + quarter(day) - 1 AS pidx
        FROM workday_calendar
        WHERE is_workday AND day BETWEEN $first AND $last
    ), unc AS (
        SELECT person_id, pidx FROM _demo_pq WHERE uncertain
    ), pd AS (
        SELECT p.person_id, p.sector, d.day AS work_date,
               greatest(2, least(28, round(2 * (p.hours_mean
                   + 0.8 * {_n('h', pid, day)}))))::INT AS hh,
               {_u('k', pid, day)} AS uk
        FROM _demo_people p
        JOIN _demo_units u ON u.unit = p.unit
        CROSS JOIN wd d
        ANTI JOIN unc ON unc.person_id = p.person_id AND unc.pidx = d.pidx
        WHERE {_u('cov', pid, day)} <
              CASE WHEN u.mode = 'control' OR (u.mode = 'pilot' AND d.pidx < u.pilot_idx)
                        THEN 0.90
                   WHEN u.mode = 'pilot' THEN 0.985
                   ELSE p.coverage END
    ), k AS (
        SELECT *, least(hh, CASE WHEN uk < {one!r} THEN 1 WHEN uk < {two!r} THEN 2 ELSE 3 END)::INT
                  AS k
        FROM pd
    ), h1 AS (
        SELECT *,
            CASE WHEN k = 1 THEN hh
                 ELSE 1 + floor({_u('s1', 'person_id', 'work_date')} * (hh - k + 1))::INT
            END AS h1
        FROM k
    )
    SELECT *,
        CASE WHEN k = 1 THEN 0 WHEN k = 2 THEN hh - h1
             ELSE 1 + floor({_u('s2', 'person_id', 'work_date')} * (hh - h1 - 1))::INT
        END AS h2,
        floor({_u('c0', 'person_id', 'work_date')} * {_CONTENT_PER_SECTOR})::INT AS c0,
        1 + floor({_u('cs', 'person_id', 'work_date')}
                  * ({_CONTENT_PER_SECTOR // 2} - 1))::INT AS cs
    FROM h1
    """


def _log_chunks(first: dt.date, last: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """[first, last] cut into pieces of ``months`` calendar months (first and last days)."""
    chunks = []
    lo = first
    while lo <= last:
        k = lo.year * 12 + lo.month - 1 + months
        hi = min(last, dt.date(k // 12, k % 12 + 1, 1) - dt.timedelta(days=1))
        chunks.append((lo, hi))
        lo = hi + dt.timedelta(days=1)
    return chunks


def _worklogs_sql() -> str:
    return f"""
    INSERT INTO worklogs
    SELECT e.person_id, e.work_date, e.hours, c.content, NULL,
           CASE WHEN {_u('prog', 'e.person_id', 'e.work_date', 'e.j')} < 0.85
                THEN '已完成' ELSE '推进中' END,
           NULL, $batch
    FROM (
        SELECT pd.person_id, pd.sector, pd.work_date, j.j,
               (CASE j.j WHEN 0 THEN h1 WHEN 1 THEN h2 ELSE hh - h1 - h2 END) / 2.0 AS hours,
               (c0 + j.j * cs) % {_CONTENT_PER_SECTOR} AS idx
        FROM _demo_pd pd CROSS JOIN range(3) j(j)
        WHERE j.j < pd.k
    ) e
    JOIN _demo_contents c ON c.sector = e.sector AND c.idx = e.idx
    ORDER BY e.work_date, e.person_id, e.j
    """


def _monthly_sql() -> str:
    return f"""
    INSERT INTO monthly
    WITH months AS (
        SELECT date_trunc('month', day)::DATE AS month, count(*) AS workdays,
               (year(day) - $y0) * 4 + quarter(day) - 1 AS pidx
        FROM workday_calendar
        WHERE is_workday AND day BETWEEN $first AND $last
        GROUP BY ALL
    ), hours AS (
        SELECT person_id, month, sum(hh) / 2.0 AS h FROM _demo_hours GROUP BY ALL
    ), base AS (
        SELECT p.person_id, mo.month, mo.workdays, coalesce(h.h, 0) AS h,
               p.hours_mean < 6 AS light
        FROM _demo_people p
        CROSS JOIN months mo
        ANTI JOIN (SELECT person_id, pidx FROM _demo_pq WHERE uncertain) unc
            ON unc.person_id = p.person_id AND unc.pidx = mo.pidx
        LEFT JOIN hours h ON h.person_id = p.person_id AND h.month = mo.month
    ), m AS (
        SELECT *, h / (workdays * 8.0) AS sat,
            CASE WHEN light THEN 3 + floor({_u('pl', 'person_id', 'month')} * 5)
                 ELSE 6 + floor({_u('pl', 'person_id', 'month')} * 10) END::INT AS planned,
            {_u('dn', 'person_id', 'month')} AS ud
        FROM base
    ), r AS (
        SELECT *,
            greatest(0, planned - CASE WHEN ud < 0.6 THEN 0 WHEN ud < 0.9 THEN 1 ELSE 2 END)::INT
                AS done,
            CASE WHEN sat >= 0.9 THEN '饱满' WHEN sat >= 0.75 THEN '较饱满'
                 WHEN sat >= 0.6 THEN '一般' ELSE '不饱满' END AS rating
        FROM m
    )
    SELECT r.person_id, r.month, r.planned, r.done, r.rating, c.comment, $batch
    FROM r
    JOIN _demo_comment_n cn ON cn.rating = r.rating
    JOIN _demo_comments c ON c.rating = r.rating
        AND c.idx = floor({_u('cm', 'r.person_id', 'r.month')} * cn.n)::INT
    ORDER BY r.month, r.person_id
    """


def _annual_sql() -> str:
    return f"""
    INSERT INTO annual
    WITH py AS (
        SELECT person_id, unit, year,
               count(*) FILTER (WHERE uncertain) AS n_unc,
               -- an exact sum of tenths: the same result whatever the thread order
               sum(round(score * 10))::BIGINT / (10.0 * count(score)) AS avg_score,
               count(*) FILTER (WHERE grade = '好') AS n_good,
               count(*) FILTER (WHERE grade IN ('一般', '较差')) AS n_low,
               count(*) FILTER (WHERE grade = '较差') AS n_poor
        FROM _demo_pq GROUP BY ALL
    ), flags AS (
        SELECT py.*, fa.person_id IS NOT NULL AS forced, q.share AS quota_share,
               CASE WHEN n_unc >= 2 AND fa.person_id IS NULL THEN '不定等次'
                    WHEN fa.person_id IS NOT NULL THEN '优秀'
                    WHEN n_poor >= 2 THEN '不称职'
                    WHEN n_low >= 2 OR avg_score < 75 THEN '基本称职'
                    ELSE NULL END AS fixed_grade,
               (fa.person_id IS NOT NULL)
                 OR (n_unc < 2 AND n_good >= 1 AND n_low = 0 AND avg_score >= 85)
                 AS eligible
        FROM py
        LEFT JOIN _demo_forced_a fa ON fa.person_id = py.person_id AND fa.year = py.year
        LEFT JOIN _demo_quota q ON q.unit = py.unit AND q.year = py.year
    ), counted AS (
        SELECT *,
            count(*) FILTER (WHERE coalesce(fixed_grade, '') <> '不定等次')
                OVER (PARTITION BY unit, year) AS n_rated,
            CASE WHEN eligible THEN row_number() OVER (
                PARTITION BY unit, year, eligible ORDER BY forced DESC, avg_score DESC,
                person_id) END AS exc_rank
        FROM flags
    ), graded AS (
        SELECT *,
            coalesce(fixed_grade,
                CASE WHEN eligible AND exc_rank <= CASE WHEN quota_share IS NOT NULL
                                                        THEN ceil(quota_share * n_rated)
                                                        ELSE floor(0.2 * n_rated) END
                     THEN '优秀' ELSE '称职' END) AS grade
        FROM counted
    )
    SELECT person_id, year, grade,
           CASE WHEN grade = '不定等次' THEN NULL
                ELSE round(least(100, avg_score + 0.8 * {_n('as', 'person_id', 'year')}), 1)
           END,
           CASE WHEN grade = '不定等次' THEN NULL ELSE round(avg_score, 2) END,
           $batch
    FROM graded
    ORDER BY year, person_id
    """


_TEMP_TABLES = ("_demo_units", "_demo_depts", "_demo_periods", "_demo_forced_q",
                "_demo_forced_a", "_demo_quota", "_demo_bias", "_demo_all_good",
                "_demo_contents", "_demo_comments", "_demo_comment_n", "_demo_people",
                "_demo_pq", "_demo_pd", "_demo_hours")


@contextmanager
def _build_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """At most two threads (the target machine has two cores; results do not depend on the
    thread count) and no progress bar while the demo is built; the previous values come back."""
    threads = int(store.scalar(con, "SELECT current_setting('threads')"))
    progress = bool(store.scalar(con, "SELECT current_setting('enable_progress_bar')"))
    con.execute(f"SET threads = {min(threads, 2)}")
    con.execute("SET enable_progress_bar = false")
    try:
        yield
    finally:
        con.execute(f"SET threads = {threads}")
        con.execute(f"SET enable_progress_bar = {str(progress).lower()}")


def build_demo(con: duckdb.DuckDBPyConnection, seed: int = DEFAULT_SEED,
               scale: str | Scale = "small") -> DemoSummary:
    """Fill an empty store with the demo city; returns row counts and the time taken.

    ``scale`` is a name in ``SCALES`` or a ``Scale`` (e.g. a reduced variant for tests).
    Raises ``DemoError`` if the store already holds data or the scale is unknown. Everything
    is written in one transaction: on any error nothing is stored.
    """
    started, cpu = time.perf_counter(), time.process_time()
    if isinstance(scale, Scale):
        sc = scale
    elif scale in SCALES:
        sc = SCALES[scale]
    else:
        raise DemoError(f"未知的演示数据规模：{scale}（可选：{'、'.join(SCALES)}）")
    seed = int(seed)
    if not store.is_empty(con) or store.scalar(con, "SELECT count(*) FROM worklog_daily"):
        raise DemoError(
            "数据库中已有数据，不能生成演示数据。演示数据只能写入空的数据库："
            "请换用新的数据库文件，或先在「数据导入」页撤销已导入的批次。"
        )
    first, last = dt.date(sc.years[0], 1, 1), dt.date(sc.years[-1], 12, 31)
    calendar_days = store.scalar(
        con, "SELECT count(*) FROM workday_calendar WHERE day BETWEEN ? AND ?", [first, last])
    if calendar_days != (last - first).days + 1:
        raise DemoError("工作日历不完整，无法生成演示数据：请先运行数据库初始化（fill_calendar）。")

    planted = PLANTED if sc == SCALES["small"] else planted_for(sc)
    frames = _frames(sc, planted)
    base_batch = (store.scalar(con, "SELECT coalesce(max(batch_id), 0) FROM import_batch") or 0)
    batch_ids = {kind: base_batch + k + 1 for k, kind in enumerate(store.KIND_TABLES)}
    lists = {"ranks": list(_RANKS), "surnames": list(_SURNAMES), "given": list(_GIVEN)}

    with _build_settings(con), store.transaction(con):
        for name in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        for name, frame in frames.items():
            view = name + "_df"
            con.register(view, frame)
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {view}")
            con.unregister(view)

        con.execute(_people_sql(), {"seed": seed, "ranks": lists["ranks"]})
        _assign_names(con, seed, lists)
        con.execute("""
            UPDATE _demo_people AS p SET superior_id = s.person_id, superior_name = s.name
            FROM _demo_people s WHERE s.unit = p.unit AND s.i = p.superior_i
        """)
        con.execute(_pq_sql(), {"seed": seed})

        con.execute("""
            INSERT INTO units
            SELECT unit, district, level, sector, is_pilot, pilot_since, false, $batch
            FROM _demo_units ORDER BY ord
        """, {"batch": batch_ids["units"]})
        con.execute("""
            INSERT INTO people
            SELECT person_id, name, unit, NULL, dept, category, position, is_leader, false,
                   $batch
            FROM _demo_people ORDER BY person_id
        """, {"batch": batch_ids["people"]})
        con.execute(_quarterly_sql(), {"batch": batch_ids["quarterly"]})
        con.execute(_ratings_sql(), {"seed": seed, "batch": batch_ids["ratings"]})
        # Person-days, their log rows and the daily pre-aggregate, a few months at a time: the
        # sorts stay small and memory flat. Each chunk is sorted and the chunks come in date
        # order, so the tables are stored ordered by (work_date, person_id) as one sort would.
        con.execute("CREATE TEMP TABLE _demo_hours (person_id VARCHAR, month DATE, hh BIGINT)")
        for lo, hi in _log_chunks(first, last, sc.log_chunk_months):
            con.execute("DROP TABLE IF EXISTS _demo_pd")
            con.execute(_days_sql(sc), {"seed": seed, "first": lo, "last": hi, "y0": first.year})
            con.execute(_worklogs_sql(), {"seed": seed, "batch": batch_ids["worklogs"]})
            con.execute("""
                INSERT INTO worklog_daily
                SELECT person_id, work_date, hh / 2.0, k FROM _demo_pd ORDER BY work_date, person_id
            """)
            con.execute("""
                INSERT INTO _demo_hours
                SELECT person_id, date_trunc('month', work_date)::DATE, sum(hh) FROM _demo_pd
                GROUP BY ALL
            """)
        store.refresh_worklog_monthly(con)
        store.refresh_rating_gaps(con)
        store.refresh_grade_counts(con)
        con.execute(_monthly_sql(), {"seed": seed, "batch": batch_ids["monthly"], "first": first,
                                     "last": last, "y0": first.year})
        con.execute(_annual_sql(), {"seed": seed, "batch": batch_ids["annual"]})

        rows = store.counts(con)
        rows["worklog_daily"] = store.scalar(con, "SELECT count(*) FROM worklog_daily")
        now = dt.datetime.now().replace(microsecond=0)
        for kind, batch in batch_ids.items():
            con.execute(
                "INSERT INTO import_batch (batch_id, file_name, sheet, kind, content_hash, rows,"
                " imported_at, imported_by, is_demo) VALUES (?, ?, NULL, ?, ?, ?, ?, 'demo', true)",
                [batch, DEMO_FILE_NAME, kind, f"demo:{seed}:{kind}", rows[kind], now],
            )
        for name in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {name}")

    return DemoSummary(seed=seed, scale=sc.name, rows=rows, batch_ids=batch_ids,
                       seconds=round(time.perf_counter() - started, 3),
                       cpu_seconds=round(time.process_time() - cpu, 3))


def _assign_names(con: duckdb.DuckDBPyConnection, seed: int, lists: dict) -> None:
    """Names from the seed, unique within a unit (a few passes re-draw the duplicates)."""
    params = {"seed": seed, "surnames": lists["surnames"], "given": lists["given"]}
    con.execute(f"UPDATE _demo_people SET name = {_name_sql(0)}", params)
    for attempt in range(1, 20):
        dupes = store.scalar(con, """
            SELECT count(*) FROM (
                SELECT row_number() OVER (PARTITION BY unit, name ORDER BY person_id) AS rn
                FROM _demo_people) WHERE rn > 1
        """)
        if not dupes:
            return
        con.execute(f"""
            UPDATE _demo_people SET name = {_name_sql(attempt)}
            WHERE person_id IN (
                SELECT person_id FROM (
                    SELECT person_id, row_number() OVER (
                        PARTITION BY unit, name ORDER BY person_id) AS rn
                    FROM _demo_people) WHERE rn > 1)
        """, params)
    raise DemoError("演示数据生成失败：无法为同一单位的人员生成不重复的姓名。")


def describe(summary: DemoSummary) -> str:
    """One line for the command line and the app (Chinese)."""
    r = summary.rows
    return (f"已生成演示数据（{CITY}，种子 {summary.seed}）：单位 {r.get('units', 0)} 个，"
            f"人员 {r.get('people', 0)} 人，平时考核 {r.get('quarterly', 0)} 条，"
            f"评价明细 {r.get('ratings', 0)} 条，工作日志 {r.get('worklogs', 0)} 条，"
            f"月度对账 {r.get('monthly', 0)} 条，年度考核 {r.get('annual', 0)} 条，"
            f"用时 {summary.seconds:.1f} 秒。")


__all__ = ["CITY", "DEFAULT_SEED", "PLANTED", "SCALES", "DemoError", "DemoSummary",
           "Scale", "build_demo", "describe", "layout", "planted_for"]

