"""Workbooks as they really arrive, built on demand into a temp folder.

Each case is a function `build(path) -> path` plus what every job must do with it:

- ``OK``: every job succeeds (and leaves the staff's tables as they were);
- ``Bad(cells)``: a job that reads the damaged table stops with BadInput naming exactly these (sheet, row, column)
  cells — and a job that does not read it may succeed;
- ``Refused(key)``: every job stops with that message key before reading anything.

The customer data carries distinctive tokens (`SECRETS`): no message, log line or exception text may contain any
of them — messages name cells, never their content.
"""
from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.worksheet.table import Table

# --- the data: small, realistic, every value distinctive enough to be searched for in messages -----------------

CUSTOMER_HEADERS = ["顧客ID", "区分", "氏名", "フリガナ", "生年月日", "郵便番号", "住所", "電話番号", "メール", "DM可否", "備考"]
ORDER_HEADERS = ["注文ID", "顧客ID", "注文日", "金額", "商品", "数量", "チャネル", "定期"]
CONTACT_HEADERS = ["対応ID", "顧客ID", "日時", "チャネル", "種別", "内容", "担当者", "状態"]
SETTING_HEADERS = ["項目", "値", "説明"]


def customers():
    return [
        ["C0001", "顧客", "秘匿 一郎", "ヒトク イチロウ", dt.datetime(1980, 1, 2), "0600001", "札幌市秘匿町1-2-3",
         "011-555-0101", "hitoku.ichiro@example.jp", "可", "夕方に電話希望"],
        ["C0002", "顧客", "秘匿 花子", "ヒトク ハナコ", "昭和55年1月2日", "154-0001", "世田谷区秘匿台4-5",
         "090-5555-0202", "hitoku.hanako@example.jp", "不可", None],
        ["C0003", "見込み", "秘匿 誠", "ヒトク マコト", None, "530-0001", "大阪市北区秘匿6-7",
         "06-5555-0303", "", "", None],
        ["C0004", "顧客", "秘匿 健太", "ヒトク ケンタ", dt.datetime(1975, 5, 5), "100-0001", "千代田区秘匿8-9",
         "03-5555-0404", "hitoku.kenta@example.jp", "可", None],
    ]


def orders():
    return [
        ["O0001", "C0001", dt.datetime(2024, 1, 5), 3980, "秘匿青汁", 1, "EC", "定期"],
        ["O0002", "C0001", dt.datetime(2024, 2, 5), 3980, "秘匿青汁", 1, "EC", "定期"],
        ["O0003", "C0001", dt.datetime(2024, 3, 5), 3980, "秘匿青汁", 1, "EC", "定期"],
        ["O0004", "C0002", dt.datetime(2024, 3, 1), 12800, "秘匿化粧水", 2, "電話", ""],
        ["O0005", "C0004", dt.datetime(2023, 6, 1), 5400, "秘匿サプリ", 1, "EC", ""],
        ["O0006", "C0004", dt.datetime(2024, 5, 20), 5400, "秘匿サプリ", 1, "EC", ""],
    ]


def contacts():
    return [
        ["K0001", "C0002", dt.datetime(2024, 3, 2, 10, 30), "電話", "クレーム", "秘匿の苦情内容です", "山田", "対応中"],
        ["K0002", "C0001", dt.datetime(2024, 4, 1, 9, 0), "メール", "問い合わせ", "秘匿の質問内容です", "鈴木", "完了"],
    ]


def settings():
    return [["基準日", "2024-06-30", "分析の基準日"]]


def secrets() -> set[str]:
    """Every customer value worth leaking (text of 4+ characters that is not a header or a choice word)."""
    out = set()
    for rows in (customers(), orders(), contacts()):
        for r in rows:
            for v in r:
                if isinstance(v, str) and len(v) >= 4 and not v.startswith(("C0", "O0", "K0")):
                    out.add(v)
    return out | PLANTED


# values we plant in bad cells: error paths are where a value is most tempted to slip into a message
PLANTED = {"秘匿未定ABC", "そのうち秘匿", "1899/12/31", "1850/01/01", "秘匿重複顧客"}
SECRETS = secrets()


# --- writing workbooks --------------------------------------------------------------------------------------------

def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def write_book(path: Path, sheets: dict[str, list[list]], *, tables=True, top: dict | None = None,
               template: Path | None = None, after=None) -> Path:
    """A workbook with one sheet per entry (first row = header). `tables`: make Excel Tables (ListObjects);
    `top`: sheet -> header row (rows above stay empty); `after(wb)` may decorate before saving."""
    wb = openpyxl.load_workbook(template, keep_vba=True) if template else openpyxl.Workbook()
    first = wb.worksheets[0]
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        r0 = (top or {}).get(name, 1)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None:
                    ws.cell(r0 + i, j + 1, v)
        if tables and rows:
            last = r0 + max(len(rows) - 1, 1)
            ws.add_table(Table(displayName=name, ref=f"A{r0}:{_col(len(rows[0]))}{last}"))
    if template is None or not any(first.iter_rows(values_only=True)):
        wb.remove(first)
    if after:
        after(wb)
    wb.save(path)
    return path


def standard(**changes) -> dict[str, list[list]]:
    """The four tables, each changed by `changes[name](rows)` (rows include the header)."""
    sheets = {"顧客": [CUSTOMER_HEADERS] + customers(), "注文": [ORDER_HEADERS] + orders(),
              "対応履歴": [CONTACT_HEADERS] + contacts(), "設定": [SETTING_HEADERS] + settings()}
    for name, change in changes.items():
        sheets[name] = change(sheets[name])
    return sheets


def _set(sheet_rows, row: int, header: str, value):
    """Set one cell: `row` is the sheet row (header = 1)."""
    sheet_rows[row - 1][sheet_rows[0].index(header)] = value
    return sheet_rows


def rewrite_parts(src: Path, dst: Path, change: dict) -> Path:
    """Copy a package, replacing (bytes) or transforming (callable) named parts; new names are added."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        names = zi.namelist()
        for info in zi.infolist():
            data = zi.read(info.filename)
            c = change.get(info.filename)
            if c is not None:
                data = c(data) if callable(c) else c
            zo.writestr(info, data)
        for name, c in change.items():
            if name not in names:
                zo.writestr(name, c)
    return dst


# --- outcomes -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    kind: str                                      # ok, bad, refused
    cells: frozenset = field(default=frozenset())  # (sheet, row, column header) for bad
    key: str = ""                                  # message key for refused
    may_fail: bool = False                         # bad: some jobs may legitimately accept it (future dates)


OK = Outcome("ok")


def Bad(*cells, may_fail=False):  # noqa: N802 - reads like the Outcome it makes
    return Outcome("bad", frozenset(cells), may_fail=may_fail)


def Refused(key, may_fail=False):  # noqa: N802
    """may_fail: a job that never reads the damaged part may finish — without writing anything."""
    return Outcome("refused", key=key, may_fail=may_fail)


# --- the cases ----------------------------------------------------------------------------------------------------

def baseline(p):
    return write_book(p, standard())


def renamed_columns(p):
    """Headers as other shops type them: aliases and English keys, columns in another order."""
    def cust(rows):
        rename = {"顧客ID": "会員番号", "氏名": "お名前", "電話番号": "TEL", "メール": "メールアドレス"}
        return [[rename.get(h, h) for h in rows[0]]] + rows[1:]

    def orde(rows):
        rename = {"注文ID": "受注番号", "顧客ID": "customer_id", "注文日": "購入日", "金額": "合計金額", "商品": "商品名"}
        hdr = [rename.get(h, h) for h in rows[0]]
        order = [3, 0, 2, 1, 4, 5, 6, 7]  # amount first
        return [[r[i] for i in order] for r in [hdr] + rows[1:]]
    return write_book(p, standard(顧客=cust, 注文=orde))


def header_below_title(p):
    """Plain ranges (no Excel Table) under a merged title and a blank row; the header is in row 3."""
    def title(wb):
        for ws in wb.worksheets:
            ws.insert_rows(1, 2)
            ws["A1"] = f"{ws.title}一覧(2024年度)"
            ws.merge_cells(f"A1:{_col(ws.max_column)}1")
    return write_book(p, standard(), tables=False, after=title)


def merged_header(p):
    """電話番号 merged over two columns (number | extension) in a plain range: staff's layout must survive."""
    def cust(rows):
        rows = [r + [None] for r in rows]
        rows[1][-1] = "内線12"
        return rows

    def merge(wb):
        ws = wb["顧客"]
        # move the extension under the phone: columns H (電話番号) and I (extension) share a merged header
        ws.insert_cols(9)
        for r in range(1, ws.max_row + 1):
            ws.cell(r, 9).value = ws.cell(r, 13).value
            ws.cell(r, 13).value = None
        ws.merge_cells("H1:I1")
    return write_book(p, standard(顧客=cust), tables=False, after=merge)


def serial_dates(p):
    """Dates typed as Excel serial numbers, with and without a date format, and as text."""
    def orde(rows):
        _set(rows, 2, "注文日", 45296)      # 2024-01-05, General format
        _set(rows, 3, "注文日", 45327.0)    # 2024-02-05
        _set(rows, 4, "注文日", "45356")    # 2024-03-05 as text
        return rows

    def cust(rows):
        return _set(rows, 2, "生年月日", 29222)  # 1980-01-02

    def fmt(wb):
        wb["注文"]["C3"].number_format = "yyyy/mm/dd"
    return write_book(p, standard(注文=orde, 顧客=cust), after=fmt)


def wareki(p):
    def orde(rows):
        for r, v in zip(range(2, 8), ["令和6年1月5日", "R6.2.5", "r06/03/05", "令和6年3月1日", "H元.1.8", "令和６年５月２０日"]):
            _set(rows, r, "注文日", v)
        return rows

    def cust(rows):
        _set(rows, 2, "生年月日", "昭和55年1月2日")
        return _set(rows, 5, "生年月日", "S50.5.5")
    return write_book(p, standard(注文=orde, 顧客=cust))


def negative_and_zero_amounts(p):
    """A return (△ and minus) and a cancellation (0): parsers accept them; jobs must not crash on them."""
    def orde(rows):
        rows.append(["O0007", "C0001", dt.datetime(2024, 3, 10), "△3,980", "秘匿青汁", -1, "EC", ""])
        rows.append(["O0008", "C0002", dt.datetime(2024, 3, 11), -12800, "秘匿化粧水", -2, "電話", ""])
        rows.append(["O0009", "C0004", dt.datetime(2024, 5, 21), 0, "秘匿サプリ", 1, "EC", ""])
        rows.append(["O0010", "C0003", dt.datetime(2024, 6, 1), "0円", "秘匿サンプル", 1, "EC", ""])
        return rows
    return write_book(p, standard(注文=orde))


def future_order(p):
    """An order dated after the as-of date (a typo for 2024): accept or reject naming the cell, never crash."""
    return write_book(p, standard(注文=lambda rows: _set(rows, 7, "注文日", dt.datetime(2094, 5, 20))))


def pre_1900_dates(p):
    """Excel cannot hold dates before 1900, so they arrive as text; out of range is named, not guessed."""
    def cust(rows):
        return _set(rows, 3, "生年月日", "1899/12/31")

    def orde(rows):
        return _set(rows, 4, "注文日", "1850/01/01")
    return write_book(p, standard(顧客=cust, 注文=orde))


def text_in_amount_and_date(p):
    def orde(rows):
        _set(rows, 3, "金額", "秘匿未定ABC")
        return _set(rows, 5, "注文日", "そのうち秘匿")
    return write_book(p, standard(注文=orde))


def missing_column(p):
    def orde(rows):
        i = rows[0].index("金額")
        return [r[:i] + r[i + 1:] for r in rows]
    return write_book(p, standard(注文=orde))


def duplicate_customer_ids(p):
    def cust(rows):
        rows.append(["C0002", "顧客", "秘匿重複顧客", "", None, "", "", "", "", "", None])
        return rows
    return write_book(p, standard(顧客=cust))


def unknown_customer(p):
    def orde(rows):
        rows.append(["O0099", "C9999", dt.datetime(2024, 4, 1), 1000, "秘匿青汁", 1, "EC", ""])
        return rows
    return write_book(p, standard(注文=orde))


def empty_tables(p):
    """Orders and contacts with a header and nothing else (a new shop)."""
    return write_book(p, standard(注文=lambda rows: rows[:1], 対応履歴=lambda rows: rows[:1]))


def all_empty(p):
    return write_book(p, standard(顧客=lambda r: r[:1], 注文=lambda r: r[:1], 対応履歴=lambda r: r[:1]))


LONG = "秘匿メモ" + "長" * 9996  # 10,000 characters


def odd_text(p):
    """10,000-character cells, control characters (as Excel stores them: _x000B_), emoji, RTL override."""
    def cust(rows):
        _set(rows, 2, "備考", LONG)
        _set(rows, 3, "備考", "改行\nタブ\tベル_x0007_縦タブ_x000B_エスケープ_x001B_")
        _set(rows, 4, "氏名", "秘匿 𠮷野家😀👨‍👩‍👧")
        _set(rows, 5, "備考", "\u202e秘匿逆向き")
        return rows
    return write_book(p, standard(顧客=cust))


def default_table_names(p):
    """Tables made with Ctrl+T keep Excel's names (テーブル1…) on sheets named 顧客, 注文…"""
    def rename(wb):
        for i, ws in enumerate(wb.worksheets):
            for t in list(ws.tables.values()):
                ref = t.ref
                del ws.tables[t.displayName]
                ws.add_table(Table(displayName=f"テーブル{i + 1}", ref=ref))
    return write_book(p, standard(), after=rename)


# each case and what every job must do with it; Bad(...) lists the (sheet, row, header) of the planted cells
CASES = {
    "default_table_names": (default_table_names, OK),
    "baseline": (baseline, OK),
    "renamed_columns": (renamed_columns, OK),
    "header_below_title": (header_below_title, OK),
    "merged_header": (merged_header, OK),
    "serial_dates": (serial_dates, OK),
    "wareki": (wareki, OK),
    "negative_and_zero_amounts": (negative_and_zero_amounts, OK),
    "empty_tables": (empty_tables, OK),
    "all_empty": (all_empty, OK),
    "odd_text": (odd_text, OK),
    "future_order": (future_order, Bad(("注文", 7, "注文日"), may_fail=True)),
    "unknown_customer": (unknown_customer, Bad(("注文", 8, "顧客ID"), may_fail=True)),
    "pre_1900_dates": (pre_1900_dates, Bad(("顧客", 3, "生年月日"), ("注文", 4, "注文日"))),
    "text_in_amount_and_date": (text_in_amount_and_date, Bad(("注文", 3, "金額"), ("注文", 5, "注文日"))),
    "missing_column": (missing_column, Bad(("注文", None, "金額"))),
    "duplicate_customer_ids": (duplicate_customer_ids, Bad(("顧客", 6, "顧客ID"))),
}


# --- files that are not (safe) workbooks --------------------------------------------------------------------------

def not_a_workbook(p):
    p.write_text("顧客ID,氏名\nC0001,秘匿 一郎\n", encoding="utf-8")
    return p


def empty_file(p):
    p.write_bytes(b"")
    return p


def word_document(p):
    """A zip with content types but no workbook part (a .docx renamed .xlsx)."""
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return p


def truncated(p):
    baseline(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def corrupt_sheet(p):
    """A sheet part that is not XML (a torn download)."""
    base = baseline(p.with_name("src-" + p.name))
    sheet = _sheet_part(base, "注文")
    return rewrite_parts(base, p, {sheet: b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>"})


def encrypted(p):
    """A real password-protected workbook (Agile encryption, as Excel writes it)."""
    from msoffcrypto.format.ooxml import OOXMLFile
    plain = baseline(p.with_name("plain-" + p.name))
    with open(plain, "rb") as f, open(p, "wb") as out:
        OOXMLFile(f).encrypt("秘密のパスワード", out)
    return p


def legacy_xls(p):
    """An OLE file that is not encrypted OOXML (an old .xls): not our format, and not 'password-protected'."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    p.write_bytes(bytes(header) + "Workbook".encode("utf-16-le") + b"\0" * 1024)  # a directory entry's name
    return p


def zip_bomb(p):
    """300 MB of zeros in a sheet, packed to ~300 KB."""
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(block)
    return p


LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
          + "]>")
EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _inject(doctype: str, text_ref: str | None):
    def change(data: bytes) -> bytes:
        s = data.decode("utf-8")
        i = s.index("?>") + 2 if s.startswith("<?xml") else 0
        s = s[:i] + doctype + s[i:]
        if text_ref:  # use the entity in the first text node, so a parser that expands it must do so
            j = s.index("<t>") + 3 if "<t>" in s else -1
            if j > 2:
                s = s[:j] + text_ref + s[j:]
        return s.encode("utf-8")
    return change


def _sheet_part(book: Path, sheet: str) -> str:
    wb = openpyxl.load_workbook(book, read_only=True)
    idx = wb.sheetnames.index(sheet)
    wb.close()
    return f"xl/worksheets/sheet{idx + 1}.xml"


def _shared_strings_book(p: Path) -> Path:
    """openpyxl writes inline strings; Excel writes a sharedStrings part. Make the 注文 sheet use one."""
    base = baseline(p.with_name("inline-" + p.name))
    sheet = _sheet_part(base, "注文")
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
           '<si><t>秘匿青汁</t></si></sst>')

    def sheet_xml(data: bytes) -> bytes:
        return data.replace('t="inlineStr"><is><t>秘匿青汁</t></is>'.encode(), b't="s"><v>0</v>')

    def rels(data: bytes) -> bytes:
        return data.replace(b"</Relationships>", b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/'
                            b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                            b"</Relationships>")

    def ct(data: bytes) -> bytes:
        return data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return rewrite_parts(base, p, {sheet: sheet_xml, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": ct,
                                   "xl/sharedStrings.xml": sst.encode("utf-8")})


def xml_bomb(part: str, doctype: str = LAUGHS, ref: str | None = "&lol9;"):
    """Billion laughs (or an external entity) in one part of an otherwise valid workbook."""
    def build(p):
        base = _shared_strings_book(p.with_name("sst-" + p.name))
        target = _sheet_part(base, "注文") if part == "sheet" else part
        return rewrite_parts(base, p, {target: _inject(doctype, ref if part in ("sheet", "xl/sharedStrings.xml")
                                                       else None)})
    build.__name__ = f"xml_bomb({part})"
    return build


BOMB_PARTS = ["sheet", "xl/sharedStrings.xml", "xl/workbook.xml", "[Content_Types].xml", "_rels/.rels",
              "xl/_rels/workbook.xml.rels", "xl/styles.xml", "docProps/core.xml"]

REFUSED = {
    "not_a_workbook": (not_a_workbook, Refused("not_a_workbook")),
    "empty_file": (empty_file, Refused("book_empty")),
    "word_document": (word_document, Refused("not_a_workbook")),
    "truncated": (truncated, Refused("not_a_workbook")),
    "corrupt_sheet": (corrupt_sheet, Refused("book_damaged", may_fail=True)),
    "encrypted": (encrypted, Refused("book_encrypted")),
    "legacy_xls": (legacy_xls, Refused("book_xls")),
    "zip_bomb": (zip_bomb, Refused("book_too_large")),
    **{f"billion_laughs:{part}": (xml_bomb(part), Refused("book_unsafe")) for part in BOMB_PARTS},
    "external_entity:sheet": (xml_bomb("sheet", EXTERNAL_ENTITY, "&xxe;"), Refused("book_unsafe")),
}


# --- the largest sheet Excel allows, written as XML directly (openpyxl would take minutes and gigabytes) ---------

_MAIN_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


def full_sheet(path: Path, rows: int = 1_048_576, customers: int = 100) -> Path:
    """A workbook whose 注文 sheet fills every row Excel has: a header and rows-1 orders (plain range, numbers and
    inline strings, as other tools export); 顧客 holds `customers` customers C0..C{n-1}. Order r belongs to
    customer C{r % customers}, is dated serial 45000 + r % 700 and costs (r % 50) * 100 + 500 yen."""
    def istr(ref, s):
        return f'<c r="{ref}" t="inlineStr"><is><t>{s}</t></is></c>'
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>')
    wbx = (f'<?xml version="1.0" encoding="UTF-8"?><workbook {_MAIN_NS}><sheets><sheet name="顧客" sheetId="1" r:id="rId1"/>'
           '<sheet name="注文" sheetId="2" r:id="rId2"/></sheets></workbook>')
    wbrels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
              '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>'
              '</Relationships>')
    cust = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_MAIN_NS}><sheetData>'
            f'<row r="1">{istr("A1", "顧客ID")}{istr("B1", "氏名")}</row>'
            + "".join(f'<row r="{i + 2}">{istr(f"A{i + 2}", f"C{i}")}{istr(f"B{i + 2}", "秘匿 太郎")}</row>'
                      for i in range(customers))
            + "</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wbx)
        z.writestr("xl/_rels/workbook.xml.rels", wbrels)
        z.writestr("xl/worksheets/sheet1.xml", cust)
        with z.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_MAIN_NS}><sheetData>'.encode())
            f.write(f'<row r="1">{istr("A1", "注文ID")}{istr("B1", "顧客ID")}{istr("C1", "注文日")}'
                    f'{istr("D1", "金額")}</row>'.encode())
            buf = []
            for r in range(2, rows + 1):
                buf.append(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c>{istr(f"B{r}", f"C{r % customers}")}'
                           f'<c r="C{r}"><v>{45000 + r % 700}</v></c><c r="D{r}"><v>{(r % 50) * 100 + 500}</v></c></row>')
                if len(buf) == 20000:
                    f.write("".join(buf).encode())
                    buf = []
            f.write("".join(buf).encode())
            f.write(b"</sheetData></worksheet>")
    return path


def build(name: str, folder: Path, suffix: str = ".xlsx") -> tuple[Path, Outcome]:
    """Build case `name` into `folder` (as CRM<suffix>); returns its path and what jobs must do with it."""
    fn, outcome = {**CASES, **REFUSED}[name]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"CRM{suffix}"
    fn(path)
    for extra in folder.glob("*-CRM*"):  # intermediate files of the builders
        extra.unlink()
    return path, outcome


def copy(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(src, folder / src.name))


__all__ = ["CASES", "REFUSED", "SECRETS", "build", "write_book", "standard", "rewrite_parts", "Outcome", "full_sheet"]
