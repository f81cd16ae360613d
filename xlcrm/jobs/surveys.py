"""The satisfaction job (満足度 sheet) and each customer's latest score (最新評価 / 評価日 on 顧客).

The sheet is generated: cleared and written again on every refresh (overall, by RFM segment, by lapse status,
whether low scores come before lapse, monthly trend, and a bar chart of the average by segment). The two columns
go to 顧客 through `book.update_columns`, so the job owns only those.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import messages, schema
from .. import surveys as sv
from ..book import open_book
from ..book.report import Chart, Report
from . import JobResult
from .common import scores
from .formats import DATE, dress_customer_columns
from .orders import PURCHASE_READS, read_orders

SHEET = "満足度"
MONTHS = 24            # the monthly block shows the latest months only
CHART_AT = "I6"


def _t(key: str, lang: str, **kw) -> str:
    return messages.text("sv_" + key, lang, **kw)


def scale_of(settings) -> sv.Scale:
    """The answer scale and thresholds from 設定 (BadInput naming the 設定 item when they do not fit)."""
    return sv.make_scale(settings.survey_scale, settings.survey_low, settings.survey_high)


def compute(book, settings, as_of) -> dict:
    """Read 設定, 顧客, 注文 and 対応履歴 (BadInput before anything is written), score RFM and lapse as their jobs
    do, build every table of the sheet."""
    lang = settings.lang
    scale = scale_of(settings)
    got = read_orders(book, as_of, **PURCHASE_READS, writes=("customers",))   # who the customers are, what they bought
    customers, orders = got.customers, got.orders
    contacts = book.read("contacts", required=False)
    if contacts is not None and len(contacts):
        answers = contacts[contacts["type"].isin(sv.SURVEY_TYPES) & contacts["score"].notna()]
        schema.check_references(customers, answers, contacts.attrs.get("sheet", schema.CONTACTS.ja))
    scored, lap = scores(settings, orders, as_of) if len(orders) else (None, None)
    d = sv.build(customers, contacts, scored, lap, as_of, scale, days=int(settings.survey_days), lang=lang)
    d["dates"] = got.dates   # orders after the as-of date, for the summary
    return d


def layout(d: dict, lang: str) -> Report:
    """The 満足度 sheet: overall, by RFM segment (with its bar chart), by lapse status, low scores before lapse,
    the monthly trend."""
    scale: sv.Scale = d["scale"]
    blocks, fmt = [], {"number_formats": {}, "bold": [], "notes": [], "centre": [], "chart": None}
    now = dt.datetime.now().replace(microsecond=0)
    blocks.append(("A1", [[_t("title", lang)],
                          [f"{messages.text('db_as_of', lang)}: {d['as_of']:%Y-%m-%d}  ・  "
                           f"{messages.text('db_updated', lang)}: {now:%Y-%m-%d %H:%M}"],
                          [_t("scale_label", lang, name=scale.name, low=sv.fmt_score(scale.low),
                              high=sv.fmt_score(scale.high))], [_t("note", lang)]]))
    fmt["notes"] += ["A3", "A4"]
    nps = scale.nps

    def stat_cells(x):
        return [float(x["average"]), float(x["low_share"]), float(x["high_share"])] + (
            [float(x["nps"])] if nps else [])

    def formats(r, n, first_col):
        """Average, shares and NPS columns from `first_col` for rows r..r+n-1."""
        if not n:
            return
        cols = [chr(ord(first_col) + i) for i in range(4 if nps else 3)]
        end = r + n - 1
        fmt["number_formats"][f"{cols[0]}{r}:{cols[0]}{end}"] = "0.00"
        fmt["number_formats"][f"{cols[1]}{r}:{cols[2]}{end}"] = "0.0%"
        if nps:
            fmt["number_formats"][f"{cols[3]}{r}:{cols[3]}{end}"] = "+0.0;-0.0;0.0"

    def header(key):
        cols = _t(key, lang).split("|")
        return cols if nps else cols[:-1]

    r = 6
    ov = d["overall"]
    rows = [[_t("overall", lang)], header("overall_cols")]
    for key, x in ov.iterrows():
        label = _t("all", lang) if key == "" else _t("type_" + key, lang)
        rows.append([label[:1].upper() + label[1:], int(x["answers"]), int(x["respondents"])] + stat_cells(x))
    blocks.append((f"A{r}", rows))
    fmt["bold"] += [f"A{r}", f"A{r + 2}"]
    formats(r + 2, len(ov), "D")
    r += len(rows) + 1

    for key, head, table in (("by_segment", "segment", d["by_segment"]), ("by_status", "status", d["by_status"])):
        cols = header("group_cols")
        cols[0] = _t(head, lang)
        rows = [[_t(key, lang)], cols]
        for name, x in table.iterrows():
            rows.append([name if name != sv.NO_ORDERS else _t("no_orders", lang), int(x["respondents"])]
                        + stat_cells(x))
        if not len(table):
            rows.append([_t("none", lang)])
        blocks.append((f"A{r}", rows))
        fmt["bold"].append(f"A{r}")
        formats(r + 2, len(table), "C")
        if key == "by_segment" and len(table):
            fmt["chart"] = Chart("bar", CHART_AT, _t("chart", lang), values=f"C{r + 2}:C{r + 1 + len(table)}",
                                 categories=f"A{r + 2}:A{r + 1 + len(table)}", number_format="0.0",
                                 colors=("70AD47",), height_cm=max(7.5, 0.6 * len(table) + 2))  # every label
        r += len(rows) + 1

    ll = d["low_lapse"]
    rows = [[_t("low_lapse", lang, days=ll["days"], cutoff=f"{ll['cutoff']:%Y-%m-%d}")],
            _t("low_lapse_cols", lang).split("|")]
    for band, x in ll["table"].iterrows():
        rows.append([_t("band_" + band, lang), int(x["customers"]), int(x["lapsed"]), float(x["rate"])])
    fmt["number_formats"][f"D{r + 2}:D{r + 4}"] = "0.0%"
    if not np.isnan(ll["p"]):
        rows.append([_t("fisher", lang, p=f"{ll['p']:.3f}", odds="∞" if np.isinf(ll["odds_ratio"])
                        else f"{ll['odds_ratio']:.2f}")])
    fmt["notes"] += [f"A{r + len(rows) - 1}"] if len(rows) > 5 else []
    rows.append([_t("verdict_" + ll["verdict"], lang, n=sv.MIN_GROUP)])
    fmt["bold"] += [f"A{r}", f"A{r + len(rows) - 1}"]                   # the title and the verdict
    if ll["excluded"]:
        rows.append([_t("excluded", lang, n=ll["excluded"])])
        fmt["notes"].append(f"A{r + len(rows) - 1}")
    blocks.append((f"A{r}", rows))
    r += len(rows) + 1

    mo = d["monthly"].tail(MONTHS)
    cols = _t("monthly_cols", lang).split("|")
    cols = cols if nps else cols[:-1]
    rows = [[_t("monthly", lang)], cols]
    for m, x in mo.iterrows():
        rows.append([m, int(x["answers"]), float(x["average"]), float(x["low_share"])]
                    + ([float(x["nps"])] if nps else []))
    if not len(mo):
        rows.append([_t("none", lang)])
    blocks.append((f"A{r}", rows))
    fmt["bold"].append(f"A{r}")
    if len(mo):
        end = r + 1 + len(mo)
        fmt["number_formats"][f"C{r + 2}:C{end}"] = "0.00"
        fmt["number_formats"][f"D{r + 2}:D{end}"] = "0.0%"
        if nps:
            fmt["number_formats"][f"E{r + 2}:E{end}"] = "+0.0;-0.0;0.0"
    for cell, rows in blocks[1:]:        # column headers over numbers: centred
        head = int(cell[1:]) + 1
        fmt["centre"].append(f"B{head}:{chr(ord('A') + len(rows[1]) - 1)}{head}")
    return Report(blocks, number_formats=fmt["number_formats"], bold=fmt["bold"], notes=fmt["notes"],
                  centre=fmt["centre"], widths={"A": 30, **{c: 14 for c in "BCDEFG"}},
                  charts=[fmt["chart"]] if fmt["chart"] else [])


def survey(book, settings, *, as_of=None) -> JobResult:
    """Rewrite the 満足度 sheet and the 最新評価 / 評価日 columns of 顧客."""
    lang = settings.lang
    as_of = settings.as_of_date(as_of)
    d = compute(book, settings, as_of)
    charts = book.write_report(SHEET, layout(d, lang))
    hl = settings.header_lang
    latest = d["latest"]
    book.update_columns("customers", pd.DataFrame({
        "customer_id": latest["customer_id"],
        _t("latest_score", hl): latest["latest_score"].to_numpy(),
        _t("latest_at", hl): pd.to_datetime(latest["latest_at"]).dt.normalize().to_numpy()}), key="customer_id")
    dress_customer_columns(book, {_t("latest_score", hl): (None, 5), _t("latest_at", hl): (DATE, 11)})
    counts = _counts(d)
    counts["charts"] = charts
    msg = {}
    for g in ("ja", "en"):
        extra = "".join(_t(k, g, n=counts[k]) for k in ("ignored", "unscored") if counts[k])
        rate = {k: "-" if np.isnan(counts[k]) else f"{counts[k]:.0%}" for k in ("low_rate", "high_rate")}
        msg[g] = _t("done", g, answers=counts["answers"], respondents=counts["respondents"],
                    average="-" if np.isnan(counts["average"]) else f"{counts['average']:.2f}{_t('points', g)}",
                    low=counts["low"],
                    extra=extra, **rate)
    ja, en = d["dates"].add_to(msg["ja"], msg["en"])
    book.journal("survey", ja, en)
    return JobResult(ja, en, {**counts, **d["dates"].counts()})


def _counts(d: dict) -> dict:
    ov = d["overall"].loc[""]
    pc = d["per_customer"]
    ll = d["low_lapse"]
    return {"answers": int(ov["answers"]), "respondents": int(ov["respondents"]), "average": float(ov["average"]),
            "low": int(pc["latest_score"].le(d["scale"].low).sum()), "nps": float(ov["nps"]),
            "low_rate": float(ll["table"].loc["low", "rate"]), "high_rate": float(ll["table"].loc["high", "rate"]),
            "p": ll["p"], "verdict": ll["verdict"], "ignored": d["ignored"], "unscored": d["unscored"]}


def report(target, *, overrides: dict | None = None) -> dict:
    """The figures of the 満足度 sheet as plain JSON-ready data, read-only (`xlcrm survey BOOK --json`; a book
    open in Excel is read as last saved)."""
    with open_book(target, read_only=True) as book:
        settings = book.settings(overrides)
        d = compute(book, settings, settings.as_of_date())

    def records(df: pd.DataFrame, key: str) -> list[dict]:
        return [{key: None if k == sv.NO_ORDERS else k, **{c: _json(v) for c, v in zip(df.columns, row)}}
                for k, row in zip(df.index, df.itertuples(index=False))]

    s, ll = d["scale"], d["low_lapse"]
    return {"as_of": f"{d['as_of']:%Y-%m-%d}", "scale": s.name, "low": s.low, "high": s.high,
            "overall": records(d["overall"].rename(index={"": "all"}), "type"),
            "by_segment": records(d["by_segment"], "segment"), "by_status": records(d["by_status"], "status"),
            "low_then_lapse": {"days": ll["days"], "cutoff": f"{ll['cutoff']:%Y-%m-%d}",
                               "groups": records(ll["table"], "latest_answer"), "p": _json(ll["p"]),
                               "odds_ratio": _json(ll["odds_ratio"]), "verdict": ll["verdict"],
                               "excluded": ll["excluded"]},
            "monthly": records(d["monthly"], "month"), "ignored": d["ignored"], "unscored": d["unscored"]}


def _json(v):
    v = v.item() if hasattr(v, "item") else v
    return None if isinstance(v, float) and not np.isfinite(v) else v
