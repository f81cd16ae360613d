"""Jobs: one function per user action — read tables, call the core, write the tables the job owns.

A job has the signature `job(book, settings, **options) -> JobResult`. It reads through the book, writes only
its own columns and sheets, and calls `book.journal(...)`; it does not save. `run(tag or job, target)` opens the book
(a path or a live xlwings Book), runs the job and saves — the ribbon, the CLI and the tests all go through it.
`JOBS` maps a ribbon tag to the job's import path, so nothing imports every domain up front.
"""
from __future__ import annotations

import gc
import importlib
from contextlib import contextmanager
from dataclasses import dataclass, field

from .. import messages


@dataclass
class JobResult:
    """What a job did: a short summary in both languages and counts for tests and the status bar."""

    summary_ja: str
    summary_en: str
    counts: dict = field(default_factory=dict)

    def summary(self, lang: str = "ja") -> str:
        return self.summary_en if lang == "en" else self.summary_ja


# ribbon tag -> "module:function"
JOBS: dict[str, str] = {
    "search": "xlcrm.jobs.search:search",
    "tidy": "xlcrm.jobs.tidy:tidy",
    "dedupe": "xlcrm.jobs.dedupe:dedupe_book",
    "merge": "xlcrm.jobs.dedupe:merge_book",
    "undo_merge": "xlcrm.jobs.dedupe:undo_merge_book",
    "rfm": "xlcrm.jobs.rfm:refresh_rfm",
    "lapse": "xlcrm.jobs.lapse:refresh_lapse",
    "followup": "xlcrm.jobs.followup:followup",
    "record_contact": "xlcrm.jobs.followup:record_contact",
    "dashboard": "xlcrm.jobs.dashboard:dashboard",
    "journey": "xlcrm.jobs.journey:journey",
    "pipeline": "xlcrm.jobs.pipeline:pipeline",
    "survey": "xlcrm.jobs.surveys:survey",
    "referrals": "xlcrm.jobs.referrals:referrals",
    "steps": "xlcrm.jobs.steps:steps",
    "print_list": "xlcrm.jobs.printout:print_list",
    "view": "xlcrm.jobs.view:refresh_view",
}


# the large sheets each job reads first, by the names the template gives them (schema.CUSTOMERS.ja, ORDERS.ja):
# `xlcrm run` starts parsing them while the job's modules load (book/ahead.py)
_CUSTOMERS_ORDERS = ("顧客", "注文")
READS_FIRST: dict[str, tuple[str, ...]] = {
    **{tag: _CUSTOMERS_ORDERS for tag in ("rfm", "lapse", "followup", "dashboard", "journey", "pipeline", "survey",
                                          "referrals", "steps")},
    "dedupe": ("顧客",), "print_list": ("顧客",),
}


def resolve(tag: str):
    """The job function registered under `tag`."""
    module, func = JOBS[tag].split(":")
    return getattr(importlib.import_module(module), func)


@contextmanager
def collector_paused():
    """Python's cycle collector paused for a job. A job holds millions of long-lived objects (the cells of 100,000
    rows) and makes cycles of none: the collector would walk them all again and again — a fifth of a large job's
    time — to free nothing. It runs again when the job ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def open_job_book(target, overrides: dict | None = None, progress=None):
    """The book a job runs on: the workbook itself, or — when `--store` or 設定「保存先」 names a database — the
    workbook as a view of that store (one transaction per job, rolled back on any error)."""
    from ..book import open_book   # the book layer loads pandas: `xlcrm rfm orders.csv` imports this package without
    from ..store import chosen     # the store's modules, duckdb and psycopg load only when 保存先 names a database
    with open_book(target) as book:
        book.progress = progress
        url = chosen(book.settings(overrides).store)
        if url.kind == "workbook":
            yield book
            return
        from ..store import open_store      # see above: only for a database store
        from ..store.view import StoredBook  # likewise
        with open_store(url) as store:
            yield StoredBook(book, store)


def run(job, target, *, overrides: dict | None = None, progress=None, **options) -> JobResult:
    """Open the book, run `job` (a tag of `JOBS`, or a job function such as `followup.customer_card`) with the
    book's settings (plus overrides), save, return the result. `progress(message_key, **kw)` is called at each
    step (reading, writing, saving; see messages `step_*`)."""
    func = resolve(job) if isinstance(job, str) else job
    with collector_paused(), open_job_book(target, overrides, progress) as book:
        result = func(book, book.settings(overrides), **options)
        book.save(last=True)
    for key, kw in getattr(book, "notices", ()):   # what saving did beyond the job (e.g. recalculation on open)
        result.summary_ja += "\n" + messages.text(key, "ja", **kw)
        result.summary_en += "\n" + messages.text(key, "en", **kw)
    return result
