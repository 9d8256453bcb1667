"""数据导入: upload exports, check them, import them, and undo imports."""

import hashlib

import pandas as pd
import streamlit as st

from analytics import auth, importer, store, users
from analytics.store import KIND_LABELS
from ui import blocks, common, router

router.enter()
common.require_admin()

STATUS = {"loaded": "✅ 可导入", "unchanged": "➖ 无变化", "refused": "❌ 有错误", "skipped": "⏭️ 已跳过"}
DONE = {"loaded": "✅ 已导入", "unchanged": "➖ 无变化", "refused": "❌ 未导入", "skipped": "⏭️ 已跳过"}

config = common.settings()
st.title("数据导入")
st.markdown(
    "上传各单位报送的考核导出文件：单位名册、人员名册、平时考核结果、评价明细、工作日志、月度对账、年度考核结果。"
    "支持 Excel（.xlsx、.xls）和文本（.csv、.tsv、.txt，UTF-8、GBK 或 Unicode 文本）；"
    "标题行、两行表头、合计行、繁体字、全角数字都能识别。"
    "**一个文件有任何错误就整体不导入**，错误会逐行列出，改好后重新上传即可。"
)
with st.expander("导入说明：各类文件需要哪些列"):
    st.markdown(
        "- **单位名册**：单位名称；可选 所属地区、单位层级、系统、是否联系点、纳入联系点时间\n"
        "- **人员名册**：姓名、单位；可选 人员编号、身份证号、处室、人员类别、职务、是否领导\n"
        "- **平时考核结果**：人员编号（或身份证号，或单位+姓名）、考核季度、得分和/或等次；可选 德 能 勤 绩 廉、加分、减分\n"
        "- **评价明细**：被评价人、评价人、评价类型（自评/互评/上级/群众）、考核周期、分数\n"
        "- **工作日志**：人员、日期、工时；可选 工作内容、地点、进度、成效\n"
        "- **月度对账**：人员、月份、计划事项数、完成事项数；可选 饱和度评价、评语\n"
        "- **年度考核结果**：人员、年度、年度等次；可选 年度得分、平时考核平均分\n\n"
        "先导入名册再导入结果，人员才能按姓名匹配；同时上传时程序会自动按这个顺序处理。"
        f"示例文件在 `{config.db_path.parent / 'samples'}` 目录。"
        "身份证号导入时即转换为不可逆的加密摘要，不保存原文。"
    )

if config.auth.mode == "auto" and not users.load(config.users_path):
    st.warning(
        "导入正式数据后，打开看板需要登录（考核结果属于保密信息）。请先在服务器上创建管理员账号："
        "`python -m analytics users add 账号名 --role admin`；只有本人使用的单机安装，可在配置文件中设置 "
        "`[auth] mode = \"desktop\"`。",
        icon=":material/lock:",
    )

files = st.file_uploader(
    "选择文件（可多选）", type=["xlsx", "xls", "csv", "tsv", "txt"], accept_multiple_files=True,
    max_upload_size=config.limits.max_file_mb, key="uploads",
)
left, right = st.columns(2)
kind_names = {"自动识别": None, **{f"{label}（{kind}）": kind for kind, label in KIND_LABELS.items()}}
kind = kind_names[left.selectbox("数据类型", list(kind_names), help="通常按列名自动识别；识别有误时可手动指定。")]
replace = right.toggle(
    "替换冲突数据", help="文件中的数据与已导入的同一人员、同一周期的数据不同时，以本文件为准。被替换的数据可通过撤销本次导入恢复。",
)


def store_state() -> tuple:
    with common.root_cursor() as cur:
        return store.data_version(cur)


def undo_chosen() -> None:
    """Runs before the page redraws, so the history and the form below show the state after the undo,
    and the confirmation has to be given again for the next one."""
    if not common.admin_now("撤销导入"):
        st.session_state["undo-flash"] = ("error", "请以管理员身份登录后再撤销。")
        return
    if not st.session_state.get("undo-sure"):
        st.session_state["undo-flash"] = ("warning", "请先勾选「我确认要撤销这次导入」。")
        return
    try:
        message = importer.undo(common.connection(), st.session_state["undo-batch"], common.user_name())
        st.session_state["undo-flash"] = ("success", message)
        st.session_state.pop("check_key", None)
        common.log("undo", message)
    except importer.UndoError as exc:
        st.session_state["undo-flash"] = ("error", str(exc))
        common.log("undo", f"批次 {st.session_state['undo-batch']}：{exc}", ok=False)
    st.session_state["undo-sure"] = False


def show(results: list[importer.TableResult], labels: dict[str, str], with_preview: bool) -> None:
    for r in results:
        where = f"{r.file}｜{r.sheet}" if r.sheet else r.file
        head = f"{labels[r.status]}　{where}　{KIND_LABELS.get(r.kind or '', '未识别')}"
        if r.status == "loaded":
            head += f"　{r.rows:,} 行" + (f"（替换 {r.replaced:,} 行）" if r.replaced else "")
        with st.expander(head, expanded=r.status == "refused"):
            for warning in r.warnings:
                st.caption(f"· {warning}")
            if r.errors:
                st.error(f"发现 {len(r.errors):,} 个错误，整个文件未导入。")
            if with_preview and r.preview is not None and not r.preview.empty:
                st.caption(f"前 {len(r.preview)} 行（按识别结果整理后的值）：")
                st.dataframe(r.preview, hide_index=True, width="stretch")


if files:
    sources = [(f.name, f.getvalue()) for f in files]
    check_key = (tuple((n, hashlib.sha256(b).hexdigest()) for n, b in sources), kind, replace, store_state())
    if st.session_state.get("check_key") != check_key:
        with st.spinner("正在检查文件……"):
            try:
                st.session_state.check = importer.import_files(
                    common.connection(), sources, config, kind=kind, replace=replace, dry_run=True)
            except Exception as exc:  # never a traceback for the user; nothing was written
                st.error(f"检查文件时发生意外错误，数据库未作任何改动：{exc}")
                st.stop()
        st.session_state.check_key = check_key
    checked: list[importer.TableResult] = st.session_state.check
    st.subheader("检查结果")
    show(checked, STATUS, with_preview=True)
    errors = importer.errors_frame(checked)
    if not errors.empty:
        st.subheader(f"错误清单（{len(errors):,} 条）")
        st.caption("行号是文件在 Excel 中显示的行号；列是文件中写的表头。改正后重新上传即可。")
        blocks.table(errors, "导入错误清单", "errors")
    ready = [r for r in checked if r.status == "loaded"]
    refused = {r.file for r in checked if r.status == "refused"}
    if refused:
        st.warning(f"{len(refused)} 个文件有错误，导入时会跳过它们；其余文件照常导入。")
    if st.button(f"导入 {len({r.file for r in ready})} 个文件", type="primary", disabled=not ready):
        bar = st.progress(0.0, text="准备导入……")
        try:
            done = importer.import_files(
                common.connection(), [s for s in sources if s[0] not in refused], config, kind=kind,
                replace=replace, user=common.user_name(), progress=lambda f, t: bar.progress(f, text=t))
        except Exception as exc:
            st.error(f"导入时发生意外错误，本次导入的文件未写入：{exc}")
            st.stop()
        st.session_state.pop("check_key", None)
        for r in done:
            common.log("import", f"{r.file}{'｜' + r.sheet if r.sheet else ''}：{DONE[r.status]}，"
                                 f"{KIND_LABELS.get(r.kind or '', '未识别')}，{r.rows:,} 行"
                                 + (f"，批次 {r.batch_id}" if r.batch_id else ""), ok=r.status != "refused")
        loaded = sum(r.rows for r in done if r.status == "loaded")
        st.success(f"导入完成：共写入 {loaded:,} 行。")
        show(done, DONE, with_preview=False)

st.divider()
st.subheader("导入历史")
with common.root_cursor() as cur:
    history = importer.history(cur)
    has_demo = store.has_demo_data(cur)
if history.empty:
    st.caption("还没有导入记录。")
else:
    table = pd.DataFrame({
        "批次": history["batch_id"],
        "导入时间": history["imported_at"].dt.strftime("%Y-%m-%d %H:%M"),
        "文件": history["file_name"],
        "工作表": history["sheet"].fillna(""),
        "数据类型": history["kind"].map(KIND_LABELS),
        "行数": history["rows"],
        "替换行数": history["replaced"],
        "操作人": history["imported_by"].fillna("").replace({"demo": "系统（演示数据）"}),
        "状态": history["undone_at"].map(lambda t: "有效" if pd.isna(t) else f"已撤销 {t:%Y-%m-%d %H:%M}"),
    })
    st.caption("每个文件的每张表是一个批次。撤销一个批次会删除它写入的数据，并恢复被它替换的数据。")
    blocks.table(table, "导入历史", "history")
    flash = st.session_state.pop("undo-flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    active = table[table["状态"] == "有效"]
    if not active.empty:
        labels = {r.批次: f"批次 {r.批次}：{r.文件}{'｜' + r.工作表 if r.工作表 else ''}（{r.数据类型}，{r.行数:,} 行）"
                  for r in active.itertuples()}
        with st.form("undo"):
            st.selectbox("撤销一次导入", list(labels), format_func=labels.get, key="undo-batch")
            st.checkbox("我确认要撤销这次导入", key="undo-sure")
            st.form_submit_button("撤销", on_click=undo_chosen)

if has_demo:
    st.divider()
    st.subheader("演示数据")
    st.caption("清除全部演示数据后，数据库只保留您导入的数据；之后启动也不会再自动生成演示数据。")
    if st.button("清除演示数据"):
        with st.spinner("正在清除演示数据……"):
            try:
                messages = importer.clear_demo(common.connection(), common.user_name())
                common.log("clear_demo", f"{len(messages)} 个批次")
                st.success(f"已清除演示数据（{len(messages)} 个批次）。")
                with common.root_cursor() as cur:
                    if auth.required(cur, config):
                        st.info("数据库中只剩正式数据，看板从现在起需要登录。")
            except importer.UndoError as exc:
                common.log("clear_demo", str(exc), ok=False)
                st.error(str(exc))
