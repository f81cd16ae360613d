"""What staff type and the files they hand over (issue #15): exports that DM and label tools take, every
user-fixable input refused with exit 2 and a sentence naming the file, IDs nobody can confuse, options anywhere,
and a reason beside every blank P(alive)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest

from corpus import hostile
from xlcrm.cli import main
from xlcrm.csvio import fit_text
from xlcrm.jobs import run


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "予期しない" not in err and "Unexpected" not in err, err
    return code, out, err


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _typed_book(tmp_path):
    """The corpus book with what the issue saw on the demo: 𠮷 in a name, ¥ amounts, 和暦 dates, phone variants."""
    def cust(rows):
        hostile._set(rows, 2, "氏名", "𠮷田 一郎")
        hostile._set(rows, 3, "電話番号", "０９０（５５５５）０２０２")
        hostile._set(rows, 3, "郵便番号", "〒1540001")
        return rows

    def orde(rows):
        hostile._set(rows, 2, "金額", "¥12,960")
        hostile._set(rows, 3, "注文日", "R7.4.8")
        return rows
    return hostile.write_book(tmp_path / "CRM.xlsx", hostile.standard(顧客=cust, 注文=orde))


def _rows(path, encoding="cp932"):
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


# --- exports -------------------------------------------------------------------------------------------------------

def test_cp932_export_substitutes_the_nearest_character_and_names_each_cell(tmp_path, capsys):
    book = _typed_book(tmp_path)
    out = tmp_path / "c.csv"
    code, stdout, err = _run(capsys, "--lang", "en", "export", str(book), "--table", "顧客", "--out", str(out),
                             "--encoding", "cp932")
    assert code == 0, err
    assert "𠮷 → 吉: 顧客!C2" in stdout
    rows = _rows(out)
    assert rows[1][2] == "吉田 一郎"
    # clean values: one format for phones and postcodes, dates yyyy/mm/dd
    assert rows[2][rows[0].index("電話番号")] == "090-5555-0202" and rows[2][rows[0].index("郵便番号")] == "154-0001"
    assert rows[1][rows[0].index("生年月日")] == "1980/01/02" and rows[2][rows[0].index("生年月日")] == "1980/01/02"


def test_strict_keeps_the_refusal_and_writes_nothing(tmp_path, capsys):
    book = _typed_book(tmp_path)
    out = tmp_path / "c.csv"
    code, _, err = _run(capsys, "--lang", "en", "export", str(book), "--table", "顧客", "--out", str(out),
                        "--encoding", "cp932", "--strict")
    assert code == 2 and "(C2)" in err and not out.exists()


def test_amounts_are_numbers_and_dates_one_format_unless_as_typed(tmp_path, capsys):
    book = _typed_book(tmp_path)
    clean, typed = tmp_path / "o.csv", tmp_path / "t.csv"
    code, stdout, err = _run(capsys, "export", str(book), "--table", "注文", "--out", str(clean), "--encoding",
                             "cp932", "--strict")
    assert code == 0, err   # clean amounts need no substitution at all
    rows = _rows(clean)
    assert rows[1][3] == "12960" and rows[2][2] == "2025/04/08" and rows[1][2] == "2024/01/05"
    code, stdout, err = _run(capsys, "--lang", "en", "export", str(book), "--table", "注文", "--out", str(typed),
                             "--encoding", "cp932", "--as-typed")
    assert code == 0, err
    assert "¥ → a plain number: 注文!D2" in stdout
    rows = _rows(typed)
    assert rows[1][3] == "12960" and rows[2][2] == "R7.4.8"


@pytest.mark.parametrize("encoding,codec,bom", [("utf-8", "utf-8", False), ("utf-8-sig", "utf-8-sig", True),
                                                ("cp932", "cp932", False)])
def test_every_offered_encoding_works(tmp_path, capsys, encoding, codec, bom):
    book = _typed_book(tmp_path)
    out = tmp_path / "o.csv"
    code, _, err = _run(capsys, "export", str(book), "--table", "顧客", "--out", str(out), "--encoding", encoding)
    assert code == 0, err
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") == bom
    assert _rows(out, codec)[0][0] == "顧客ID"


def test_address_labels_leave_out_dm_refusals(tmp_path, capsys):
    book = _typed_book(tmp_path)
    out = tmp_path / "l.csv"
    code, stdout, err = _run(capsys, "export", str(book), "--table", "宛名ラベル", "--out", str(out),
                             "--encoding", "cp932")
    assert code == 0, err
    rows = _rows(out)
    assert rows[0] == ["〒", "住所", "建物名", "氏名"]
    assert rows[1] == ["060-0001", "札幌市秘匿町1-2-3", "", "吉田 一郎 様"]
    assert all(r[3] != "秘匿 花子 様" for r in rows)   # C0002 is DM不可
    assert "DM不可の1人" in stdout


def test_nearest_cp932_characters():
    assert fit_text("𠮷田") == ("吉田", [("𠮷", "吉")])
    assert fit_text("髙﨑①")[0] == "髙﨑①"                      # cp932's own extensions are kept
    assert fit_text("送料¥500")[0] == "送料500円"
    assert fit_text("1〜3個")[0] == "1～3個" and fit_text("−5")[0] == "－5"
    assert fit_text("葛\U000E0100飾")[0] == "葛飾"               # an ideographic variation selector is dropped
    assert fit_text("😀")[0] == "〓"                            # nothing near: the geta mark, and it is listed
    assert fit_text("¥12,960", number=True)[0] == "12960"


# --- every user-fixable input exits 2, naming the file -------------------------------------------------------------

def _files(tmp_path):
    ods = tmp_path / "book.ods"
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    (tmp_path / "rnd.xlsx").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.xlsx").write_bytes(b"")
    (tmp_path / "orders.csv").write_text("注文ID,顧客ID,注文日,金額\n", encoding="utf-8")
    return {"rnd.xlsx": "cannot be read as an Excel workbook", "empty.xlsx": "empty file",
            "book.ods": "Save it as Excel", "orders.csv": "xlcrm import", "nai.xlsm": "not found"}


def test_files_that_are_not_a_workbook_exit_2_with_what_to_do(tmp_path, capsys):
    for name, hint in _files(tmp_path).items():
        for argv in (["dashboard", str(tmp_path / name)], ["export", str(tmp_path / name), "--table", "顧客",
                                                            "--out", str(tmp_path / "x.csv")]):
            code, _, err = _run(capsys, "--lang", "en", *argv)
            assert code == 2 and name in err and hint in err, (name, err)


def test_doctor_reports_an_unreadable_book_as_a_finding(tmp_path, capsys):
    _files(tmp_path)
    code, out, err = _run(capsys, "--lang", "en", "doctor", str(tmp_path / "rnd.xlsx"))
    assert code == 2 and "✖ 'rnd.xlsx' cannot be read" in out


@pytest.mark.parametrize("content,hint", [
    (b"", "is empty"),
    ("注文ID,顧客ID\x00,注文日,金額\n".encode(), "NUL byte (0x00) on line 1"),
    ("注文ID,顧客ID,注文日,金額\n".encode("utf-16"), "UTF-16"),
])
def test_bad_csvs_say_what_is_wrong_for_rfm_and_import(tmp_path, capsys, content, hint):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    before = _sha(book)
    p = tmp_path / "x.csv"
    p.write_bytes(content)
    for argv in (["rfm", str(p), "--out", str(tmp_path / "r.csv")], ["import", str(p), "--into", str(book)]):
        code, _, err = _run(capsys, "--lang", "en", *argv)
        assert code == 2 and hint in err and "x.csv" in err, err
    assert _sha(book) == before


def test_an_unidentified_import_names_the_closest_table_and_what_it_lacks(tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    p = tmp_path / "o.csv"
    p.write_text("注文日,金額,商品\n2024-01-01,100,x\n", encoding="utf-8")
    code, _, err = _run(capsys, "--lang", "en", "import", str(p), "--into", str(book))
    assert code == 2 and "closest is 注文" in err and "注文ID、顧客ID" in err


def test_a_libreoffice_lock_is_named_for_libreoffice(tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    book.with_name(f".~lock.{book.name}#").write_text("x")
    code, _, err = _run(capsys, "--lang", "en", "dashboard", str(book))
    assert code == 3 and "open in LibreOffice" in err and "~$" not in err


# --- IDs, options, imports that add nothing ------------------------------------------------------------------------

def test_a_recorded_contact_carries_the_contact_prefix(tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    code, out, err = _run(capsys, "--lang", "en", "contact", str(book), "--customer", "C0001", "--type", "DM",
                          "--summary", "x")
    assert code == 0, err
    assert "(R000001)" in out   # not C000001, which reads as a customer's ID


def test_global_options_after_the_subcommand(tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    code, out, err = _run(capsys, "dashboard", str(book), "--lang", "en", "--as-of", "2024-06-30")
    assert code == 0 and "Dashboard refreshed" in out, err


def test_help_lists_every_job_and_the_accepted_headers(capsys):
    from xlcrm.jobs import JOBS
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert all(j in out for j in JOBS) and "..." not in out
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    out = capsys.readouterr().out
    assert "受注番号" in out and "* 注文ID / order_id" in out


def test_a_header_only_import_writes_nothing(tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    before = _sha(book)
    p = tmp_path / "o.csv"
    p.write_text("注文ID,顧客ID,注文日,金額\n", encoding="utf-8")
    code, out, err = _run(capsys, "--lang", "en", "import", str(p), "--into", str(book))
    assert code == 0 and "Nothing to import" in out
    assert _sha(book) == before and not list(tmp_path.glob("*.bak*"))


# --- a reason beside every blank figure ----------------------------------------------------------------------------

def test_every_blank_p_alive_has_a_reason(tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    code, out, err = _run(capsys, "lapse", str(book), "--method", "bgnbd", "--json", "--as-of", "2024-06-30")
    assert code == 0, err
    doc = json.loads(out)
    blank = [r for r in doc["rows"] if r["p_alive"] is None]
    assert blank and all(r["p_alive_note_ja"] and r["p_alive_note_en"] for r in blank)
    assert sum(doc["p_alive_missing"].values()) == len(blank)
    run("lapse", book, overrides={"lapse_method": "bgnbd", "as_of": "2024-06-30"})
    from conftest import sheet
    cust = sheet(book, "顧客")
    no_p = cust[cust["継続確率"].isna() & cust["離脱状態"].notna()]
    assert len(no_p) and no_p["離脱判定の理由"].str.contains("継続確率").all()
