"""Sample export files for trying the import page, derived from the store's units and people.

``write_samples(con, out_dir)`` writes one file per kind and quirk of the import contract
(docs EXPORTS.md) for periods the demo does not hold (2026Q1, January 2026), so that every file
except the deliberate error example loads onto the demo store without conflicts. It also writes
``README.md`` (Chinese) listing each file and the quirk it shows.

The files are deterministic for a given store (a fixed ``random.Random``; workbook timestamps are
pinned), so two runs on the same demo store write the same content.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics import store

QUARTER = "2026Q1"
MONTH = dt.date(2026, 1, 1)
_FIXED_TIME = dt.datetime(2026, 4, 3, 9, 0, 0)
_SAMPLE_SEED = 20260403

NEW_UNIT = "青崖市信访局"
ERROR_FILE = "含错误示例_季度结果.csv"

# File names (the kind is also hinted by the name, as clerks' files usually are).
F_QUARTERLY_XLSX = "平时考核结果_2026年第一季度_汇总表.xlsx"
F_QUARTERLY_XLS = "平时考核结果_2026年第一季度_旧版Excel.xls"
F_LOGS_GB = "工作日志_2026年1月_GB18030.csv"
F_LOGS_U16 = "工作日志_2026年1月_Unicode文本.txt"
F_MONTHLY = "月度对账_2026年1月.csv"
F_RATINGS = "评价明细_2026年第一季度_繁体表头.xlsx"
F_ROSTER = "单位名册及人员名册_新增单位.xlsx"


@dataclass
class _Person:
    person_id: str
    name: str
    unit: str
    dept: str | None
    is_leader: bool


def _fetch_people(con: duckdb.DuckDBPyConnection, unit: str, limit: int) -> list[_Person]:
    rows = con.execute(
        "SELECT person_id, name, unit, dept, coalesce(is_leader, false) FROM people "
        "WHERE unit = ? ORDER BY person_id LIMIT ?",
        [unit, limit],
    ).fetchall()
    return [_Person(*r) for r in rows]


def _pick_units(con: duckdb.DuckDBPyConnection, count: int) -> list[str]:
    """Units with 12 to 40 people (by name), spread over the list: deterministic per store."""
    rows = con.execute("""
        SELECT unit FROM people WHERE unit IS NOT NULL
        GROUP BY unit HAVING count(*) BETWEEN 12 AND 40 ORDER BY unit
    """).fetchall()
    units = [r[0] for r in rows]
    if len(units) < count:
        raise ValueError(f"数据库中至少需要 {count} 个 12–40 人的单位才能生成示例文件")
    step = len(units) // count
    return [units[i * step] for i in range(count)]


def _workdays(con: duckdb.DuckDBPyConnection, month: dt.date) -> list[dt.date]:
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    rows = con.execute(
        "SELECT day FROM workday_calendar WHERE is_workday AND day >= ? AND day < ? ORDER BY day",
        [month, end],
    ).fetchall()
    if rows:
        return [r[0] for r in rows]
    day, days = month, []
    while day < end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _elements(score: float) -> list[float]:
    """德 能 勤 绩 廉 (15/25/15/35/10) adding up to the score."""
    t = round(score * 10)
    de, neng, qin, lian = (round(t * w) for w in (0.15, 0.25, 0.15, 0.10))
    ji = t - de - neng - qin - lian
    return [de / 10, neng / 10, qin / 10, ji / 10, lian / 10]


def _grades(scores: list[float], share_good: float = 0.3) -> list[str]:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    k = max(1, int(len(scores) * share_good))
    grades = ["较好"] * len(scores)
    for rank, i in enumerate(order):
        if rank < k:
            grades[i] = "好"
        elif scores[i] < 78:
            grades[i] = "一般"
    return grades


_FULLWIDTH = str.maketrans("0123456789.QABC", "０１２３４５６７８９．ＱＡＢＣ")


def _fullwidth(text: str) -> str:
    return text.translate(_FULLWIDTH)


def _pin_times(wb) -> None:
    wb.properties.created = _FIXED_TIME
    wb.properties.modified = _FIXED_TIME


# --- the files ------------------------------------------------------------------------------


def _quarterly_xlsx(path: Path, people: list[_Person], rng: random.Random) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    scores = [round(rng.gauss(86, 4), 1) for _ in people]
    scores[0], scores[1] = 95.0, 93.0
    grades = _grades(scores)
    wb = Workbook()
    _pin_times(wb)
    ws = wb.active
    ws.title = "平时考核结果"
    headers = ["序号", "人员编号", "姓名", "单位", "考核周期", "考核要素得分", None, None, None,
               None, "得分", "等次", "考核人", "备注"]
    width = len(headers)
    ws.cell(1, 1, "2026年第一季度平时考核结果汇总表").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.cell(2, 1, "填报单位：（盖章）  填报日期：2026年4月3日")
    for col, text in enumerate(headers, start=1):
        if text is not None:
            ws.cell(3, col, text).alignment = Alignment(horizontal="center", vertical="center")
    for col, text in enumerate(["德", "能", "勤", "绩", "廉"], start=6):
        ws.cell(4, col, text).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=3, start_column=6, end_row=3, end_column=10)
    for col in (1, 2, 3, 4, 5, 11, 12, 13, 14):
        ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
    assessor = next((p.name for p in people if p.is_leader), people[0].name)
    row = 5
    for i, (p, score, grade) in enumerate(zip(people, scores, grades, strict=True)):
        score_cell: object = score
        grade_cell = grade
        period = "2026年第一季度"
        note = None
        if i == 0:
            score_cell = _fullwidth(f"{score:g}")  # ９５
        elif i == 1:
            score_cell = f"{score:g}分"  # 93分
            grade_cell = f"{grade}等次"  # 好等次
        elif i == 2:
            period = _fullwidth("2026Q1")  # ２０２６Ｑ１
        elif i == 3:
            score_cell = f"  {score:g} "  # a number stored as text, with spaces
        elif i == 4:
            note = "已核实"
        if grade_cell == "较好" and i in (5, 6):
            grade_cell = "較好"  # Traditional
        values = [i + 1, p.person_id, p.name, p.unit, period, *_elements(score), score_cell,
                  grade_cell, assessor, note]
        for col, value in enumerate(values, start=1):
            ws.cell(row, col, value)
        row += 1
    ws.cell(row, 1, "合计")
    ws.cell(row, 3, f"{len(people)}人")
    ws.cell(row, 11, round(sum(scores), 1))
    row += 2
    ws.cell(row, 1, "制表人：李文静  审核人：王志刚")
    ws.column_dimensions["D"].width = 24
    wb.save(path)


def _quarterly_xls(path: Path, people: list[_Person], rng: random.Random) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    ws.write(0, 0, "2026年第1季度平时考核结果（导出）")
    headers = ["人员编号", "姓名", "单位", "季度", "考核得分", "考核等次", "考核人"]
    for col, text in enumerate(headers):
        ws.write(1, col, text)
    letters = {"好": "A", "较好": "B", "一般": "C", "较差": "D", "不确定等次": "E"}
    by_unit: dict[str, list[_Person]] = {}
    for p in people:
        by_unit.setdefault(p.unit, []).append(p)
    row = 2
    for unit_people in by_unit.values():
        scores = [round(rng.gauss(85.5, 4)) for _ in unit_people]
        grades = _grades([float(s) for s in scores])
        leader = next((p.name for p in unit_people if p.is_leader), unit_people[0].name)
        for j, (p, score, grade) in enumerate(zip(unit_people, scores, grades, strict=True)):
            score_cell: object = score
            grade_cell = letters[grade]
            if j == len(unit_people) - 1:
                score_cell, grade_cell = "", letters["不确定等次"]  # not rated this quarter
            elif j % 4 == 1:
                score_cell = str(score)  # number stored as text
            for col, value in enumerate([p.person_id, p.name, p.unit, "2026-Q1", score_cell,
                                         grade_cell, leader]):
                ws.write(row, col, value)
            row += 1
    ws.write(row, 0, "说明：等次 A=好 B=较好 C=一般 D=较差 E=不确定等次")
    wb.save(str(path))


def _log_rows(people: list[_Person], days: list[dt.date], rng: random.Random,
              contents: list[str]) -> list[tuple[_Person, dt.date, float, str]]:
    rows = []
    for p in people:
        for day in days:
            if rng.random() < 0.05:
                continue  # on leave
            total = rng.choice([7.0, 7.5, 7.5, 8.0, 8.0, 8.5, 9.0])
            k = 1 if rng.random() < 0.45 else 2
            picked = rng.sample(contents, k)
            if k == 1:
                parts = [total]
            else:
                first = rng.choice([x / 2 for x in range(2, int(total * 2) - 1)])
                parts = [first, total - first]
            rows += [(p, day, h, c) for h, c in zip(parts, picked, strict=True)]
    return rows


_LOG_CONTENTS = ["处理日常公文", "参加单位例会", "起草工作总结", "办理群众来信", "整理归档业务资料",
                 "参加业务培训", "对接协调相关部门", "开展专项检查", "统计上报业务数据", "撰写调研报告"]


def _date_text(day: dt.date, k: int) -> str:
    forms = (f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日",
             f"{day.year}.{day.month}.{day.day}", day.isoformat())
    return forms[k % len(forms)]


def _hours_text(hours: float, k: int) -> str:
    forms = (f"{hours:g}小时", f"{hours:g}h", f"{hours:g}")
    return forms[k % len(forms)]


def _logs_gb18030(path: Path, rows: list, unit: str) -> None:
    buf = io.StringIO()
    buf.write(f"{unit}2026年1月工作日志（日记实）导出\r\n")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["人员编号", "姓名", "单位", "日期", "工时", "工作内容", "地点", "进度"])
    for k, (p, day, hours, content) in enumerate(rows):
        writer.writerow([p.person_id, p.name, p.unit, _date_text(day, k), _hours_text(hours, k),
                         content, "单位办公室" if k % 5 else "辖区现场", "已完成"])
    path.write_bytes(buf.getvalue().encode("gb18030"))


def _logs_utf16(path: Path, rows: list) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\r\n")
    writer.writerow(["人员编号", "姓名", "工作日期", "用时", "事项", "成效"])
    for p, day, hours, content in rows:
        writer.writerow([p.person_id, p.name, day.isoformat(), f"{hours:g}", content, ""])
    # Excel's "Unicode text": UTF-16 little-endian with a BOM, tab-separated.
    path.write_bytes(buf.getvalue().encode("utf-16"))


_SAT_COMMENT = {"饱满": "工作饱满，能按时完成各项任务", "较饱满": "完成情况良好",
                "一般": "工作量一般，需统筹安排", "不饱满": "工作量不饱满，建议调整分工"}


def _monthly_csv(path: Path, logs: list, workdays: int, rng: random.Random) -> None:
    hours: dict[str, float] = {}
    people: dict[str, _Person] = {}
    for p, _day, h, _c in logs:
        hours[p.person_id] = hours.get(p.person_id, 0.0) + h
        people[p.person_id] = p
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["人员编号", "姓名", "单位", "月份", "计划事项数", "完成事项数", "饱和度评价", "评语"])
    for k, (pid, p) in enumerate(sorted(people.items())):
        sat = hours[pid] / (workdays * 8)
        rating = ("饱满" if sat >= 0.9 else "较饱满" if sat >= 0.75
                  else "一般" if sat >= 0.6 else "不饱满")
        planned = rng.randint(6, 15)
        done = planned - rng.choice([0, 0, 0, 1, 1, 2])
        month = "2026-01" if k % 2 == 0 else "2026年1月"
        writer.writerow([pid, p.name, p.unit, month, planned, done, rating, _SAT_COMMENT[rating]])
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))


def _ratings_xlsx(path: Path, people: list[_Person], rng: random.Random) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    _pin_times(wb)
    ws = wb.active
    ws.title = "評價明細"
    ws.append(["人員編號", "被評價人", "單位", "評價人", "評價類型", "考核週期", "評分"])
    boss_of_all = next((p for p in people if p.is_leader), people[0])
    for i, p in enumerate(people):
        true = rng.gauss(86, 4)
        period = "2026年第1季度" if i % 2 else "2026年第一季度"
        ws.append([p.person_id, p.name, p.unit, p.person_id, "自評",
                   period, round(min(100, true + 2.5 + rng.gauss(0, 2)), 1)])
        boss = boss_of_all if boss_of_all.person_id != p.person_id else None
        peers = [q for q in people[i + 1:] + people[:i] if q is not boss][:3]
        for k, peer in enumerate(peers):
            ws.append([p.person_id, p.name, p.unit, peer.person_id,
                       "互評" if k < 2 else "同事互評", period,
                       round(min(100, true + rng.gauss(0, 2.5)), 1)])
        if boss is not None:
            ws.append([p.person_id, p.name, p.unit, boss.person_id,
                       "上級" if i % 3 else "領導評價", period,
                       round(min(100, true + rng.gauss(0, 2.5)), 1)])
    wb.save(path)


def id_card_number(region: str, birth: dt.date, seq: int) -> str:
    """An 18-character number with a valid ISO 7064 MOD 11-2 check character (fictional)."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def id_card_valid(number: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    return id_card_number(number[:6], dt.datetime.strptime(number[6:14], "%Y%m%d").date(),
                          int(number[14:17])) == number


_REGION = "159901"  # not a real administrative code


def _roster_xlsx(path: Path, first_number: int, rng: random.Random) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    _pin_times(wb)
    cover = wb.active
    cover.title = "填表说明"
    for line in ("填表说明", "1. 本表用于报送新设立单位及其人员信息。",
                 "2. 身份证号请填写18位号码，末位为X的请用大写。",
                 "3. 岗位类型填写“领导”或“工作人员”。"):
        cover.append([line])
    units = wb.create_sheet("单位名册")
    units.append(["单位名称", "所属地区", "单位层级", "系统", "是否联系点", "联系点起始"])
    units.append([NEW_UNIT, "市直", "市直", "信访", "否", None])
    people = wb.create_sheet("人员名册")
    people.append(["序号", "工号", "姓名", "单位", "身份证号", "科室", "人员类别", "职务", "岗位类型"])
    staff = [("周建民", "办公室", "局长", True), ("孙丽萍", "办公室", "主任", True),
             ("郭志强", "来访接待科", "科长", True), ("何雨晴", "来访接待科", "一级科员", False),
             ("罗浩然", "来访接待科", "四级主任科员", False), ("梁欣怡", "办公室", "二级科员", False),
             ("唐子涵", "网上信访科", "一级科员", False)]
    for k, (name, dept, position, leader) in enumerate(staff):
        birth = dt.date(rng.randint(1972, 1998), rng.randint(1, 12), rng.randint(1, 28))
        seq = rng.randint(100, 999)
        if k == 0:  # one number ending in X, as many do
            while not id_card_number(_REGION, birth, seq).endswith("X"):
                seq += 1
        number = id_card_number(_REGION, birth, seq)
        people.append([k + 1, f"P{first_number + k:05d}", name, NEW_UNIT, number, dept,
                       "综合管理类", position, "领导" if leader else "工作人员"])
    wb.save(path)


def _error_csv(path: Path, people: list[_Person]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["人员编号", "姓名", "单位", "考核周期", "得分", "等次"])
    a, b, c, d, e = people[:5]
    writer.writerow([a.person_id, a.name, a.unit, "2026年第一季度", 88, "较好"])
    writer.writerow([b.person_id, b.name, b.unit, "2026年第一季度", 105, "好"])  # score > 100
    writer.writerow([c.person_id, c.name, c.unit, "2026年第一季度", 90, "優良"])  # not a grade
    writer.writerow([d.person_id, d.name, d.unit, "2026年第五季度", 86, "较好"])  # no such quarter
    writer.writerow([e.person_id, e.name, e.unit, "2026年第一季度", 84, "较好"])
    writer.writerow([e.person_id, e.name, e.unit, "2026年第一季度", 84, "较好"])  # duplicate row
    writer.writerow(["P99999", "查无此人", a.unit, "2026年第一季度", 87, "较好"])  # unknown person
    path.write_bytes(buf.getvalue().encode("utf-8"))


_README = """# 示例导入文件

这些文件由 `python -m analytics demo` 根据演示数据库中的单位和人员生成，期间为 2026 年第一季度
和 2026 年 1 月（演示数据只到 2025 年），所以可以直接导入到演示数据库中，不会与已有数据冲突。
每个文件展示导入规范（EXPORTS.md）中的一种或几种常见格式问题。

- `{F_QUARTERLY_XLSX}`（平时考核结果）：标题行和“填报单位：（盖章）”说明行；两行表头，
  `考核要素得分` 合并单元格横跨 德 能 勤 绩 廉，其余表头纵向合并；`序号` 列和不认识的 `备注` 列
  （忽略并提示）；全角数字 `９５`、带单位 `93分`、带空格的文本数字；全角周期 `２０２６Ｑ１`；
  繁体 `較好`；带后缀 `好等次`；末尾 `合计` 行和 `制表人：…  审核人：…` 签字行。
- `{F_QUARTERLY_XLS}`（平时考核结果）：旧版 Excel（.xls）；标题行；别名表头 `季度`、`考核得分`、
  `考核等次`；周期写作 `2026-Q1`；等次用字母 A–E（E 为不确定等次，得分为空）；部分分数以文本
  存储；末尾说明行。
- `{F_LOGS_GB}`（工作日志）：GB18030 编码（中文 Windows 下 Excel 另存为 CSV 的默认编码）；
  首行为标题；日期格式混用 `2026/1/5`、`2026年1月6日`、`2026.1.7`、`2026-01-08`；工时写作
  `7.5小时`、`7.5h`、`8`。
- `{F_LOGS_U16}`（工作日志）：Excel“Unicode 文本”，即 UTF-16（带 BOM）、制表符分隔；别名表头
  `工作日期`、`用时`、`事项`；只有人员编号和姓名，没有单位。
- `{F_MONTHLY}`（月度对账）：UTF-8 带 BOM 的 CSV；月份写法混用 `2026-01` 和 `2026年1月`；
  饱和度评价与上面两个日志文件中的工时一致。
- `{F_RATINGS}`（评价明细）：繁体表头 `人員編號`、`被評價人`、`單位`、`評價人`、`評價類型`、
  `考核週期`、`評分`；繁体评价类型 `自評`、`互評`、`上級`、`領導評價`，以及 `同事互評`；周期
  写法 `2026年第一季度`、`2026年第1季度`。
- `{F_ROSTER}`（单位名册、人员名册）：一个工作簿三个工作表：`填表说明` 封面页（跳过并提示）、
  新单位 `{NEW_UNIT}` 的单位名册、其人员名册（`工号` 列；18 位身份证号，其中一个末位为 X，
  导入时只保存带密钥的哈希；`岗位类型` 为 领导/工作人员）。
- `{ERROR_FILE}`（平时考核结果）：**故意出错，必须整体拒绝**：得分 105 超出范围、等次 `優良`
  不在等次范围内、周期 `2026年第五季度` 无法识别、同一人同一季度重复两行、人员编号 `P99999`
  查无此人。导入报告逐条列出行号、列名、值和原因。

身份证号均为虚构（地区码 {REGION} 不存在），只有校验位符合国家标准。
"""


def write_samples(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Write the sample export files into ``out_dir``; returns the data files written (the
    ``README.md`` beside them is not in the list)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not store.scalar(con, "SELECT count(*) FROM people"):
        raise ValueError("数据库中没有人员名册，无法生成示例文件（请先生成演示数据）")
    rng = random.Random(_SAMPLE_SEED)
    u_xlsx, u_xls1, u_xls2, u_gb, u_u16, u_err = _pick_units(con, 6)
    written: list[Path] = []

    path = out_dir / F_QUARTERLY_XLSX
    _quarterly_xlsx(path, _fetch_people(con, u_xlsx, 12), rng)
    written.append(path)

    path = out_dir / F_QUARTERLY_XLS
    _quarterly_xls(path, _fetch_people(con, u_xls1, 10) + _fetch_people(con, u_xls2, 10), rng)
    written.append(path)

    days = _workdays(con, MONTH)
    logs_gb = _log_rows(_fetch_people(con, u_gb, 6), days, rng, _LOG_CONTENTS)
    path = out_dir / F_LOGS_GB
    _logs_gb18030(path, logs_gb, u_gb)
    written.append(path)

    logs_u16 = _log_rows(_fetch_people(con, u_u16, 6), days, rng, _LOG_CONTENTS)
    path = out_dir / F_LOGS_U16
    _logs_utf16(path, logs_u16)
    written.append(path)

    path = out_dir / F_MONTHLY
    _monthly_csv(path, logs_gb + logs_u16, len(days), rng)
    written.append(path)

    path = out_dir / F_RATINGS
    _ratings_xlsx(path, _fetch_people(con, u_xlsx, 12), rng)
    written.append(path)

    max_number = store.scalar(
        con, "SELECT max(TRY_CAST(substr(person_id, 2) AS INTEGER)) FROM people "
             "WHERE regexp_full_match(person_id, 'P[0-9]+')") or 0
    path = out_dir / F_ROSTER
    _roster_xlsx(path, max(max_number + 1, 90001), rng)
    written.append(path)

    path = out_dir / ERROR_FILE
    _error_csv(path, _fetch_people(con, u_err, 5))
    written.append(path)

    readme = _README.format(
        F_QUARTERLY_XLSX=F_QUARTERLY_XLSX, F_QUARTERLY_XLS=F_QUARTERLY_XLS, F_LOGS_GB=F_LOGS_GB,
        F_LOGS_U16=F_LOGS_U16, F_MONTHLY=F_MONTHLY, F_RATINGS=F_RATINGS, F_ROSTER=F_ROSTER,
        ERROR_FILE=ERROR_FILE, NEW_UNIT=NEW_UNIT, REGION=_REGION,
    )
    (out_dir / "README.md").write_text(readme, encoding="utf-8")
    return written
