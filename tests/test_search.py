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
    assert result.counts == {"results": 1}
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
    assert run("search", book_path).counts == {"results": 1}
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
    assert run("search", book).counts == {"results": 1}
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
    assert [r["customer_id"] for r in out] == ["C0001"]
    assert out[0]["row"] == 2 and out[0]["matched"] == "電話一致"
    assert _digest(book_path) == before


def test_cli_search_table_and_limit(book_path, capsys):
    assert cli.main(["--lang", "en", "search", str(book_path), "example.jp", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "customer_id" in out[0] and "e-mail" in out[1]
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
