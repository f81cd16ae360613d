"""The fast cell writer writes the same sheets as openpyxl's own (compared in canonical XML), only faster."""
from __future__ import annotations

import datetime as dt
import zipfile
from xml.etree.ElementTree import canonicalize

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table

from xlcrm.book import fastsave


def _sheets(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {n: canonicalize(z.read(n).decode("utf-8"), strip_text=False)
                for n in z.namelist() if n.startswith(("xl/worksheets/", "xl/tables/")) and n.endswith(".xml")}


def _same_as_stock(make, tmp_path):
    """Save one copy with each writer (a save can change the workbook object, so never the same one twice)."""
    fastsave.save(make(), tmp_path / "fast.xlsx")
    make().save(tmp_path / "stock.xlsx")
    fast, stock = _sheets(tmp_path / "fast.xlsx"), _sheets(tmp_path / "stock.xlsx")
    assert fast.keys() == stock.keys() and fast
    for name in stock:
        assert fast[name] == stock[name], name
    return tmp_path / "fast.xlsx"


def _every_kind():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    ws.append(["顧客ID", "氏名", "金額", "日付", "可否", "式", "空"])
    ws.append(["C0001", "髙橋 一郎", 3980, dt.datetime(2024, 4, 1, 9, 30), True, "=C2*2", None])
    ws.append(["0012", " 先頭と末尾に空白 ", 1.5e-7, dt.date(1989, 1, 8), False, "=SUM(C2:C3)", ""])
    ws.append(["<&>\"'", "改行\nあり", -0.0, dt.time(12, 30), None, "text", "   "])
    ws.append([float("nan"), 10**15 + 1, 2**53, dt.timedelta(days=1, hours=2), "=1", "#N/A", "=\"x\"&\"y\""])
    ws["H2"] = ArrayFormula("H2:H3", "=C2:C3*2")
    ws["B6"] = CellRichText(["太字", TextBlock(InlineFont(b=True), "です")])
    ws["C6"].comment = Comment("メモ", "staff")
    ws["D6"] = "リンク"
    ws["D6"].hyperlink = "https://example.com/"
    ws["E6"].font = Font(bold=True)            # a styled blank cell
    ws["F6"] = "太字"
    ws["F6"].font = Font(bold=True)
    ws["C2"].number_format = "¥#,##0"
    ws.row_dimensions[3].height = 30
    ws.row_dimensions[9].hidden = True          # a styled row with no cells
    ws.add_table(Table(ref="A1:G5", displayName="顧客"))     # columns named from the header row on save
    wb.create_sheet("空のシート")
    return wb


def test_every_kind_of_cell_is_written_as_openpyxl_writes_it(tmp_path):
    path = _same_as_stock(_every_kind, tmp_path)
    back = openpyxl.load_workbook(path)["顧客"]
    assert back["B2"].value == "髙橋 一郎" and back["B3"].value == " 先頭と末尾に空白 "
    assert back["D2"].value == dt.datetime(2024, 4, 1, 9, 30) and back["E3"].value is False
    assert back["C6"].comment.text == "メモ" and back["D6"].hyperlink.target == "https://example.com/"


def test_a_demo_workbook_is_written_identically(tmp_path):
    from xlcrm.jobs.demo import run_demo
    demo = tmp_path / "demo.xlsm"
    for _ in run_demo(demo, customers=200, seed=3, as_of="2026-06-30"):
        pass
    _same_as_stock(lambda: openpyxl.load_workbook(demo, keep_vba=True), tmp_path)


@pytest.mark.parametrize("rows", [2000])
def test_a_saved_book_reads_back_the_same_values(tmp_path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(rows):
        ws.append([f"C{i:05d}", f"名前{i}", i * 1.25, dt.datetime(2020, 1, 1) + dt.timedelta(days=i), i % 2 == 0])
    fastsave.save(wb, tmp_path / "f.xlsx")
    back = [list(r) for r in openpyxl.load_workbook(tmp_path / "f.xlsx").active.iter_rows(values_only=True)]
    assert back == [list(r) for r in ws.iter_rows(values_only=True)]
