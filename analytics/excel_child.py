"""Reading an old-format workbook (.xls, or any OLE2 container) in a child process.

calamine parses the OLE2 container of a .xls in native code; a damaged or crafted one can make it
ask for gigabytes (a corrupt sector chain: "memory allocation of 4294967296 bytes failed") and the
allocation failure aborts the whole process — the app for every user. So such files are read in a
child process started fresh (``spawn``) with a cap on its address space: the worst a file can do
is end the child, which the importer reports as a damaged file. This module imports nothing heavy,
so the child starts in a fraction of a second.
"""

from __future__ import annotations

import io
import multiprocessing

CHILD_MEMORY = 3 * 1024 ** 3  # address space of the child, bytes
CHILD_SECONDS = 120


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


def _child(conn, data: bytes, max_cells: int, max_columns: int) -> None:
    import os

    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    except (ImportError, ValueError, OSError):  # no address-space limits here (e.g. Windows)
        pass
    quiet = os.open(os.devnull, os.O_WRONLY)  # a native abort prints a Rust backtrace: not for the log
    os.dup2(quiet, 2)
    try:
        conn.send(_sheets(data, max_cells, max_columns))
    except MemoryError:
        conn.send(("memory", None))
    finally:
        conn.close()


def read_isolated(data: bytes, max_cells: int, max_columns: int) -> tuple[str, object]:
    """``_sheets`` run in a child process: ("ok", [(sheet, rows)]), ("open", message),
    ("size", (sheet, rows, columns)) or ("sheet", (sheet, message)); raises ``ChildFailed`` when
    the child dies, runs out of memory or takes too long."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, data, max_cells, max_columns), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(CHILD_SECONDS):
            raise ChildFailed(f"读取超过 {CHILD_SECONDS} 秒仍未完成")
        outcome = receive.recv()
    except EOFError:
        child.join(5)
        raise ChildFailed(f"读取程序异常退出（退出码 {child.exitcode}）") from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if outcome[0] == "memory":
        raise ChildFailed(f"读取时所需内存超过 {CHILD_MEMORY // 1024 ** 3} GB")
    return outcome
