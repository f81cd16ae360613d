"""Jobs of timed steps: the step rows of the follow-up refresh (`step_rows`, called by the followup job) and the
ステップ状況 report sheet (`steps`)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import followup as fu
from .. import messages
from .. import steps as st
from ..book.report import Report
from . import JobResult
from .. import schema
from .common import ENABLED, WHOLE, read_editable, read_table
from .orders import read_orders

STEPS_SHEET = st.STEPS_TABLE.ja
REPORT_SHEET = "ステップ状況"


def read_steps(book) -> tuple[dict, bool]:
    """Chains from the ステップ sheet (the default chain when missing; created=True)."""
    return read_editable(book, st.STEPS_TABLE, st.default_steps, st.parse_steps)


STEP_WIDTHS = {"chain": 10, "step": 6, "trigger": 10, "days": 6, "name": 14, "action": 36, "channels": 14,
               "coupon": 14, "kind": 7, "priority": 7, "due_days": 9, "enabled": 6, "note": 50}


def dress_steps(book) -> None:
    """The ステップ sheet: drop-downs for 起点 (初回購入 / 登録), 区分 (販促 / 案内) and 有効 (○ / ×), widths that
    fit, printed landscape with its header."""
    raw = book.read_raw(STEPS_SHEET)
    if raw is None:
        return
    h = {k: x for x, k in schema.header_map(list(raw.columns), st.STEPS_TABLE).items()}
    head = lambda k: h.get(k, st.STEPS_TABLE.header(k))  # noqa: E731
    book.dress_table(STEPS_SHEET, lists={head("trigger"): st.TRIGGERS, head("kind"): st.KINDS,
                                         head("enabled"): ENABLED},
                     number_formats={head(k): WHOLE for k in ("step", "days", "priority", "due_days")},
                     widths={head(k): w for k, w in STEP_WIDTHS.items()}, header=True)


def options(settings) -> dict:
    return {"last_days": int(settings.step_last_days)}


def control_pct(settings) -> float:
    return float(settings.step_control_pct or 0.0)


def step_rows(chains: dict, customers, orders, existing, as_of, now, *, held_out=(), last_days=30, control_pct=0.0,
              lang="ja"):
    """(step candidates, rule id -> customers the chains cover, closing notes) for the follow-up refresh.
    Customers a chain holds out (`control_pct`) get no rows, yet stay covered: the お礼 / F2 rules it replaces
    must not reach them either, or the control group would be contacted after all."""
    prog = st.progress(chains, customers, orders, as_of, last_days=last_days)
    out = st.held_out(prog, control_pct, st.listed(existing))
    gen = st.candidates(chains, prog[~out], customers, as_of, exclude_customers=held_out, lang=lang)
    gen.attrs["held_out"] = int((out & prog["state"].isin(["waiting", "active"]).to_numpy(dtype=bool)).sum())
    return gen, st.covered(chains, prog), st.closing_notes(existing, chains, prog, now, lang)


def control_block(r: int, comp: list[dict], chains: dict, pct: float, judge_days: int, lang: str):
    """(blocks, formats, titles, notes, centre) of the hold-out comparison from row `r`: one block per chain,
    or, with no hold-out, two lines saying the setting exists and how to turn it on."""
    t = lambda k, **kw: messages.text("st_ctl_" + k, lang, **kw)   # noqa: E731
    if not pct:
        lines = t("off").split("|")
        return ([(f"A{r}", [[t("off_title")], *[[x] for x in lines]])], {}, [f"A{r}"],
                [f"A{r + 1 + i}" for i in range(len(lines))], [])
    blocks, formats, titles, notes, centre = [], {}, [], [], []
    pc = lambda v: "" if pd.isna(v) else f"{v * 100:.1f}%"        # noqa: E731
    for x in comp:
        c = chains[x["chain"]]
        res = x["result"]
        what = t("what_first" if c.trigger == "初回購入" else "what_registered")
        note = (t("note", window=x["window"], last=c.steps[-1].n, days=c.steps[-1].days, judge=judge_days,
                  what=what, since=f"{x['since']:%Y-%m-%d}") if x["since"] is not None else t("note_none"))
        lines = note.split("|")
        rows = [[t("title", chain=x["chain"], pct=pct)], *[[line] for line in lines], t("cols").split("|")]
        head = r + 1 + len(lines)          # the column headers' row
        for g, k in (("treated", 0), ("control", 1)):
            a = res[g]
            rows.append([t(g), x["entered"][k], a["n"], a["buyers"], None if pd.isna(a["rate"]) else a["rate"],
                         f"{pc(a['rate_lo'])}〜{pc(a['rate_hi'])}" if a["n"] else ""])
        d = res.get("rate_diff")
        rows.append([t("diff"), None, None, None, d["est"] if d else None, f"{pc(d['lo'])}〜{pc(d['hi'])}" if d else ""])
        rows.append([t("verdict"), t(x["verdict"], min=st.MIN_JUDGED)])
        blocks.append((f"A{r}", rows))
        titles.append(f"A{r}")
        notes += [f"A{r + 1 + i}" for i in range(len(lines))]
        formats[f"E{head + 1}:E{head + 3}"] = "0.0%"
        centre.append(f"B{head}:F{head}")
        r += len(rows) + 1
    return blocks, formats, titles, notes, centre


def layout(summary: pd.DataFrame, table: pd.DataFrame, as_of, coupon_days: int, lang: str, control=None) -> Report:
    """The ステップ状況 sheet: the chains, each chain's steps, the coupons, the hold-out comparison (`control`: the
    arguments of `control_block` after the row). Nine columns: one page wide."""
    t = lambda k, **kw: messages.text("st_" + k, lang, **kw)   # noqa: E731
    now = dt.datetime.now().replace(microsecond=0)
    notes = t("note", days=coupon_days).split("|")
    blocks = [("A1", [[t("title"), None, f"{t('as_of')}: {pd.Timestamp(as_of):%Y-%m-%d}", None, None,
                       f"{messages.text('db_updated', lang)}: {now:%Y-%m-%d %H:%M}"]]),
              ("A2", [[line] for line in notes])]
    r = 2 + len(notes) + 1
    titles, formats, centre = [], {}, []
    trig = {"初回購入": t("trigger_first"), "登録": t("trigger_registered")}
    rows = [[t("chains")], t("chain_cols").split("|")]
    for x in summary.itertuples():
        rows.append([x.chain if x.enabled else f"{x.chain} {t('off')}", trig[x.trigger], x.steps, x.span,
                     x.waiting, x.active, x.stopped])
    if not len(summary):
        rows.append([t("none")])
    blocks.append((f"A{r}", rows))
    titles.append(f"A{r}")
    centre.append(f"C{r + 1}:G{r + 1}")        # headers over the figures
    r += len(rows) + 1
    for cid, g in table.groupby("chain", sort=False):   # one block per chain: no chain column, one page wide
        rows = [[t("steps", chain=cid)], t("step_cols").split("|")]
        # who ordered before the first step's day: with the steps' rows they add up to the chain's 注文で終了
        rows.append(["-", t("before_first"), None, None, None, None, None,
                     table.attrs.get("ordered_before", {}).get(cid, 0), None])
        for x in g.itertuples():
            rows.append([x.step, x.name, x.days, x.current, x.reached, x.open, x.done, x.ordered,
                         x.ordered / x.entered if x.entered else None])
        blocks.append((f"A{r}", rows))
        titles.append(f"A{r}")
        formats[f"I{r + 2}:I{r + 2 + len(g)}"] = "0.0%"
        centre += [f"A{r + 1}:A{r + 2 + len(g)}", f"C{r + 1}:I{r + 1}"]
        r += len(rows) + 1
    cp = table[table["coupon"].ne("")]
    rows = [[t("coupons")], t("coupon_cols").split("|")]
    for x in cp.itertuples():
        rows.append([x.chain, x.name, x.step, x.issued, x.redeemed, x.redeemed / x.issued if x.issued else None,
                     x.coupon])
    if not len(cp):
        rows.append([t("no_coupons")])
    blocks.append((f"A{r}", rows))
    titles.append(f"A{r}")
    if len(cp):
        formats[f"F{r + 2}:F{r + 1 + len(cp)}"] = "0.0%"
        centre += [f"C{r + 1}:C{r + 1 + len(cp)}", f"D{r + 1}:F{r + 1}"]
    notes = [f"A{2 + i}" for i in range(len(notes))]
    if control is not None:
        b, f, ti, n, c = control_block(r + len(rows) + 1, *control, lang)
        blocks += b
        formats.update(f)
        titles += ti
        notes += n
        centre += c
    return Report(blocks, number_formats=formats, bold=titles, notes=notes, centre=centre,
                  widths={"A": 8, "B": 11, "C": 5, **{c: 7 for c in "DEFGI"}, "H": 9})


def steps(book, settings, *, as_of=None) -> JobResult:
    """Rewrite the ステップ状況 sheet: per chain and step, where customers stand and what the steps achieved."""
    lang = settings.lang
    as_of = settings.as_of_date(as_of)
    got = read_orders(book, as_of)
    customers, orders = got.customers, got.orders
    chains, _ = read_steps(book)
    dress_steps(book)
    follow = read_table(book, fu.FOLLOW_TABLE)
    opts = options(settings)
    coupon_days = int(settings.coupon_days)
    prog = st.progress(chains, customers, orders, as_of, **opts)
    pct = control_pct(settings)
    shown = prog[~st.held_out(prog, pct, st.listed(follow))]    # the chain's own figures leave the control group out
    table = st.report(chains, shown, follow, orders, as_of, coupon_days=coupon_days, **opts)
    summary = st.summary(chains, shown, **opts)
    comp = st.control_comparison(chains, prog, follow, as_of, pct=pct, judge_days=coupon_days) if pct else []
    book.write_report(REPORT_SHEET, layout(summary, table, as_of, coupon_days, lang,
                                           control=(comp, chains, pct, coupon_days)))
    counts = {k: int(table[k].sum()) for k in ("reached", "open", "done", "issued", "redeemed")}
    counts["ordered"] = int(summary["stopped"].sum())        # the steps' and the before-first row's together
    counts["chains"] = len(chains)
    msg = {g: messages.text("st_done", g, **counts) for g in ("ja", "en")}
    if comp:    # the verdict's head word per chain: 効果あり / はっきりしない / 件数不足 / 逆効果の疑い
        for g in msg:
            v = ", ".join(f"{x['chain']} " + messages.text("st_ctl_" + x["verdict"], g, min=st.MIN_JUDGED)
                          .split(":")[0] for x in comp)
            msg[g] += messages.text("st_ctl_done", g, verdicts=v)
    ja, en = got.dates.add_to(msg["ja"], msg["en"])
    book.journal("steps", ja, en)
    return JobResult(ja, en, {**counts, "table": table, "summary": summary, "control": comp,
                              **got.dates.counts()})

