"""`xlcrm doctor`: the classic reasons an xlwings workbook does not work, checked on the user's machine.

From xlwings' issue tracker: an interpreter path that does not exist, an xlwings package whose version differs
from the VBA/DLL the workbook expects, Microsoft Store Python or Office, a workbook opened from a URL
(OneDrive/SharePoint), blank rows in the xlwings.conf sheet, and macOS where only RunPython works. Each check
says what is wrong and what to do, in Japanese or English. Everything machine-specific (platform, file
existence, PATH lookup, the interpreter's packages) can be injected, so the checks are tested on Linux.
"""
from __future__ import annotations

import ntpath
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .messages import text

OK, INFO, WARN, ERROR = "ok", "info", "warn", "error"
_MARK = {OK: "✔", INFO: "ℹ", WARN: "⚠", ERROR: "✖"}
CONF_ROWS = 1000   # xlwings reads its settings down to the first blank row: far fewer than this


@dataclass
class Finding:
    level: str
    key: str
    fix: str | None = None
    kw: dict = field(default_factory=dict)
    bad_input: bool = False   # the workbook given cannot be read at all: exit 2, like every command

    def message(self, lang: str | None = None) -> str:
        line = f"{_MARK[self.level]} {text(self.key, lang, **self.kw)}"
        if self.fix:
            line += f"\n   → {text(self.fix, lang, **self.kw)}"
        return line


def is_url(path) -> bool:
    return bool(path) and re.match(r"^[a-z][a-z0-9+.-]*://", str(path), re.I) is not None


def read_conf(workbook: str | Path) -> list[list] | None:
    """Columns A:B of the xlwings.conf sheet as rows (blank rows kept), or None without such a sheet."""
    import python_calamine as pc
    wb = pc.CalamineWorkbook.from_path(str(workbook))
    if "xlwings.conf" not in wb.sheet_names:
        return None
    rows = wb.get_sheet_by_name("xlwings.conf").to_python(skip_empty_area=False)
    return [(list(r) + [None, None])[:2] for r in rows]


def vba_xlwings_version(workbook: str | Path) -> str | None:
    """The XLWINGS_VERSION constant of the xlwings module embedded in the workbook's VBA, or None."""
    from .build import ovba, xlwings_version_in_vba
    try:
        with zipfile.ZipFile(workbook) as z:
            vba = z.read("xl/vbaProject.bin")
    except (KeyError, zipfile.BadZipFile, OSError):
        return None
    for name, source in ovba.read_modules(vba).items():
        v = xlwings_version_in_vba(source)
        if v:
            return v
    return None


def probe_python(python: str) -> dict | None:
    """xlwings version and whether xlcrm imports, in another interpreter (None if it cannot be run)."""
    code = ("import importlib.util as u, importlib.metadata as m\n"
            "try: v = m.version('xlwings')\nexcept Exception: v = ''\n"
            "print(v); print(bool(u.find_spec('xlcrm')))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.strip().splitlines()
    return {"xlwings": lines[0] if lines and lines[0] else None, "xlcrm": len(lines) > 1 and lines[1] == "True"}


def _here() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version("xlwings")
    except PackageNotFoundError:
        v = None
    return {"xlwings": v, "xlcrm": True}


def _conf_dict(conf: list[list]) -> tuple[dict, list[Finding]]:
    """Settings as xlwings reads them (A1 down to the first blank row) and findings about blank rows."""
    values, findings = {}, []
    rows = [r for r in conf]
    while rows and all(v in (None, "") for v in rows[-1]):
        rows.pop()
    for i, (k, v) in enumerate(rows, start=1):
        if k in (None, ""):
            later = [str(r[0]) for r in rows[i:] if r[0] not in (None, "")]
            if later:
                findings.append(Finding(ERROR, "dr_conf_blank", "dr_conf_blank_fix",
                                        {"row": i, "keys": ", ".join(later[:5])}))
            break
        values[str(k).strip().upper()] = "" if v is None else str(v).strip()
    return values, findings


def check(workbook: str | Path | None = None, conf: list[list] | None = None, *, platform: str | None = None,
          exists=os.path.exists, which=shutil.which, probe=probe_python, excel_path: str | None = None,
          expected_version: str | None = None) -> list[Finding]:
    """Every finding for this machine and workbook, worst problems first."""
    platform = platform or sys.platform
    findings: list[Finding] = []
    local = workbook is not None and not is_url(workbook) and Path(workbook).is_file()
    if is_url(workbook):
        findings.append(Finding(WARN, "dr_url", "dr_url_fix", {"path": workbook}))
    elif workbook is not None and conf is None:
        unreadable = _unreadable(Path(workbook))
        if unreadable is not None:   # the rest is about a workbook: only the Python checks still apply
            findings.append(unreadable)
            local, workbook = False, None
    if conf is None and local:
        conf = read_conf(workbook)
    if expected_version is None:
        from .build import XLWINGS_VERSION
        in_vba = vba_xlwings_version(workbook) if local else None
        if local and in_vba is None:
            findings.append(Finding(ERROR, "dr_no_vba"))
        expected_version = in_vba or XLWINGS_VERSION

    values: dict = {}
    if conf is None:
        if workbook is not None:
            findings.append(Finding(WARN, "dr_no_conf", "dr_no_conf_fix"))
    else:
        values, blank = _conf_dict(conf)
        findings += blank
        udf = values.get("UDF MODULES", "")
        if udf and udf != "xlcrm.udfs":
            findings.append(Finding(WARN, "dr_udf_modules", None, {"value": udf}))

    os_name = "Mac" if platform == "darwin" else "Win"
    interpreter = values.get(f"INTERPRETER_{os_name.upper()}") or values.get("INTERPRETER") or "python"
    # xlwings expands %VARIABLES% in every setting on Windows: setup.ps1 writes %LOCALAPPDATA%\xlcrm\venv\...
    # so one workbook works for every user name
    expanded = ntpath.expandvars(interpreter) if os_name == "Win" else interpreter
    shown = interpreter if expanded == interpreter else f"{interpreter} ({expanded})"
    python = None
    if platform in ("win32", "darwin"):
        if interpreter in ("python", "pythonw", "python3"):
            found = which(interpreter)
            findings.append(Finding(OK if found else ERROR, "dr_interpreter_path",
                                    None if found else "dr_interpreter_fix",
                                    {"os": os_name, "path": interpreter, "found": found or "-"}))
            python = found
        elif exists(expanded):
            findings.append(Finding(OK, "dr_interpreter_ok", None, {"path": shown}))
            python = expanded
        else:
            findings.append(Finding(ERROR, "dr_interpreter_missing", "dr_interpreter_fix",
                                    {"os": os_name, "path": shown}))
        if python and "\\windowsapps\\" in python.lower().replace("/", "\\"):
            findings.append(Finding(ERROR, "dr_store_python", "dr_store_python_fix", {"path": python}))
        if excel_path and "\\windowsapps\\" in str(excel_path).lower().replace("/", "\\"):
            findings.append(Finding(WARN, "dr_store_office", "dr_store_office_fix", {"path": excel_path}))

    # the Python the workbook will run: this one unless xlwings.conf names another one that exists here
    same = python is None or platform != sys.platform or os.path.realpath(python) == os.path.realpath(sys.executable)
    info = _here() if same else (probe(python) or _here())
    if not info["xlcrm"]:
        findings.append(Finding(ERROR, "dr_xlcrm_missing", "dr_xlcrm_fix", {"path": python}))
    installed = info["xlwings"]
    if installed is None:
        findings.append(Finding(ERROR, "dr_xlwings_missing", "dr_xlwings_fix", {"expected": expected_version}))
    elif installed != expected_version:
        findings.append(Finding(ERROR, "dr_xlwings_mismatch", "dr_xlwings_fix",
                                {"installed": installed, "expected": expected_version}))
    else:
        findings.append(Finding(OK, "dr_xlwings_ok", None, {"installed": installed}))
    if platform == "darwin":
        findings.append(Finding(INFO, "dr_mac", "dr_mac_fix"))
    order = {ERROR: 0, WARN: 1, INFO: 2, OK: 3}
    return sorted(findings, key=lambda f: order[f.level])


def _unreadable(path: Path) -> Finding | None:
    """A finding when the file is missing or not a workbook we can read (the same checks as every command)."""
    from .book.ooxml import check_package
    from .messages import BadFile
    if not path.is_file():
        return Finding(ERROR, "book_not_found", None, {"name": path.name}, bad_input=True)
    try:
        check_package(path)
        read_conf(path)
    except BadFile as e:
        return Finding(ERROR, e.key, None, e.kw, bad_input=True)
    except Exception:  # noqa: BLE001 — calamine's errors for a damaged part: the file cannot be read
        return Finding(ERROR, "not_a_workbook", None, {"name": path.name}, bad_input=True)
    return None


def report(findings: list[Finding], lang: str | None = None) -> str:
    lines = [f.message(lang) for f in findings]
    if not any(f.level in (ERROR, WARN) for f in findings):
        lines.insert(0, text("dr_ok", lang))
    return "\n".join(lines)


def exit_code(findings: list[Finding]) -> int:
    if any(f.bad_input for f in findings):
        return 2
    return 1 if any(f.level == ERROR for f in findings) else 0


def set_interpreter(workbook: str | Path, interpreter: str | None = None, platform: str | None = None) -> str:
    """Write the interpreter path into the xlwings.conf sheet (Interpreter_Win or _Mac); returns the message."""
    from .book import open_book
    interpreter = interpreter or sys.executable
    platform = platform or sys.platform
    os_name = "Mac" if platform == "darwin" else "Win"
    key = f"Interpreter_{os_name}"
    with open_book(workbook) as book:
        if "xlwings.conf" not in book.sheet_names():
            from .messages import XlcrmError
            raise XlcrmError("dr_no_conf")
        row = None
        last = 0
        for r, (k,) in enumerate(book.read_range("xlwings.conf", "A1", CONF_ROWS, 1), start=1):
            if k in (None, ""):
                break
            last = r
            if str(k).strip().lower() == key.lower():
                row = r
                break
        if row is None:  # add the key right after the last setting, so no blank row appears
            row = last + 1
            book.write_range("xlwings.conf", f"A{row}", [[key]])
        book.write_range("xlwings.conf", f"B{row}", [[interpreter]])
        book.journal("set-interpreter", f"xlwings.conf の {key} を設定", f"Set {key} in xlwings.conf")
        book.save()
    return text("conf_written", None, path=Path(workbook).name, os=os_name, interpreter=interpreter)
