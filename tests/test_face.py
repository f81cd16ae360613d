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
DATE_FMT = "yyyy/mm/dd"


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


# --- フォローリスト, ルール, ステップ ----------------------------------------------------------------------------------

def _sheet(path, name) -> pd.DataFrame:
    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _validations(ws) -> dict:
    """header -> the drop-down's options, for the drop-downs on a table's data rows."""
    heads = {c.column_letter: c.value for c in ws[1]}
    out = {}
    for v in ws.data_validations.dataValidation:
        col = re.match(r"[A-Z]+", str(v.sqref)).group()
        out[heads[col]] = v.formula1.strip('"').split(",")
    return out


def test_followup_sheets_say_rules_in_japanese_and_offer_drop_downs(book_path):
    run("followup", book_path)
    lst = _sheet(book_path, "フォローリスト")
    shown = " ".join(map(str, lst[["ルール", "フォローID"]].to_numpy().ravel()))
    assert not ENGLISH.findall(shown.replace("C000", "")), shown          # no complaint, prospect, step:F2
    wb = openpyxl.load_workbook(book_path)
    assert _validations(wb["ルール"]) == {"有効": ["○", "×"]}
    assert _validations(wb["ステップ"]) == {"起点": ["初回購入", "登録"], "区分": ["販促", "案内"], "有効": ["○", "×"]}
    ws = wb["フォローリスト"]
    heads = [c.value for c in ws[1]]
    due = heads.index("期限") + 1
    assert ws.cell(2, due).number_format == "yyyy/mm/dd" and ws.column_dimensions["C"].width >= 40   # 理由
    for name in ("ルール", "ステップ", "フォローリスト"):
        assert wb[name].page_setup.orientation == "landscape" and wb[name].print_title_rows == "$1:$1", name
        assert wb[name]["A1"].fill.fgColor.rgb.endswith("1F4E78") and wb[name]["A1"].font.b, name   # the header
    heads = [c.value for c in ws[1]]
    memo = openpyxl.utils.get_column_letter(heads.index("結果メモ") + 1)
    assert ws.print_area == f"'フォローリスト'!$A$1:${memo}${ws.max_row}"     # printed: 顧客ID … 結果メモ, no ids


def test_a_list_and_rules_written_with_english_ids_still_read_and_keep_staffs_edits(book_path):
    run("followup", book_path, overrides={"lang": "en"})          # as books were written before #13
    lst = _sheet(book_path, "フォローリスト")
    assert "complaint:C0002:K1" in set(lst["フォローID"]) and "complaint" in set(lst["ルール"])
    assert "thanks" in set(_sheet(book_path, "ルール")["ルールID"])
    wb = openpyxl.load_workbook(book_path)
    ws = wb["フォローリスト"]
    heads = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[heads.index("フォローID")].value == "complaint:C0002:K1":
            row[heads.index("状態")].value = "対応中"
            row[heads.index("結果メモ")].value = "折り返し待ち"
    ws = wb["ルール"]
    heads = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "prospect":
            row[heads.index("有効")].value = "×"
    wb.save(book_path)
    r = run("followup", book_path)                                    # now in Japanese
    lst = _sheet(book_path, "フォローリスト").set_index("フォローID")
    assert r.counts["new"] == 0 and (lst.loc["クレーム:C0002:K1", "状態"], lst.loc["クレーム:C0002:K1", "結果メモ"]) == \
        ("対応中", "折り返し待ち")
    assert lst.loc["見込み:C0003:なし", "状態"] == "不要"                 # the rule staff switched off, read as 見込み
    assert not any(k.startswith(("complaint", "prospect")) for k in lst.index)


# --- 重複候補 --------------------------------------------------------------------------------------------------------

def test_candidates_put_the_decision_beside_the_ids_as_a_drop_down(tmp_path):
    from dedupe_data import make_book
    p = make_book(tmp_path / "crm.xlsx", hard=True)
    run("dedupe", p)
    ws = openpyxl.load_workbook(p)["重複候補"]
    heads = [c.value for c in ws[1]]
    assert heads == ["グループ", "顧客ID", "相手ID", "判定", "氏名", "相手氏名", "一致確率", "区分", "理由", "ペアキー"]
    cand = _sheet(p, "重複候補")
    household = cand.index[cand["区分"].eq("同一世帯(別人)")] + 2        # sheet rows
    assert len(household) and cand.loc[household - 2, "一致確率"].max() < 0.01
    lists = {}
    for v in ws.data_validations.dataValidation:
        for rng in str(v.sqref).split():
            a, _, b = rng.partition(":")
            a, b = int(a[1:]), int((b or a)[1:])
            assert rng.startswith("D")
            lists.update({r: v.formula1 for r in range(a, b + 1)})
    assert set(lists) == set(range(2, len(cand) + 2))                     # every row has its drop-down
    assert {lists[r] for r in household} == {'"別人,保留"'}                 # a household is never offered a merge
    assert {lists[r] for r in set(lists) - set(household)} == {'"統合,別人,保留"'}
    assert ws["G2"].number_format == "0.0%" and ws.column_dimensions["D"].width == 8
    assert ws["D1"].fill.fgColor.rgb.endswith("1F4E78") and ws["D1"].font.color.rgb.endswith("FFFFFF")
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"


def test_an_old_candidates_sheet_takes_the_new_layout_and_merge_reads_the_ways_staff_say_merge(tmp_path):
    from dedupe_data import make_book
    p = make_book(tmp_path / "crm.xlsx")
    wb = openpyxl.load_workbook(p)                                         # the sheet as it was before #13
    add_table(wb.create_sheet("重複候補"), "重複候補", [
        ["グループ", "顧客ID", "相手ID", "氏名", "相手氏名", "一致確率", "区分", "理由", "Reason", "判定", "ペアキー"],
        ["T0001", "T0001", "T0002", "髙橋 一郎", "高橋一郎", 1, "同一人物候補", "…", "…", "統合する", "T0001|T0002"]])
    wb.save(p)
    run("dedupe", p)
    cand = _sheet(p, "重複候補")
    assert list(cand.columns[:4]) == ["グループ", "顧客ID", "相手ID", "判定"] and "Reason" not in cand.columns
    assert cand.set_index("ペアキー").loc["T0001|T0002", "判定"] == "統合"   # staff's 統合する, as the drop-down says it
    r = run("merge", p)
    assert r.counts["groups"] == 1                                          # 統合する means 統合


@pytest.mark.parametrize("word,expected", [("統合", 1), ("統合する", 1), ("する", 1), ("○", 1), ("別人", 0),
                                           ("しない", 0), ("×", 0), ("保留", 0), ("△", 0)])
def test_each_way_of_writing_a_decision(tmp_path, word, expected):
    from dedupe_data import make_book
    from test_merge import decide
    p = make_book(tmp_path / "crm.xlsx")
    run("dedupe", p)
    decide(p, {"T0001|T0002": word})
    assert run("merge", p).counts["groups"] == expected


def test_candidates_in_english_mode_keep_the_english_reason(tmp_path):
    from dedupe_data import make_book
    p = make_book(tmp_path / "crm.xlsx")
    run("dedupe", p, overrides={"lang": "en"})
    cand = _sheet(p, "重複候補")
    assert "Reason" in cand.columns and cand["Reason"].str.contains("equal").any()


# --- 顧客: the columns jobs compute ----------------------------------------------------------------------------------

def _column(ws, header) -> str:
    return next(c.column_letter for c in ws[1] if c.value == header)


def test_the_columns_jobs_add_to_customers_show_yen_dates_and_counts_and_fit(book_path):
    for job in ("rfm", "lapse", "dedupe"):
        run(job, book_path)
    ws = openpyxl.load_workbook(book_path)["顧客"]
    want = {"購入金額": '"¥"#,##0', "注文回数": "#,##0", "初回注文日": "yyyy/mm/dd", "最終注文日": "yyyy/mm/dd",
            "次回注文予定日": "yyyy/mm/dd", "最終注文からの日数": "#,##0", "RFM": "0", "R": "0"}
    for header, fmt in want.items():
        col = _column(ws, header)
        assert {ws[f"{col}{r}"].number_format for r in (2, 3, 4)} == {fmt}, header
        assert ws.column_dimensions[col].width >= 10 if fmt == "yyyy/mm/dd" else True, header   # no ###
    assert isinstance(ws[f"{_column(ws, 'RFM')}2"].value, int)                      # a number, not text
    assert ws.column_dimensions[_column(ws, "最終注文からの日数")].width >= 2 * len("最終注文からの日数")
    assert ws.column_dimensions[_column(ws, "離脱判定の理由")].width >= 40
    assert ws.column_dimensions["E"].width == 14                               # staff's own width untouched


# --- the same on the live engine (Excel through xlwings; here the in-memory double) ---------------------------------

def live_copy(path):
    """The book's sheets as Excel would hold them, in the xlwings double (cells only, as typed)."""
    import xlwings_double as xwd
    src = openpyxl.load_workbook(path)
    xl = xwd.Book(*src.sheetnames)
    for ws in src.worksheets:
        xl.sheets[ws.title].range("A1").value = [list(r) for r in ws.iter_rows(values_only=True)]
    return xl


def test_live_excel_gets_the_same_formats_drop_downs_and_japanese_words(tmp_path):
    from dedupe_data import make_book
    from xlcrm.book.base import _parse_cell
    xl = live_copy(make_book(tmp_path / "crm.xlsx", hard=True))
    run("dedupe", xl)
    run("rfm", xl)
    cand = xl.sheets["重複候補"]
    heads = cand.range("A1:J1").value
    assert heads[:4] == ["グループ", "顧客ID", "相手ID", "判定"] and "Reason" not in heads
    options = {tuple(v["options"]) for v in cand._validations}
    assert options == {("統合", "別人", "保留"), ("別人", "保留")}
    assert cand._formats[_parse_cell("G2")] == "0.0%" and cand.api.PageSetup.state["Orientation"] == 2
    cust = xl.sheets["顧客"]
    head = cust.range("A1:AZ1").value
    col = head.index("購入金額") + 1
    assert cust._formats[(2, col)] == '"¥"#,##0' and cust._widths[col] >= 11
    assert cust._formats[(2, head.index("最終注文日") + 1)] == "yyyy/mm/dd"
    journal = xl.sheets["変更履歴"].range("A1:F3").value
    assert [r[1] for r in journal[1:]] == ["重複チェック", "RFM分析"] and "Summary" not in journal[0]
    assert xl.sheets["_xlcrm_undo"].api.Visible == 2                           # very hidden


# --- report sheets ---------------------------------------------------------------------------------------------------

def test_journey_counts_read_1000_as_1_000_and_its_note_names_the_setting(tmp_path):
    from test_journey import write_book
    p = write_book(tmp_path / "b.xlsx")
    run("journey", p)
    ws = openpyxl.load_workbook(p)["ジャーニー"]
    assert ws["A6"].value == "見込み" and ws["B6"].number_format == "#,##0"      # the funnel's 人数
    texts = " ".join(str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str))
    assert "f2_days" not in texts and "F2判定日数" in texts
    # a column header stands centred over its figures (it sat left, over the gap before them); a block title not
    head = next(c for row in ws.iter_rows() for c in row if c.value == "売上")
    assert head.alignment.horizontal == "center" and ws["A5"].alignment.horizontal != "center"


def test_the_dashboard_says_its_forecast_in_japanese(tmp_path):
    from test_journey import write_book
    p = write_book(tmp_path / "b.xlsx")
    r = run("dashboard", p)
    ws = openpyxl.load_workbook(p)["ダッシュボード"]
    texts = " ".join(str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str))
    for word in ("MAPE", "Holt", "Winters"):
        assert word not in texts and word not in r.summary_ja, word
    assert "平均誤差率" in texts
    en = run("dashboard", p, overrides={"lang": "en"})
    assert "MAPE" in en.summary_en


def _dashboard_sections(rows) -> list[int]:
    """The rows where the dashboard's monthly tables and its cohort block begin (1-based)."""
    titles = [i + 1 for i, row in enumerate(rows) if row and row[0] in ("月別売上と予測", "継続率コホート(初回購入月×経過月)")]
    assert len(titles) == 2, titles
    return titles


def test_the_dashboard_prints_its_tables_on_pages_of_their_own_on_the_live_engine(tmp_path):
    """Printed for the Monday meeting, a table never breaks away from its header: the figures and charts, the
    monthly tables, and the cohorts each begin a page."""
    from test_journey import write_book
    xl = live_copy(write_book(tmp_path / "b.xlsx"))
    run("dashboard", xl)
    ws = xl.sheets["ダッシュボード"]
    rows = ws.range("A1:A200").value
    assert ws.api.HPageBreaks.rows == _dashboard_sections(rows)
    run("dashboard", xl)
    assert ws.api.HPageBreaks.Count == 2                   # replaced on a refresh, never piled up


def test_the_dashboard_prints_its_tables_on_pages_of_their_own_in_the_file(tmp_path):
    from test_journey import write_book
    p = write_book(tmp_path / "b.xlsx")
    run("dashboard", p)
    ws = openpyxl.load_workbook(p)["ダッシュボード"]
    starts = _dashboard_sections([[c.value for c in row] for row in ws.iter_rows(max_col=1)])
    assert sorted(b.id for b in ws.row_breaks.brk) == [r - 1 for r in starts]   # a break after row r-1


# --- データ整形 ------------------------------------------------------------------------------------------------------

def _tidy_book(path):
    """Orders, customers and contacts as staff typed them: 和暦, slashes, full-width digits, ¥ and 円, one typo."""
    import datetime as dt
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    add_table(ws, "顧客", [["顧客ID", "氏名", "生年月日", "登録日", "電話番号"],
                           ["C1", "髙橋 一郎", "昭和55年1月2日", dt.datetime(2022, 8, 20), "0312345678"],
                           ["C2", "佐藤 花子", "1968-06-14", "２０２２／９／１４", "090-1111-2222"]])
    ws.column_dimensions["C"].width = 30
    add_table(wb.create_sheet("注文"), "注文", [
        ["注文ID", "顧客ID", "注文日", "金額", "数量"],
        ["O1", "C1", "令和7年7月30日", "¥1,000", "２"],
        ["O2", "C1", dt.datetime(2024, 1, 5), 3980, 1],
        ["O3", "C2", "2023/12/6", "１，２８０円", 1],
        ["O4", "C2", "2023/13/45", "千円", 1]], top=3, left=2)
    add_table(wb.create_sheet("対応履歴"), "対応履歴", [
        ["対応ID", "顧客ID", "日時", "種別", "内容"],
        ["R1", "C1", "２０２５/７/３１ 10:30", "問い合わせ", "配送日の確認"]])
    wb.save(path)
    return path


def test_tidy_turns_text_dates_and_amounts_into_dates_and_numbers_and_names_the_rest(tmp_path):
    import datetime as dt
    p = _tidy_book(tmp_path / "b.xlsx")
    r = run("tidy", p)
    wb = openpyxl.load_workbook(p)
    o, c = wb["注文"], wb["顧客"]
    # 注文 starts at B3: header row 3, 注文日 in D, 金額 in E, 数量 in F
    assert [o[f"D{i}"].value for i in (4, 5, 6)] == [dt.datetime(2025, 7, 30), dt.datetime(2024, 1, 5),
                                                   dt.datetime(2023, 12, 6)]
    assert [o[f"E{i}"].value for i in (4, 5, 6)] == [1000, 3980, 1280] and o["F4"].value == 2
    assert (o["D4"].number_format, o["D6"].number_format, o["E4"].number_format) == ("yyyy/mm/dd",) * 2 + ("#,##0",)
    assert (o["D7"].value, o["E7"].value) == ("2023/13/45", "千円")                     # unreadable: left as typed
    assert c["C2"].value == dt.datetime(1980, 1, 2) and c["D3"].value == dt.datetime(2022, 9, 14)
    assert c["E2"].value == "0312345678" and c.column_dimensions["C"].width == 30      # text and widths untouched
    assert wb["対応履歴"]["C2"].value == dt.datetime(2025, 7, 31, 10, 30)
    assert r.counts["changed"] == 9 and r.counts["by_sheet"] == {"顧客": 3, "注文": 5, "対応履歴": 1}
    assert [(u["sheet"], u["row"], u["column"], u["cell"]) for u in r.counts["unreadable"]] == [
        ("注文", 7, "注文日", "D7"), ("注文", 7, "金額", "E7")]
    assert "注文!D7(7行目 列「注文日」)" in r.summary_ja and "注文!E7 (row 7, column '金額')" in r.summary_en
    assert journal(p)["処理"].tolist() == ["データ整形"]
    again = run("tidy", p)                                  # nothing left to do but the two cells to retype
    assert again.counts["changed"] == 0 and "直すセルはありませんでした" in again.summary_ja


def test_tidy_is_undone_by_undo(tmp_path):
    from xlcrm.jobs.io import undo
    p = _tidy_book(tmp_path / "b.xlsx")
    before = {n: [[c.value for c in row] for row in openpyxl.load_workbook(p)[n].iter_rows()]
              for n in ("顧客", "注文", "対応履歴")}
    run("tidy", p)
    assert undo(p).counts["undone"]
    after = {n: [[c.value for c in row] for row in openpyxl.load_workbook(p)[n].iter_rows()]
             for n in ("顧客", "注文", "対応履歴")}
    assert after == before


def test_tidy_from_the_command_line_and_the_ribbon_button(tmp_path, capsys):
    from xml.etree import ElementTree as ET

    from xlcrm.build import customui_xml
    from xlcrm.cli import main
    from xlcrm.jobs import JOBS
    p = _tidy_book(tmp_path / "b.xlsx")
    assert main(["tidy", str(p)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("データ整形: 9セルを日付・数値に直しました") and "注文!D7" in out
    ns = "{http://schemas.microsoft.com/office/2006/01/customui}"
    button = next(b for b in ET.fromstring(customui_xml()).iter(f"{ns}button") if b.get("tag") == "tidy")
    assert button.get("label") == "データ整形" and button.get("onAction") == "XlcrmRibbon.CrmAction"
    assert JOBS["tidy"] == "xlcrm.jobs.tidy:tidy"


def test_tidy_on_the_live_engine(tmp_path):
    import datetime as dt
    xl = live_copy(_tidy_book(tmp_path / "b.xlsx"))
    r = run("tidy", xl)
    o = xl.sheets["注文"]
    assert r.counts["changed"] == 9 and o.range("D4").value == dt.datetime(2025, 7, 30)
    assert o._formats[(4, 4)] == "yyyy/mm/dd" and o._formats[(4, 5)] == "#,##0" and o.range("E6").value == 1280


# --- the demo, as staff open it ---------------------------------------------------------------------------------------

ALLOWED = {"ID", "RFM", "F2", "EC", "LINE", "SNS", "DM", "NPS", "CRM", "BG/NBD", "xlcrm"}   # names, not English text


@pytest.fixture
def demo(demo_book):
    return demo_book            # built once per session (conftest), also rendered by tests/test_render.py


@pytest.mark.slow
def test_no_english_word_on_any_sheet_staff_see_in_japanese_mode(demo):
    wb = openpyxl.load_workbook(demo)
    found = {}
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and "@" not in c.value:     # e-mail addresses are the customers'
                    words = set(re.findall(r"[A-Za-z][A-Za-z_/\-]{2,}", c.value)) - ALLOWED
                    words -= {w for w in words if w.startswith("xlcrm")}
                    if words:
                        found.setdefault(ws.title, set()).update(words)
    assert found in ({}, {"設定": {"search"}}), found        # 設定 names the command `xlcrm search` once
    assert {ws.title for ws in wb.worksheets if ws.sheet_state != "visible"} >= {"xlwings.conf"}
    j = journal(demo)
    assert set(j["実行者"]) == {"田中 美咲"}                     # the demo shop's 実行者名, never the OS account


@pytest.mark.slow
def test_every_sheet_a_job_writes_prints_landscape_one_page_wide(demo):
    wb = openpyxl.load_workbook(demo)
    tables = ("重複候補", "ルール", "ステップ", "変更履歴", "セグメント推移", "フォローリスト")
    for ws in wb.worksheets:
        if ws.sheet_state != "visible" or ws.title in ("顧客", "注文", "対応履歴", "検索", "設定"):
            continue           # the template's sheets: the build sets them up (tests/test_build.py)
        ps = ws.page_setup
        assert ps.orientation == "landscape" and ps.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage, \
            ws.title
        if ws.title in tables:
            assert ws.print_title_rows == "$1:$1" and ps.paperSize in (9, "9"), ws.title
    seg = wb["セグメント推移"]
    assert seg["A2"].number_format == "yyyy/mm/dd" and seg["C2"].number_format == "#,##0"
    lst = wb["フォローリスト"]
    staff = next(v for v in lst.data_validations.dataValidation if v.formula1.startswith('"田中'))
    assert staff.formula1 == '"田中 美咲,山本 健太,小林 由紀,中村 直子,吉田 翔"'      # 担当者 from 設定's 担当者一覧


def test_staff_pick_the_assignee_from_settings_staff_list_on_customers_and_contacts(book_path):
    run("followup", book_path)                       # 設定's 担当者一覧: 山田、鈴木
    wb = openpyxl.load_workbook(book_path)
    assert _validations(wb["顧客"]).get("担当者") is None        # the test book's 顧客 has no 担当者 column
    contacts = wb["対応履歴"]
    staff = [v for v in contacts.data_validations.dataValidation if v.formula1 == '"山田,鈴木"']
    assert len(staff) == 1 and str(staff[0].sqref) == "G2:G1048576"          # rows added later get it too
    run("followup", book_path)
    assert len([v for v in openpyxl.load_workbook(book_path)["対応履歴"].data_validations.dataValidation
                if v.formula1 == '"山田,鈴木"']) == 1                          # replaced, never piled up


@pytest.mark.slow
def test_an_english_demo_writes_english(tmp_path):
    from xlcrm.jobs.demo import run_demo
    p = tmp_path / "en.xlsm"
    list(run_demo(p, customers=120, seed=2, as_of="2025-08-01", lang="en"))
    j = journal(p)
    assert "Duplicate check" in set(j["処理"]) and j["内容"].str.contains("refreshed").any()
    assert "Reason" in _sheet(p, "重複候補").columns
    lst = _sheet(p, "フォローリスト")
    assert lst["フォローID"].str.match(r"^[a-z0-9]+:").all()


def _with_cached_result(path, sheet_part: str, cell: str, result: str) -> None:
    """Store a formula's result in the file as Excel does (openpyxl writes formulas without one)."""
    import zipfile
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    xml = parts[sheet_part].decode("utf-8")
    xml, n = re.subn(rf'<c r="{cell}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
                     lambda m: f'<c r="{cell}"{m.group(1)} t="str"><f>{m.group(2)}</f><v>{result}</v></c>', xml)
    assert n == 1, xml[:2000]
    parts[sheet_part] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_tidy_leaves_a_formula_staff_wrote_as_it_is(tmp_path):
    p = _tidy_book(tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(p)
    wb["注文"]["E6"] = '=TEXT(1280,"#,##0")&"円"'                  # reads "1,280円", but it is staff's formula
    wb.save(p)
    _with_cached_result(p, "xl/worksheets/sheet2.xml", "E6", "1,280円")
    r = run("tidy", p)
    assert openpyxl.load_workbook(p)["注文"]["E6"].value == '=TEXT(1280,"#,##0")&"円"'
    assert r.counts["by_sheet"]["注文"] == 4


# --- 顧客一覧(印刷用): the columns of 顧客 staff print ------------------------------------------------------------------

def test_the_print_list_copies_the_chosen_columns_of_customers_formatted_for_a4_landscape(book_path):
    run("rfm", book_path)
    r = run("print_list", book_path)
    wb = openpyxl.load_workbook(book_path)
    ws = wb["顧客一覧(印刷用)"]
    heads = [c.value for c in ws[3]]
    # 設定's default order; what the test book's 顧客 lacks (携帯電話, 都道府県, 住所, 離脱状態, 担当者) is named
    assert heads == ["顧客ID", "氏名", "フリガナ", "電話番号", "最終注文日", "注文回数", "購入金額", "セグメント"]
    assert "携帯電話" in r.summary_ja and "担当者" in r.summary_ja and r.counts["rows"] == 3
    col = {h: c.column_letter for h, c in zip(heads, ws[3])}
    assert ws[f"{col['購入金額']}4"].number_format == '"¥"#,##0' and ws[f"{col['最終注文日']}4"].number_format == DATE_FMT
    assert ws[f"{col['注文回数']}4"].number_format == "#,##0"
    assert [ws[f"{col['電話番号']}{i}"].value for i in (4, 5)] == ["090-1234-5678", "03-1234-5678"]
    assert ws["A1"].value == "顧客一覧(印刷用)" and "印刷する列(顧客)" in ws["A2"].value
    ps = ws.page_setup
    assert ps.orientation == "landscape" and ps.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$3:$3" and ps.paperSize in (9, "9")
    assert all(ws.column_dimensions[c].width <= 30 for c in col.values())
    # staff choose the columns on 設定, by the headers they see (電話 is read as 電話番号); the rest go
    set_setting(book_path, "印刷する列(顧客)", "氏名、電話、購入金額")
    run("print_list", book_path)
    ws = openpyxl.load_workbook(book_path)["顧客一覧(印刷用)"]
    assert [c.value for c in ws[3] if c.value is not None] == ["氏名", "電話番号", "購入金額"]
    assert ws["D3"].value is None and ws["D4"].value is None            # the earlier columns are gone


def test_the_print_list_refuses_a_setting_that_names_no_column(book_path):
    from xlcrm.messages import BadInput
    set_setting(book_path, "印刷する列(顧客)", "存在しない列")
    with pytest.raises(BadInput) as e:
        run("print_list", book_path)
    assert "印刷する列" in e.value.message("ja")


def test_the_print_list_on_the_live_engine(book_path):
    xl = live_copy(book_path)
    run("rfm", xl)
    run("print_list", xl)
    ws = xl.sheets["顧客一覧(印刷用)"]
    heads = ws.range("A3:H3").value
    assert heads[:4] == ["顧客ID", "氏名", "フリガナ", "電話番号"] and ws.api.PageSetup.state["Orientation"] == 2
    assert ws._formats[(4, heads.index("購入金額") + 1)] == '"¥"#,##0'
