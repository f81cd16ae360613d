"""Reading a large book's sheets before the rest is loaded: `xlcrm run rfm BOOK` starts parsing 顧客 and 注文 while
pandas, the book layer and the job load (0.6 s on a 100,000-customer book); the file engine takes over what was
started (FileBook.prefetch). Nothing here imports pandas.
"""
from __future__ import annotations

import concurrent.futures
import io
from pathlib import Path

import python_calamine as pc

AHEAD_BYTES = 8 << 20   # a smaller book is read in less time than loading pandas takes: nothing to gain
_AHEAD: dict[str, tuple[bytes, dict]] = {}


def parsed(cal, sheet: str) -> list[list]:
    """A sheet's cells as calamine reads them, an empty cell None (calamine's "" — list.index finds them in C)."""
    grid = cal.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    for row in grid:
        if "" in row:
            i = row.index("")
            while True:
                row[i] = None
                try:
                    i = row.index("", i + 1)
                except ValueError:
                    break
    return grid


def read_ahead(path, sheets) -> None:
    """Start parsing those of `sheets` the book at `path` has, each on a thread of its own (calamine lets go of
    Python's lock). Only the checks every file passes first (a workbook, not a bomb, no DTD) are made here: any
    trouble is left for the job to report, as it would without this."""
    from .ooxml import check_package
    p = Path(path)
    try:
        if p.stat().st_size < AHEAD_BYTES:
            return
        data = p.read_bytes()
        check_package(p, data)
        cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = set(cal.sheet_names)
        cal.close()
    except Exception:   # noqa: BLE001 — reported by the job's own reading, in its words
        return
    wanted = [s for s in dict.fromkeys(sheets) if s in names]
    if not wanted:
        return
    pool = concurrent.futures.ThreadPoolExecutor(len(wanted), thread_name_prefix="xlcrm-ahead")
    _AHEAD[str(p.absolute())] = (data, {s: pool.submit(_parse, data, s) for s in wanted})
    pool.shutdown(wait=False)


def _parse(data: bytes, sheet: str) -> list[list]:
    cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return parsed(cal, sheet)
    finally:
        cal.close()


def take(path) -> tuple[bytes, dict] | None:
    """(the bytes read, {sheet: its cells being parsed}) started for the book at `path`, once; else None."""
    return _AHEAD.pop(str(Path(path).absolute()), None)
