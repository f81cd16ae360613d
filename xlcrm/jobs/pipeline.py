"""The pipeline job (商談 sheet) and each customer's current sales stage (商談段階 / 段階日 on 顧客).

The sheet is generated: blanked and written again on every refresh (pipeline by 担当者, stage conversion with a
bar chart beside it, stalled deals). The two columns go to 顧客 through `book.update_columns`, so the job owns
only those; customers without a deal get blanks.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import messages, schema
from .. import pipeline as pl
from ..book.report import Chart, Report
from ..messages import BadInput
from . import JobResult
from .common import plain
from .formats import DATE, dress_customer_columns
from .orders import PURCHASE_READS, read_orders

SHEET = "商談"
STAFF_AT = 5           # the pipeline-by-owner block's title row
CHART_ROWS = 16        # the chart beside the funnel is about 7.5 cm tall


def _t(key: str, lang: str, **kw) -> str:
    return messages.text("pl_" + key, lang, **kw)


def _stage(s: str, lang: str) -> str:
    return _t("stage_" + s, lang) if s in schema.SFA_STAGES else s


def _owner(o: str, lang: str) -> str:
    return _t("total", lang) if o == "*" else _t("nobody", lang) if o == "" else o


def layout(d: dict, names: pd.Series, lang: str) -> Report:
    """The 商談 sheet: pipeline by 担当者, stage conversion with its bar chart, stalled deals."""
    out = Report([], notes=["A2", "A3"], widths={"A": 16, "B": 16, **{c: 13 for c in "CDEFGHJ"}, "I": 19})
    blocks, formats = out.blocks, out.number_formats
    now = dt.datetime.now().replace(microsecond=0)
    blocks.append(("A1", [[_t("title", lang), None, None, f"{messages.text('db_as_of', lang)}: {d['as_of']:%Y-%m-%d}",
                           None, None, f"{messages.text('db_updated', lang)}: {now:%Y-%m-%d %H:%M}"]]))
    blocks.append(("A2", [[line] for line in _t("note", lang).split("|")]))

    r = STAFF_AT
    bs = d["by_staff"]
    rows = [[_t("by_staff", lang, days=d["period_days"])], _t("staff_cols", lang).split("|")]
    for owner, x in bs.iterrows():
        rows.append([_owner(owner, lang), *(int(x[s]) for s in pl.OPEN_STAGES), int(x["open"]), int(x["won"]),
                     int(x["lost"]), float(x["win_rate"]), float(x["avg_days_to_win"]),
                     int(x["stalled"])])
    blocks.append((f"A{r}", rows))
    out.bold += [f"A{r}", f"A{r + len(rows) - 1}"]          # the block title and the total row
    out.centre.append(f"B{r + 1}:J{r + 1}")
    end = r + len(rows) - 1
    formats[f"H{r + 2}:H{end}"] = "0.0%"
    formats[f"I{r + 2}:I{end}"] = "0.0"
    r = end + 3

    fu = d["funnel"]
    rows = [[_t("funnel", lang, days=d["period_days"])], _t("funnel_cols", lang).split("|")]
    for x in fu.itertuples():
        moved = None if pd.isna(x.moved_on) else int(x.moved_on)
        rows.append([_stage(x.stage, lang), int(x.reached), moved, float(x.conversion),
                     int(x.lost), int(x.open_now)])
    blocks.append((f"A{r}", rows))
    out.bold.append(f"A{r}")
    out.centre.append(f"B{r + 1}:F{r + 1}")
    formats[f"D{r + 2}:D{r + 1 + len(fu)}"] = "0.0%"
    if fu["reached"].sum():
        out.charts.append(Chart("bar", f"H{r}", _t("chart", lang), values=f"B{r + 2}:B{r + 1 + len(fu)}",
                                categories=f"A{r + 2}:A{r + 1 + len(fu)}", series_name=rows[1][1]))
        r = max(r + len(rows), r + CHART_ROWS) + 1
    else:
        r += len(rows) + 2

    st = d["stalled"]
    rows = [[_t("stalled", lang, days=d["stall_days"])], _t("stalled_cols", lang).split("|")]
    for x in st.itertuples():
        rows.append([x.customer_id, names.get(x.customer_id, ""), _stage(x.stage, lang), x.since.to_pydatetime(),
                     int(x.days), _owner(x.owner, lang)])
    if not len(st):
        rows.append([_t("none_deals" if not len(d["deals"]) else "none_stalled", lang)])
    blocks.append((f"A{r}", rows))
    out.bold.append(f"A{r}")
    out.centre.append(f"B{r + 1}:F{r + 1}")
    if len(st):
        formats[f"D{r + 2}:D{r + 1 + len(st)}"] = "yyyy/mm/dd"
        formats[f"E{r + 2}:E{r + 1 + len(st)}"] = "#,##0"          # 経過日数: 1,017, as the dashboard writes it
        out.centre += [f"C{r + 2}:C{r + 1 + len(st)}", f"F{r + 2}:F{r + 1 + len(st)}"]   # short labels
    return out


def _read(book, as_of):
    """顧客, 注文 and 対応履歴 (BadInput before anything is written, as schema.conform finds it), with every
    order and every stage row naming a known customer; and the check of orders dated after `as_of`."""
    got = read_orders(book, as_of, required=False, customers=("customer_id", "name", "staff"),
                      orders=PURCHASE_READS["orders"], writes=("customers",))
    customers, orders = got.customers, got.orders
    contacts = book.read("contacts", required=False)
    if contacts is not None and len(contacts):
        staged = contacts[contacts["stage"].ne("")]
        staged.attrs = contacts.attrs          # the headers and letters name the cell
        schema.check_references(customers, staged, contacts.attrs.get("sheet", "対応履歴"))
    return customers, orders, contacts, got.dates


def options(settings) -> dict:
    return {"period_days": int(settings.pipeline_period_days),
            "stall_days": int(settings.pipeline_stall_days)}


def pipeline(book, settings, *, as_of=None, staff: str | None = None) -> JobResult:
    """Rewrite the 商談 sheet and the 商談段階 / 段階日 columns of 顧客. `staff` narrows the returned view (the
    counts' "view") to one owner; the sheet always shows everyone."""
    lang = settings.lang
    as_of = settings.as_of_date(as_of)
    customers, orders, contacts, dates = _read(book, as_of)
    d = pl.build(customers, orders, contacts, as_of, **options(settings))
    view = d
    if staff is not None:
        staff = staff.strip()
        known = sorted(o for o in d["deals"]["owner"].unique() if o)
        if staff not in known:
            raise BadInput([], key="pl_unknown_staff", staff=staff, known=" / ".join(known) or "-")
        view = pl.build(customers, orders, contacts, as_of, staff=staff, **options(settings))
    names = customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
    charts = book.write_report(SHEET, layout(d, names, lang))
    hl = settings.header_lang
    cur = d["current"]
    book.update_columns("customers", pd.DataFrame({
        "customer_id": cur["customer_id"].to_numpy(),
        _t("col_stage", hl): cur["stage"].to_numpy(),
        _t("col_since", hl): cur["since"].to_numpy(dtype="datetime64[ns]")}), key="customer_id")
    dress_customer_columns(book, {_t("col_stage", hl): (None, 8), _t("col_since", hl): (DATE, 11)})
    total = d["by_staff"].loc["*"]
    rate = "-" if pd.isna(total["win_rate"]) else f"{total['win_rate']:.0%}"
    counts = {k: int(total[k]) for k in ("open", "won", "lost", "stalled")}
    counts.update(win_rate=plain(float(total["win_rate"])), customers=len(cur), charts=charts,
                  view=_view(view, names))
    msg = {g: messages.text("pl_done", g, rate=rate, period=d["period_days"], **{k: counts[k] for k in
                                                                              ("open", "won", "lost", "stalled")})
           for g in ("ja", "en")}
    ja, en = dates.add_to(msg["ja"], msg["en"])
    book.journal("pipeline", ja, en)
    return JobResult(ja, en, {**counts, **dates.counts()})


def _view(d: dict, names: pd.Series) -> dict:
    """The figures as plain values for `xlcrm pipeline --json` (owner "*" is the total)."""
    bs = d["by_staff"].reset_index()
    st = d["stalled"]
    return {
        "as_of": f"{d['as_of']:%Y-%m-%d}", "period_days": d["period_days"], "stall_days": d["stall_days"],
        "by_staff": [{k: plain(v) for k, v in r.items()}
                     for r in bs.to_dict("records")],
        "funnel": [{k: plain(v) for k, v in r.items()}
                   for r in d["funnel"].to_dict("records")],
        "stalled": [{"customer_id": x.customer_id, "name": names.get(x.customer_id, ""), "stage": x.stage,
                     "since": f"{x.since:%Y-%m-%d}", "days": int(x.days), "owner": x.owner}
                    for x in st.itertuples()],
    }
