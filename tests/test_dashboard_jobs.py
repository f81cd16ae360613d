"""The dashboard job on a workbook: figures on the sheet, native charts that survive other jobs' saves,
segment history across refreshes, the PNG report, and the sheet as LibreOffice renders it."""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile

import openpyxl
import pytest

from xlcrm.jobs import run
from xlcrm.jobs.dashboard import report

from fu_data import write_shop_book


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    p = tmp_path_factory.mktemp("shop") / "CRM.xlsx"
    write_shop_book(p)
    return p


def charts_in(path) -> int:
    with zipfile.ZipFile(path) as z:
        return sum(1 for n in z.namelist() if n.startswith("xl/charts/chart"))


def cells(path, sheet="ダッシュボード"):
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def test_dashboard_writes_kpis_blocks_and_five_native_charts(shop, tmp_path):
    p = tmp_path / "b.xlsx"
    shutil.copy(shop, p)
    r = run("dashboard", p)
    assert r.counts["charts"] == 5 and charts_in(p) == 5     # no channel chart: this shop records no channels
    v = cells(p)
    labels = {v[f"A{i}"]: v.get(f"B{i}") for i in range(4, 16)}
    assert labels["顧客数"] == 600 and 0 < labels["リピート率"] < 1
    from xlcrm.dashboard import MODEL_NAMES
    assert labels["予測モデル"] in {ja for ja, _ in MODEL_NAMES.values()}
    assert r.counts["mape"] == pytest.approx(labels["予測の平均誤差率(検証)"] * 100)
    texts = set(v.values())
    assert {"月別売上と予測", "F2転換率(初回購入月別)", "継続率コホート(初回購入月×経過月)"} <= texts
    assert "前回のスナップショットがありません(次回の更新から表示)" in texts
    # refresh again, then another job saves the book: still exactly five charts (rebuilt, not piled up)
    run("dashboard", p)
    run("followup", p)
    assert charts_in(p) == 5


def test_a_second_refresh_over_the_same_months_repeats_the_forecast_without_fitting(shop, tmp_path, monkeypatch):
    """The Holt-Winters forecasts are kept in the hidden _予測の記録 sheet: the next refresh over the same complete
    months writes the same sheet without statsmodels (2 s of the job, #12)."""
    from xlcrm import dashboard
    p = tmp_path / "b.xlsx"
    shutil.copy(shop, p)
    first = run("dashboard", p)
    before = cells(p)
    wb = openpyxl.load_workbook(p)
    assert wb["_予測の記録"].sheet_state != "visible" and wb["_予測の記録"].max_row >= 3   # header + both models
    calls = []
    real = dashboard._holt_winters
    monkeypatch.setattr(dashboard, "_holt_winters", lambda *a: calls.append(a[0]) or real(*a))
    again = run("dashboard", p)
    assert calls == []
    assert (again.counts["model"], again.counts["mape"]) == (first.counts["model"], first.counts["mape"])
    after = cells(p)
    stamp = [k for k, v in before.items() if isinstance(v, str) and v.startswith("更新")]
    assert {k: v for k, v in after.items() if k not in stamp} == {k: v for k, v in before.items() if k not in stamp}


def test_segment_history_grows_per_refresh_date_and_movement_appears(shop, tmp_path):
    p = tmp_path / "b.xlsx"
    shutil.copy(shop, p)
    run("dashboard", p, overrides={"as_of": __import__("pandas").Timestamp("2024-05-15")})
    run("dashboard", p)
    hist = openpyxl.load_workbook(p)["セグメント推移"]
    dates = {row[0].value for row in hist.iter_rows(min_row=2)}
    assert len(dates) == 2
    texts = set(cells(p).values())
    assert any(isinstance(t, str) and t.startswith("前回からのセグメント移動") and "2024-05-15" in t for t in texts)


def test_report_writes_pngs_with_japanese_font(shop, tmp_path):
    r = report(shop, tmp_path / "out")
    assert sorted(r.counts["files"]) == ["cohort.png", "f2.png", "funnel.png", "revenue.png", "segments.png",
                                         "status.png"]
    for f in r.counts["files"]:
        assert (tmp_path / "out" / f).stat().st_size > 10_000
    if shutil.which("fc-list") and "Noto Sans CJK" in subprocess.run(["fc-list"], capture_output=True,
                                                                      text=True).stdout:
        assert r.counts["font"] is not None


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed")
def test_libreoffice_renders_the_dashboard_with_its_charts(shop, tmp_path):
    p = tmp_path / "b.xlsx"
    shutil.copy(shop, p)
    run("dashboard", p)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    subprocess.run(["soffice", "--headless", "--convert-to",
                    'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}',
                    "--outdir", str(tmp_path), str(p)], check=True, env=env, capture_output=True, timeout=180)
    pdf = tmp_path / "b.pdf"
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split("\f")
    dash = next(pg for pg in pages if pg.lstrip().startswith("ダッシュボード"))
    dash = "".join(dash.split())   # chart text comes out with spaces between runs
    # each chart title is drawn by the chart and also heads its data block: twice on the page
    for title in ("月別売上と予測", "F2転換率(初回購入月別)", "セグメント×状態", "顧客ファネル"):
        assert dash.count(title) >= 2, title
    assert "ここが改善のポイントです" in dash and "◀最大の離脱" in dash


def test_live_excel_gets_the_report_figures_as_pictures(shop):
    """No Excel here: the whole job runs on the live engine over the in-memory xlwings double (tests/
    xlwings_double.py, calls bound to xlwings' own signatures), its sheets holding the shop's cells. The live
    engine draws no line charts, so the report's figures are placed as pictures, and no native chart beside them."""
    import matplotlib.pyplot as plt

    import xlwings_double as xwd
    from xlcrm.jobs import dashboard as job
    src = openpyxl.load_workbook(shop)
    xl = xwd.Book(*src.sheetnames)
    for ws in src.worksheets:
        xl.sheets[ws.title].range("A1").value = [list(r) for r in ws.iter_rows(values_only=True)]
    before = set(plt.get_fignums())
    r = run("dashboard", xl)
    assert set(plt.get_fignums()) <= before        # closed once placed: Excel's Python lives for the whole session
    sheet = xl.sheets[job.SHEET]
    names = [p.name for p in sheet.pictures]
    assert r.counts["charts"] == 6 and names == ["xlcrm_revenue", "xlcrm_f2", "xlcrm_status", "xlcrm_cohort",
                                                 "xlcrm_segments", "xlcrm_funnel"]
    assert sheet.pictures[-1]._anchor == job.CHARTS["funnel"]            # beside the funnel block
    assert len(sheet.charts) == 0 and len(sheet.cells.conditional_formats) == 0
    assert sheet.range("A4").value == "顧客数" and sheet.range("B4").value == 600
    run("dashboard", xl)                            # refreshed: the same six pictures, not twelve
    assert [p.name for p in sheet.pictures] == names


def test_a_new_shop_without_orders_runs_followup_dashboard_and_report(tmp_path):
    from openpyxl.worksheet.table import Table as XTable
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    ws.append(["顧客ID", "区分", "氏名", "電話番号"])
    ws.append(["P1", "見込み", "見込 太郎", "0312345678"])
    ws.add_table(XTable(displayName="顧客", ref="A1:D2"))
    ws = wb.create_sheet("注文")
    ws.append(["注文ID", "顧客ID", "注文日", "金額"])
    ws.add_table(XTable(displayName="注文", ref="A1:D2"))
    p = tmp_path / "new.xlsx"
    wb.save(p)
    assert run("followup", p).counts["new"] == 1          # the prospect, never contacted
    r = run("dashboard", p)
    assert r.counts["customers"] == 1 and r.counts["model"] is None
    assert report(p, tmp_path / "png").counts["files"] == []
