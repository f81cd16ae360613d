"""The journey job (ジャーニー sheet) and store visits (来店回数 / 最終来店日 on 顧客).

Like the dashboard, the sheet is generated: it is cleared and written again on every refresh (funnel, channel
analysis, funnel by acquisition channel and by first-order month, and a native bar chart of the funnel with the
file engine). The visit columns go to 顧客 through `book.update_columns`, so the job owns only those two columns.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import journey as jr
from .. import messages
from ..book.base import col_letter
from ..book.report import Chart, Report
from . import JobResult
from .formats import COUNT, DATE, YEN, dress_customer_columns
from .orders import read_orders
from .rfm import rfm_options, scores

SHEET = "ジャーニー"
FUNNEL_AT = 4          # the funnel block's title row; the chart sits to its right
CHART_AT = "H3"
MONTHS = 24            # the by-month table shows the latest months only


def _t(key: str, lang: str) -> str:
    return messages.text("jr_" + key, lang)


def _label(channel: str, lang: str) -> str:
    return _t("no_channel", lang) if channel == jr.NO_CHANNEL else channel


def layout(d: dict, lang: str) -> Report:
    """The ジャーニー sheet: funnel (with its bar chart beside it), channels, funnel by channel and by month."""
    blocks, formats, refs = [], {}, {"titles": []}
    now = dt.datetime.now().replace(microsecond=0)
    as_of_label = messages.text("db_as_of", lang)
    updated = messages.text("db_updated", lang)
    blocks.append(("A1", [[_t("title", lang), None, f"{as_of_label}: {d['as_of']:%Y-%m-%d}", None, None,
                           f"{updated}: {now:%Y-%m-%d %H:%M}"]]))
    blocks.append(("A2", [[line] for line in _t("note", lang).split("|")]))   # two short lines, not one wide

    r = FUNNEL_AT
    fu = d["funnel"]
    rows = [[_t("funnel", lang)], _t("funnel_cols", lang).split("|")]
    for x in fu.itertuples():
        rows.append([_t("step_" + x.step, lang), int(x.customers), float(x.conversion),
                     float(x.drop_off), float(x.overall)])
    blocks.append((f"A{r}", rows))
    refs["titles"].append(f"A{r}")
    refs["funnel"] = (r + 2, len(fu))
    formats[f"B{r + 2}:B{r + 1 + len(fu)}"] = COUNT          # 1,000 as on the dashboard, not 1000
    formats[f"C{r + 2}:C{r + 1 + len(fu)}"] = "0.0%"
    formats[f"D{r + 2}:D{r + 1 + len(fu)}"] = COUNT
    formats[f"E{r + 2}:E{r + 1 + len(fu)}"] = "0.0%"

    # the chart beside the funnel is about 7.5 cm tall: the next block starts below it
    r = max(r + len(rows), 3 + 16) + 1
    ch = d["channels"]
    rows = [[_t("channels", lang)], _t("channel_cols", lang).split("|")]
    for name, x in ch.iterrows():
        rows.append([_label(name, lang), int(x["orders"]), float(x["revenue"]), int(x["buyers"]),
                     int(x["first_purchases"]), int(x["f2"]), float(x["f2_rate"]), int(x["repeaters"]),
                     float(x["repeat_rate"])])
    if not len(ch):
        rows.append([_t("none", lang)])
    blocks.append((f"A{r}", rows))
    refs["titles"].append(f"A{r}")
    if len(ch):
        end = r + 1 + len(ch)
        formats[f"C{r + 2}:C{end}"] = YEN
        for c in "BDEFH":
            formats[f"{c}{r + 2}:{c}{end}"] = COUNT
        formats[f"G{r + 2}:G{end}"] = "0.0%"
        formats[f"I{r + 2}:I{end}"] = "0.0%"
    r += len(rows) + 2

    yes = messages.text("db_yes", lang)
    for key, by, head in (("by_channel", d["by_channel"], "channel"), ("by_month", d["by_month"].tail(MONTHS),
                                                                        "month")):
        cols = _t("by_cols", lang).split("|")
        cols[0] = _t(head, lang)
        if head == "month":
            cols.append(_t("complete", lang))
        rows = [[_t(key, lang)], cols]
        for name, x in by.iterrows():
            rows.append([_label(name, lang) if head == "channel" else name]
                        + [int(x[s]) for s in jr.STEPS[1:]]
                        + [float(x[f"{s}_rate"]) for s in jr.STEPS[2:]]
                        + ([] if head == "channel" else [yes if x["complete"] else ""]))
        if not len(by):
            rows.append([_t("none", lang)])
        blocks.append((f"A{r}", rows))
        refs["titles"].append(f"A{r}")
        if len(by):
            formats[f"B{r + 2}:E{r + 1 + len(by)}"] = COUNT
            formats[f"F{r + 2}:H{r + 1 + len(by)}"] = "0.0%"
            if head == "month":
                refs["centre"] = [f"I{r + 1}:I{r + 1 + len(by)}"]
        r += len(rows) + 2
    first, n = refs["funnel"]
    charts = [Chart("bar", CHART_AT, _t("funnel", lang), values=f"B{first}:B{first + n - 1}",
                    categories=f"A{first}:A{first + n - 1}")] if n else []
    return Report(blocks, number_formats=formats, bold=refs["titles"], notes=["A2", "A3"],
                  centre=refs.get("centre", []), widths={"A": 22, **{col_letter(i): 13 for i in range(2, 10)}},
                  charts=charts)


def compute(book, settings, as_of) -> dict:
    """Read 顧客 and 注文 (BadInput before anything is written), score RFM as the rfm job does, build."""
    got = read_orders(book, as_of)
    customers, orders = got.customers, got.orders
    scored = scores(orders, as_of, rfm_options(settings)) if len(orders) else None
    store = settings.store_channels or jr.STORE_CHANNELS
    if isinstance(store, str):
        store = tuple(s for s in store.replace("、", ",").split(",") if s.strip())
    d = jr.build(customers, orders, as_of, scored, store_channels=store, window_days=int(settings.f2_days))
    d["dates"] = got.dates   # orders after the as-of date, for the summary
    return d


def journey(book, settings, *, as_of=None) -> JobResult:
    """Rewrite the ジャーニー sheet and the 来店回数 / 最終来店日 columns of 顧客."""
    lang = settings.lang
    as_of = settings.as_of_date(as_of)
    d = compute(book, settings, as_of)
    charts = book.write_report(SHEET, layout(d, lang))
    hl = settings.header_lang
    v = d["visits"]
    book.update_columns("customers", pd.DataFrame({
        "customer_id": v["customer_id"],
        _t("visit_count", hl): v["visit_count"].to_numpy(),
        _t("last_visit", hl): v["last_visit"].to_numpy()}), key="customer_id")
    dress_customer_columns(book, {_t("visit_count", hl): (COUNT, 6), _t("last_visit", hl): (DATE, 11)})
    fu = d["funnel"].set_index("step")
    worst = jr.biggest_drop(d["funnel"])
    counts = {s: int(fu.loc[s, "customers"]) for s in jr.STEPS}
    counts.update(visitors=int((v["visit_count"] > 0).sum()), channels=len(d["channels"]), charts=charts,
                  worst=worst)
    msg = {g: messages.text("jr_done", g, **{k: counts[k] for k in (*jr.STEPS, "visitors")},
                            worst=_t("step_" + worst, g) if worst else "-") for g in ("ja", "en")}
    ja, en = d["dates"].add_to(msg["ja"], msg["en"])
    book.journal("journey", ja, en)
    return JobResult(ja, en, {**counts, **d["dates"].counts()})

