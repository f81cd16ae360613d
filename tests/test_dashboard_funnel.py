"""The customer funnel on the dashboard and in the PNG report: the same figures as the ジャーニー sheet (both come
from journey.build), the step that loses the most customers pointed out, its charts, and the KPIs agreeing with
the funnel once returns and ¥0 rows are no purchases."""
from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlcrm import dashboard as db
from xlcrm import journey as jr
from xlcrm import schema
from xlcrm.book import open_book
from xlcrm.jobs import dashboard as job
from xlcrm.jobs import journey as jjob
from xlcrm.jobs import run

from test_journey import AS_OF, ORDER_ROWS, frames, write_book

SCORED = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "segment": ["Loyal", "At risk", "Champions", "New"],
                       "segment_ja": ["ロイヤル", "離脱危険", "優良", "新規"]})
LAPSE = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "status": ["稼働", "離脱予兆", "稼働", "離脱"]})
RETURNS = [("R1", "D", "2024-03-20", "店舗", -1000, ""),    # D's return is no second purchase
           ("Z1", "A", "2024-03-01", "EC", 0, ""),           # a ¥0 sample is no third day for A
           ("R2", "E", "2024-03-02", "EC", -500, "")]        # E (a prospect) returning something buys nothing


def with_returns():
    c, o = frames()
    extra = pd.DataFrame(RETURNS, columns=["order_id", "customer_id", "order_date", "channel", "amount",
                                           "subscription"])
    extra.index = range(100, 100 + len(extra))
    return c, pd.concat([o, schema.conform(extra, "orders")])


def test_core_funnel_by_hand_and_kpis_agree_with_it_despite_returns():
    c, o = with_returns()
    d = db.build(c, o, SCORED, LAPSE, AS_OF)
    # prospects A-F; bought A B C D; F2 A B C; repeat B (定期) and C (4 days); top C (Champions)
    assert d["funnel"]["customers"].tolist() == [6, 4, 3, 2, 1]
    assert d["funnel"]["drop_off"].iloc[1:].tolist() == [2, 1, 1, 1]
    assert d["funnel_drop"] == "first"            # 見込み → 初回購入 loses two, every later step one
    k = d["kpis"]
    assert k["buyers"] == 4 and k["repeaters"] == 3     # E (a return only) is no buyer, D (a return) no repeater
    assert k["repeat_rate"] == d["funnel"]["conversion"].iloc[2] == 3 / 4
    # revenue stays net of the returns: March = 3,000 + 500 (C) - 1,000 (D) + 0 (A) - 500 (E)
    assert d["revenue"][pd.Period("2024-03", "M")] == 2000
    assert d["channels"].loc["EC", "f2_rate"] == 1.0 and d["channels"].loc["店舗", "repeat_rate"] == 0.5


def test_biggest_drop_is_none_when_nobody_drops_off():
    fu = pd.DataFrame({"step": ["prospect", "first"], "customers": [2, 2], "conversion": [np.nan, 1.0],
                       "drop_off": [np.nan, 0.0], "overall": [1.0, 1.0]})
    assert jr.biggest_drop(fu) is None
    fu["drop_off"] = [np.nan, 1.0]
    assert jr.biggest_drop(fu) == "first"


def block(ws, title, ncols, nrows=None):
    """The rows under a block title (after its header), up to the first empty row or `nrows`."""
    (r,) = [c.row for c in ws["A"] if c.value == title]
    out, i = [], r + 2
    while ws.cell(i, 1).value is not None and (nrows is None or len(out) < nrows):
        out.append([ws.cell(i, j).value for j in range(1, ncols + 1)])
        i += 1
    return r, out


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A small shop with channels, returns and a ¥0 row, after the dashboard and the journey jobs."""
    rows = ORDER_ROWS + [(oid, cid, d, ch, amt, sub) for oid, cid, d, ch, amt, sub in RETURNS]
    p = write_book(tmp_path_factory.mktemp("both") / "b.xlsx", rows)
    dash = run("dashboard", p)
    jour = run("journey", p)
    return p, dash, jour


def test_dashboard_funnel_block_is_the_journey_sheets_funnel(both):
    p, dash, jour = both
    wb = openpyxl.load_workbook(p)
    ds, js = wb["ダッシュボード"], wb["ジャーニー"]
    r, dash_rows = block(ds, "顧客ファネル(見込み → 優良)", 7, nrows=5)
    _, jour_rows = block(js, "ファネル(全体)", 5)
    assert [x[:5] for x in dash_rows] == jour_rows
    assert [x[1] for x in dash_rows] == [6, 4, 3, 2, jour.counts["top"]]
    assert [ds.cell(r + 1, j).value for j in range(1, 6)] == [js.cell(5, j).value for j in range(1, 6)]  # headers
    # the step that loses most is marked, bold, and named in words below the table
    marked = [x[0] for x in dash_rows if x[6]]
    assert marked == ["初回購入"] and dash.counts["funnel_drop"] == jour.counts["worst"] == "first"
    row = r + 2 + 1
    assert ds[f"A{row}"].font.b and ds[f"B{row}"].font.b and not ds[f"A{row + 1}"].font.b
    texts = [c.value for c in ds["A"] if isinstance(c.value, str)]
    (fix,) = [t for t in texts if "改善のポイント" in t]
    assert "「見込み → 初回購入」" in fix and "2人" in fix and "66.7%" in fix
    assert ds[f"C{r + 3}"].number_format == "0.0%" and ds[f"B{r + 2}"].number_format == "#,##0"
    assert "いちばん離れる段階 初回購入" in dash.summary_ja


def test_dashboard_channel_rates_are_the_journey_sheets(both):
    p, _, _ = both
    wb = openpyxl.load_workbook(p)
    _, dash_rows = block(wb["ダッシュボード"], "獲得チャネル別 F2転換率・リピート率", 4)
    _, jour_rows = block(wb["ジャーニー"], "チャネル分析", 9)
    assert [(x[0], x[1], x[2], x[3]) for x in dash_rows] == [(x[0], x[4], x[6], x[8]) for x in jour_rows]
    assert [x[0] for x in dash_rows] == ["店舗", "EC", "電話"]


def test_dashboard_kpis_agree_with_the_funnel(both):
    p, dash, jour = both
    ws = openpyxl.load_workbook(p)["ダッシュボード"]
    kpi = {ws[f"A{i}"].value: ws[f"B{i}"].value for i in range(4, 17)}
    assert kpi["購入者"] == jour.counts["first"] == 4
    assert kpi["いちばん離れる段階(ファネル)"] == "見込み → 初回購入"
    assert kpi["リピート率"] == pytest.approx(jour.counts["f2"] / jour.counts["first"])


def test_native_funnel_and_channel_charts_read_the_blocks(both):
    p, dash, _ = both
    ws = openpyxl.load_workbook(p)["ダッシュボード"]
    r, _ = block(ws, "顧客ファネル(見込み → 優良)", 7, nrows=5)
    rc, _ = block(ws, "獲得チャネル別 F2転換率・リピート率", 4)
    bars = {}
    for ch in ws._charts:
        if ch.tagname == "barChart" and ch.type == "bar" and len(ch.series) == 1:
            bars[ch.series[0].val.numRef.f.split("!")[1]] = ch
    funnel = bars[f"$B${r + 2}:$B${r + 6}"]
    assert funnel.x_axis.scaling.orientation == "maxMin"          # 見込み on top
    channels = bars[f"$C${rc + 2}:$C${rc + 4}"]
    assert channels.y_axis.numFmt.formatCode == "0%"
    assert dash.counts["charts"] == len(ws._charts)
    with zipfile.ZipFile(p) as z:
        charts = sum(n.startswith("xl/charts/chart") for n in z.namelist())
    assert charts == dash.counts["charts"] + 1 == 7      # four charts above, funnel, channels; ジャーニー's funnel


def test_english_labels(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    r = run("dashboard", p, overrides={"lang": "en"})
    ws = openpyxl.load_workbook(p)["ダッシュボード"]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"Customer funnel (prospects → top customers)", "◀ biggest drop-off", "F2 and repeat rate by channel",
            "First purchase"} <= texts
    assert any(t.startswith("Most customers are lost between Prospects and First purchase: 2 ") for t in texts)
    assert "largest drop-off: First purchase" in r.summary_en


def test_report_figures_draw_the_journey_figures(both, tmp_path):
    p, _, _ = both
    with open_book(p) as book:
        s = book.settings()
        d = job.compute(book, s, s.as_of_date())
        j = jjob.compute(book, s, s.as_of_date())
    data = job.figure_data(d, "ja")
    fd, cd = data["funnel"], data["channels"]
    assert fd["label"].tolist() == ["見込み", "初回購入", "F2(2回目購入)", "定期・リピート", "優良"]
    assert fd["customers"].tolist() == j["funnel"]["customers"].tolist()
    np.testing.assert_allclose(fd["conversion"], j["funnel"]["conversion"])
    assert fd["worst"].tolist() == [False, True, False, False, False]
    assert cd["label"].tolist() == ["店舗(初回2人)", "EC(初回1人)", "電話(初回1人)"]
    np.testing.assert_allclose(cd["f2_rate"], j["channels"]["f2_rate"])
    np.testing.assert_allclose(cd["repeat_rate"], j["channels"]["repeat_rate"])
    # what the figures actually draw: bar lengths and colours, not pixels
    import matplotlib.pyplot as plt
    figs = job.figures(d, "ja")
    bars = figs["funnel"].axes[0].patches
    assert [b.get_width() for b in bars] == fd["customers"].tolist()
    orange = [b.get_facecolor()[:3] == pytest.approx((0xED / 255, 0x7D / 255, 0x31 / 255)) for b in bars]
    assert orange == fd["worst"].tolist()
    labels = [t.get_text() for t in figs["funnel"].axes[0].texts]
    assert "4  (66.7%)" in labels and any(t.startswith("◀ 最大の離脱  −2") for t in labels)
    widths = [b.get_width() for b in figs["channels"].axes[0].patches]
    np.testing.assert_allclose(widths, np.r_[cd["f2_rate"], cd["repeat_rate"]])
    for f in figs.values():
        plt.close(f)
    r = job.report(p, tmp_path / "png")
    assert {"funnel.png", "channels.png"} <= set(r.counts["files"])
    for name in ("funnel.png", "channels.png"):
        assert (tmp_path / "png" / name).stat().st_size > 10_000


def test_a_shop_without_channels_gets_no_channel_chart(tmp_path):
    rows = [(oid, cid, d, "", amt, sub) for oid, cid, d, _, amt, sub in ORDER_ROWS]
    p = write_book(tmp_path / "b.xlsx", rows)
    r = run("dashboard", p)
    ws = openpyxl.load_workbook(p)["ダッシュボード"]
    r0, got = block(ws, "獲得チャネル別 F2転換率・リピート率", 4)
    assert ws.cell(r0 + 1, 1).value == "注文にチャネルの記録がありません" and got == []
    with open_book(p) as book:
        s = book.settings()
        figs = job.figures(job.compute(book, s, s.as_of_date()), "ja")
    assert "funnel" in figs and "channels" not in figs
    assert r.counts["funnel"]["first"] == 4
