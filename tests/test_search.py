"""Search: what a clerk types finds the customer, ranked and explained; the 検索 sheet, the CLI and the UDF."""
import hashlib
import json

import openpyxl
import pandas as pd
import pytest

from xlcrm import cli, search as S
from xlcrm.jobs import run
from xlcrm.jobs import search as J
from xlcrm.messages import BadInput
from xlcrm.udfs import CRM_SEARCH


@pytest.fixture(scope="module")
def customers():
    df = pd.DataFrame([
        # customer_id, name, kana, phone, mobile, email, postcode, prefecture, address, building
        ("C0001", "髙橋 太郎", "タカハシ タロウ", "", "090-1234-5678", "taro@example.jp", "154-0001", "東京都",
         "世田谷区桜1丁目2番3号", ""),
        ("C0002", "高橋 花子", "たかはし はなこ", "03-3456-7890", "", "hanako@example.com", "", "東京都",
         "世田谷区桜一丁目2-3", "サクラハイツ101"),
        ("C0003", "高橋 次郎", "ﾀｶﾊｼ ｼﾞﾛｳ", "06-1234-0000", "", "", "", "大阪府", "大阪市北区梅田1-1-1", ""),
        ("C0004", "伊藤 一郎", "イトウ イチロウ", "", "080-1111-2222", "", "", "", "", ""),
        ("C0005", "伊東 次郎", "イトウ ジロウ", "", "080-3333-5678", "", "", "", "", ""),
        ("C0006", "佐藤 さくら", "サトウ サクラ", "", "070-5555-6666", "Sakura@Example.JP", "", "神奈川県",
         "横浜市中区山下町279", ""),
        ("C0007", "たなか", "", "", "", "", "", "", "", ""),
        ("C0008", "田中 健", "タナカ ケン", "", "", "ken@example.jp", "", "", "", ""),
    ], columns=list(S.COLUMNS))
    df.index = pd.RangeIndex(2, 2 + len(df))  # sheet rows
    return df


@pytest.fixture(scope="module")
def idx(customers):
    return S.build_index(customers)


def ids(res):
    return res["customer_id"].tolist()


def test_kana_in_half_width_and_a_phone_prefix_and_together(idx):
    res = S.search(idx, "ﾀｶﾊｼ 090", 10)
    assert ids(res) == ["C0001"]           # 高橋 花子/次郎 have no 090 number: every token must match
    assert set(res["matched"].iloc[0].split("・")) == {"電話一致", "フリガナ一致"}


def test_variant_kanji_and_a_ward(idx):
    assert ids(S.search(idx, "髙橋 世田谷", 10)) == ["C0001", "C0002"]   # not the 高橋 in 大阪


def test_email_fragment(idx):
    res = S.search(idx, "sakura@", 10)
    assert ids(res) == ["C0006"] and res["matched"].tolist() == ["メール一致"]


@pytest.mark.parametrize("q", ["090-1234-5678", "09012345678", "０９０－１２３４－５６７８", "+81 90 1234 5678",
                               "(090)1234-5678", "090 1234 5678"])
def test_a_phone_in_any_format_is_an_exact_identifier(idx, q):
    res = S.search(idx, q, 10)
    assert ids(res) == ["C0001"]
    assert res["score"].iloc[0] == S.W["phone_exact"] and res["matched"].iloc[0] == "電話一致"


def test_last_four_digits_rank_above_digits_in_the_middle(idx):
    res = S.search(idx, "5678", 10)
    assert ids(res) == ["C0001", "C0005", "C0002"]  # two end in 5678; 03-3456-7890 has it in the middle
    assert res["score"].tolist() == [S.W["phone_suffix"]] * 2 + [S.W["phone_part"]]
    assert ids(S.search(idx, "１２３４", 10)) == ["C0001", "C0003"]  # equal scores: sheet order


def test_exact_identifiers_first_then_names_then_fuzzy(idx):
    res = S.search(idx, "C0004", 10)
    assert ids(res) == ["C0004"] and res["matched"].tolist() == ["ID一致"]
    res = S.search(idx, "たなか", 10)
    assert ids(res) == ["C0007", "C0008"]  # the name typed in kana (exact) before a reading that starts so
    assert res["matched"].tolist() == ["氏名一致", "フリガナ一致"]
    assert res["score"].is_monotonic_decreasing


def test_different_kanji_same_reading(idx):
    assert ids(S.search(idx, "伊藤", 10)) == ["C0004"]          # 伊東 is someone else
    assert ids(S.search(idx, "イトウ", 10)) == ["C0004", "C0005"]  # by reading both are found


def test_a_typo_is_found_fuzzily_and_says_so(idx):
    res = S.search(idx, "髙端 花子", 10)
    assert ids(res)[0] == "C0002"
    assert res["matched"].iloc[0] == "あいまい一致" and res["score"].iloc[0] <= S.W["fuzzy"]
    res = S.search(idx, "sakrua@example.jp", 10)
    assert ids(res) == ["C0006"] and res["matched"].tolist() == ["あいまい一致"]


def test_address_in_another_notation(idx):
    assert ids(S.search(idx, "桜１－２－３", 10)) == ["C0001", "C0002"]
    assert ids(S.search(idx, "一丁目二番三号 ハイツ", 10)) == ["C0002"]
    assert ids(S.search(idx, "154-0001", 10)) == ["C0001"]


def test_result_shape_rows_and_limit(idx):
    res = S.search(idx, "高橋", 2)
    assert list(res.columns) == S.RESULT_COLUMNS
    assert len(res) == 2 and res.index.tolist() == [2, 3]   # index = the customers' sheet rows
    assert res.loc[3, "phone"] == "03-3456-7890"
    assert res.loc[3, "address"] == "東京都世田谷区桜一丁目2-3 サクラハイツ101"
    assert S.search(idx, "", 10).empty and S.search(idx, "   ", 10).empty
    assert S.search(idx, "存在しない", 10).empty
    assert S.search(idx, "高橋", 10, lang="en")["matched"].iloc[0] == "name"


def test_index_is_reused_until_the_table_changes(customers):
    a = S.index_for(customers)
    assert S.index_for(customers.copy()) is a
    changed = customers.copy()
    changed.loc[2, "mobile"] = "090-0000-1111"
    b = S.index_for(changed)
    assert b is not a
    assert ids(S.search(b, "0000-1111", 5)) == ["C0001"]
    assert S.search(a, "0000-1111", 5).empty


def test_empty_and_partial_tables():
    empty = pd.DataFrame({"customer_id": pd.Series([], dtype="str"), "name": pd.Series([], dtype="str")})
    assert S.search(S.build_index(empty), "高橋", 5).empty
    only = pd.DataFrame({"customer_id": ["A1"], "name": ["髙橋"]}, index=[5])
    assert S.search(S.build_index(only), "たかはし", 5).empty           # no kana column: no reading to match
    assert ids(S.search(S.build_index(only), "高橋", 5)) == ["A1"]


# --- the 検索 sheet ------------------------------------------------------------------------------------------------

def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_search_job_writes_results_with_links(book_path):
    result = run("search", book_path, query="ﾀｶﾊｼ")
    assert result.counts == {"results": 1, "total": 1}
    wb = openpyxl.load_workbook(book_path)
    ws = wb["検索"]
    assert ws.tables["検索結果表"].ref.startswith("A5:")
    assert [c.value for c in ws[5][:8]] == ["顧客ID", "氏名", "フリガナ", "電話番号", "メール", "住所", "スコア", "一致理由"]
    assert ws["A6"].value == '=HYPERLINK("#\'顧客\'!A2","C0001")'
    assert ws["B6"].value == "髙橋 一郎"
    assert (ws["A1"].value, ws["A2"].value, ws["B2"].value, ws["C2"].value, ws["D2"].value) == \
        ("顧客検索", "検索語", "ﾀｶﾊｼ", "件数", 20)
    journal = wb["変更履歴"]
    texts = [c.value for row in journal.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("ﾀｶﾊｼ" in t for t in texts)  # the query may be a name: never in the journal


def test_search_job_reads_the_query_cell_and_replaces_old_results(book_path):
    run("search", book_path, query="example.jp")
    wb = openpyxl.load_workbook(book_path)
    assert wb["検索"]["A7"].value is not None   # two hits
    wb["検索"]["B2"] = "さとう"
    wb["検索"]["D2"] = 5
    wb.save(book_path)
    assert run("search", book_path).counts == {"results": 1, "total": 1}
    ws = openpyxl.load_workbook(book_path)["検索"]
    assert ws["A6"].value == '=HYPERLINK("#\'顧客\'!A3","C0002")'
    assert ws["A7"].value is None                 # the older second row is gone
    assert ws["B2"].value == "さとう"              # staff's query stays


def test_search_job_refuses_an_empty_query_and_writes_nothing(book_path):
    run("search", book_path, query="高橋")
    wb = openpyxl.load_workbook(book_path)
    wb["検索"]["B2"] = None
    wb.save(book_path)
    before = _digest(book_path)
    with pytest.raises(BadInput) as e:
        run("search", book_path)
    assert e.value.problems[0].key == "search_empty_query" and e.value.problems[0].cell == "B2"
    assert _digest(book_path) == before


def test_search_job_rejects_a_bad_limit(book_path):
    run("search", book_path, query="高橋")
    wb = openpyxl.load_workbook(book_path)
    wb["検索"]["D2"] = "たくさん"
    wb.save(book_path)
    with pytest.raises(BadInput) as e:
        run("search", book_path)
    assert e.value.problems[0].key == "search_bad_limit" and e.value.problems[0].cell == "D2"


def test_search_job_on_the_built_workbook(tmp_path):
    """The real CRM.xlsm layout: query in B2 under the title, results below row 4, macros kept."""
    from xlcrm.build import build_workbook
    from xlcrm.jobs.io import import_csvs
    book = build_workbook(tmp_path / "CRM.xlsm")
    csv = tmp_path / "customers.csv"
    csv.write_text("顧客ID,氏名,フリガナ,電話番号\nC1,髙橋 一郎,タカハシ イチロウ,090-1234-5678\n"
                   "C2,佐藤 花子,サトウ ハナコ,03-1234-5678\n", encoding="utf-8")
    import_csvs(book, [csv])
    wb = openpyxl.load_workbook(book, keep_vba=True)
    wb["検索"]["B2"] = "5678 たかはし"
    wb.save(book)
    assert run("search", book).counts == {"results": 1, "total": 1}
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["検索"]
    assert ws["A1"].value == "顧客検索" and ws["A2"].value == "検索語" and ws["B2"].value == "5678 たかはし"
    assert ws["B3"].value.startswith("氏名")                      # the hint is untouched
    row = wb["顧客"].tables["顧客"].ref.split(":")[0][1:]         # the 顧客 table's header row
    assert ws["A6"].value == f'=HYPERLINK("#\'顧客\'!A{int(row) + 1}","C1")'
    assert "検索語" in wb.defined_names and "検索結果表" in ws.tables
    assert wb.vba_archive is not None


def test_link_formula_escapes_quotes():
    assert J._link("顧客's", "A5", 'C"1') == '=HYPERLINK("#\'顧客\'\'s\'!A5","C""1")'


# --- CLI -----------------------------------------------------------------------------------------------------------

def test_cli_search_prints_json_and_leaves_the_book_alone(book_path, capsys):
    before = _digest(book_path)
    assert cli.main(["search", str(book_path), "０９０１２３４５６７８", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["total"], out["shown"], out["message"]) == (1, 1, "1件中1件を表示")
    assert [r["customer_id"] for r in out["results"]] == ["C0001"]
    assert out["results"][0]["row"] == 2 and out["results"][0]["matched"] == "電話一致"
    assert _digest(book_path) == before


def test_cli_search_table_and_limit(book_path, capsys):
    assert cli.main(["--lang", "en", "search", str(book_path), "example.jp", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and "customer_id" in out[0] and "e-mail" in out[1]
    assert out[2] == "Showing 1 of 2 (see more with --limit)"
    with pytest.raises(SystemExit):
        cli.main(["search", str(book_path), "x", "--limit", "0"])
    capsys.readouterr()
    assert cli.main(["search", str(book_path), "存在しない人"]) == 0
    assert capsys.readouterr().out.strip() == "該当する顧客はいません。"
    assert cli.main(["search", str(book_path / "nope.xlsx"), "x"]) == 2   # book not found: bad input, no traceback


# --- UDF -----------------------------------------------------------------------------------------------------------

TABLE = [
    ["顧客ID", "氏名", "フリガナ", "電話番号", "メール", "スタッフメモ"],
    ["C0001", "髙橋 一郎", "タカハシ イチロウ", 9012345678.0, "ichiro@example.jp", "x" * 300],
    ["C0002", "佐藤 花子", "さとう はなこ", "03-1234-5678", None, None],
    [None, None, None, None, None, None],
]


def test_udf_spills_a_header_and_rows():
    out = CRM_SEARCH("たかはし", TABLE)
    assert out[0] == ["顧客ID", "氏名", "フリガナ", "電話番号", "メール", "住所", "スコア", "一致理由"]
    assert out[1][:5] == ["C0001", "髙橋 一郎", "タカハシ イチロウ", "09012345678", "ichiro@example.jp"]
    assert out[1][5] == "" and isinstance(out[1][6], float) and out[1][7] == "フリガナ一致"
    assert len(out) == 2
    assert all(v is not None for row in out for v in row)


def test_udf_phone_typed_as_number_and_limit():
    assert CRM_SEARCH("090-1234-5678", TABLE)[1][0] == "C0001"   # the cell lost its leading 0
    assert len(CRM_SEARCH("example", TABLE, 1)) == 2
    assert len(CRM_SEARCH("存在しない", TABLE)) == 1               # header only


def test_udf_explains_bad_arguments():
    assert "CRM_SEARCH" in CRM_SEARCH("x", TABLE, 0)[0][0]
    assert "顧客[#All]" in CRM_SEARCH("x", [["a", "b"], [1, 2]])[0][0]
    assert len(CRM_SEARCH("x", [["a", "b"], [1, 2]])[0][0]) <= 255


def test_udf_reuses_the_index_until_the_cells_change():
    CRM_SEARCH("たかはし", TABLE)
    index = next(iter(J._INDEXES.values()))
    assert CRM_SEARCH("さとう", TABLE)[1][0] == "C0002"
    assert next(iter(J._INDEXES.values())) is index
    changed = [row[:] for row in TABLE]
    changed[2][1] = "佐藤 はなこ"
    assert CRM_SEARCH("はなこ", changed)[1][1] == "佐藤 はなこ"
    assert next(iter(J._INDEXES.values())) is not index


@pytest.mark.parametrize("raw, digits", [
    ("+81 (0)90-1234-5678", "09012345678"), ("+81 90 1234 5678", "09012345678"), ("03-1234-5678 内線12", "0312345678"),
    ("０３（１２３４）５６７８", "0312345678"), ("", ""), (None, ""), (9012345678.0, "09012345678"),
    ("0000-00-0000", "0000000000"), ("03-1234-5678(代)", "0312345678"),
])
def test_phone_search_form(raw, digits):
    assert S._phone_digits(raw) == digits


def test_whole_query_as_one_exact_name(idx):
    res = S.search(idx, "たかはし はなこ", 10)
    assert ids(res)[0] == "C0002" and res["score"].iloc[0] >= S.W["kana_exact"]
    res = S.search(idx, "高橋 花子", 10)
    assert ids(res) == ["C0002"] and res["score"].iloc[0] == S.W["name_exact"]


def test_digits_rank_phones_above_emails():
    df = pd.DataFrame({"customer_id": ["A", "B"], "name": ["山田", "川田"], "mobile": ["", "090-1111-2222"],
                       "email": ["user2090@example.jp", ""]}, index=[2, 3])
    res = S.search(S.build_index(df), "090", 5)
    assert ids(res) == ["B", "A"] and res["matched"].tolist() == ["電話一致", "メール一致"]


@pytest.mark.libreoffice
@pytest.mark.slow
@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_results_links_evaluate_in_a_spreadsheet_program(tmp_path):
    """LibreOffice opens the searched workbook and computes the links: the cell shows the ID, points at 顧客."""
    import subprocess
    import zipfile
    from xlcrm.build import build_workbook
    from xlcrm.jobs.io import import_csvs
    book = build_workbook(tmp_path / "CRM.xlsm")
    csv = tmp_path / "c.csv"
    csv.write_text("顧客ID,氏名,フリガナ\nC1,髙橋 一郎,タカハシ イチロウ\nC2,佐藤 花子,サトウ ハナコ\n", encoding="utf-8")
    import_csvs(book, [csv])
    run("search", book, query="たかはし")
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "ods", "--outdir", str(tmp_path), str(book)],
                   check=True, capture_output=True, timeout=180, env={**__import__("os").environ, "HOME": str(tmp_path)})
    content = zipfile.ZipFile(tmp_path / "CRM.ods").read("content.xml").decode("utf-8")
    assert 'table:formula="of:=HYPERLINK(&quot;#&apos;顧客&apos;!A2&quot;;&quot;C1&quot;)"' in content
    assert 'office:string-value="C1"' in content


def test_table_key_sees_changes_in_text_and_object_columns(customers):
    for frame in (customers, customers.astype(object)):
        key = S.table_key(frame)
        assert S.table_key(frame.copy()) == key
        changed = frame.copy()
        changed.loc[9, "email"] = "new@example.jp"
        assert S.table_key(changed) != key
        moved = frame.copy()
        moved.index = moved.index + 1          # same values on other sheet rows: the links would be wrong
        assert S.table_key(moved) != key


# --- ranking like a person would (issue 15) --------------------------------------------------------------------

def _people(rows, dates=None):
    """customer_id, name, kana per row; `dates`: last_active per row (None = unknown)."""
    df = pd.DataFrame(rows, columns=["customer_id", "name", "kana"])
    if dates is not None:
        df["last_active"] = pd.to_datetime(pd.Series(dates, dtype=object))
    df.index = pd.RangeIndex(2, 2 + len(df))
    return df


def test_among_equal_scores_the_most_recently_active_comes_first():
    # 50 older 高橋 rows, then two 髙橋 imported today: every row scores the same name-start 75
    rows = [(f"C{i:03d}", "高橋 " + "一二三四五"[i % 5], "タカハシ") for i in range(1, 51)]
    rows += [("C051", "髙橋 優子", "タカハシ ユウコ"), ("C052", "髙橋 恵", "タカハシ メグミ")]
    dates = [f"2025-{1 + i % 12:02d}-01" for i in range(50)] + ["2026-12-01", "2026-11-30"]
    res = S.search(S.build_index(_people(rows, dates)), "髙橋", 20)
    assert res["score"].nunique() == 1 and res.attrs["total"] == 52 and len(res) == 20
    assert ids(res)[:2] == ["C051", "C052"]
    assert res.join(_people(rows, dates)["last_active"])["last_active"].is_monotonic_decreasing
    # ties on the date too: sheet order, the same list every time
    same = S.build_index(_people(rows, ["2025-01-01"] * 52))
    assert ids(S.search(same, "髙橋", 5)) == ["C001", "C002", "C003", "C004", "C005"]
    unknown = S.build_index(_people(rows[:3], [None, "2024-01-01", None]))
    assert ids(S.search(unknown, "高橋", 5)) == ["C002", "C001", "C003"]   # an unknown date ranks last


def test_last_active_is_the_latest_order_else_contact_or_registration():
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D"],
                              "registered_on": pd.to_datetime(["2024-01-01", "2024-01-01", "2025-05-05", None])})
    orders = pd.DataFrame({"customer_id": ["A", "A", "Z"],
                           "order_date": pd.to_datetime(["2024-02-01", "2024-03-01", "2026-01-01"])})
    contacts = pd.DataFrame({"customer_id": ["A", "B", "C"],
                             "at": pd.to_datetime(["2026-01-01 10:00", "2024-06-01 09:30", "2025-01-01 12:00"])})
    got = S.last_active(customers, orders, contacts)
    assert got.dt.strftime("%Y-%m-%d").fillna("").tolist() == ["2024-03-01", "2024-06-01", "2025-05-05", ""]
    assert S.last_active(customers).dt.strftime("%Y-%m-%d").fillna("").tolist() == \
        ["2024-01-01", "2024-01-01", "2025-05-05", ""]


def test_a_kana_query_finds_readings_before_spelling_neighbours():
    rows = [("C1", "山田 聡子", "ヤマダ サトコ"), ("C2", "山崎 茂", "ヤマザキ シゲル"), ("C3", "中島 美咲", "ナカジマ ミサキ"),
            ("C4", "井上 雅之", "イノウエ マサユキ"), ("C5", "近藤 雅之", "コンドウ マサユキ"), ("C6", "山﨑 京子", "ﾔﾏｻﾞｷ ｷｮｳｺ"),
            ("C7", "山崎 進", "やまさき すすむ"), ("C8", "山崎 隆", "ヤマザキ タカシ"), ("C9", "山崎 恵美", "ヤマザキ エミ"),
            ("C10", "山崎 裕子", "ヤマザキ ユウコ")]
    res = S.search(S.build_index(_people(rows)), "やまさき", 12)
    assert ids(res) == ["C7", "C2", "C6", "C8", "C9", "C10"]   # ヤマサキ exact-start first, then ヤマザキ readings
    assert set(res["matched"]) == {"フリガナ一致"}                # five readings: no fuzzy 山田 / 中島 / 近藤
    # one 山崎 only: neighbours may follow, scored as fuzzy, after the reading
    few = S.search(S.build_index(_people(rows[:2] + [("C11", "山崎 茂", "")])), "やまさき", 12)
    assert ids(few)[0] == "C2" and all(m == "あいまい一致" for m in few["matched"].iloc[1:])


def test_exact_and_prefix_matches_rank_before_parts_and_fuzzy():
    rows = [("C1", "高端 花子", "タカハタ ハナコ"), ("C2", "北高橋 次郎", "キタタカハシ ジロウ"),
            ("C3", "高橋", "タカハシ"), ("C4", "高橋 花子", "タカハシ ハナコ")]
    res = S.search(S.build_index(_people(rows)), "高橋", 10)
    assert ids(res) == ["C3", "C4", "C2"]                      # exact, prefix, part; 高端 is not offered
    assert res["score"].tolist() == [S.W["name_exact"], S.W["name_start"], S.W["name_part"]]
    assert min(S.W[k] for k in ("id_start", "name_start", "kana_start", "phone_suffix")) >= S.EXACT_MIN > \
        max(S.W[k] for k in ("name_part", "kana_part", "email_part", "reading_start", "address_part"))
    res = S.search(S.build_index(_people(rows)), "たかはち", 10)   # a typo: fuzzy only, below every real match
    assert {"C3", "C4"} <= set(ids(res)) and set(res["matched"]) == {"あいまい一致"}
    assert res["score"].max() <= S.W["fuzzy"]


def test_fuzzy_is_suppressed_when_exact_hits_are_plentiful():
    near = [("N1", "高畑 花子", "タカハタ ハナコ")]              # タカハタ: one slip from タカハシ
    few = [(f"C{i}", "高橋 " + n, "タカハシ " + k) for i, (n, k) in enumerate([("一", "イチ"), ("二", "ジ")])]
    plenty = few + [(f"D{i}", "高橋 " + n, "タカハシ") for i, n in enumerate("三四五六七")]
    got_few = S.search(S.build_index(_people(few + near)), "たかはし", 20)
    got_plenty = S.search(S.build_index(_people(plenty + near)), "たかはし", 20)
    # "たかはし" has the exact-start hits either way; only a shop with few of them also sees 高畑
    assert ids(got_few) == ["C0", "C1", "N1"] and got_few["matched"].iloc[-1] == "あいまい一致"
    assert "N1" not in ids(got_plenty) and got_plenty.attrs["total"] == 7
    # with no exact hit at all the typo is offered
    assert ids(S.search(S.build_index(_people(near)), "たかはし", 5)) == ["N1"]


def test_digits_are_never_matched_fuzzily():
    df = pd.DataFrame({"customer_id": ["A"], "name": ["山田"], "email": ["user1235@example.jp"]}, index=[2])
    assert S.search(S.build_index(df), "1243", 5).empty


def test_the_search_sheet_says_how_many_matched_and_how_to_see_more(book_path):
    run("search", book_path, query="example.jp", limit=1)
    ws = openpyxl.load_workbook(book_path)["検索"]
    assert ws["A4"].value == "検索結果"
    assert ws["B4"].value == "2件中1件を表示(D2 の件数を増やすと続きを表示します)"
    assert ws["A6"].value == '=HYPERLINK("#\'顧客\'!A3","C0002")'   # ordered 2024-03-01: newer than C0001
    run("search", book_path, query="example.jp", limit=5)
    assert openpyxl.load_workbook(book_path)["検索"]["B4"].value == "2件中2件を表示"


def test_cli_count_line_in_japanese(book_path, capsys):
    assert cli.main(["search", str(book_path), "example.jp", "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2件中1件を表示(--limit で増やせます)"
    assert cli.main(["search", str(book_path), "example.jp", "--json", "--limit", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["total"], out["shown"], len(out["results"])) == (2, 1, 1)


# --- hostile input: one 10,000-character cell costs no more than a normal one ---------------------------------

@pytest.fixture(scope="module")
def demo_2000():
    from xlcrm import demo, schema
    raw = demo.make_demo(2000, seed=3, as_of="2026-12-01")["customers"]
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    return schema.conform(raw, "customers")


def _with_long(df, column):
    out = df.copy()
    out.loc[out.index[7], column] = ("髙橋たかはし" * 1_700)[:10_000]  # shares the typo's characters
    return out


@pytest.mark.parametrize("column", ["name", "kana", "address", "email"])
def test_a_10000_character_cell_barely_widens_dedupe_keys(demo_2000, column):
    """dedupe compares keys held in fixed-width numpy arrays: every pair's work is as wide as the widest key.
    The bytes of those arrays are the comparison work; one long cell adds at most half (uncapped: 400x)."""
    from xlcrm import dedupe
    kinds = {k: v for k, v in dedupe.SCHEMA_KINDS.items() if k in demo_2000.columns}

    def work(df):
        f = dedupe.prepare(df, kinds)
        return sum(f[c].nbytes for c in f.columns)
    assert work(_with_long(demo_2000, column)) <= 1.5 * work(demo_2000)


def test_a_10000_character_name_costs_search_no_more(demo_2000, monkeypatch):
    """Characters in the index and characters handed to rapidfuzz for a typo, with and without one long name."""
    handed = []
    real = S.process.extract

    def counting(query, choices, **kw):
        handed.append(sum(map(len, choices)))
        return real(query, choices, **kw)
    monkeypatch.setattr(S.process, "extract", counting)
    cost = {}
    for label, df in (("normal", demo_2000), ("long", _with_long(demo_2000, "name"))):
        idx = S.build_index(df)
        handed.clear()
        S.search(idx, "たかはい", 20)   # a typo: rapidfuzz over the rows sharing its characters
        cost[label] = (sum(len(f.blob) for f in (idx.name, idx.kana, idx.reading, idx.email, idx.address)),
                       sum(handed))
    assert cost["long"][0] <= 1.05 * cost["normal"][0]
    assert 0 < cost["long"][1] <= 1.5 * cost["normal"][1]
