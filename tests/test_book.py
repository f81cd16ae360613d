"""The file engine: what staff would notice if it went wrong — lost columns, lost ribbon, a clobbered file."""
from __future__ import annotations

import hashlib
import os
import stat
import zipfile

import openpyxl
import openpyxl.worksheet.table
import pandas as pd
import pytest

from xlcrm.book import open_book
from xlcrm.book.ooxml import REL_NS
from xlcrm.messages import BadInput, BookLocked, XlcrmError


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_reads_tables_anywhere_and_parses_as_staff_type(book_path):
    with open_book(book_path) as b:
        c = b.read("customers")
        o = b.read("orders")  # the 注文 table starts at B3
    assert list(c.index) == [2, 3, 4]  # sheet row numbers
    assert c.loc[3, "birth_date"] == pd.Timestamp("1980-01-02")  # 昭和55年1月2日
    assert c.loc[2, "postcode"] == "060-0001"
    assert c.loc[3, "dm_ok"] == False and c.loc[2, "dm_ok"] == True  # noqa: E712
    assert "スタッフメモ" in c.columns  # staff's own column comes along untouched
    assert list(o.index) == [4, 5, 6]
    assert o["amount"].tolist() == [3980.0, 3980.0, 12800.0]
    assert o.loc[6, "order_date"] == pd.Timestamp("2024-03-01")  # R6.3.1


def test_round_trip_is_lossless(book_path):
    with open_book(book_path) as b:
        before = {t: b.read_raw(t) for t in ("顧客", "注文", "対応履歴", "設定")}
        for t, df in before.items():
            b.write_table(t, df.reset_index(drop=True))
        b.save()
    with open_book(book_path) as b:
        for t, df in before.items():
            after = b.read_raw(t)
            assert list(after.columns) == list(df.columns)
            assert after.reset_index(drop=True).equals(df.reset_index(drop=True)), t
            assert list(after.index) == list(df.index)  # the table did not move


def test_update_columns_touches_only_owned_columns(book_path):
    with open_book(book_path) as b:
        before = b.read_raw("顧客")
        r = b.update_columns("customers", pd.DataFrame({"customer_id": ["C0003", "C0001", "C9999"],
                                                        "RFMランク": ["111", "555", "x"]}), key="customer_id")
        b.save()
    assert r == {"matched": 2, "unmatched": 1}
    with open_book(book_path) as b:
        after = b.read_raw("顧客")
    assert after[before.columns].equals(before)
    assert after["RFMランク"].tolist() == ["555", None, "111"]  # C0002 not scored: cleared, not stale
    ws = openpyxl.load_workbook(book_path)["顧客"]
    assert ws.tables["顧客"].ref == "A1:K4"  # the table grew to include the new column


def test_generated_table_keeps_staff_columns_by_key(book_path):
    with open_book(book_path) as b:
        b.write_table("フォローリスト", pd.DataFrame({"行ID": ["a", "b"], "理由": ["初回購入", "F2"]}), key="行ID")
        b.save()
    wb = openpyxl.load_workbook(book_path)
    ws = wb["フォローリスト"]
    ws["C1"], ws["C2"], ws["C3"] = "メモ", "電話済み", "不在"
    del ws.tables["フォローリスト"]  # as Excel does when staff type next to a table: it grows by a column
    ws.add_table(openpyxl.worksheet.table.Table(displayName="フォローリスト", ref="A1:C3"))
    wb.save(book_path)
    with open_book(book_path) as b:
        b.write_table("フォローリスト", pd.DataFrame({"行ID": ["b", "c"], "理由": ["F2", "休眠"]}), key="行ID")
        b.save()
    with open_book(book_path) as b:
        df = b.read_raw("フォローリスト")
    assert df.to_dict("records") == [{"行ID": "b", "理由": "F2", "メモ": "不在"},
                                     {"行ID": "c", "理由": "休眠", "メモ": None}]


def test_vba_and_ribbon_survive_a_write_byte_for_byte(ribbon_book):
    with zipfile.ZipFile(ribbon_book) as z:
        vba, ui = z.read("xl/vbaProject.bin"), z.read("customUI/customUI14.xml")
    with open_book(ribbon_book) as b:
        b.update_columns("customers", pd.DataFrame({"customer_id": ["C0001"], "x": [1]}), key="customer_id")
        b.save()
    with zipfile.ZipFile(ribbon_book) as z:
        assert z.read("xl/vbaProject.bin") == vba
        assert z.read("customUI/customUI14.xml") == ui
        rels = z.read("_rels/.rels").decode()
        ct = z.read("[Content_Types].xml").decode()
    assert 'Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"' in rels
    assert 'Target="customUI/customUI14.xml"' in rels
    assert "macroEnabled" in ct
    from defusedxml import ElementTree as ET
    ids = [r.get("Id") for r in ET.fromstring(rels).findall(f"{{{REL_NS}}}Relationship")]
    assert len(ids) == len(set(ids))


def test_book_open_in_excel_is_refused_and_left_alone(book_path):
    owner = book_path.with_name("~$" + book_path.name)
    owner.write_bytes(b"someone")
    before = sha(book_path)
    with pytest.raises(BookLocked) as e:
        open_book(book_path)
    assert e.value.exit_code == 3 and "開いています" in e.value.message("ja")
    assert sha(book_path) == before


def test_lock_appearing_during_the_job_stops_the_save(book_path):
    before = sha(book_path)
    with open_book(book_path) as b:
        b.write_table("メモ", pd.DataFrame({"a": [1]}))
        book_path.with_name("~$" + book_path.name).write_bytes(b"x")
        with pytest.raises(BookLocked):
            b.save()
    assert sha(book_path) == before


def test_a_change_made_meanwhile_is_not_overwritten(book_path):
    with open_book(book_path) as b:
        b.write_table("メモ", pd.DataFrame({"a": [1]}))
        wb = openpyxl.load_workbook(book_path)  # somebody else saves the book in between
        wb["顧客"]["J2"] = "別の人の編集"
        wb.save(book_path)
        theirs = sha(book_path)
        with pytest.raises(BookLocked) as e:
            b.save()
    assert "変更されました" in e.value.message("ja")
    assert sha(book_path) == theirs


def test_backup_beside_the_book_keeps_last_n_and_permissions(book_path):
    os.chmod(book_path, 0o640)
    original = book_path.read_bytes()
    for i in range(4):
        with open_book(book_path, backups=3) as b:
            b.write_table("メモ", pd.DataFrame({"n": [i]}))
            backup = b.save()
        if i == 0:
            assert backup.read_bytes() == original
    backups = sorted(book_path.with_name("CRM_backup").iterdir())
    assert len(backups) == 3
    assert stat.S_IMODE(book_path.stat().st_mode) == 0o640
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o640 for p in backups)


def test_text_that_looks_like_a_formula_stays_text(book_path):
    with open_book(book_path) as b:
        b.write_table("メモ", pd.DataFrame({"備考": ["=HYPERLINK(\"http://evil\")", "+81 90"],
                                            "リンク": ['=HYPERLINK("#\'顧客\'!A2","C0001")', ""]}),
                        formula_columns=("リンク",))
        b.save()
    ws = openpyxl.load_workbook(book_path)["メモ"]
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK")
    assert ws["B2"].data_type == "f"


def test_leading_zeros_survive(book_path):
    with open_book(book_path) as b:
        b.write_table("メモ", pd.DataFrame({"郵便番号": ["0600001", "0010010"], "電話": ["0120123456", "09012345678"]}))
        b.save()
    ws = openpyxl.load_workbook(book_path)["メモ"]
    assert ws["A2"].value == "0600001" and ws["A2"].number_format == "@"
    assert ws["B3"].value == "09012345678"


def test_undo_restores_what_a_job_overwrote(book_path):
    with open_book(book_path) as b:
        before = b.read_raw("顧客")
        b.update_columns("customers", pd.DataFrame({"customer_id": ["C0001"], "スタッフメモ": ["上書き"]}),
                         key="customer_id")
        b.journal("test", "テスト", "test")
        b.save()
    with open_book(book_path) as b:
        assert b.read_raw("顧客").loc[2, "スタッフメモ"] == "上書き"
        assert b.undo_last() is not None
        b.save()
    with open_book(book_path) as b:
        assert b.read_raw("顧客").equals(before)
        journal = b.read_raw("変更履歴")
    assert journal["処理"].tolist() == ["test", "取り消し"]     # 処理 says the job in Japanese
    assert journal["取消"].notna().tolist() == [True, False]


@pytest.mark.parametrize("content,key", [
    (b"not a zip at all", "not_a_workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "book_encrypted"),
])
def test_files_that_are_not_workbooks_are_refused(tmp_path, content, key):
    p = tmp_path / "x.xlsx"
    p.write_bytes(content)
    with pytest.raises(XlcrmError) as e:
        open_book(p)
    assert e.value.key == key


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    with pytest.raises(XlcrmError) as e:
        open_book(p)
    assert e.value.key == "book_too_large"


def test_plain_sheet_with_header_below_a_title(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "注文"
    ws["A1"] = "注文一覧(2024年)"
    ws.append([])
    ws.append(["受注番号", "会員番号", "購入日", "合計金額"])
    ws.append(["A-1", 1001, 45292, "1,200"])
    wb.save(tmp_path / "o.xlsx")
    with open_book(tmp_path / "o.xlsx") as b:
        o = b.read("orders")
    assert o.index.tolist() == [4]
    assert o.iloc[0][["order_id", "customer_id", "amount"]].tolist() == ["A-1", "1001", 1200.0]
    assert o.iloc[0]["order_date"] == pd.Timestamp("2024-01-01")


def test_bad_cells_are_named_and_nothing_is_written(book_path):
    wb = openpyxl.load_workbook(book_path)
    wb["注文"]["E6"] = "未定"   # 金額 of the third order
    wb["注文"]["D5"] = "2024/13/45"
    wb.save(book_path)
    before = sha(book_path)
    with open_book(book_path) as b, pytest.raises(BadInput) as e:
        b.read("orders")
    msg_ja, msg_en = e.value.message("ja"), e.value.message("en")
    assert "シート「注文」5行目 列「注文日」(D5)" in msg_ja and "row 6 column '金額' (E6)" in msg_en
    assert sha(book_path) == before
