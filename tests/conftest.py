"""Fixtures: small real workbooks written with openpyxl, and one with a real VBA project and ribbon parts."""
from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

import xlwings

CUSTOMUI14 = """<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"><ribbon><tabs>
<tab id="xlcrmTab" label="CRM"><group id="g1" label="検索"><button id="b1" label="検索" onAction="XlcrmRibbon" tag="search"/>
</group></tab></tabs></ribbon></customUI>"""
REL14 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"


QUICKSTART = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"   # a real VBA project, from xlwings


def macro_book():
    """xlwings' quickstart workbook with its first sheet blanked and named 顧客: (workbook, that sheet)."""
    wb = openpyxl.load_workbook(QUICKSTART, keep_vba=True)
    ws = wb.active
    ws.title = "顧客"
    for row in ws.iter_rows():
        for cell in row:
            cell.value = None
    return wb, ws


def sheet(path, name):
    """A sheet's table as a DataFrame (header row 1), as staff would see it."""
    import pandas as pd
    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def add_table(ws, name, rows, top=1, left=1):
    from xlcrm.book.base import col_letter
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            ws.cell(top + i, left + j, v)
    ref = f"{col_letter(left)}{top}:{col_letter(left + len(rows[0]) - 1)}{top + max(len(rows) - 1, 1)}"
    ws.add_table(Table(displayName=name, ref=ref))


CUSTOMERS = [
    ["顧客ID", "区分", "氏名", "フリガナ", "郵便番号", "電話番号", "メール", "生年月日", "DM可否", "スタッフメモ"],
    ["C0001", "顧客", "髙橋 一郎", "タカハシ イチロウ", "060-0001", "090-1234-5678", "ichiro@example.jp", dt.datetime(1980, 1, 2), "可", "電話は夕方"],
    ["C0002", "顧客", "佐藤 花子", "さとう はなこ", "1540001", "03-1234-5678", "hanako@example.jp", "昭和55年1月2日", "不可", None],
    ["C0003", "見込み", "伊東 誠", "イトウ マコト", "〒530-0001", "06(1234)5678", "", None, "", None],
]
ORDERS = [
    ["注文ID", "顧客ID", "注文日", "金額", "商品", "数量", "チャネル", "定期"],
    ["O1", "C0001", dt.datetime(2024, 1, 5), 3980, "青汁", 1, "EC", "定期"],
    ["O2", "C0001", "2024/2/5", "¥3,980", "青汁", 1, "EC", "定期"],
    ["O3", "C0002", "R6.3.1", "１２８００円", "化粧水", 2, "電話", ""],
]
CONTACTS = [
    ["対応ID", "顧客ID", "日時", "チャネル", "種別", "内容", "担当者", "状態"],
    ["K1", "C0002", "2024-03-02 10:30", "電話", "クレーム", "配送遅れ", "山田", "対応中"],
]
SETTINGS = [["項目", "値", "説明"], ["基準日", "2024-06-30", "分析の基準日"], ["担当者一覧", "山田、鈴木", ""]]


def make_book(path: Path, template: Path | None = None) -> Path:
    """A small CRM workbook: four tables (one not starting at A1) and a staff column."""
    wb = openpyxl.load_workbook(template, keep_vba=True) if template else openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    for c in ws.iter_rows():
        for cell in c:
            cell.value = None
    add_table(ws, "顧客", CUSTOMERS)
    add_table(wb.create_sheet("注文"), "注文", ORDERS, top=3, left=2)
    add_table(wb.create_sheet("対応履歴"), "対応履歴", CONTACTS)
    add_table(wb.create_sheet("設定"), "設定", SETTINGS)
    for name in ("顧客",):
        wb[name].column_dimensions["E"].width = 14
        for r in range(2, 5):
            wb[name].cell(r, 5).number_format = "@"
            wb[name].cell(r, 6).number_format = "@"
    wb.save(path)
    return path


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory) -> Path:
    """The demo workbook (`xlcrm demo`: 300 customers, every job run), built once per session; read it only."""
    from xlcrm.jobs.demo import run_demo
    p = tmp_path_factory.mktemp("demo") / "CRM-demo.xlsm"
    list(run_demo(p, customers=300, seed=5, as_of="2025-08-01"))
    return p


@pytest.fixture
def book_path(tmp_path) -> Path:
    return make_book(tmp_path / "CRM.xlsx")


@pytest.fixture
def ribbon_book(tmp_path) -> Path:
    """xlwings' own quickstart workbook (a real VBA project) with our tables and a 2009 customUI14 ribbon."""
    src = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    base = tmp_path / "base.xlsm"
    shutil.copy(src, base)
    path = make_book(tmp_path / "CRM.xlsm", template=base)
    tmp = tmp_path / "with_ribbon.xlsm"
    with zipfile.ZipFile(path) as zi, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            if info.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>",
                                    f'<Relationship Id="rIdUI" Type="{REL14}" Target="customUI/customUI14.xml"/>'
                                    "</Relationships>".encode())
            zo.writestr(info, data)
        zo.writestr("customUI/customUI14.xml", CUSTOMUI14.encode("utf-8"))
    tmp.replace(path)
    return path


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL cluster (tests/pgserver.py), one per session (per pytest-xdist worker), closed at the
    end. Fails, not skips, without the PostgreSQL binaries: .ci/run installs them."""
    from pgserver import PgServer, PgUnavailable
    try:
        server = PgServer.launch()
    except PgUnavailable as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """The superuser's URL of a fresh, empty database of its own, dropped after the test."""
    import uuid
    pg_server.start()                       # a test that stopped the server and failed before restarting it
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    yield url
    try:
        pg_server.start()
        pg_server.drop_database(name)
    except Exception:
        pass


def pytest_collection_modifyitems(config, items):
    """Modules with a `slow` test first, so under pytest-xdist (`--dist loadscope`: a module's tests stay on one
    worker, sharing its fixtures) the long ones start at once instead of ending the run alone on one core."""
    slow = {item.module.__name__ for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module.__name__ not in slow)
