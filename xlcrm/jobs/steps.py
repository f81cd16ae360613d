"""Jobs of timed steps: the step rows of the follow-up refresh (`step_rows`, called by the followup job) and the
ステップ状況 report sheet (`steps`)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import followup as fu
from .. import messages, schema
from .. import steps as st
from . import JobResult
from .followup import read_table

STEPS_SHEET = st.STEPS_TABLE.ja
REPORT_SHEET = "ステップ状況"
CLEAR_ROWS, CLEAR_COLS = 300, 16     # more than any chain sheet holds


def read_steps(book) -> tuple[dict, bool]:
    """Chains from the ステップ sheet; a book without one gets the default chain (returns created=True)."""
    raw = read_table(book, st.STEPS_TABLE)
    if raw is None:
        df = st.default_steps()
        df["enabled"] = df["enabled"].map(lambda v: "○" if v else "×")
        book.write_table(STEPS_SHEET, schema.to_sheet(df, st.STEPS_TABLE))
        return st.parse_steps(None), True
    return st.parse_steps(raw, sheet=raw.attrs.get("sheet", STEPS_SHEET)), False


def options(settings) -> dict:
    return {"last_days": int(settings.get("step_last_days", 30))}


def step_rows(chains: dict, customers, orders, existing, as_of, *, held_out=(), last_days=30, lang="ja"):
    """(step candidates, rule id -> customers the chains cover, closing notes) for the follow-up refresh."""
    prog = st.progress(chains, customers, orders, as_of, last_days=last_days)
    gen = st.candidates(chains, prog, customers, as_of, exclude_customers=held_out, lang=lang)
    return gen, st.covered(chains, prog), st.closing_notes(existing, chains, prog, as_of, lang)


def layout(summary: pd.DataFrame, table: pd.DataFrame, as_of, coupon_days: int, lang: str):
    """(blocks [(cell, rows)], number formats {range: format}, title cells) of the ステップ状況 sheet."""
    t = lambda k, **kw: messages.text("st_" + k, lang, **kw)   # noqa: E731
    now = dt.datetime.now().replace(microsecond=0)
    blocks = [("A1", [[t("title"), None, f"{t('as_of')}: {pd.Timestamp(as_of):%Y-%m-%d}", None, None,
                       f"{messages.text('db_updated', lang)}: {now:%Y-%m-%d %H:%M}"]]),
              ("A2", [[line] for line in t("note", days=coupon_days).split("|")])]
    titles = ["A5"]
    rows = [[t("chains")], t("chain_cols").split("|")]
    trig = {"初回購入": t("trigger_first"), "登録": t("trigger_registered")}
    for x in summary.itertuples():
        rows.append([x.chain if x.enabled else f"{x.chain} {t('off')}", trig[x.trigger], x.steps, x.waiting,
                     x.active, x.stopped, x.span])
    if not len(summary):
        rows.append([t("none")])
    blocks.append(("A5", rows))
    r = 5 + len(rows) + 1
    titles.append(f"A{r}")
    rows = [[t("steps")], t("step_cols").split("|")]
    for x in table.itertuples():
        rows.append([x.chain, x.step, x.name, x.days, x.coupon or None, x.current, x.reached, x.open, x.done,
                     x.closed, x.ordered, x.ordered / x.reached if x.reached else None, x.issued, x.redeemed,
                     x.redeemed / x.issued if x.issued else None])
    blocks.append((f"A{r}", rows))
    formats = {}
    if len(table):
        first, last = r + 2, r + 1 + len(table)
        formats = {f"L{first}:L{last}": "0.0%", f"O{first}:O{last}": "0.0%"}
    return blocks, formats, titles


def steps(book, settings, *, as_of=None) -> JobResult:
    """Rewrite the ステップ状況 sheet: per chain and step, where customers stand and what the steps achieved."""
    lang = settings.get("lang", "ja")
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else settings.as_of_date()
    customers = book.read("customers")
    orders = book.read("orders")
    chains, _ = read_steps(book)
    follow = read_table(book, fu.FOLLOW_TABLE)
    opts = options(settings)
    coupon_days = int(settings.get("coupon_days", 30))
    prog = st.progress(chains, customers, orders, as_of, **opts)
    table = st.report(chains, prog, follow, orders, as_of, coupon_days=coupon_days, **opts)
    summary = st.summary(chains, prog, **opts)
    blocks, formats, titles = layout(summary, table, as_of, coupon_days, lang)
    _write(book, blocks, formats, titles)
    counts = {k: int(table[k].sum()) for k in ("reached", "open", "done", "ordered", "issued", "redeemed")}
    counts["chains"] = len(chains)
    msg = {g: messages.text("st_done", g, **counts) for g in ("ja", "en")}
    book.journal("steps", msg["ja"], msg["en"])
    return JobResult(msg["ja"], msg["en"], {**counts, "table": table, "summary": summary})


def _write(book, blocks, formats, titles) -> None:
    """Through the book's report-sheet API; until a book has it (lead's branch), clear a generous block and
    leave the formatting out."""
    if hasattr(book, "reset_sheet"):
        book.reset_sheet(REPORT_SHEET)
    else:
        book.write_range(REPORT_SHEET, "A1", [], clear=(CLEAR_ROWS, CLEAR_COLS))
    for cell, rows in blocks:
        book.write_range(REPORT_SHEET, cell, rows)
    if hasattr(book, "format_sheet"):
        book.format_sheet(REPORT_SHEET, number_formats=formats, bold=titles, title="A1", notes=["A2", "A3"],
                          widths={"A": 14, "B": 12, "C": 16, "E": 16})
