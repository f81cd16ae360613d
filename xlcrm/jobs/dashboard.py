"""The dashboard job (ダッシュボード sheet) and the PNG report (`xlcrm report BOOK --out DIR`).

The sheet is a `Report` regenerated on every refresh: figures and the data blocks the charts read, native charts
over them (line charts, F2 and status bars, the funnel and channel bars) and the cohort colour scale. An engine
without native line charts (live Excel through xlwings) gets the same matplotlib figures as the PNG report placed
as pictures instead, since those are what the report shows anyway.

The funnel block (見込み → 初回購入 → F2 → 定期・リピート → 優良) shows `journey.build`'s figures, the same as the
ジャーニー sheet, and points at the step that loses the most customers.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd

from .. import dashboard as db
from .. import journey as jr
from .. import messages, schema
from ..book import open_book
from ..book.base import col_letter
from ..book.report import Chart, Picture, Report
from ..schema import Column, Table
from . import JobResult
from .common import COUNT, DATE, dress_keys, read_table, scores, write_table
from .orders import read_orders

SHEET = "ダッシュボード"
HISTORY_TABLE = Table("segment_history", "セグメント推移", (
    Column("date", "日付", "date", required=True),
    Column("segment", "セグメント", required=True),
    Column("customers", "人数", "number"),
))
SNAPSHOT_TABLE = Table("segment_snapshot", "_セグメント前回", (
    Column("customer_id", "顧客ID", "id", required=True),
    Column("prev_segment", "前回セグメント"),
    Column("prev_date", "前回日付", "date"),
    Column("cur_segment", "今回セグメント"),
    Column("cur_date", "今回日付", "date"),
))
# The Holt-Winters forecasts of the last refresh (dashboard.Fits): the next refresh over the same complete months
# repeats them instead of importing and fitting statsmodels again (2 s of the job's 4, #12).
FITS_TABLE = Table("forecast_fits", "_予測の記録", (
    Column("key", "キー", "text", required=True),
    Column("values", "予測値", "text"),
))

# Where each block sits on the sheet (row, col), so the charts can point at the cells.
KPI_AT = (3, 1)
FUNNEL_ROW = 45  # the third row: the funnel and channel tables (A-G) beside their charts
CHARTS = {"revenue": "D3", "f2": "L3", "status": "D22", "segments": "L22", "funnel": "I45", "channels": "Q45"}
# live engine: the report's figures as pictures; the cohort heatmap too (no colour scale there)
PICTURES = {**CHARTS, "cohort": "T3"}
DATA_ROW = 64    # at least below the charts (rows of charts about 8.5, 11 and 8.5 cm tall)
WIDTHS = {"A": 26, **{col_letter(i): 12 for i in range(2, 31)}}   # room for ロイヤル予備軍 and yen amounts


def _texts(lang):
    """Sheet and chart labels from the message catalogue; block headers as tuples."""
    keys = ("title", "as_of", "updated", "kpi", "revenue", "rev_cols", "f2", "f2_cols", "status", "cohort",
            "cohort_size", "segments", "movement", "no_previous", "models", "yes", "funnel", "funnel_mark",
            "funnel_more", "funnel_chart", "funnel_pct", "channels", "channels_chart", "channel_cols")
    out = {k: messages.CATALOGUE["db_" + k][1 if lang == "en" else 0] for k in keys}
    for k in ("kpi", "rev_cols", "f2_cols", "channel_cols"):
        out[k] = tuple(out[k].split("|"))
    out["funnel_cols"] = tuple(messages.text("jr_funnel_cols", lang).split("|"))   # as on the ジャーニー sheet
    return out


def _step(step: str, lang: str) -> str:
    return messages.text("jr_step_" + step, lang)


def _channel(name: str, lang: str) -> str:
    return messages.text("jr_no_channel", lang) if name == jr.NO_CHANNEL else name


def _channels(d: dict) -> pd.DataFrame:
    """The journey's channel table; empty when the shop records no channels (one "(未設定)" row says nothing)."""
    ch = d["channels"]
    return ch.iloc[:0] if list(ch.index) == [jr.NO_CHANNEL] else ch


def _funnel_blocks(d: dict, lang: str, tx: dict, formats: dict, refs: dict) -> list[tuple[str, list[list]]]:
    """The funnel (steps, customers, conversion, drop-off, share of prospects, a mark on the step that loses the
    most), a sentence naming that step, and F2 / repeat rate by acquisition channel below it."""
    blocks = []
    r = FUNNEL_ROW
    fu, worst = d["funnel"], d["funnel_drop"]
    rows = [[tx["funnel"]], list(tx["funnel_cols"])]
    for x in fu.itertuples():
        rows.append([_step(x.step, lang), int(x.customers), (float(x.conversion)), (float(x.drop_off)),
                     (float(x.overall)), None, tx["funnel_mark"] if x.step == worst else None])
    blocks.append((f"A{r}", rows))
    first, n = r + 2, len(fu)
    refs["funnel"] = (first, n)
    refs["titles"].append(f"A{r}")
    formats[f"B{first}:B{first + n - 1}"] = "#,##0"
    formats[f"C{first}:C{first + n - 1}"] = "0.0%"
    formats[f"D{first}:D{first + n - 1}"] = "#,##0"
    formats[f"E{first}:E{first + n - 1}"] = "0.0%"
    r = first + n + 1
    if worst is not None:
        by_step = fu.set_index("step")
        i = list(fu["step"]).index(worst)
        refs["bold"] += [f"{c}{first + i}" for c in "ABCDEG"]
        blocks.append((f"A{r}", [[messages.text("db_funnel_fix", lang, before=_step(fu["step"][i - 1], lang),
                                                step=_step(worst, lang), n=f"{int(by_step.loc[worst, 'drop_off']):,}",
                                                rate=_pct(by_step.loc[worst, "conversion"]))]]))
        refs["bold"].append(f"A{r}")
        r += 1
    blocks.append((f"A{r}", [[tx["funnel_more"]]]))
    refs["notes"].append(f"A{r}")
    r += 2
    ch = _channels(d)
    rows = [[tx["channels"]], list(tx["channel_cols"])]
    for name, x in ch.iterrows():
        rows.append([_channel(name, lang), int(x["first_purchases"]), (float(x["f2_rate"])),
                     (float(x["repeat_rate"]))])
    if not len(ch):
        rows[1:] = [[messages.text("db_no_channels", lang)]]
    blocks.append((f"A{r}", rows))
    refs["titles"].append(f"A{r}")
    refs["channels"] = (r + 2, len(ch))
    if len(ch):
        formats[f"C{r + 2}:D{r + 1 + len(ch)}"] = "0.0%"
    refs["funnel_end"] = r + len(rows)
    return blocks


def _kpi_rows(d: dict, lang: str) -> list[tuple]:
    k, fc = d["kpis"], d["forecast"]
    t = lambda key, **kw: messages.text("db_k_" + key, lang, **kw)  # noqa: E731
    model = db.MODEL_NAMES.get(fc["model"], ("-", "-"))[1 if lang == "en" else 0] if fc["model"] else "-"
    mape = fc["mape"].get(fc["model"]) if fc["model"] else None
    return [
        (t("customers"), k["customers"], "#,##0"),
        (t("prospects"), k["prospects"], "#,##0"),
        (t("buyers"), k["buyers"], "#,##0"),
        (t("active"), k["active"], "#,##0"),
        (t("active_rate"), k["active_rate"], "0.0%"),
        (t("repeat"), k["repeat_rate"], "0.0%"),
        (t("f2", days=k["f2_days"]), k["f2_rate"], "0.0%"),
        (t("new"), k["new_this_month"], "#,##0"),
        (t("revenue" if d["as_of"].is_month_end else "revenue_so_far"), k["revenue_this_month"], "¥#,##0"),
        (t("trend"), fc["slope"], "¥#,##0;[Red]-¥#,##0"),
        (t("model"), model, None),
        (t("mape"), None if mape is None or np.isnan(mape) else mape / 100, "0.0%"),
        (t("drop"), _drop_label(d, lang), None),
    ]


def _drop_label(d: dict, lang: str) -> str:
    """'初回購入 → F2(2回目購入)': where the funnel loses the most customers, or '-'."""
    steps = list(d["funnel"]["step"])
    worst = d["funnel_drop"]
    return f"{_step(steps[steps.index(worst) - 1], lang)} → {_step(worst, lang)}" if worst else "-"


def layout(d: dict, lang: str) -> Report:
    """The ダッシュボード sheet: KPIs, the forecast check, the funnel and channels, the data blocks and the charts
    over them (or the report's figures as pictures, where the engine draws no line charts)."""
    tx = _texts(lang)
    blocks, formats, refs = [], {}, {}
    now = dt.datetime.now().replace(microsecond=0)
    blocks.append(("A1", [[tx["title"], None, f"{tx['as_of']}: {d['as_of']:%Y-%m-%d}", None, None,
                           f"{tx['updated']}: {now:%Y-%m-%d %H:%M}"]]))
    kr = _kpi_rows(d, lang)
    r0, c0 = KPI_AT
    refs["titles"], refs["bold"], refs["notes"] = [f"A{r0}"], [], []
    blocks.append((f"A{r0}", [list(tx["kpi"])] + [[label, (v)] for label, v, _ in kr]))
    for i, (_, _, fmt) in enumerate(kr):
        if fmt:
            formats[f"B{r0 + 1 + i}"] = fmt
    # forecast check table under the KPIs
    fc = d["forecast"]
    mr = r0 + len(kr) + 2
    rows = [[tx["models"].format(k=fc["holdout"])]]
    for m, v in sorted(fc["mape"].items(), key=lambda x: (np.nan_to_num(x[1], nan=1e9), x[0])):
        rows.append([db.MODEL_NAMES[m][0 if lang != "en" else 1], None if np.isnan(v) else v / 100])
        formats[f"B{mr + len(rows) - 1}"] = "0.0%"
    blocks.append((f"A{mr}", rows))
    refs["titles"].append(f"A{mr}")
    funnel = _funnel_blocks(d, lang, tx, formats, refs)

    # revenue: last 24 months + forecast
    r = max(DATA_ROW, refs["funnel_end"] + 3)
    data = len(blocks)
    rev, trend, fcs = d["revenue"].tail(24), fc["trend"].tail(24), fc["forecast"]
    rows = [[tx["revenue"]], list(tx["rev_cols"])]
    for p, v in rev.items():
        rows.append([str(p), float(v), float(trend.get(p, np.nan)), None])
    if len(rows) > 2 and len(fcs):
        rows[-1][3] = rows[-1][1]   # the forecast line starts at the last actual month
    for p, v in fcs.items():
        rows.append([str(p), None, None, float(v)])
    blocks.append((f"A{r}", rows))
    n = len(rows) - 2
    refs["revenue"] = (r + 1, 1, n)
    formats[f"B{r + 2}:D{r + 1 + n}"] = "#,##0"

    # F2 by month (last 24)
    f2 = d["f2"].tail(24)
    rows = [[tx["f2"]], list(tx["f2_cols"])]
    for m, x in f2.iterrows():
        rows.append([m, int(x["first_buyers"]), int(x["converted"]), (float(x["rate"])),
                     tx["yes"] if x["complete"] else ""])
    blocks.append((f"F{r}", rows))
    refs["f2"] = (r + 1, 6, len(rows) - 2)
    formats[f"I{r + 2}:I{r + 1 + len(rows) - 2}"] = "0.0%"

    # segment × status
    st = d["status_segment"]
    rows = [[tx["status"]]]
    if len(st):
        rows.append([""] + list(st.columns))
        for seg, x in st.iterrows():
            rows.append([seg] + [int(v) for v in x])
    blocks.append((f"L{r}", rows))
    refs["status"] = (r + 1, 12, max(len(st) - 1, 0), max(len(st.columns) - 1, 0))  # without totals

    # cohorts
    r2 = r + max(len(rows) for _, rows in blocks[data:]) + 3
    co = d["cohorts"]
    rows = [[tx["cohort"]], [""] + [tx["cohort_size"]] + [f"+{k}" for k in co.columns[1:]]]
    for m, x in co.iterrows():
        rows.append([m, int(x["size"])] + [(float(v)) for v in x.iloc[1:]])
    blocks.append((f"A{r2}", rows))
    if len(co):
        last_col = col_letter(2 + len(co.columns) - 1)
        formats[f"C{r2 + 2}:{last_col}{r2 + 1 + len(co)}"] = "0%"
        refs["cohort"] = f"C{r2 + 2}:{last_col}{r2 + 1 + len(co)}"

    # segments over time + movement
    r3 = r2 + len(rows) + 2
    hw = db.history_wide(d["history"]).tail(24)
    rows = [[tx["segments"]]]
    if len(hw):
        rows.append([""] + list(hw.columns))
        for date, x in hw.iterrows():
            rows.append([f"{pd.Timestamp(date):%Y-%m-%d}"] + [int(v) for v in x])
    blocks.append((f"A{r3}", rows))
    refs["segments"] = (r3 + 1, 1, len(hw), len(hw.columns))
    mv = d["movement"]
    since = d["movement_since"]
    rows = [[tx["movement"] + (f" {pd.Timestamp(since):%Y-%m-%d} →" if since is not None else "")]]
    if len(mv):
        rows.append([""] + list(mv.columns))
        for seg, x in mv.iterrows():
            rows.append([seg] + [int(v) for v in x])
    else:
        rows.append([tx["no_previous"]])
    blocks.append((f"{col_letter(len(hw.columns) + 3 if len(hw) else 6)}{r3}", rows))
    refs["titles"] += [cell for cell, _ in blocks[data:]]
    return Report(blocks + funnel, number_formats=formats, bold=refs["titles"] + refs["bold"], notes=refs["notes"],
                  widths=WIDTHS, charts=_charts(d, refs, lang), color_scales=[refs["cohort"]] if "cohort" in refs else [],
                  pictures=lambda: _pictures(d, lang),
                  page_breaks=[r, r2])     # printed: figures and charts, the monthly tables, the cohorts and segments


def dashboard(book, settings, *, as_of=None) -> JobResult:
    """Recompute the dashboard and rewrite the ダッシュボード sheet with its charts; keep the segment history."""
    lang = settings.lang
    as_of = settings.as_of_date(as_of)
    d = compute(book, settings, as_of)
    charts = book.write_report(SHEET, layout(d, lang))
    if d["history"] is not None and len(d["history"]):
        write_table(book, d["history"], HISTORY_TABLE, header_lang=settings.header_lang)
        dress_keys(book, HISTORY_TABLE, number_formats={"date": DATE, "customers": COUNT},
                   widths={"date": 11, "segment": 14, "customers": 8}, header=True)
    book.write_table(SNAPSHOT_TABLE.ja, schema.to_sheet(d["snapshot"], SNAPSHOT_TABLE), hidden=True,
                     text_columns=("顧客ID",))
    fits = d["fits"]
    if fits.used != fits.known:   # the forecasts this refresh used, for the next one (none kept: nothing written)
        kept = pd.DataFrame({"key": list(fits.used), "values": list(fits.used.values())}, columns=["key", "values"])
        book.write_table(FITS_TABLE.ja, schema.to_sheet(kept, FITS_TABLE), hidden=True,
                         text_columns=tuple(c.ja for c in FITS_TABLE.columns))
    k, fc = d["kpis"], d["forecast"]
    mape = fc["mape"].get(fc["model"], np.nan) if fc["model"] else np.nan
    counts = {"customers": k["customers"], "active": k["active"], "repeat_rate": k["repeat_rate"],
              "f2_rate": k["f2_rate"], "model": fc["model"], "mape": mape, "charts": charts,
              "funnel": dict(zip(d["funnel"]["step"], d["funnel"]["customers"].astype(int).tolist())),
              "funnel_drop": d["funnel_drop"]}
    msg = {g: messages.text("db_done", g, active=k["active"], repeat=_pct(k["repeat_rate"]), f2=_pct(k["f2_rate"]),
                            model=db.MODEL_NAMES.get(fc["model"], ("-", "-"))[int(g == "en")], mape=_pct(mape / 100),
                            drop=_step(d["funnel_drop"], g) if d["funnel_drop"] else "-") for g in ("ja", "en")}
    ja, en = d["dates"].add_to(msg["ja"], msg["en"])
    book.journal("dashboard", ja, en)
    return JobResult(ja, en, {**counts, **d["dates"].counts()})


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v * 100:.1f}%"


def compute(book, settings, as_of) -> dict:
    """The dashboard's figures (and, under "dates", what was said about orders after the as-of date)."""
    got = read_orders(book, as_of)
    customers, orders = got.customers, got.orders
    scored, lap = scores(settings, orders, as_of)
    seg = "segment" if settings.lang == "en" else "segment_ja"
    kept = read_table(book, FITS_TABLE)
    fits = db.Fits(known=dict(zip(kept["key"], kept["values"])) if kept is not None else {})
    d = db.build(customers, orders, scored, lap, as_of, segment_col=seg, history=read_table(book, HISTORY_TABLE),
                 snapshot=read_table(book, SNAPSHOT_TABLE), f2_days=int(settings.f2_days),
                 cohort_months=int(settings.cohort_months),
                 horizon=int(settings.forecast_months), holdout=int(settings.forecast_holdout), fits=fits)
    d["dates"], d["fits"] = got.dates, fits
    return d


# --- charts ------------------------------------------------------------------------------------------------------

def _charts(d, refs, lang) -> list[Chart]:
    """Native charts over the data blocks: revenue and forecast lines, F2 by month, status by segment (stacked),
    segments over time (bars for a single snapshot), the funnel and the channels."""
    tx = _texts(lang)
    out = []
    size = {"width_cm": 17.0, "height_cm": 8.5}
    auto = {"number_format": None, "y_min": None, "gridlines": True}     # the spreadsheet's own axis
    r, c, rows = refs["revenue"]
    if rows:
        out.append(Chart("line", CHARTS["revenue"], tx["revenue"], values=_cells(r, c + 1, r + rows, c + 3),
                         categories=_cells(r + 1, c, r + rows, c), series_in_first_row=True,
                         colors=("2E75B6", "A5A5A5", "ED7D31"), dashes=(None, "dash", "sysDot"), legend="bottom",
                         y_min=None, **size))
    r, c, rows = refs["f2"]
    if rows:
        out.append(Chart("bar", CHARTS["f2"], tx["f2"], values=_cells(r, c + 3, r + rows, c + 3),
                         categories=_cells(r + 1, c, r + rows, c), series_in_first_row=True, horizontal=False,
                         number_format="0%", colors=("70AD47",), gridlines=True, gap_width=150, **size))
    r, c, rows, cols = refs["status"]
    if rows and cols:   # tall enough that every segment keeps its label
        out.append(Chart("bar", CHARTS["status"], tx["status"], values=_cells(r, c + 1, r + rows, c + cols),
                         categories=_cells(r + 1, c, r + rows, c), series_in_first_row=True, stacked=True,
                         top_down=False, colors=("70AD47", "FFC000", "ED7D31", "A5A5A5", "5B9BD5"),
                         legend="bottom", **auto, width_cm=17.0, height_cm=11.0))
    r, c, rows, cols = refs["segments"]
    if rows and cols:   # one snapshot: bars
        out.append(Chart("line" if rows > 1 else "bar", CHARTS["segments"], tx["segments"],
                         values=_cells(r, c + 1, r + rows, c + cols), categories=_cells(r + 1, c, r + rows, c),
                         series_in_first_row=True, horizontal=False, colors=(), legend="right", gap_width=150,
                         **auto, width_cm=17.0, height_cm=11.0))
    bars = {"width_cm": 15.0, "height_cm": 8.5}
    first, rows = refs["funnel"]
    if d["kpis"]["buyers"]:          # a funnel of prospects only is a single bar: the table says it
        last = first + rows - 1
        out.append(Chart("bar", CHARTS["funnel"], tx["funnel_chart"], values=f"B{first}:B{last}",
                         categories=f"A{first}:A{last}", series_name=tx["funnel_cols"][1], **bars))
    first, rows = refs["channels"]
    if rows:
        last = first + rows - 1
        out.append(Chart("bar", CHARTS["channels"], tx["channels_chart"], values=f"C{first}:C{last}",
                         categories=f"A{first}:A{last}", series_name=tx["channel_cols"][2], number_format="0%",
                         colors=("70AD47",), **bars))
    return out


def _cells(r0: int, c0: int, r1: int, c1: int) -> str:
    return f"{col_letter(c0)}{r0}:{col_letter(c1)}{r1}"


def _pictures(d, lang) -> list[Picture]:
    """The report's matplotlib figures as PNG pictures, 17 cm wide (the native charts' width) at their own
    aspect ratio, each where its native chart would be."""
    # matplotlib.pyplot takes seconds to import (python -X importtime: 7 s here, CPU shared): loaded only where
    # pictures replace native charts, and for the PNG report
    import matplotlib.pyplot as plt
    out = []
    for name, fig in figures(d, lang).items():
        w, h = fig.get_size_inches()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)      # the Python behind Excel lives on: every refresh's figures would stay in memory
        out.append(Picture(name, PICTURES[name], buf.getvalue(), 17.0, 17.0 * h / w))
    return out


# --- matplotlib figures (the PNG report and the live-Excel pictures) --------------------------------------------

def _japanese_font() -> str | None:
    """A CJK font matplotlib can use (Noto Sans CJK from fonts-noto-cjk, or a common Japanese font)."""
    from matplotlib import font_manager   # see _pictures
    wanted = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "Yu Gothic", "Meiryo",
              "Hiragino Sans", "TakaoGothic", "Noto Serif CJK JP")
    have = {f.name for f in font_manager.fontManager.ttflist}
    return next((w for w in wanted if w in have), None)


def figure_data(d: dict, lang: str = "ja") -> dict[str, pd.DataFrame]:
    """What the funnel and channel figures draw, as frames (so tests check the numbers, not pixels).

    funnel: label, customers, conversion (from the step before), drop_off, worst (the step that loses the most);
    channels: label (with the number of first purchases), f2_rate, repeat_rate, in the ジャーニー sheet's order.
    """
    fu, ch = d["funnel"], _channels(d)
    funnel = pd.DataFrame({"label": [_step(s, lang) for s in fu["step"]],
                           "customers": fu["customers"].astype(int).to_numpy(),
                           "conversion": fu["conversion"].to_numpy(dtype=float),
                           "drop_off": fu["drop_off"].to_numpy(dtype=float),
                           "worst": fu["step"].eq(d["funnel_drop"]).to_numpy()})
    channels = pd.DataFrame({
        "label": [messages.text("db_channel_n", lang, channel=_channel(c, lang), n=int(x["first_purchases"]))
                  for c, x in ch.iterrows()],
        "f2_rate": ch["f2_rate"].to_numpy(dtype=float), "repeat_rate": ch["repeat_rate"].to_numpy(dtype=float)})
    return {"funnel": funnel, "channels": channels}


def _funnel_figure(plt, fd: pd.DataFrame, tx: dict):
    """Centred horizontal bars (a funnel), each labelled with its customers and conversion; the step that loses
    the most in orange with a mark."""
    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    top = max(int(fd["customers"].max()), 1)
    y = np.arange(len(fd))
    ax.barh(y, fd["customers"], left=(top - fd["customers"]) / 2, height=0.7,
            color=np.where(fd["worst"], "#ED7D31", "#2E75B6"))
    for i, x in enumerate(fd.itertuples()):
        text = f"{x.customers:,}" + ("" if np.isnan(x.conversion) else f"  ({x.conversion:.1%})")
        wide = x.customers / top > 0.3     # the label fits inside the bar
        end = (top + x.customers) / 2 + top * 0.02
        ax.text(top / 2 if wide else end, i, text, va="center", ha="center" if wide else "left",
                color="white" if wide else "black", fontsize=9)
        if x.worst:
            ax.text(end + (0 if wide else top * 0.22), i, f"{tx['funnel_mark']}  −{int(x.drop_off):,}",
                    va="center", fontsize=9, color="#C55A11")
    ax.set_yticks(y, list(fd["label"]))
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.45)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(tx["funnel_chart"])
    ax.text(0, -0.06, tx["funnel_pct"], transform=ax.transAxes, fontsize=8, color="#595959")
    fig.tight_layout()
    return fig


def _channels_figure(plt, cd: pd.DataFrame, tx: dict):
    """F2 rate and repeat rate per channel, side by side, with their percentages."""
    import matplotlib   # see _pictures
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.55 * len(cd) + 1.5)), dpi=110)
    y = np.arange(len(cd))
    h = 0.38
    for off, col, name, color in ((-h / 2, "f2_rate", tx["channel_cols"][2], "#70AD47"),
                                  (h / 2, "repeat_rate", tx["channel_cols"][3], "#2E75B6")):
        v = cd[col].to_numpy(dtype=float)
        ax.barh(y + off, np.nan_to_num(v), height=h, color=color, label=name)
        for i, x in enumerate(v):
            ax.text((0 if np.isnan(x) else x) + 0.01, i + off, "-" if np.isnan(x) else f"{x:.1%}", va="center",
                    fontsize=8)
    ax.set_yticks(y, list(cd["label"]))
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title(tx["channels"])
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def figures(d: dict, lang: str = "ja") -> dict:
    """name -> matplotlib Figure. Without a Japanese font the labels fall back to English (no tofu boxes)."""
    import matplotlib   # see _pictures
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt   # see _pictures
    font = _japanese_font()
    if lang != "en" and font is None:
        lang = "en"
    tx = _texts(lang)
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    figs = {}
    with plt.rc_context(rc):
        fc = d["forecast"]
        rev = d["revenue"].tail(24)
        if len(rev):
            fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
            x = [str(p) for p in rev.index]
            ax.plot(x, rev.to_numpy(), marker="o", ms=3, color="#2E75B6", label=tx["rev_cols"][1])
            ax.plot(x, fc["trend"].tail(24).to_numpy(), "--", color="#A5A5A5", label=tx["rev_cols"][2])
            if len(fc["forecast"]):
                fx = [x[-1]] + [str(p) for p in fc["forecast"].index]
                ax.plot(fx, [rev.iloc[-1]] + list(fc["forecast"].to_numpy()), ":", marker="o", ms=3,
                        color="#ED7D31", label=tx["rev_cols"][3])
            ax.set_title(tx["revenue"])
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax.tick_params(axis="x", labelrotation=90, labelsize=7)
            ax.legend(loc="upper left", fontsize=8)
            fig.tight_layout()
            figs["revenue"] = fig
        f2 = d["f2"].tail(24)
        if len(f2):
            fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
            ax.bar(f2.index, f2["rate"].fillna(0).to_numpy() * 100, color=np.where(f2["complete"], "#70AD47",
                                                                                  "#D9D9D9"))
            ax.set_title(tx["f2"])
            ax.set_ylabel("%")
            ax.tick_params(axis="x", labelrotation=90, labelsize=7)
            fig.tight_layout()
            figs["f2"] = fig
        st = d["status_segment"]
        if len(st) > 1:
            body = st.iloc[:-1, :-1]   # without the totals row and column
            fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
            left = np.zeros(len(body))
            for s, col in zip(body.columns, ("#70AD47", "#FFC000", "#ED7D31", "#A5A5A5", "#5B9BD5")):
                ax.barh(body.index, body[s].to_numpy(), left=left, color=col, label=s)
                left += body[s].to_numpy()
            ax.invert_yaxis()
            ax.set_title(tx["status"])
            ax.legend(fontsize=8, loc="lower right")
            fig.tight_layout()
            figs["status"] = fig
        co = d["cohorts"]
        if len(co):
            fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
            m = co.drop(columns="size").to_numpy(dtype=float) * 100
            im = ax.imshow(np.ma.masked_invalid(m), cmap="Blues", vmin=0, vmax=100, aspect="auto")
            ax.set_yticks(range(len(co)), [f"{i} ({s})" for i, s in zip(co.index, co["size"])], fontsize=7)
            ax.set_xticks(range(m.shape[1]), [f"+{k}" for k in range(m.shape[1])], fontsize=7)
            for (i, j), v in np.ndenumerate(m):
                if not np.isnan(v) and j > 0:
                    ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                            color="white" if v > 50 else "black")
            ax.set_title(tx["cohort"])
            fig.colorbar(im, ax=ax, label="%")
            fig.tight_layout()
            figs["cohort"] = fig
        hw = db.history_wide(d["history"])
        if len(hw):
            fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
            xs = [f"{pd.Timestamp(t):%Y-%m-%d}" for t in hw.index]
            for s in hw.columns:
                ax.plot(xs, hw[s].to_numpy(), marker="o", label=s)
            ax.set_title(tx["segments"])
            ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
            fig.tight_layout()
            figs["segments"] = fig
        data = figure_data(d, lang)
        if d["kpis"]["buyers"]:
            figs["funnel"] = _funnel_figure(plt, data["funnel"], tx)
        if len(data["channels"]):
            figs["channels"] = _channels_figure(plt, data["channels"], tx)
    return figs


def report(book_path, out_dir, *, as_of=None, overrides: dict | None = None) -> JobResult:
    """The dashboard's charts as PNG files in `out_dir` (read-only on the book: one open in Excel is read as
    last saved)."""
    import matplotlib.pyplot as plt   # see _pictures
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open_book(book_path, read_only=True) as book:
        s = book.settings(overrides)
        as_of = s.as_of_date(as_of)
        d = compute(book, s, as_of)
    figs = figures(d, s.lang)
    files = []
    for name, fig in figs.items():
        p = out / f"{name}.png"
        fig.savefig(p)
        plt.close(fig)
        files.append(p.name)
    font = _japanese_font()
    ja = messages.text("db_report", "ja", n=len(files), out=str(out)) + ("" if font else messages.text(
        "db_no_font", "ja"))
    en = messages.text("db_report", "en", n=len(files), out=str(out)) + ("" if font else messages.text(
        "db_no_font", "en"))
    ja, en = d["dates"].add_to(ja, en)
    return JobResult(ja, en, {"files": files, "font": font, **d["dates"].counts()})
