"""The CRM ribbon tab: every button calls `run(tag)` (VBA: `RunPython "import xlcrm.ribbon as r; r.run('<tag>')"`).

`run` finds the calling workbook, turns screen updating off, shows each step in the status bar, runs the job
registered under the tag in `xlcrm.jobs.JOBS` through the live engine and tells the user in a message box what
changed. Errors a user can act on appear as their message; anything else as a short message naming a log file —
never a traceback. Screen updating and the status bar are restored whatever happens.

The log is `%LOCALAPPDATA%\\xlcrm\\logs\\ribbon.log` (elsewhere `~/.local/state/xlcrm/logs/ribbon.log`): per user and
outside the workbook's folder, which may be a shared or OneDrive folder that would sync it to others. It holds
where a job failed (the stack and the exception's type), never the exception's message or a cell value. The
ribbon's VBA writes its Python check to `python-check.log` in the same folder.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import traceback
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

from . import messages
from .messages import XlcrmError, text

TITLE = "xlcrm"
SETTINGS_SHEET = "設定"


def _log_dir() -> Path:
    base = os.environ.get("LOCALAPPDATA") or os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "xlcrm" / "logs"


LOG_FILE = _log_dir() / "ribbon.log"
_NS = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}


@lru_cache(None)
def labels() -> dict[str, str]:
    """tag -> Japanese button label, read from the ribbon's own customUI.xml (one source for both)."""
    from .build import SRC
    root = ET.parse(SRC / "customUI.xml").getroot()
    return {b.get("tag"): b.get("label") for b in root.iterfind(".//ui:button", _NS)}


def run(tag: str, caller=None):
    """Entry point of every ribbon button. `caller` is the xlwings Book (default: `xw.Book.caller()`).

    Whatever fails before `dispatch` can show a message box (finding the calling workbook, or the message box
    itself) is logged, and the short message goes to stderr with exit code 1: xlwings' RunPython shows stderr in
    its error box, so staff see that message instead of a traceback."""
    try:
        if caller is None:
            import xlwings as xw
            caller = xw.Book.caller()
        return dispatch(tag, caller, caller.app)
    except Exception as e:  # noqa: BLE001 — see above
        log = _log(tag, e)
        lang = messages.default_lang()
        print(text("unexpected", lang, kind=type(e).__name__) + "\n" + text("ribbon_log", lang, log=log),
              file=sys.stderr)
        raise SystemExit(1) from None


def dispatch(tag: str, xl_book, app, lang: str | None = None):
    """Run the job for `tag` on the live workbook `xl_book`; report to the user through `app`.

    Returns the JobResult (or None). `app` needs only `screen_updating`, `status_bar` and `alert` — what a
    test's fake provides.
    """
    lang = lang or _book_lang(xl_book) or messages.default_lang()
    label = tag
    try:
        label = labels().get(tag, tag)
        app.screen_updating = False
        app.status_bar = text("ribbon_running", lang, label=label)
        result, message = _run_job(tag, xl_book, app, lang)
        if message:
            app.screen_updating = True  # so the user sees the changes behind the message box
            app.alert(message, title=f"{TITLE}: {label}", mode="info")
        return result
    except XlcrmError as e:
        app.screen_updating = True
        app.alert(e.message(lang), title=f"{TITLE}: {label}", mode="critical")
    except Exception as e:  # noqa: BLE001 — a traceback is no use to office staff; it goes to the log
        log = _log(tag, e)
        app.screen_updating = True
        app.alert(text("unexpected", lang, kind=type(e).__name__) + "\n" + text("ribbon_log", lang, log=log),
                  title=f"{TITLE}: {label}", mode="critical")
    finally:
        app.screen_updating = True
        app.status_bar = False  # hand the status bar back to Excel
    return None


def _run_job(tag: str, xl_book, app, lang: str):
    """(JobResult or None, message for the user or None)."""
    from .jobs import JOBS
    if tag == "settings":
        xl_book.sheets[SETTINGS_SHEET].activate()
        return None, None
    if tag == "doctor":
        from . import doctor
        findings = doctor.check(workbook=getattr(xl_book, "fullname", None), conf=_conf_rows(xl_book),
                                excel_path=getattr(app, "path", None))
        return None, doctor.report(findings, lang)
    if tag == "undo" and tag not in JOBS:
        from .book import open_book
        with open_book(xl_book) as book:
            change = book.undo_last()
            if change is None:
                return None, text("undo_nothing", lang)
            book.save()
        return None, text("undo_done", lang, change=change)
    if tag not in JOBS:
        raise XlcrmError("ribbon_no_job", label=labels().get(tag, tag))
    from . import jobs
    label = labels().get(tag, tag)

    def progress(key: str, **kw) -> None:
        app.status_bar = text("ribbon_step", lang, label=label, step=text(key, lang, **kw))
    result = jobs.run(tag, xl_book, progress=progress)
    return result, result.summary(lang)


def _book_lang(xl_book) -> str | None:
    """言語 from the book's 設定 sheet; None if it cannot be read (the job will then report why)."""
    try:
        from .book import open_book
        with open_book(xl_book) as book:
            return book.settings().lang
    except Exception:  # noqa: BLE001 — a broken 設定 sheet is reported by the job itself, in the default language
        return None


def _conf_rows(xl_book) -> list[list] | None:
    """Columns A:B of the xlwings.conf sheet down to the last used row (blank rows included), or None."""
    try:
        sheet = xl_book.sheets["xlwings.conf"]
    except Exception:  # noqa: BLE001 — no such sheet
        return None
    last = sheet.used_range.last_cell.row
    return sheet.range((1, 1), (last, 2)).options(ndim=2).value


def _log(tag: str, e: BaseException) -> Path:
    """Where it failed, for whoever supports the shop: the stack and the exception type, never its message
    (which may quote a cell), in a file only this user can read. Returns the log's path (the temp folder's if
    the usual folder cannot be written)."""
    logger = logging.getLogger("xlcrm.ribbon")
    path = LOG_FILE
    if not logger.handlers:
        for path in (LOG_FILE, Path(tempfile.gettempdir()) / "xlcrm-ribbon.log"):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
                h = logging.FileHandler(path, encoding="utf-8")
                break
            except OSError:
                continue
        else:
            return path
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(h)
        logger.propagate = False
    else:
        path = Path(getattr(logger.handlers[0], "baseFilename", path))
    # file, line and function of each frame; no source lines (a caller's line could hold a literal) and no locals
    frames = "".join(f"  {f.filename}:{f.lineno} in {f.name}\n" for f in traceback.extract_tb(e.__traceback__))
    logger.error("ribbon job %s failed: %s\n%s", tag, type(e).__name__, frames)
    return path
