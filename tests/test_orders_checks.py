"""Three things a user trips on, as they see them:

1. Orders naming a customer who is not on 顧客: every job that computes from 注文 (rfm, lapse, followup, the
   customer card, dashboard and its PNG report, journey, `xlcrm rfm|lapse BOOK`, the demo) refuses with the
   same message — the count, the distinct ids, the cells of the first five — and the file stays byte-identical.
2. Orders dated after the as-of date are left out, but the summary and the 変更履歴 line say how many and where
   the first is; dates after today (2062 for 2026) are told apart as likely typos.
3. A book open in Excel (its ~$ owner file beside it) can still be searched, exported and scored to a CSV, read
   as last saved, with a one-line note; commands that write still refuse it.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import add_table
from xlcrm import cli
from xlcrm.book import open_book
from xlcrm.jobs import orders as oc
from xlcrm.jobs import run
from xlcrm.messages import BadInput

CUSTOMERS = [["顧客ID", "区分", "氏名", "フリガナ", "電話番号", "DM可否", "スタッフメモ"],
             ["C0001", "顧客", "髙橋 一郎", "タカハシ イチロウ", "090-1234-5678", "可", "電話は夕方"],
             ["C0002", "顧客", "佐藤 花子", "サトウ ハナコ", "03-1234-5678", "不可", None],
             ["C0003", "見込み", "伊東 誠", "イトウ マコト", "06-1234-5678", "", None]]
ORDERS = [["注文ID", "顧客ID", "注文日", "金額", "商品", "チャネル"],
          ["O1", "C0001", dt.datetime(2024, 1, 5), 3980, "青汁", "EC"],
          ["O2", "C0001", "2024/2/5", "¥3,980", "青汁", "EC"],
          ["O3", "C0002", "R6.3.1", "１２８００円", "化粧水", "電話"]]
CONTACTS = [["対応ID", "顧客ID", "日時", "チャネル", "種別", "内容", "担当者", "状態"],
            ["K1", "C0002", "2024-03-02 10:30", "電話", "クレーム", "配送遅れ", "山田", "対応中"]]
SETTINGS = [["項目", "値", "説明"], ["基準日", "2024-06-30", ""]]
# seven orders of two customers nobody registered: rows 5-11 of 注文, customer ids in column B
ORPHANS = [[f"O{i}", "C0098" if i == 6 else "C0099", "2024-04-01", 1000, "青汁", "EC"] for i in range(4, 11)]


def write_book(path, orders=ORDERS):
    wb = openpyxl.Workbook()
    wb.active.title = "顧客"
    add_table(wb["顧客"], "顧客", CUSTOMERS)
    add_table(wb.create_sheet("注文"), "注文", orders)
    add_table(wb.create_sheet("対応履歴"), "対応履歴", CONTACTS)
    add_table(wb.create_sheet("設定"), "設定", SETTINGS)
    wb.save(path)
    return path


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def journal(path):
    with open_book(path) as b:
        return b.read_raw("変更履歴").iloc[-1]


# --- 1. orders of unknown customers --------------------------------------------------------------------------

EXPECTED_JA = [
    "シート「注文」の7行の顧客ID(2種類)がシート「顧客」にありません。顧客を登録するか、顧客IDを直してください。"
    "何も書き込んでいません。",
    *[f"シート「注文」{r}行目 列「顧客ID」(B{r}): 顧客「顧客ID」に存在しない顧客IDです" for r in range(5, 10)],
    "…ほか2件"]


def _refusal(f):
    with pytest.raises(BadInput) as e:
        f()
    return e.value.message("ja"), e.value.message("en")


def test_every_job_refuses_orders_of_unknown_customers_alike_and_writes_nothing(tmp_path, capsys):
    from xlcrm.jobs.dashboard import report
    from xlcrm.jobs.followup import customer_card
    from xlcrm.jobs.lapse import lapse_file
    from xlcrm.jobs.rfm import rfm_file
    book = write_book(tmp_path / "CRM.xlsx", ORDERS + ORPHANS)
    before = sha(book)
    got = {tag: _refusal(lambda tag=tag: run(tag, book)) for tag in ("rfm", "lapse", "followup", "dashboard",
                                                                     "journey", "pipeline", "survey", "steps",
                                                                     "referrals")}
    got["card"] = _refusal(lambda: run(customer_card, book, customer="C0001"))
    got["report"] = _refusal(lambda: report(book, tmp_path / "png"))
    got["rfm --out"] = _refusal(lambda: rfm_file(book, tmp_path / "rfm.csv"))
    got["lapse --out"] = _refusal(lambda: lapse_file(book, tmp_path / "lapse.csv"))
    assert got["rfm"][0].splitlines() == EXPECTED_JA
    assert got["rfm"][1].startswith("7 row(s) of sheet '注文' name a customer ID (2 distinct)")
    assert got["rfm"][1].endswith("... and 2 more")
    assert {tag: msg for tag, msg in got.items() if msg != got["rfm"]} == {}
    assert sha(book) == before
    assert not (tmp_path / "rfm.csv").exists() and not (tmp_path / "lapse.csv").exists()
    assert not (tmp_path / "png").exists() or not any((tmp_path / "png").iterdir())
    # the command line: exit 2, the same lines on stderr
    capsys.readouterr()
    assert cli.main(["--lang", "en", "run", "journey", str(book)]) == 2
    assert capsys.readouterr().err.strip() == got["rfm"][1]
    assert sha(book) == before


def test_the_demo_refuses_the_same_book_the_same_way(tmp_path, monkeypatch):
    """`xlcrm demo` fed the bad book's tables stops at its first job that reads 注文, with the same message, and
    leaves its workbook as the jobs before it saved it."""
    import xlcrm.demo
    import xlcrm.jobs.demo as demo_job

    def frame(rows):
        return pd.DataFrame(rows[1:], columns=rows[0])
    monkeypatch.setattr(xlcrm.demo, "make_demo", lambda **kw: {
        "customers": frame(CUSTOMERS), "orders": frame(ORDERS + ORPHANS), "contacts": frame(CONTACTS)})
    snapshots = []
    real_run = demo_job.run

    def run_and_remember(tag, path, **kw):
        snapshots.append((tag, sha(path)))
        return real_run(tag, path, **kw)
    monkeypatch.setattr(demo_job, "run", run_and_remember)
    out = tmp_path / "CRM-demo.xlsx"
    steps = demo_job.run_demo(out, customers=3, as_of=pd.Timestamp("2024-06-30"))
    ja, en = _refusal(lambda: list(steps))
    assert ja.splitlines() == EXPECTED_JA
    bad = write_book(tmp_path / "CRM.xlsx", ORDERS + ORPHANS)
    assert (ja, en) == _refusal(lambda: run("rfm", bad))
    assert snapshots[-1][0] == "rfm" and sha(out) == snapshots[-1][1]   # dedupe ran before it; rfm wrote nothing


def test_a_million_orphans_are_counted_and_five_named():
    customers = pd.DataFrame({"customer_id": ["C1"]})
    n = 1_000_000
    orders = pd.DataFrame({"customer_id": np.where(np.arange(n) % 4 == 0, "C1", "X").astype(object)},
                          index=pd.RangeIndex(2, n + 2))
    orders.attrs = {"headers": {"customer_id": "会員番号"}, "letters": {"会員番号": "C"}}
    from xlcrm import schema
    with pytest.raises(BadInput) as e:
        schema.check_references(customers, orders, "注文")
    assert [p.cell for p in e.value.problems] == ["C3", "C4", "C5", "C7", "C8"]
    assert e.value.message("en").splitlines()[0].startswith("750,000 row(s) of sheet '注文' name a customer ID (1 "
                                                            "distinct)")
    assert e.value.message("ja").splitlines()[-1] == "…ほか749,995件"


# --- 2. orders dated after the as-of date or after today -------------------------------------------------------

LATE = ["O4", "C0002", "2024-08-01", 5000, "化粧水", "電話"]       # after 基準日 2024-06-30, before today: row 5
TYPO = ["O5", "C0001", "2062/2/5", 3980, "青汁", "EC"]             # 2026 typed as 2062: row 6


def test_check_days_by_hand():
    day = lambda s: int(np.datetime64(s, "D").astype(np.int64))  # noqa: E731
    days = np.array([day(s) for s in ("2024-01-01", "2024-07-01", "2030-01-01", "2024-06-30", "2025-01-01",
                                      "2031-01-01")])
    c = oc.check_days(days, "2024-06-30", lambda i: f"row{i}", today=dt.date(2026, 12, 1))
    assert (c.after_as_of, c.after_as_of_at) == (4, "row1")
    assert (c.future_ignored, c.future_ignored_at, c.future_counted) == (2, "row2", 0)
    assert c.counts() == {"after_as_of": 4, "after_today": 2}
    # an as-of date in the future: what lies between today and it is counted, and said to be
    c = oc.check_days(days, "2030-06-30", lambda i: f"row{i}", today=dt.date(2026, 12, 1))
    assert (c.after_as_of, c.future_ignored, c.future_counted, c.future_counted_at) == (1, 1, 1, "row2")
    assert oc.check_days(days[:1], "2024-06-30", str, today=dt.date(2026, 12, 1)).note("ja") == ""
    # the same orders as datetimes (a frame's 注文日 column) count the same
    as_dates = days.astype("datetime64[D]").astype("datetime64[ns]")
    assert oc.check_days(as_dates, "2030-06-30", lambda i: f"row{i}", today=dt.date(2026, 12, 1)) == c


@pytest.mark.parametrize("tag", ["rfm", "lapse"])
def test_rfm_and_lapse_say_how_many_orders_were_left_out_and_where(tmp_path, tag):
    book = write_book(tmp_path / "CRM.xlsx", ORDERS + [LATE, TYPO])
    result = run(tag, book)
    today = dt.date.today().isoformat()
    ja = (f"基準日(2024-06-30)より後の注文2件は集計に含めていません(最初: 注文!C5)。"
          f"うち1件は今日({today})より後の日付です(最初: 注文!C6)。入力ミス(2026年を2062年と入力するなど)ではありませんか。")
    en = (f"2 order(s) dated after the as-of date (2024-06-30) are not counted (first: 注文!C5). "
          f"1 of them are dated after today ({today}) (first: 注文!C6): a typo, such as 2062 for 2026?")
    assert result.summary_ja.splitlines()[-1] == ja and result.summary_en.splitlines()[-1] == en
    assert result.counts["after_as_of"] == 2 and result.counts["after_today"] == 1
    last = journal(book)
    # 変更履歴 in the book's language (言語 = ja): the job's Japanese name, the Japanese summary, no English column
    assert last["処理"] == {"rfm": "RFM分析", "lapse": "離脱判定"}[tag] and last["内容"].endswith(ja)
    assert "Summary" not in last.index
    with open_book(book) as b:
        c = b.read_raw("顧客").set_index("顧客ID")
    if tag == "rfm":   # the figures are those of the orders up to the as-of date
        assert c.loc["C0001", "注文回数"] == 2 and c.loc["C0002", "注文回数"] == 1
        assert str(c.loc["C0001", "最終注文日"])[:10] == "2024-02-05"


def test_scoring_as_of_today_names_only_the_typo(tmp_path):
    book = write_book(tmp_path / "CRM.xlsx", ORDERS + [TYPO])
    today = pd.Timestamp.today().normalize()
    result = run("rfm", book, as_of=today)
    assert result.summary_ja.splitlines()[-1] == (
        f"今日({today:%Y-%m-%d})より後の日付の注文1件は集計に含めていません(最初: 注文!C5)。"
        "入力ミス(2026年を2062年と入力するなど)ではありませんか。")
    assert "as-of" not in result.summary_en


def test_an_as_of_date_beyond_today_counts_the_future_orders_and_says_so(tmp_path):
    book = write_book(tmp_path / "CRM.xlsx", ORDERS + [TYPO])
    result = run("rfm", book, as_of=pd.Timestamp("2070-01-01"))
    assert "are counted, as the as-of date is 2070-01-01 (first: 注文!C5)" in result.summary_en
    assert "集計に含めました" in result.summary_ja and result.counts["after_as_of"] == 0


def test_nothing_is_said_when_every_order_is_in_range(tmp_path):
    book = write_book(tmp_path / "CRM.xlsx")
    result = run("rfm", book)
    assert result.counts["after_as_of"] == 0 and len(result.summary_ja.splitlines()) == 1


@pytest.mark.parametrize("tag", ["followup", "dashboard", "journey", "pipeline", "survey", "steps", "referrals"])
def test_the_other_jobs_that_read_orders_say_it_too(tmp_path, tag):
    book = write_book(tmp_path / "CRM.xlsx", ORDERS + [LATE, TYPO])
    result = run(tag, book)
    assert "2 order(s) dated after the as-of date (2024-06-30) are not counted (first: 注文!C5)" in result.summary_en
    assert "うち1件は今日" in journal(book)["内容"]


# line 3 is blank; O3 (line 5) is after the as-of date 2024-03-31, O5 (line 7) after today as well
CSV = "注文ID,顧客ID,注文日,金額\nO1,A1,2024-01-10,3000\n\nO2,A1,2024-03-01,5000\nO3,B2,2024-05-05,800\n" \
      "O4,C3,2022-01-05,800\nO5,B2,2062-12-01,12000\n"


@pytest.mark.parametrize("messy", [False, True], ids=["fast path", "general path"])
def test_the_rfm_command_names_the_csv_line(tmp_path, capsys, messy):
    text = CSV.replace("3000", '"¥3,000"') if messy else CSV   # ¥ sends the file through schema.conform
    (tmp_path / "o.csv").write_text(text, encoding="utf-8")
    assert cli.main(["--lang", "en", "rfm", str(tmp_path / "o.csv"), "--as-of", "2024-03-31",
                     "--out", str(tmp_path / "x.csv")]) == 0
    out = capsys.readouterr().out
    assert "2 order(s) dated after the as-of date (2024-03-31) are not counted (first: o.csv!C5)." in out
    assert "1 of them are dated after today" in out and "(first: o.csv!C7)" in out
    assert cli.main(["--lang", "ja", "rfm", str(tmp_path / "o.csv"), "--as-of", "2024-03-31", "--out", "-"]) == 0
    got = capsys.readouterr()   # the CSV on stdout, the note on stderr
    assert got.out.startswith('"customer_id",') and "基準日" not in got.out
    assert got.err.startswith("基準日(2024-03-31)より後の注文2件") and "(最初: o.csv!C7)" in got.err


def test_the_lapse_command_json_counts_them(tmp_path, capsys):
    import json
    (tmp_path / "o.csv").write_text(CSV, encoding="utf-8")
    assert cli.main(["lapse", str(tmp_path / "o.csv"), "--as-of", "2024-03-31", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["after_as_of"] == 2 and doc["after_today"] == 1 and "(first: o.csv!C7)" in doc["dates_note_en"]


# --- 3. a book open in Excel: read-only commands read it as last saved ------------------------------------------

def excel_owner_file(book, user="yamada"):
    """The ~$ file Excel writes beside a book it has open: the user's name in ANSI then UTF-16, 165 bytes."""
    ansi = user.encode("ascii").ljust(53, b" ")
    wide = user.encode("utf-16-le").ljust(110, b" \x00"[:1])
    data = (bytes([len(user)]) + ansi + len(user).to_bytes(2, "little") + wide)[:165].ljust(165, b" ")
    owner = book.with_name("~$" + book.name)
    owner.write_bytes(data)
    return owner


@pytest.fixture
def open_in_excel(tmp_path):
    book = write_book(tmp_path / "CRM.xlsx")
    return book, excel_owner_file(book)


def test_search_reads_a_book_open_in_excel_and_says_so(open_in_excel, capsys):
    book, owner = open_in_excel
    before, owner_before = sha(book), owner.read_bytes()
    assert cli.main(["--lang", "ja", "search", str(book), "ﾀｶﾊｼ"]) == 0
    got = capsys.readouterr()
    assert "C0001" in got.out and "C0002" not in got.out
    assert got.err.strip() == ("「CRM.xlsx」は他の人(またはExcel)が開いています。最後に保存された時点の内容を読み取りました"
                               "(未保存の変更は含みません)。")
    assert cli.main(["--lang", "en", "search", str(book), "090-1234", "--json"]) == 0
    got = capsys.readouterr()
    assert got.out.lstrip().startswith("{") and got.err.count("\n") == 1 and "as last saved" in got.err
    assert sha(book) == before and owner.read_bytes() == owner_before


def test_other_read_only_commands_read_it_too(open_in_excel, tmp_path, capsys):
    book, _ = open_in_excel
    before = sha(book)
    for argv in (["export", str(book), "--table", "顧客", "--out", str(tmp_path / "c.csv")],
                 ["rfm", str(book), "--out", str(tmp_path / "r.csv")],
                 ["lapse", str(book), "--out", str(tmp_path / "l.csv")],
                 ["report", str(book), "--out", str(tmp_path / "png")],
                 ["survey", str(book), "--json"]):
        assert cli.main(["--lang", "en", *argv]) == 0, argv
        # a line of its own (matplotlib may warn on stderr too, about figures other tests left open)
        assert "'CRM.xlsx' is open elsewhere: read as last saved (unsaved changes in Excel are not included)." in \
            capsys.readouterr().err.splitlines(), argv
    assert pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")["customer_id"].tolist() == ["C0001", "C0002"]
    assert (tmp_path / "c.csv").exists() and any((tmp_path / "png").iterdir())
    assert sha(book) == before


def test_commands_that_write_still_refuse_it(open_in_excel, capsys):
    book, _ = open_in_excel
    before = sha(book)
    for argv in (["run", "rfm", str(book)], ["card", str(book), "--customer", "C0001"], ["followup", str(book)],
                 ["run", "search", str(book)], ["survey", str(book)], ["pipeline", str(book), "--json"]):
        assert cli.main(["--lang", "en", *argv]) == 3, argv
        assert "open elsewhere" in capsys.readouterr().err
    assert sha(book) == before


def test_no_note_without_an_owner_file_and_libreoffice_locks_count(tmp_path, capsys):
    book = write_book(tmp_path / "CRM.xlsx")
    assert cli.main(["search", str(book), "ﾀｶﾊｼ"]) == 0 and capsys.readouterr().err == ""
    book.with_name(".~lock.CRM.xlsx#").write_text(",yamada,host,01.12.2026 10:00,file:///home/yamada/.config;")
    assert cli.main(["search", str(book), "ﾀｶﾊｼ"]) == 0 and "開いています" in capsys.readouterr().err


def test_a_read_only_book_is_one_snapshot_and_is_never_saved(open_in_excel):
    book, _ = open_in_excel
    first = sha(book)
    with open_book(book, read_only=True) as b:
        # Excel saves meanwhile (a new file renamed over the old one): this reader keeps what it opened
        wb = openpyxl.load_workbook(book)
        wb["顧客"]["C2"] = "渡辺 一郎"
        wb.save(book.with_name("new.xlsx"))
        book.with_name("new.xlsx").replace(book)
        assert b.read("customers").loc[2, "name"] == "髙橋 一郎"
        b.write_table("メモ", pd.DataFrame({"a": [1]}))
        with pytest.raises(RuntimeError):
            b.save()
    assert sha(book) != first   # Excel's save stands
    with open_book(book, read_only=True) as b:
        assert b.read("customers").loc[2, "name"] == "渡辺 一郎"
