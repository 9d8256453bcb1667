"""Command line: ``python -m analytics --db PATH COMMAND``. A thin layer over the library."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from analytics import audit, exporting, importer, store, users
from analytics.access import ROLES
from analytics.config import ConfigError, Settings, load_settings
from analytics.store import KIND_LABELS, StoreError

MAX_ERRORS_SHOWN = 50
STATUS_LABELS = {"loaded": "已导入", "unchanged": "未改动", "refused": "已拒绝", "skipped": "已跳过"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analytics",
        description="考核分析看板：导入考核导出文件、查看导入历史、生成演示数据。",
    )
    parser.add_argument("--db", help="DuckDB 数据库文件（默认 data/kaohe.duckdb，或环境变量 KAOHE_DB）")
    parser.add_argument("--config", help="配置文件（默认 config.toml，或环境变量 KAOHE_CONFIG）")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = sub.add_parser("import", help="导入一个或多个导出文件")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--kind", choices=list(store.KIND_TABLES), help="指定数据类型，不自动识别")
    imp.add_argument("--replace", action="store_true", help="与已导入数据冲突时，以本文件为准替换")
    imp.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    imp.add_argument("--user", help="记录在导入历史中的操作人（默认当前登录名）")
    imp.add_argument("--errors-csv", metavar="PATH", help="把全部错误写入 CSV 文件（UTF-8 带 BOM）")
    imp.add_argument("--json", action="store_true", help="以 JSON 输出")

    cnt = sub.add_parser("counts", help="各类数据的行数")
    cnt.add_argument("--json", action="store_true")

    his = sub.add_parser("imports", help="导入历史")
    his.add_argument("--json", action="store_true")

    und = sub.add_parser("undo", help="撤销一次导入（按批次号）")
    und.add_argument("batch", type=int, metavar="BATCH")
    und.add_argument("--user")

    rep = sub.add_parser("report", help="输出一项分析的结果表（用于报告和脚本）")
    rep.add_argument("name", metavar="NAME", help="分析名称：unit-grades、raters、saturation、patterns、rules、"
                                                  "pilots、distribution；用 report list 查看说明")
    rep.add_argument("--year", type=int)
    rep.add_argument("--period", help="季度，如 2025Q1")
    rep.add_argument("--month", help="月份，如 2025-03")
    rep.add_argument("--format", choices=["table", "csv", "json"], default="table")
    for option, label in (("district", "地区"), ("level", "单位层级"), ("sector", "系统"), ("unit", "单位"),
                          ("category", "人员类别")):
        rep.add_argument(f"--{option}", action="append", default=[], help=f"只看此{label}（可重复）")
    rep.add_argument("--pilot", choices=["pilot", "other"], help="只看联系点单位或非联系点单位")
    rep.add_argument("--role", choices=["leader", "staff"], help="只看领导或工作人员")
    rep.add_argument("--as-user", metavar="ACCOUNT",
                     help="按此账号的权限输出：只含其授权的地区和单位，无姓名权限时姓名脱敏")

    usr = sub.add_parser("users", help="管理登录账号（保存在数据库旁的账号文件中，密码以 argon2 摘要保存）")
    usr_sub = usr.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = usr_sub.add_parser("add", help="新建账号（密码从终端输入，或用 --password-stdin 从标准输入读取）")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=list(ROLES),
                     help="admin：管理员（全部数据、导入、日志）；leader：领导（授权范围，可导出）；"
                          "viewer：查看者（授权范围，姓名脱敏，不可导出）")
    add.add_argument("--district", action="append", default=[], help="授权的地区（可重复）")
    add.add_argument("--unit", action="append", default=[], help="授权的单位（可重复）")
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（用于脚本）")
    rm = usr_sub.add_parser("remove", help="删除账号（已登录的会话随即失效）")
    rm.add_argument("username")
    pw = usr_sub.add_parser("passwd", help="重设密码")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    usr_sub.add_parser("list", help="列出账号、角色和授权范围")

    demo = sub.add_parser("demo", help="在空数据库中生成演示数据，并写出示例导入文件")
    demo.add_argument("--seed", type=int, default=20261121)
    demo.add_argument("--scale", default="small", choices=["small", "city"],
                      help="small：约 60 个单位、1,500 人；city：约 1,100 个单位、20,000 人、3,000 多万条日志")
    demo.add_argument("--samples", metavar="DIR", help="示例文件目录（默认 data/samples）")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.db, args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    handler = {
        "import": cmd_import, "counts": cmd_counts, "imports": cmd_imports,
        "undo": cmd_undo, "demo": cmd_demo, "report": cmd_report, "users": cmd_users,
    }[args.command]
    try:
        return handler(args, settings)
    except users.UserError as exc:
        print(exc, file=sys.stderr)
        return 1
    except StoreError as exc:
        if args.command == "import" and args.json:
            failed = [importer.TableResult(Path(f).name, None, args.kind, "refused",
                                           errors=[importer.Issue(None, None, None, str(exc))])
                      for f in args.files]
            _print_json([r.as_json() for r in failed])
        print(exc, file=sys.stderr)
        return 1


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=1, default=str))


def _open(settings: Settings):
    return store.connect(settings.db_path)


def _who(user: str | None) -> str:
    return f"{audit.CLI_USER}（{user}）" if user else audit.CLI_USER


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    missing = [f for f in args.files if not Path(f).is_file()]
    con = _open(settings)
    try:
        present = [f for f in args.files if f not in missing]
        results = importer.import_files(
            con, present, settings, kind=args.kind, replace=args.replace, user=args.user,
            dry_run=args.dry_run,
        )
        if not args.dry_run:
            for r in results:
                audit.record(con, _who(args.user), "import",
                             f"{r.file}{'｜' + r.sheet if r.sheet else ''}：{STATUS_LABELS.get(r.status, r.status)}，"
                             f"{r.rows} 行" + (f"，批次 {r.batch_id}" if r.batch_id else ""),
                             ok=r.status != "refused")
    finally:
        con.close()
    results += [
        importer.TableResult(Path(f).name, None, args.kind, "refused",
                             errors=[importer.Issue(None, None, None, "文件不存在或不是普通文件")])
        for f in missing
    ]
    if args.errors_csv:
        # The same file as the app's download: UTF-8 with BOM, formula-like values neutralised.
        Path(args.errors_csv).write_bytes(exporting.csv_bytes(importer.errors_frame(results)))
    if args.json:
        _print_json([r.as_json() for r in results])
    else:
        for r in results:
            _print_result(r, args.dry_run)
    return 1 if any(r.status == "refused" for r in results) else 0


def _print_result(r: importer.TableResult, dry_run: bool) -> None:
    where = f"{r.file}｜{r.sheet}" if r.sheet else r.file
    kind = KIND_LABELS.get(r.kind or "", "未识别")
    status = "检查通过（未写入）" if dry_run and r.status == "unchanged" and r.batch_id is None else (
        STATUS_LABELS[r.status])
    line = f"[{status}] {where}：{kind}"
    if r.status == "loaded":
        line += f"，{r.rows} 行，批次 {r.batch_id}"
        if r.replaced:
            line += f"，替换 {r.replaced} 行"
    print(line)
    for w in r.warnings:
        print(f"    提示：{w}")
    for e in r.errors[:MAX_ERRORS_SHOWN]:
        where = "".join((
            f"第 {e.row} 行" if e.row else "",
            f"「{e.column}」列" if e.column else "",
            f"的值「{e.value}」" if e.value not in (None, "") else "",
        ))
        print(f"    错误：{where + '：' if where else ''}{e.reason}")
    if len(r.errors) > MAX_ERRORS_SHOWN:
        print(f"    …… 共 {len(r.errors)} 个错误，用 --errors-csv 导出全部")


def cmd_counts(args: argparse.Namespace, settings: Settings) -> int:
    con = _open(settings)
    try:
        counts = store.counts(con)
    finally:
        con.close()
    if args.json:
        _print_json(counts)
    else:
        for kind, n in counts.items():
            print(f"{KIND_LABELS[kind]}（{kind}）：{n}")
    return 0


def cmd_imports(args: argparse.Namespace, settings: Settings) -> int:
    con = _open(settings)
    try:
        frame = importer.history(con)
    finally:
        con.close()
    if args.json:
        _print_json(json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso")))
        return 0
    if frame.empty:
        print("还没有导入记录")
    for row in frame.itertuples():
        state = f"已撤销（{row.undone_at:%Y-%m-%d %H:%M}）" if row.undone_at is not None and str(
            row.undone_at) != "NaT" else "有效"
        sheet = f"｜{row.sheet}" if isinstance(row.sheet, str) and row.sheet else ""
        print(f"批次 {row.batch_id}  {row.imported_at:%Y-%m-%d %H:%M}  {row.file_name}{sheet}  "
              f"{KIND_LABELS.get(row.kind, row.kind)}  {row.rows} 行  {row.imported_by or ''}  {state}")
    return 0


def cmd_undo(args: argparse.Namespace, settings: Settings) -> int:
    con = _open(settings)
    try:
        message = importer.undo(con, args.batch, args.user)
        audit.record(con, _who(args.user), "undo", message)
        print(message)
        return 0
    except importer.UndoError as exc:
        audit.record(con, _who(args.user), "undo", f"批次 {args.batch}：{exc}", ok=False)
        print(exc, file=sys.stderr)
        return 1
    finally:
        con.close()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from analytics import demo, samples

    con = _open(settings)
    try:
        if not store.is_empty(con):
            print("数据库中已有数据：演示数据只能生成到空数据库（可用 --db 指定新文件）", file=sys.stderr)
            return 1
        summary = demo.build_demo(con, seed=args.seed, scale=args.scale)
        started, cpu = time.perf_counter(), time.process_time()
        con.execute("CHECKPOINT")  # everything into the file itself, so that its size is the store's
        seconds = summary.seconds + time.perf_counter() - started
        cpu = summary.cpu_seconds + time.process_time() - cpu
        out = Path(args.samples) if args.samples else settings.db_path.parent / "samples"
        written = samples.write_samples(con, out)
    finally:
        con.close()
    path = Path(settings.db_path)
    size = f"，数据库文件 {path.stat().st_size / 1e6:,.1f} MB" if path.is_file() else ""
    print(f"演示数据已生成：{settings.db_path}（规模 {summary.scale}，用时 {seconds:.1f} 秒，CPU {cpu:.1f} 秒"
          f"{size}）")
    for kind, n in summary.counts.items():
        print(f"  {KIND_LABELS.get(kind, kind)}：{n:,} 行")
    print(f"  工作日志按日汇总（worklog_daily）：{summary.rows.get('worklog_daily', 0):,} 行")
    print(f"示例导入文件 {len(written)} 个：{out}")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from analytics import access
    from analytics import normalize as nz
    from analytics.filters import Filters
    from analytics.reports import REPORTS, ReportArgs, ReportError

    if args.name == "list":
        for name, (_, description) in sorted(REPORTS.items()):
            print(f"{name}\t{description}")
        return 0
    if args.name not in REPORTS:
        print(f"没有名为「{args.name}」的分析，可选：{'、'.join(sorted(REPORTS))}", file=sys.stderr)
        return 2
    try:
        period = nz.quarter(nz.nfkc(args.period)) if args.period else None
        month = nz.month(nz.nfkc(args.month)).strftime("%Y-%m") if args.month else None
    except nz.BadValue as exc:
        print(f"参数有误：{exc}", file=sys.stderr)
        return 2
    filters = Filters(
        districts=tuple(args.district), levels=tuple(args.level), sectors=tuple(args.sector),
        units=tuple(args.unit), categories=tuple(args.category), pilot=args.pilot, role=args.role,
    )
    fn, _ = REPORTS[args.name]
    scope = access.SYSTEM
    if args.as_user:
        account = users.load(settings.users_path).get(args.as_user)
        if account is None:
            print(f"没有账号 {args.as_user}（账号文件 {settings.users_path}）", file=sys.stderr)
            return 2
        scope = account.scope()
    con = _open(settings)
    detail = f"{args.name}（{filters.describe()}）"
    cur = access.scoped(con, scope)
    try:
        # Groups smaller than the configured minimum are suppressed here as on the pages.
        frame = fn(cur, filters, ReportArgs(year=args.year, period=period, month=month,
                                            min_group=settings.min_group_size))
        audit.record(con, _who(args.as_user), "report", detail, role=scope.role)
    except ReportError as exc:
        audit.record(con, _who(args.as_user), "report", f"{detail}：{exc}", ok=False, role=scope.role)
        print(exc, file=sys.stderr)
        return 2
    finally:
        cur.close()
        con.close()
    if args.format == "json":
        print(frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=1))
    elif args.format == "csv":
        sys.stdout.write(exporting.neutralised(frame).to_csv(index=False))
    else:
        print(frame.to_string(index=False) if not frame.empty else "（没有结果）")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("密码：")
    if getpass.getpass("再输入一次：") != first:
        raise users.UserError("两次输入的密码不一致")
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.users_path
    if args.action == "list":
        accounts = users.load(path)
        if not accounts:
            print(f"还没有账号（账号文件 {path}）")
        for u in accounts.values():
            print(f"{u.username}\t{ROLES[u.role]}\t{u.scope().describe()}\t{u.display_name}")
        return 0
    if args.action == "remove":
        users.remove(path, args.username)
        print(f"已删除账号 {args.username}")
        return 0
    if args.action == "passwd":
        users.set_password(path, args.username, _password(args.password_stdin))
        print(f"已重设账号 {args.username} 的密码")
        return 0
    if args.role != "admin" and not (args.district or args.unit):
        print("提示：此账号没有授权任何地区或单位，登录后看不到任何数据（默认拒绝）。"
              "用 --district 或 --unit 授权。", file=sys.stderr)
    user = users.add(path, args.username, _password(args.password_stdin), args.role, tuple(args.district),
                     tuple(args.unit), args.display_name)
    print(f"已创建账号 {user.username}（{ROLES[user.role]}，{user.scope().describe()}），账号文件 {path}")
    return 0
