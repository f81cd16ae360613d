"""Every job, called the way the ribbon and the CLI call it, so the hostile corpus can be run through each.

Besides the registered jobs (`xlcrm.jobs.JOBS`) there are three "paths every job takes" that exist today and do
not depend on any domain: read and type the four tables; score customers from their orders and write a column and
a report sheet (what RFM, lapse and follow-up do); rewrite whole tables (what import and merge do).
"""
from __future__ import annotations

import inspect

import pandas as pd

from xlcrm import jobs
from xlcrm.book import open_book

# options a registered job needs beyond (book, settings); a job missing here that requires more is skipped
OPTIONS: dict[str, dict] = {
    "record_contact": {"customer": "C0001", "type": "フォロー", "summary": "電話でフォローしました"},
    "customer_card": {"customer": "C0001"},
    "search": {"query": "秘匿"},
}


# (case, job) pairs that fail today, reported to the job's owner: run, and expected to fail until fixed (strict)
KNOWN_BUGS: dict[tuple[str, str], str] = {
}

# tables a job adds rows to by design (record_contact appends to 対応履歴); others must keep their row count
APPENDS: dict[str, set] = {"record_contact": {"対応履歴"}, "followup": {"対応履歴"}}
# tables whose dates and amounts typed as text a job turns into the dates and numbers they mean (データ整形):
# such a cell may change, to exactly what it reads as
RETYPES: dict[str, set] = {"tidy": {"顧客", "注文", "対応履歴"}}


def read_all(path):
    with open_book(path) as b:
        for t in ("customers", "orders", "contacts"):
            b.read(t)
        b.settings()


def score(path):
    with open_book(path) as b:
        c = b.read("customers")
        o = b.read("orders")
        n = o.groupby("customer_id").size()
        b.update_columns("customers", pd.DataFrame({"customer_id": c["customer_id"],
                                                    "購入回数": c["customer_id"].map(n).fillna(0).astype(int)}),
                         key="customer_id")
        b.write_table("集計", pd.DataFrame({"顧客数": [len(c)], "注文数": [len(o)]}))
        b.journal("score", "集計", "summary")
        b.save()


def rewrite(path):
    with open_book(path) as b:
        for name in ("顧客", "注文", "対応履歴"):
            raw = b.read_raw(name)
            if raw is not None:
                b.write_table(name, raw.reset_index(drop=True))
        b.journal("rewrite", "書き直し", "rewrite")
        b.save()


def undo(path):
    from xlcrm.jobs.io import undo as undo_job
    undo_job(path)


def export(path):
    """`xlcrm export` of every table, to a folder beside the book's (the book's folder must stay as it was)."""
    from xlcrm.jobs.io import export_table
    out = path.parent.parent / "export"
    out.mkdir(exist_ok=True)
    for name in ("顧客", "注文", "対応履歴"):
        export_table(path, name, out / f"{name}.csv")


BUILTIN = {"read_all": read_all, "score": score, "rewrite": rewrite, "undo": undo, "export": export}
# which tables each builtin types (conforms): a Bad cell elsewhere does not concern it
READS = {"read_all": {"顧客", "注文", "対応履歴"}, "score": {"顧客", "注文"}, "rewrite": set(), "undo": set(),
         "export": set()}


def registered(tag: str):
    """A callable(path) for registered job `tag`, or None when it needs options we do not know."""
    fn = jobs.resolve(tag)
    params = list(inspect.signature(fn).parameters.values())[2:]
    opts = OPTIONS.get(tag, {})
    if any(p.default is inspect.Parameter.empty and p.kind == p.KEYWORD_ONLY and p.name not in opts
           or p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD and p.name not in opts
           for p in params):
        return None
    return lambda path: jobs.run(tag, path, **opts)


def all_jobs() -> list[str]:
    return list(BUILTIN) + sorted(jobs.JOBS)


def runner(name: str):
    return BUILTIN[name] if name in BUILTIN else registered(name)
