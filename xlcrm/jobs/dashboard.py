"""The dashboard job (ダッシュボード sheet) and the PNG report (`xlcrm report BOOK --out DIR`).

The sheet is regenerated on every refresh: figures and the data blocks the charts read are written through the
book layer, then the charts are rebuilt. With the file engine they are native Excel charts (openpyxl; live data,
render in Excel and LibreOffice); openpyxl reads existing charts back imperfectly, so old ones are dropped and
drawn again each refresh rather than edited. With the live engine (Excel open) the same matplotlib figures as the
PNG report are placed as pictures (xlwings `pictures.add(fig, update=True)`), since building charts over COM is
version-sensitive and the pictures are what the report shows anyway.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .. import dashboard as db
from .. import messages, schema
from ..book.base import col_letter
from ..schema import Column, Table
from . import JobResult
from .followup import read_table, scores, write_table
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

# Where each block sits on the sheet (row, col), so the charts can point at the cells.
KPI_AT = (3, 1)
CHARTS = {"revenue": "D3", "f2": "L3", "status": "D22", "segments": "L22"}
# live engine: the report's figures as pictures; the cohort heatmap too (no colour scale there)
PICTURES = {**CHARTS, "cohort": "T3"}
DATA_ROW = 47    # below the charts (two rows of charts, about 8.5 cm and 11 cm tall)


def _texts(lang):
    """Sheet and chart labels from the message catalogue; block headers as tuples."""
    keys = ("title", "as_of", "updated", "kpi", "revenue", "rev_cols", "f2", "f2_cols", "status", "cohort",
            "cohort_size", "segments", "movement", "no_previous", "models", "yes")
    out = {k: messages.CATALOGUE["db_" + k][1 if lang == "en" else 0] for k in keys}
    for k in ("kpi", "rev_cols", "f2_cols"):
        out[k] = tuple(out[k].split("|"))
    return out


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
    ]


def _blank(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v


def layout(d: dict, lang: str) -> tuple[list[tuple[str, list[list]]], dict, dict]:
    """The blocks to write (cell, rows), number formats per range, and the data ranges the charts read."""
    tx = _texts(lang)
    blocks, formats, refs = [], {}, {}
    now = dt.datetime.now().replace(microsecond=0)
    blocks.append(("A1", [[tx["title"], None, f"{tx['as_of']}: {d['as_of']:%Y-%m-%d}", None, None,
                           f"{tx['updated']}: {now:%Y-%m-%d %H:%M}"]]))
    kr = _kpi_rows(d, lang)
    r0, c0 = KPI_AT
    refs["titles"] = ["A1", f"A{r0}"]
    blocks.append((f"A{r0}", [list(tx["kpi"])] + [[label, _blank(v)] for label, v, _ in kr]))
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

    # revenue: last 24 months + forecast
    r = DATA_ROW
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
        rows.append([m, int(x["first_buyers"]), int(x["converted"]), _blank(float(x["rate"])),
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
    r2 = r + max(len(blocks[-1][1]), len(blocks[-2][1]), len(blocks[-3][1])) + 3
    co = d["cohorts"]
    rows = [[tx["cohort"]], [""] + [tx["cohort_size"]] + [f"+{k}" for k in co.columns[1:]]]
    for m, x in co.iterrows():
        rows.append([m, int(x["size"])] + [_blank(float(v)) for v in x.iloc[1:]])
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
    for cell, rows in blocks[2:]:
        refs["titles"].append(cell)
    return blocks, formats, refs


def dashboard(book, settings, *, as_of=None) -> JobResult:
    """Recompute the dashboard and rewrite the ダッシュボード sheet with its charts; keep the segment history."""
    lang = settings.get("lang", "ja")
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else settings.as_of_date()
    d = compute(book, settings, as_of)
    blocks, formats, refs = layout(d, lang)
    _reset_sheet(book)
    for cell, rows in blocks:
        book.write_range(SHEET, cell, rows)
    if d["history"] is not None and len(d["history"]):
        write_table(book, d["history"], HISTORY_TABLE, header_lang=settings.get("header_lang", "ja"))
    book.write_table(SNAPSHOT_TABLE.ja, schema.to_sheet(d["snapshot"], SNAPSHOT_TABLE), hidden=True,
                     text_columns=("顧客ID",))
    charts = _decorate(book, d, formats, refs, lang)
    k, fc = d["kpis"], d["forecast"]
    mape = fc["mape"].get(fc["model"], np.nan) if fc["model"] else np.nan
    counts = {"customers": k["customers"], "active": k["active"], "repeat_rate": k["repeat_rate"],
              "f2_rate": k["f2_rate"], "model": fc["model"], "mape": mape, "charts": charts}
    ja = messages.text("db_done", "ja", active=k["active"], repeat=_pct(k["repeat_rate"]), f2=_pct(k["f2_rate"]),
                       model=db.MODEL_NAMES.get(fc["model"], ("-", "-"))[0], mape=_pct(mape / 100))
    en = messages.text("db_done", "en", active=k["active"], repeat=_pct(k["repeat_rate"]), f2=_pct(k["f2_rate"]),
                       model=db.MODEL_NAMES.get(fc["model"], ("-", "-"))[1], mape=_pct(mape / 100))
    ja, en = d["dates"].add_to(ja, en)
    book.journal("dashboard", ja, en)
    return JobResult(ja, en, {**counts, **d["dates"].counts()})


def _reset_sheet(book) -> None:
    """Start the generated sheet from blank: old blocks, charts, pictures and colour scales all go.

    Clearing a fixed large range instead would leave hundreds of empty cells behind, which makes the used
    range (and the printed page) far larger than the dashboard.
    """
    if hasattr(book, "xw"):
        names = [s.name for s in book.xw.sheets]
        if SHEET in names:
            sh = book.xw.sheets[SHEET]
            for pic in list(sh.pictures):
                if pic.name.startswith("xlcrm_"):
                    pic.delete()
            sh.clear()
        return
    if hasattr(book, "wb"):
        wb = book.wb
        if SHEET in wb.sheetnames:
            idx = wb.sheetnames.index(SHEET)
            wb.remove(wb[SHEET])
            wb.create_sheet(SHEET, idx)


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v * 100:.1f}%"


def compute(book, settings, as_of) -> dict:
    """The dashboard's figures (and, under "dates", what was said about orders after the as-of date)."""
    got = read_orders(book, as_of)
    customers, orders = got.customers, got.orders
    scored, lap = scores(settings, orders, as_of)
    seg = "segment" if settings.get("lang", "ja") == "en" else "segment_ja"
    d = db.build(customers, orders, scored, lap, as_of, segment_col=seg, history=read_table(book, HISTORY_TABLE),
                 snapshot=read_table(book, SNAPSHOT_TABLE), f2_days=int(settings.get("f2_days", 90)),
                 cohort_months=int(settings.get("cohort_months", 12)),
                 horizon=int(settings.get("forecast_months", 6)), holdout=int(settings.get("forecast_holdout", 6)))
    d["dates"] = got.dates
    return d


# --- charts ------------------------------------------------------------------------------------------------------

def _decorate(book, d, formats, refs, lang) -> int:
    """Number formats, the cohort colour scale and the charts; returns how many charts were drawn."""
    if hasattr(book, "xw"):          # live engine
        return _pictures(book.xw.sheets[SHEET], d, formats, lang)
    if hasattr(book, "wb"):          # file engine (openpyxl)
        return _native(book.wb[SHEET], formats, refs, lang)
    return 0


def _native(ws, formats, refs, lang) -> int:
    """Native Excel charts over the data blocks (rebuilt from scratch each refresh)."""
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.formatting.formatting import ConditionalFormattingList
    from openpyxl.styles import Font
    tx = _texts(lang)
    for rng, fmt in formats.items():
        for row in ws[rng] if ":" in rng else [[ws[rng]]]:
            for c in row:
                c.number_format = fmt
    for cell in refs.get("titles", []):
        ws[cell].font = Font(bold=True)
    ws["A1"].font = Font(size=16, bold=True)
    ws.row_dimensions[1].height = 26
    ws.column_dimensions["A"].width = 26
    for i in range(2, 31):   # room for segment names (ロイヤル予備軍) and yen amounts
        ws.column_dimensions[col_letter(i)].width = 12
    ws._charts = []
    ws.conditional_formatting = ConditionalFormattingList()
    if "cohort" in refs:
        ws.conditional_formatting.add(refs["cohort"], ColorScaleRule(start_type="num", start_value=0,
                                                                     start_color="FFFFFF", end_type="max",
                                                                     end_color="2E75B6"))
    n = 0

    def size(ch, w=17.0, h=8.5):
        ch.width, ch.height = w, h
        return ch

    r, c, rows = refs["revenue"]
    if rows:
        ch = size(LineChart())
        ch.title = tx["revenue"]
        data = Reference(ws, min_col=c + 1, max_col=c + 3, min_row=r, max_row=r + rows)
        ch.add_data(data, titles_from_data=True)
        ch.set_categories(Reference(ws, min_col=c, min_row=r + 1, max_row=r + rows))
        ch.y_axis.numFmt = "#,##0"
        ch.y_axis.majorGridlines = None
        colors = ("2E75B6", "A5A5A5", "ED7D31")
        for s, col in zip(ch.series, colors):
            s.graphicalProperties.line.solidFill = col
            s.smooth = False
        ch.series[1].graphicalProperties.line.dashStyle = "dash"
        ch.series[2].graphicalProperties.line.dashStyle = "sysDot"
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        ch.legend.position = "b"
        ws.add_chart(ch, CHARTS["revenue"])
        n += 1
    r, c, rows = refs["f2"]
    if rows:
        ch = size(BarChart())
        ch.title = tx["f2"]
        ch.add_data(Reference(ws, min_col=c + 3, min_row=r, max_row=r + rows), titles_from_data=True)
        ch.set_categories(Reference(ws, min_col=c, min_row=r + 1, max_row=r + rows))
        ch.y_axis.numFmt = "0%"
        ch.y_axis.scaling.min = 0
        ch.legend = None
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        ch.series[0].graphicalProperties.solidFill = "70AD47"
        ws.add_chart(ch, CHARTS["f2"])
        n += 1
    r, c, rows, cols = refs["status"]
    if rows and cols:
        ch = size(BarChart(), h=11.0)   # tall enough that every segment keeps its label
        ch.type, ch.grouping, ch.overlap, ch.gapWidth = "bar", "stacked", 100, 40
        ch.title = tx["status"]
        ch.add_data(Reference(ws, min_col=c + 1, max_col=c + cols, min_row=r, max_row=r + rows),
                    titles_from_data=True)
        ch.set_categories(Reference(ws, min_col=c, min_row=r + 1, max_row=r + rows))
        for s, col in zip(ch.series, ("70AD47", "FFC000", "ED7D31", "A5A5A5", "5B9BD5")):
            s.graphicalProperties.solidFill = col
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        ch.legend.position = "b"
        ws.add_chart(ch, CHARTS["status"])
        n += 1
    r, c, rows, cols = refs["segments"]
    if rows and cols:
        ch = size(LineChart(), h=11.0) if rows > 1 else size(BarChart(), h=11.0)  # one snapshot: bars
        ch.title = tx["segments"]
        ch.add_data(Reference(ws, min_col=c + 1, max_col=c + cols, min_row=r, max_row=r + rows),
                    titles_from_data=True)
        ch.set_categories(Reference(ws, min_col=c, min_row=r + 1, max_row=r + rows))
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        ch.legend.position = "r"
        ws.add_chart(ch, CHARTS["segments"])
        n += 1
    return n


def _pictures(sheet, d, formats, lang) -> int:
    """Live Excel: number formats through xlwings and the report's matplotlib figures as pictures."""
    for rng, fmt in formats.items():
        sheet.range(rng).number_format = fmt
    figs = figures(d, lang)
    cm = 72 / 2.54
    for name, fig in figs.items():
        w, h = fig.get_size_inches()
        width = 17 * cm   # the native charts' width; the figure's own aspect ratio decides the height
        sheet.pictures.add(fig, name=f"xlcrm_{name}", update=True, anchor=sheet.range(PICTURES[name]),
                           width=width, height=width * h / w)
    return len(figs)


# --- matplotlib figures (the PNG report and the live-Excel pictures) --------------------------------------------

def _japanese_font() -> str | None:
    """A CJK font matplotlib can use (Noto Sans CJK from fonts-noto-cjk, or a common Japanese font)."""
    from matplotlib import font_manager
    wanted = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "Yu Gothic", "Meiryo",
              "Hiragino Sans", "TakaoGothic", "Noto Serif CJK JP")
    have = {f.name for f in font_manager.fontManager.ttflist}
    return next((w for w in wanted if w in have), None)


def figures(d: dict, lang: str = "ja") -> dict:
    """name -> matplotlib Figure. Without a Japanese font the labels fall back to English (no tofu boxes)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
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
    return figs


def report(book_path, out_dir, *, as_of=None, overrides: dict | None = None) -> JobResult:
    """The dashboard's charts as PNG files in `out_dir` (read-only on the book: one open in Excel is read as
    last saved)."""
    import matplotlib.pyplot as plt
    from ..book import open_book
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open_book(book_path, read_only=True) as book:
        s = book.settings(overrides)
        as_of = pd.Timestamp(as_of).normalize() if as_of is not None else s.as_of_date()
        d = compute(book, s, as_of)
    figs = figures(d, s.get("lang", "ja"))
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
