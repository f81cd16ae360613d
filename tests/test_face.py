"""The sheets as office staff meet them (#13): Japanese words in Japanese mode (and English in English mode),
decisions by drop-down, the columns jobs write formatted, sized and printable. Each test reads the written book
back as Excel would show it (openpyxl: values, number formats, widths, drop-downs, page setup)."""
from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from conftest import add_table
from xlcrm.book import open_book
from xlcrm.jobs import run

ENGLISH = re.compile(r"[A-Za-z]{3,}")


def journal(path) -> pd.DataFrame:
    with open_book(path) as b:
        return b.read_raw("変更履歴")


def set_setting(path, key: str, value) -> None:
    """Type `value` into 設定's 値 for 項目 `key` (a new row when the 項目 is not there yet)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["設定"]
    t = next(iter(ws.tables.values()))
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == key:
            ws.cell(r, 2, value)
            break
    else:
        r = ws.max_row + 1
        ws.cell(r, 1, key)
        ws.cell(r, 2, value)
        t.ref = f"A1:C{r}"
        if t.autoFilter is not None:
            t.autoFilter.ref = t.ref
    wb.save(path)


# --- 変更履歴 -----------------------------------------------------------------------------------------------------

def test_journal_says_the_job_in_japanese_without_an_english_column(book_path):
    run("rfm", book_path)
    j = journal(book_path)
    assert list(j.columns) == ["日時", "処理", "実行者", "内容", "変更ID", "取消"]
    assert j["処理"].tolist() == ["RFM分析"] and j["内容"].iloc[0].startswith("RFMを更新しました")
    ws = openpyxl.load_workbook(book_path)["変更履歴"]
    assert ws["A2"].number_format == "yyyy/mm/dd hh:mm" and ws.column_dimensions["D"].width >= 60
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$1:$1"


def test_journal_in_english_mode_is_english(book_path):
    run("rfm", book_path, overrides={"lang": "en"})
    j = journal(book_path)
    assert j["処理"].tolist() == ["RFM analysis"] and j["内容"].iloc[0].startswith("RFM refreshed")


def test_an_old_journal_loses_its_english_summary_column_and_keeps_its_rows(book_path):
    wb = openpyxl.load_workbook(book_path)
    add_table(wb.create_sheet("変更履歴"), "変更履歴", [
        ["日時", "処理", "実行者", "内容", "Summary", "変更ID", "取消"],
        ["2024-01-01 10:00", "dedupe", "root", "重複候補 1グループ", "1 duplicate group", "", None]])
    wb.save(book_path)
    run("rfm", book_path)
    j = journal(book_path)
    assert "Summary" not in j.columns and j["処理"].tolist() == ["dedupe", "RFM分析"]
    assert j["内容"].iloc[0] == "重複候補 1グループ"


def test_who_ran_it_is_the_operator_set_on_settings_or_the_one_staff_member(book_path):
    set_setting(book_path, "担当者一覧", "山田")
    run("rfm", book_path)
    assert journal(book_path)["実行者"].iloc[-1] == "山田"      # the shop's one member, not the OS account
    set_setting(book_path, "実行者名", "店長 佐藤")
    run("rfm", book_path)
    assert journal(book_path)["実行者"].iloc[-1] == "店長 佐藤"
