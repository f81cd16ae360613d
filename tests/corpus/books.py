"""Workbooks made by other real programs, built at test time: XlsxWriter, openpyxl, and LibreOffice (from xlsx and
from ods). Each holds the four CRM tables plus what shops' books carry that xlcrm must never disturb: a formula
column with cached values, a sheet of its own with a picture, a chart, comments, a drop-down, a conditional format,
a hyperlink, merged cells, defined names and print settings (and, from XlsxWriter, sparklines and a VBA project).
"""
from __future__ import annotations

import datetime as dt
import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

from corpus.hostile import (CONTACT_HEADERS, CUSTOMER_HEADERS, ORDER_HEADERS, SETTING_HEADERS, contacts, customers,
                            _col, orders, rewrite_parts)

__all__ = ["rewrite_parts", "build", "libreoffice", "png"]

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = [["基準日", "2024-06-30", "分析の基準日"]]


def png(width: int = 40, height: int = 20, rgb=(46, 117, 182)) -> bytes:
    """A small solid PNG (a shop's logo stands in)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def tables():
    """The four tables (header first); 注文's 金額 is a formula in the books (price + shipping)."""
    return {"顧客": [CUSTOMER_HEADERS] + customers(), "注文": [ORDER_HEADERS] + orders(),
            "対応履歴": [CONTACT_HEADERS] + contacts(), "設定": [SETTING_HEADERS] + SETTINGS}


def xlsxwriter_book(path: Path, *, vba: bool = True) -> Path:
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    date = wb.add_format({"num_format": "yyyy/mm/dd"})
    yen = wb.add_format({"num_format": "¥#,##0"})
    for name, rows in tables().items():
        ws = wb.add_worksheet(name)
        amount = rows[0].index("金額") if name == "注文" else None
        for i, row in enumerate(rows[1:], start=1):
            for j, v in enumerate(row):
                if j == amount:   # 金額 = 商品代金 + 送料, with Excel's cached result
                    ws.write_formula(i, j, f"={v - 480}+480", yen, v)
                elif isinstance(v, dt.datetime):
                    ws.write_datetime(i, j, v, date)
                elif v is not None:
                    ws.write(i, j, v)
        ws.add_table(0, 0, len(rows) - 1, len(rows[0]) - 1,
                     {"name": name, "columns": [{"header": h} for h in rows[0]], "style": "Table Style Medium 2"})
        ws.set_column(0, len(rows[0]) - 1, 14)
    memo = wb.add_worksheet("メモ")
    memo.write("A1", "店長メモ", wb.add_format({"bold": True, "font_size": 14}))
    memo.merge_range("A2:D2", "今月の重点: 定期のお客様へのお礼状", wb.add_format({"bg_color": "#FFF2CC"}))
    memo.write_rich_string("A3", "注意: ", wb.add_format({"bold": True, "color": "red"}), "クレームは当日中に")
    memo.write_formula("A4", "=COUNTA(顧客!A:A)-1", None, 4)
    memo.write_formula("B4", "=SUM(注文!D:D)", yen, sum(r[3] for r in orders()))
    memo.write_url("A5", "https://example.jp/shop", string="ショップ")
    memo.write_comment("A1", "毎週月曜に更新")
    for i, v in enumerate([3, 5, 2, 8, 6]):
        memo.write_number(6, i, v)
    memo.add_sparkline("F7", {"range": "メモ!A7:E7"})
    memo.data_validation("A9", {"validate": "list", "source": ["済", "未"]})
    memo.conditional_format("A7:E7", {"type": "cell", "criteria": ">", "value": 5,
                                      "format": wb.add_format({"bg_color": "#FCE4E4"})})
    memo.insert_image("H2", "logo.png", {"image_data": io.BytesIO(png())})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=メモ!$A$7:$E$7", "name": "件数"})
    memo.insert_chart("H8", chart)
    memo.set_landscape()
    memo.set_paper(9)
    memo.fit_to_pages(1, 0)
    memo.repeat_rows(0)
    wb.define_name("店名", '="秘匿商店"')
    if vba:
        with zipfile.ZipFile(ROOT / "workbook" / "CRM.xlsm") as z:
            wb.add_vba_project(io.BytesIO(z.read("xl/vbaProject.bin")), is_stream=True)
    wb.close()
    return path


def openpyxl_book(path: Path) -> Path:
    import openpyxl
    from openpyxl.chart import BarChart, Reference
    from openpyxl.drawing.image import Image
    from openpyxl.worksheet.table import Table
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tables().items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        ws.add_table(Table(displayName=name, ref=f"A1:{_col(len(rows[0]))}{len(rows)}"))
    memo = wb.create_sheet("メモ")
    memo["A1"] = "店長メモ"
    for i, v in enumerate([3, 5, 2, 8, 6], start=1):
        memo.cell(2, i, v)
    ch = BarChart()
    ch.add_data(Reference(memo, min_col=1, max_col=5, min_row=2))
    memo.add_chart(ch, "A4")
    memo.add_image(Image(io.BytesIO(png())), "H2")
    memo.page_setup.orientation = "landscape"
    wb.save(path)
    return path


def libreoffice(src: Path, out_dir: Path, *, via_ods: bool = False) -> Path:
    """`src` opened and saved again by LibreOffice (as xlsx, or through ods and back)."""
    home = out_dir / "lo-home"
    home.mkdir(parents=True, exist_ok=True)

    def convert(f: Path, fmt: str, outdir: Path) -> Path:
        outdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{home}",
                        "--convert-to", fmt, "--outdir", str(outdir), str(f)],
                       check=True, capture_output=True, timeout=180, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
        return outdir / (f.stem + "." + fmt.split(":")[0])
    if via_ods:
        src = convert(src, "ods", out_dir / "ods")
    out = convert(src, "xlsx:Calc MS Excel 2007 XML", out_dir / ("lo-ods" if via_ods else "lo"))
    assert out.exists() and out.stat().st_size > 0
    return out


def has_libreoffice() -> bool:
    return shutil.which("soffice") is not None


def build(kind: str, tmp: Path) -> Path:
    """One corpus book by name: xlsxwriter (an .xlsm with VBA), openpyxl, libreoffice, libreoffice_ods."""
    tmp.mkdir(parents=True, exist_ok=True)
    if kind == "xlsxwriter":
        return xlsxwriter_book(tmp / "xw.xlsm")
    if kind == "openpyxl":
        return openpyxl_book(tmp / "op.xlsx")
    src = xlsxwriter_book(tmp / "src.xlsx", vba=False)
    out = libreoffice(src, tmp, via_ods=kind == "libreoffice_ods")
    final = tmp / f"{kind}.xlsx"
    out.replace(final)
    return final
