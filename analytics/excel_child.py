"""Reading an old-format workbook (.xls, or any OLE2 container) in a child process.

calamine parses the OLE2 container of a .xls in native code; a damaged or crafted one can make it
ask for gigabytes (a corrupt sector chain: "memory allocation of 4294967296 bytes failed") and the
allocation failure aborts the whole process — the app for every user. So such files are read by
``python -m analytics.excel_child`` with a cap on its address space: the worst a file can do is
end the child, which the importer reports as a damaged file. The child imports nothing but
python-calamine, so it starts in well under a second, whatever the parent process is (a plain
subprocess, not multiprocessing, which would re-import the parent's main module, e.g. Streamlit).
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

CHILD_MEMORY = 3 * 1024 ** 3  # address space of the child, bytes
CHILD_SECONDS = 120
_ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(Exception):
    """The child could not read the workbook; ``args[0]`` is the reason in Chinese."""


def _sheets(data: bytes, max_cells: int, max_columns: int) -> tuple[str, object]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        return "open", str(exc)
    sheets = []
    for name in book.sheet_names:
        try:
            sheet = book.get_sheet_by_name(name)
            if sheet.total_width > max_columns or sheet.total_width * sheet.total_height > max_cells:
                return "size", (name, sheet.total_height, sheet.total_width)
            sheets.append((name, sheet.to_python(skip_empty_area=False)))
        except Exception as exc:
            return "sheet", (name, str(exc))
    return "ok", sheets


def read_isolated(data: bytes, max_cells: int, max_columns: int) -> tuple[str, object]:
    """``_sheets`` run in a child process: ("ok", [(sheet, rows)]), ("open", message),
    ("size", (sheet, rows, columns)) or ("sheet", (sheet, message)); raises ``ChildFailed`` when
    the child dies, runs out of memory or takes too long."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "analytics.excel_child"], input=pickle.dumps((data, max_cells, max_columns)),
            capture_output=True, timeout=CHILD_SECONDS, env=env, cwd=_ROOT, check=False)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"读取超过 {CHILD_SECONDS} 秒仍未完成") from None
    except OSError as exc:
        raise ChildFailed(f"无法启动读取程序（{exc.strerror or type(exc).__name__}）") from None
    if done.returncode != 0 or not done.stdout:
        raise ChildFailed(f"读取程序异常退出（退出码 {done.returncode}）")
    outcome = pickle.loads(done.stdout)  # written by _main below, never by the file
    if outcome[0] == "memory":
        raise ChildFailed(f"读取时所需内存超过 {CHILD_MEMORY // 1024 ** 3} GB")
    return outcome


def _main() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    except (ImportError, ValueError, OSError):  # no address-space limits here (e.g. Windows)
        pass
    data, max_cells, max_columns = pickle.loads(sys.stdin.buffer.read())
    try:
        outcome = _sheets(data, max_cells, max_columns)
    except MemoryError:
        outcome = ("memory", None)
    sys.stdout.buffer.write(pickle.dumps(outcome))


if __name__ == "__main__":
    _main()
