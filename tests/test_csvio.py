"""CSV import/export: encodings detected or refused, Windows characters, formula neutralisation, quoted newlines,
problems named by row and column, atomic writes."""
import codecs
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlcrm import csvio, schema
from xlcrm.csvio import column_letter, guess_table, neutralise, read_csv, write_csv
from xlcrm.demo import make_demo
from xlcrm.messages import BadInput

TYPED = pd.DataFrame({
    "顧客ID": ["C00001", "C00002", "C00003"],
    "氏名": ["髙橋　恵子", "渡邊 直美", "山﨑 ① 様"],
    "郵便番号": ["060-0001", "0600807", "〒040-0011"],
    "電話番号": ["090-1234-5678", "０９０１２３４５６７８", "(03)1234-5678"],
    "住所": ["札幌市中央区北一条西3丁目26番4号", "旭川市宮下通1-2-3", "函館市本町１－２－３"],
    "備考": ['二行の\nメモ, "引用"つき', "", "～ と －"],
    "金額": ["-500", "￥12,800", "12800円"],   # full-width ￥: cp932 has it (the ASCII-range ¥ it has not)
})


def values(df):
    return [[str(v) for v in row] for row in df.itertuples(index=False)]


@pytest.mark.parametrize("encoding,codec", [("utf-8-sig", "utf-8-sig"), ("cp932", "cp932")])
def test_round_trip_in_each_encoding(tmp_path, encoding, codec):
    path = write_csv(TYPED, tmp_path / "customers.csv", encoding)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8) == (encoding == "utf-8-sig")
    back = read_csv(path)
    assert list(back.columns) == list(TYPED.columns)
    assert values(back) == values(TYPED)
    assert back.attrs["encoding"] == codec and back.attrs["table"] == "customers"
    assert back.attrs["letters"]["氏名"] == "B"
    assert list(back.index) == [2, 4, 5]  # the first record's 備考 spans lines 2-3
    assert back["郵便番号"].tolist()[1] == "0600807"  # leading zero kept: everything stays text


def test_utf8_without_bom_is_detected(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes('注文ID,顧客ID,注文日,金額\nO1,C1,令和5年4月1日,"¥3,980"\n'.encode("utf-8"))
    df = read_csv(p)
    assert df.attrs["encoding"] == "utf-8" and df.attrs["table"] == "orders"
    assert df.loc[2].tolist() == ["O1", "C1", "令和5年4月1日", "¥3,980"]


def test_bom_is_detected_and_not_part_of_the_first_header(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(codecs.BOM_UTF8 + "顧客ID,氏名\nC1,佐藤 花子\n".encode("utf-8"))
    df = read_csv(p)
    assert df.attrs["encoding"] == "utf-8-sig" and list(df.columns) == ["顧客ID", "氏名"]


def test_cp932_file_with_windows_characters_reads(tmp_path):
    # ～ (8160), － (817C), ① (8740, NEC special), 髙 (FBFC IBM extension and EEE0 NEC-selected) as Excel saves them
    row = b"C1,\xfb\xfc\x8b\xb4,\x81\x60\x81\x7c\x87\x40,\xee\xe0\r\n"
    p = tmp_path / "sjis.csv"
    p.write_bytes("顧客ID,氏名,備考,メモ\r\n".encode("cp932") + row)
    df = read_csv(p)
    assert df.attrs["encoding"] == "cp932"
    assert df.iloc[0].tolist() == ["C1", "髙橋", "\uff5e\uff0d\u2460", "髙"]


def test_cp932_export_names_each_cell_it_cannot_hold(tmp_path):
    df = pd.DataFrame({
        "顧客ID": ["C1", "C2", "C3", "C4"],
        "氏名": ["髙橋 恵子", "𠮷田 花子", "山﨑 ①", "佐藤 一郎"],      # 髙 﨑 ① are in cp932; 𠮷 (U+20BB7) is not
        "備考": ["～", "1〜3個", "", "温度−5℃"],                      # 〜 U+301C and − U+2212 would become ～ and －
    })
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    with pytest.raises(BadInput) as e:
        write_csv(df, target, "cp932")
    got = [(p.sheet, p.row, p.column, p.cell, p.key) for p in e.value.problems]
    assert got == [("out.csv", 3, "氏名", "B3", "csv_unencodable"), ("out.csv", 3, "備考", "C3", "csv_unencodable"),
                   ("out.csv", 5, "備考", "C5", "csv_unencodable")]
    assert "cp932" in e.value.message("en") and "𠮷" not in e.value.message("ja")  # no customer data in messages
    assert target.read_bytes() == b"old"                                             # nothing written
    assert os.listdir(tmp_path) == ["out.csv"]                                       # no temp file left
    write_csv(df, target, "utf-8-sig")                                               # UTF-8 holds them all
    assert values(read_csv(target)) == values(df)


def test_cp932_problems_name_the_sheet_rows_when_given(tmp_path):
    df = pd.DataFrame({"顧客ID": ["C1", "C2"], "氏名": ["二行\nの名前", "𠮷田"]}, index=[10, 11])
    with pytest.raises(BadInput) as e:
        write_csv(df, tmp_path / "o.csv", "cp932", sheet="顧客")
    (p,) = e.value.problems
    assert (p.sheet, p.row, p.cell) == ("顧客", 11, "B11")
    with pytest.raises(BadInput) as e:
        write_csv(df, tmp_path / "o.csv", "cp932")
    (p,) = e.value.problems
    assert (p.sheet, p.row, p.cell) == ("o.csv", 4, "B4")  # line 4: the first record took lines 2-3
    df.attrs = {"sheet": "顧客", "letters": {"顧客ID": "C", "氏名": "D"}}  # as book.read_raw gives a table at C9
    with pytest.raises(BadInput) as e:
        write_csv(df, tmp_path / "o.csv", "cp932")
    (p,) = e.value.problems
    assert (p.sheet, p.row, p.cell) == ("顧客", 11, "D11")


@pytest.mark.parametrize("cell", ["=SUM(A1:A3)", "+81 90-1234-5678", "-2+3+cmd|' /C calc'!A0", "@SUM(1)",
                                  "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\")"])
def test_formula_like_cells_are_neutralised_and_read_back(tmp_path, cell):
    df = pd.DataFrame({"備考": [cell, "ふつう"]})
    path = write_csv(df, tmp_path / "f.csv")
    text = path.read_bytes().decode("utf-8-sig")
    written = text.split("\r\n", 1)[1]
    assert written.lstrip('"').startswith("'" + cell[0])
    assert read_csv(path)["備考"].tolist() == [cell, "ふつう"]


@pytest.mark.parametrize("cell", ["-500", "+3", "1.5", "-0.25", "2e3", "0600001", "'abc", "a=b"])
def test_plain_numbers_and_ordinary_text_are_not_touched(cell):
    assert neutralise(cell) == cell


def test_already_quoted_cells_survive_the_round_trip(tmp_path):
    cells = ["'=1+1", "''-x", "'", "'090-1234-5678"]
    assert [neutralise(c) for c in cells] == ["''=1+1", "'''-x", "'", "'090-1234-5678"]
    path = write_csv(pd.DataFrame({"a": cells}), tmp_path / "q.csv")
    assert read_csv(path)["a"].tolist() == cells


def test_numbers_dates_flags_and_blanks_are_written_as_text(tmp_path):
    df = pd.DataFrame({
        "金額": [-3980.0, 1200.0, float("nan")],
        "注文日": pd.to_datetime(["2024-04-01 00:00", "2024-04-02 10:30", None]),
        "定期": pd.array([True, False, None], dtype="boolean"),
        "数量": [1, 2, 3],
    })
    back = read_csv(write_csv(df, tmp_path / "n.csv"))
    assert values(back) == [["-3980", "2024-04-01", "TRUE", "1"], ["1200", "2024-04-02 10:30:00", "FALSE", "2"],
                            ["", "", "", "3"]]


def test_quoted_newlines_and_line_numbers(tmp_path):
    p = tmp_path / "nl.csv"
    p.write_bytes('対応ID,顧客ID,日時,内容\r\nR1,C1,2024/4/1 10:00,"一行目\r\n二行目"\r\n\r\n'
                  'R2,C2,2024/4/2,"a\nb\nc"\r\n,,,\r\nR3,C3,2024/4/3,x\r\n'.encode("utf-8"))
    df = read_csv(p)
    assert df["内容"].tolist() == ["一行目\r\n二行目", "a\nb\nc", "x"]
    assert list(df.index) == [2, 5, 9]  # blank line 4 and the empty ",,," on line 8 are not records
    assert df.attrs["table"] == "contacts"


def test_a_bad_value_is_reported_at_the_file_line_and_column(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_bytes("注文ID,顧客ID,注文日,金額,商品\r\nO1,C1,2024/4/1,980,\"青汁\r\n(初回)\"\r\nO2,C1,4月1日,980,青汁\r\n"
                  .encode("cp932"))
    raw = read_csv(p)
    with pytest.raises(BadInput) as e:
        schema.conform(raw, raw.attrs["table"], sheet=raw.attrs["sheet"])
    (prob,) = e.value.problems
    assert (prob.sheet, prob.row, prob.column, prob.cell, prob.key) == ("orders.csv", 4, "注文日", "C4", "bad_date")


def test_short_rows_are_padded_and_long_rows_refused(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes("顧客ID,氏名,メール\nC1,佐藤\nC2,鈴木,,\n".encode())
    assert read_csv(p).iloc[:, 2].tolist() == ["", ""]  # a trailing empty field is harmless
    p.write_bytes("顧客ID,氏名\nC1,佐藤\nC2,鈴木,090-1234-5678\n".encode())
    with pytest.raises(BadInput) as e:
        read_csv(p)
    (prob,) = e.value.problems
    assert (prob.row, prob.cell, prob.key) == (3, "C3", "csv_extra_fields")


def test_duplicate_headers_are_refused(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes("顧客ID,氏名,氏名\nC1,a,b\n".encode())
    with pytest.raises(BadInput) as e:
        read_csv(p)
    (prob,) = e.value.problems
    assert (prob.row, prob.cell, prob.key, prob.kw["other"]) == (1, "C1", "csv_duplicate_header", "B")


def test_unclosed_quote_is_refused_with_its_line(tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes('顧客ID,氏名\nC1,佐藤\nC2,"鈴木\nC3,田中\n'.encode())
    with pytest.raises(BadInput) as e:
        read_csv(p)
    assert "line 3" in e.value.message("en") and "3行目" in e.value.message("ja")


@pytest.mark.parametrize("data", [
    "顧客ID,氏名\nC1,佐藤\n".encode("utf-16"),              # Excel's "Unicode text": UTF-16 with BOM
    "顧客ID,氏名\nC1,佐藤\n".encode("utf-16-le"),           # UTF-16 without BOM
    b"\x82\xa0\xff\xfe\x00\x01",                             # bytes neither UTF-8 nor cp932
    codecs.BOM_UTF8 + "顧客ID\n".encode("cp932"),           # a BOM promising UTF-8 before cp932 bytes
])
def test_wrong_encoding_is_refused(tmp_path, data):
    p = tmp_path / "w.csv"
    p.write_bytes(data)
    with pytest.raises(BadInput) as e:
        read_csv(p)
    # each says what the file is: UTF-16 (save as CSV UTF-8), not text at all, or an encoding we do not read
    assert e.value.key in ("csv_utf16", "csv_nul", "csv_binary", "csv_encoding") and "w.csv" in e.value.message("en")


@pytest.mark.parametrize("text", ["顧客ID,氏名,電話番号\nC1,佐藤,03\n", "注文ID,顧客ID,注文日,金額\nA,B,C,D\n"])
def test_euc_jp_is_never_imported_as_garbage(tmp_path, text):
    # EUC-JP is often valid cp932 (as half-width kana): then its headers match no table and the import stops there
    p = tmp_path / "e.csv"
    p.write_bytes(text.encode("euc_jp"))
    try:
        assert read_csv(p).attrs["table"] is None
    except BadInput as e:
        assert e.key == "csv_encoding"


def test_yen_sign_and_wave_dash_are_reported_not_swapped(tmp_path):
    # cp932 would write U+00A5 ¥ as 0x5C (read back as a backslash) and U+301C 〜 as ～: both reported
    df = pd.DataFrame({"備考": ["¥500引き", "1〜3日", "￥500 ～ OK"]})
    with pytest.raises(BadInput) as e:
        write_csv(df, tmp_path / "y.csv", "cp932")
    assert [p.cell for p in e.value.problems] == ["A2", "A3"]


@pytest.mark.parametrize("headers,expected", [
    (["顧客ID", "氏名", "フリガナ", "電話番号"], "customers"),
    (["会員番号", "お名前", "TEL", "メールアドレス"], "customers"),
    (["customer_id", "name", "email"], "customers"),
    (["注文番号", "会員ID", "購入日", "合計金額", "商品名"], "orders"),
    (["受注番号", "顧客ID", "受注日", "売上", "氏名"], "orders"),             # an order export that repeats the name
    (["対応ID", "顧客ID", "対応日", "種別", "内容", "状態"], "contacts"),
    (["商品コード", "商品名", "価格"], None),
    ([], None),
])
def test_guess_table(headers, expected):
    assert guess_table(headers) == expected


def test_explicit_table_overrides_the_guess(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("顧客ID,氏名\nC1,a\n".encode())
    assert read_csv(p, table="顧客").attrs["table"] == "customers"


def test_write_is_atomic_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "a.csv"
    target.write_bytes(b"previous")

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(csvio.os, "replace", boom)
    with pytest.raises(OSError):
        write_csv(TYPED, target)
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["a.csv"]


def test_demo_tables_survive_a_csv_round_trip_and_conform(tmp_path):
    demo = make_demo(600, seed=5, as_of="2026-06-30")
    for name, raw in demo.items():
        back = read_csv(write_csv(raw, tmp_path / f"{name}.csv"))
        assert back.attrs["table"] == name
        typed = schema.conform(back, name, sheet=back.attrs["sheet"])
        direct = schema.conform(raw.set_axis(back.index), name)
        # phones that were number cells (Excel ate the 0) get it back from the number; as CSV text they cannot
        pd.testing.assert_frame_equal(typed.drop(columns=["phone", "mobile"], errors="ignore"),
                                      direct.drop(columns=["phone", "mobile"], errors="ignore"), check_like=True)


def test_demo_customers_with_tsuchiyoshi_cannot_go_to_cp932(tmp_path):
    cu = make_demo(3000, seed=2, as_of="2026-06-30")["customers"]
    tsuchi = cu.index[cu["氏名"].str.contains("𠮷")]
    assert len(tsuchi)
    with pytest.raises(BadInput) as e:
        write_csv(cu.set_axis(range(2, len(cu) + 2)), tmp_path / "c.csv", "cp932", sheet="顧客")
    named = {(p.row, p.column) for p in e.value.problems}
    assert {(i + 2, "氏名") for i in tsuchi} <= named
    assert {c for _, c in named} <= {"氏名", "備考"}


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == \
        ["A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


# --- properties ---------------------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=st.lists(_TEXT.filter(bool), min_size=1, max_size=4, unique=True),
       cells=st.lists(st.lists(_TEXT, min_size=4, max_size=4), max_size=6))
def test_any_text_round_trips_in_utf8_sig(tmp_path, headers, cells):
    df = pd.DataFrame([row[:len(headers)] for row in cells], columns=headers, dtype=object)
    path = write_csv(df, tmp_path / "p.csv")
    back = read_csv(path)
    kept = [row for row in values(df) if any(row)]  # a row with every field empty is not a record
    assert list(back.columns) == headers
    assert values(back) == kept


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=10))
def test_neutralise_is_undone_by_the_reader(s):
    assert csvio._unquote(neutralise(s)) == s
    assert neutralise(s)[:1] not in tuple("=+-@\t\r") or csvio._PLAIN_NUMBER.fullmatch(s)
