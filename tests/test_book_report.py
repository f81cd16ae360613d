"""The report-sheet API jobs use for generated sheets (ダッシュボード, ジャーニー, ...): what the saved file holds."""
from __future__ import annotations

import openpyxl
import pytest

from xlcrm.book import open_book


def test_reset_sheet_blanks_it_and_keeps_its_place(book_path):
    with open_book(book_path) as b:
        b.write_range("レポート", "A1", [["old"], [1], [2], [3]])
        b.add_bar_chart("レポート", "D2", title="t", values="A2:A4", categories="A2:A4")
        b.save()
    order = openpyxl.load_workbook(book_path).sheetnames
    with open_book(book_path) as b:
        b.reset_sheet("レポート")
        b.write_range("レポート", "B2", [["new"]])
        b.save()
    wb = openpyxl.load_workbook(book_path)
    assert wb.sheetnames == order
    ws = wb["レポート"]
    assert ws["A1"].value is None and ws["A4"].value is None and ws["B2"].value == "new"
    assert ws._charts == []


def test_reset_sheet_creates_a_missing_sheet(book_path):
    with open_book(book_path) as b:
        b.reset_sheet("新しい集計")
        b.write_range("新しい集計", "A1", [["x"]])
        b.save()
    assert openpyxl.load_workbook(book_path)["新しい集計"]["A1"].value == "x"


def test_format_sheet_and_bar_chart_are_in_the_saved_file(book_path):
    with open_book(book_path) as b:
        b.reset_sheet("レポート")
        b.write_range("レポート", "A1", [["タイトル"], ["注記"], [None], ["表"], ["段階", "人数", "率"],
                                       ["見込み", 100, 1.0], ["初回購入", 40, 0.4], ["F2", 12, 0.3]])
        b.format_sheet("レポート", number_formats={"C6:C8": "0.0%"}, bold=["A4"], notes=["A2"],
                       centre=["B6:B8"], widths={"A": 22})
        assert b.add_bar_chart("レポート", "E4", title="ファネル", values="B6:B8", categories="A6:A8",
                               series_name="人数")
        b.save()
    ws = openpyxl.load_workbook(book_path)["レポート"]
    assert ws["A1"].font.b and ws["A1"].font.sz == 16
    assert ws["A4"].font.b and not ws["A5"].font.b
    assert ws["A2"].font.sz == 9
    assert [ws[f"C{r}"].number_format for r in (6, 7, 8)] == ["0.0%"] * 3
    assert ws["B7"].alignment.horizontal == "center"
    assert ws.column_dimensions["A"].width == pytest.approx(22)
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    (chart,) = ws._charts
    assert chart.type == "bar" and chart.x_axis.scaling.orientation == "maxMin"   # a funnel, top-down
    assert chart.y_axis.scaling.min == 0
    s = chart.series[0]
    assert s.val.numRef.f.endswith("$B$6:$B$8")
    assert (s.cat.numRef or s.cat.strRef).f.endswith("$A$6:$A$8")


def test_a_real_job_reports_its_steps(book_path):
    from xlcrm import jobs, messages
    seen = []
    jobs.run("rfm", book_path, progress=lambda key, **kw: seen.append(messages.text(key, "en", **kw)))
    assert seen == ["Reading 設定...", "Reading 顧客...", "Reading 注文...", "Writing 顧客...",
                    f"Saving {book_path.name}..."]
