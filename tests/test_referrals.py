"""Referrals (紹介): hand-checked figures on an eight-customer shop, bad 紹介者IDs named by cell, the 紹介 sheet and
紹介人数 on a real workbook, the reward follow-up row (once per referral, staff's 完了 kept), 名寄せ re-pointing
紹介者ID and undo putting it back, the CLI, and the sheet as LibreOffice renders it."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlcrm import followup as fu
from xlcrm import merge, schema
from xlcrm import referrals as rf
from xlcrm.jobs import run
from xlcrm.messages import BadInput

from conftest import add_table

AS_OF = "2024-06-30"
# customer id, name, 紹介者ID
CUSTOMER_ROWS = [
    ("A", "客A", ""),
    ("B", "客B", "A"),
    ("C", "客C", "A"),
    ("D", "客D", "B"),        # referred, never bought
    ("E", "客E", ""),
    ("F", "客F", ""),
    ("G", "客G", ""),
    ("H", "客H", "ｆ"),       # full-width lower case: still F
]
# order id, customer, date, amount
ORDER_ROWS = [
    ("O01", "A", "2024-01-01", 5000),
    ("O02", "B", "2024-01-10", 1000),
    ("O03", "B", "2024-01-10", 500),     # same day: one purchase
    ("O04", "B", "2024-02-15", 1500),    # 36 days later: F2
    ("O05", "C", "2024-03-01", 1500),
    ("O06", "C", "2024-03-05", -500),    # a return: no second purchase, but less revenue
    ("O07", "E", "2024-01-05", 2000),
    ("O08", "E", "2024-06-01", 2000),    # 148 days later: a repeat, not F2
    ("O09", "F", "2024-02-01", 500),
    ("O10", "F", "2024-02-20", 500),     # F2
    ("O11", "G", "2024-06-20", 800),     # first order 10 days ago: not past the F2 window
    ("O12", "H", "2024-06-25", 1200),
    ("O13", "D", "2024-07-05", 9999),    # after the as-of date: D has not bought
]


def frames(rows=CUSTOMER_ROWS):
    c = pd.DataFrame(rows, columns=["顧客ID", "氏名", "紹介者ID"])
    c.index = range(2, 2 + len(c))
    c.attrs["letters"] = {"顧客ID": "A", "氏名": "B", "紹介者ID": "C"}
    o = pd.DataFrame(ORDER_ROWS, columns=["order_id", "customer_id", "order_date", "amount"])
    o.index = range(2, 2 + len(o))
    return schema.conform(c, "customers"), schema.conform(o, "orders")


def test_referred_vs_others_by_hand():
    c, o = frames()
    d = rf.build(c, o, AS_OF, f2_days=90)
    cmp = d["compare"]
    # referred: B C D H; bought B C H; past the F2 window (first order by 2024-04-01): B C, of whom B converted;
    # B bought on two days; revenue 3000 + 1000 (after the return) + 1200
    assert cmp.loc["referred", ["customers", "buyers", "f2_base", "f2", "repeaters"]].tolist() == [4, 3, 2, 1, 1]
    assert cmp.loc["referred", "revenue"] == 5200
    np.testing.assert_allclose(cmp.loc["referred", ["buy_rate", "f2_rate", "repeat_rate", "revenue_per_customer",
                                                    "revenue_per_buyer"]], [3 / 4, 1 / 2, 1 / 3, 1300, 5200 / 3])
    # others: A E F G all bought; A E F past the window, F converted (E's second order came after 148 days);
    # E and F bought on two days; revenue 5000 + 4000 + 1000 + 800
    assert cmp.loc["other", ["customers", "buyers", "f2_base", "f2", "repeaters"]].tolist() == [4, 4, 3, 1, 2]
    np.testing.assert_allclose(cmp.loc["other", ["buy_rate", "f2_rate", "repeat_rate", "revenue_per_customer",
                                                 "revenue_per_buyer"]], [1, 1 / 3, 1 / 2, 2700, 2700])
    diff, lo, hi = d["f2_diff"]
    assert diff == pytest.approx(1 / 2 - 1 / 3) and lo < diff < hi and hi - lo > 1   # four customers: wide
    # a longer window makes E an F2 conversion too
    assert rf.build(c, o, AS_OF, f2_days=150)["compare"].loc["other", "f2"] == 2


def test_referrers_and_referral_list_by_hand():
    c, o = frames()
    d = rf.build(c, o, AS_OF)
    r = d["referrers"]
    assert r["customer_id"].tolist() == ["A", "F", "B"]          # most referrals, then their customers' revenue
    assert r.set_index("customer_id").loc["A"].to_dict() == {"name": "客A", "referred": 2, "bought": 2, "f2": 1,
                                                              "revenue": 4000.0, "own_revenue": 5000.0}
    assert r.set_index("customer_id").loc["B", ["referred", "bought", "revenue"]].tolist() == [1, 0, 0.0]
    lst = d["referrals"]
    assert lst["customer_id"].tolist() == ["H", "C", "B", "D"]   # newest first purchase first, not bought last
    assert lst.loc[0, ["referrer_id", "referrer_name", "name"]].tolist() == ["F", "客F", "客H"]
    assert lst["f2"].tolist() == [False, False, True, False]
    counts = d["referred_count"].set_index("customer_id")["referred"]
    assert counts.to_dict() == {"A": 2, "B": 1, "C": 0, "D": 0, "E": 0, "F": 1, "G": 0, "H": 0}


def test_rewards_are_first_purchases_within_the_window():
    c, o = frames()
    r = rf.rewards(c, o, AS_OF, 90)
    assert r[["referrer_id", "customer_id"]].values.tolist() == [["F", "H"]]
    assert r.loc[0, "first_order"] == pd.Timestamp("2024-06-25")
    # 180 days back reaches C (2024-03-01) and B (2024-01-10); D has not bought; the as-of date counts
    assert sorted(rf.rewards(c, o, AS_OF, 180)["customer_id"]) == ["B", "C", "H"]
    assert rf.rewards(c, o, "2024-06-25", 0)["customer_id"].tolist() == ["H"]
    assert rf.rewards(c, o, "2024-06-24", 90)["customer_id"].tolist() == []


def problems(rows, merged=None):
    c, _ = frames(rows)
    with pytest.raises(BadInput) as e:
        rf.links(c, merged=merged)
    return e.value


def test_unknown_self_and_merged_referrers_name_the_cell():
    rows = list(CUSTOMER_ROWS)
    rows[1] = ("B", "客B", "Z9")         # row 3: nobody
    rows[4] = ("E", "客E", "E")          # row 6: themself
    rows[5] = ("F", "客F", "X1")         # row 7: merged into A
    e = problems(rows, merged={"X1": "A"})
    got = [(p.sheet, p.row, p.column, p.cell, p.key) for p in e.problems]
    assert got == [("顧客", 3, "紹介者ID", "C3", "rf_unknown"), ("顧客", 6, "紹介者ID", "C6", "rf_self"),
                   ("顧客", 7, "紹介者ID", "C7", "rf_merged")]
    ja, en = e.message("ja"), e.message("en")
    assert "シート「顧客」3行目 列「紹介者ID」(C3)" in ja and "自分自身" in ja and "統合履歴" in ja
    assert "sheet '顧客' row 6 column '紹介者ID' (C6)" in en and "their own referrer" in en
    assert "Z9" not in ja and "Z9" not in en                  # cell references, never the value


def test_a_referral_cycle_names_every_row_of_it():
    rows = list(CUSTOMER_ROWS)
    rows[0] = ("A", "客A", "D")          # A → B → D → A (rows 2, 3, 5)
    e = problems(rows)
    assert [(p.row, p.key) for p in e.problems] == [(2, "rf_cycle"), (3, "rf_cycle"), (5, "rf_cycle")]
    assert "行 2 → 5 → 3 → 2" in e.message("ja") or "行 2 → 3 → 5 → 2" in e.message("ja")
    assert "rows" in e.message("en")
    # C, referred by A, is no part of the loop
    assert all(p.row != 4 for p in e.problems)


def test_a_folded_id_matching_two_customers_is_unknown():
    rows = CUSTOMER_ROWS[:-1] + [("H", "客H", "Ｇ"), ("g", "客g", "")]            # Ｇ folds to G and to g
    assert [(p.row, p.key) for p in problems(rows).problems] == [(9, "rf_unknown")]


# --- the job on a workbook ---------------------------------------------------------------------------------------

def write_book(path, customer_rows=CUSTOMER_ROWS):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    add_table(ws, "顧客", [["顧客ID", "氏名", "住所", "メール", "メール可否", "紹介者ID"]]
              + [[cid, name, "東京都千代田区1-1", f"{cid.lower()}@example.jp", "可", ref or None]
                 for cid, name, ref in customer_rows])
    add_table(wb.create_sheet("注文"), "注文", [["注文ID", "顧客ID", "注文日", "金額"]]
              + [[oid, cid, d, amt] for oid, cid, d, amt in ORDER_ROWS])
    add_table(wb.create_sheet("設定"), "設定", [["項目", "値", "説明"], ["基準日", AS_OF, ""]])
    wb.save(path)
    return path


def sheet_cells(path, sheet="紹介"):
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def table(path, sheet):
    rows = list(openpyxl.load_workbook(path)[sheet].values)
    return pd.DataFrame(rows[1:], columns=rows[0])


def row_of(v, text, col="A"):
    return next(int(k[1:]) for k, x in v.items() if k.startswith(col) and k[1:].isdigit() and x == text)


def test_job_writes_the_sheet_and_the_count_column(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    r = run("referrals", p)
    assert (r.counts["links"], r.counts["referrers"], r.counts["bought"]) == (4, 3, 3)
    assert "紹介4件" in r.summary_ja and "F2転換率 紹介50.0% / 紹介以外33.3%" in r.summary_ja
    assert "4 referrals by 3 customers" in r.summary_en
    v = sheet_cells(p)
    assert v["A1"] == "紹介" and v["C1"] == "基準日: 2024-06-30" and v["A5"] == "紹介客とそれ以外の比較"
    assert (v["B6"], v["C6"]) == ("紹介された顧客", "それ以外")
    k = row_of(v, "F2転換率")
    assert (v[f"B{k}"], v[f"C{k}"]) == (0.5, pytest.approx(1 / 3))
    k = row_of(v, "購入者1人あたり売上")
    assert (v[f"B{k}"], v[f"C{k}"]) == (pytest.approx(5200 / 3), 2700)
    k = row_of(v, "顧客1人あたり売上")
    assert (v[f"B{k}"], v[f"C{k}"]) == (1300, 2700)
    assert any(str(x).startswith("F2転換率の差(紹介−それ以外): +16.7%") for x in v.values())
    k = row_of(v, "紹介者ランキング") + 2
    assert [v[f"{c}{k}"] for c in "ABCDEFG"] == ["A", "客A", 2, 2, 1, 4000, 5000]
    k = row_of(v, "紹介された顧客ID", "C") + 1
    assert [v.get(f"{c}{k}") for c in "ABCDEFGH"] == ["F", "客F", "H", "客H", dt.datetime(2024, 6, 25), None, 1200,
                                                      "フォロー行なし"]      # the follow-up list was never made
    assert v[f"H{k + 1}"] == "対象期間外" and v[f"F{k + 2}"] == "○" and v[f"H{k + 3}"] == "未購入"
    cs = table(p, "顧客").set_index("顧客ID")
    assert cs["紹介人数"].to_dict() == {"A": 2, "B": 1, "C": 0, "D": 0, "E": 0, "F": 1, "G": 0, "H": 0}
    assert cs.loc["H", "紹介者ID"] == "ｆ" and cs.loc["A", "氏名"] == "客A"      # the rest of 顧客 untouched
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1
    run("referrals", p)                                   # a refresh replaces the sheet, chart included
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1


def test_english_labels_and_no_referrals(tmp_path):
    p = write_book(tmp_path / "b.xlsx", [(c, n, "") for c, n, _ in CUSTOMER_ROWS])
    r = run("referrals", p, overrides={"lang": "en"})
    v = sheet_cells(p)
    assert v["A1"] == "Referrals" and "Referred customers vs the rest" in v.values()
    assert "No customer has a 紹介者ID yet" in v.values()
    assert r.counts["links"] == 0 and "0 referrals" in r.summary_en
    assert "F2 rate difference: nobody is past the F2 window yet" in v.values()
    assert r.counts["f2_diff"] == [None, None, None]          # JSON-safe: no NaN


def test_reward_row_appears_once_and_staffs_done_survives(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    run("followup", p)
    run("followup", p)
    lst = table(p, "フォローリスト")
    rows = lst[lst["ルール"] == "紹介特典の送付"]
    assert rows["フォローID"].tolist() == ["紹介:F:H"]                # once, to the referrer, for H
    row = rows.iloc[0]
    assert row["顧客ID"] == "F" and row["理由"] == "ご紹介の客H様(H)が初回購入(2024-06-25)"
    assert row["推奨アクション"] == "紹介のお礼と紹介特典を紹介者に送る" and row["状態"] == "未着手"
    # staff send the reward and mark the row 完了
    wb = openpyxl.load_workbook(p)
    ws = wb["フォローリスト"]
    hdr = [c.value for c in ws[1]]
    for cells in ws.iter_rows(min_row=2):
        if cells[hdr.index("フォローID")].value == "紹介:F:H":
            cells[hdr.index("状態")].value = "完了"
    wb.save(p)
    run("followup", p)
    run("followup", p, overrides={"as_of": pd.Timestamp("2024-12-31")})    # long past the window: stays 完了
    lst = table(p, "フォローリスト")
    rows = lst[lst["ルール"] == "紹介特典の送付"]
    assert rows["フォローID"].tolist() == ["紹介:F:H"] and rows["状態"].tolist() == ["完了"]
    run("referrals", p)
    v = sheet_cells(p)
    k = row_of(v, "H", "C")
    assert v[f"H{k}"] == "完了"
    assert run("referrals", p).counts["rewards"]["完了"] == 1


def test_reward_window_is_set_on_the_rule_sheet(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    run("followup", p)                                    # writes the ルール sheet with the new rule on it
    rules = table(p, "ルール").set_index("ルールID")
    assert rules.loc["紹介", "名称"] == "紹介特典の送付" and rules.loc["紹介", "パラメータ"] == "対象日数=90"
    wb = openpyxl.load_workbook(p)
    ws = wb["ルール"]
    hdr = [c.value for c in ws[1]]
    for cells in ws.iter_rows(min_row=2):
        if cells[hdr.index("ルールID")].value == "紹介":
            cells[hdr.index("パラメータ")].value = "対象日数=200"
    wb.save(p)
    run("followup", p)
    lst = table(p, "フォローリスト")
    assert sorted(lst.loc[lst["ルール"] == "紹介特典の送付", "フォローID"]) == ["紹介:A:B", "紹介:A:C",
                                                                         "紹介:F:H"]
    run("referrals", p)
    v = sheet_cells(p)
    assert v[f"H{row_of(v, 'B', 'C')}"] == "未着手"      # inside the longer window: its row, not 対象期間外


def test_bad_referrer_stops_both_jobs_before_anything_is_written(tmp_path):
    rows = list(CUSTOMER_ROWS)
    rows[2] = ("C", "客C", "C")
    p = write_book(tmp_path / "b.xlsx", rows)
    before = p.read_bytes()
    for job in ("referrals", "followup"):
        with pytest.raises(BadInput) as e:
            run(job, p)
        prob = e.value.problems[0]
        assert (prob.sheet, prob.row, prob.column, prob.cell, prob.key) == ("顧客", 4, "紹介者ID", "F4", "rf_self")
        assert p.read_bytes() == before


def test_cli(tmp_path, capsys):
    from xlcrm.cli import main
    p = write_book(tmp_path / "b.xlsx")
    assert main(["--lang", "en", "referrals", str(p), "--as-of", "2024-03-31"]) == 0
    assert "2 bought" in capsys.readouterr().out          # H had not bought by the end of March
    assert main(["referrals", str(p), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["links"] == 4 and out["top_referrers"][0] == {"customer_id": "A", "referred": 2, "bought": 2,
                                                             "revenue": 4000.0}
    assert out["compare"]["referred"]["f2_rate"] == 0.5 and out["compare"]["referred"]["customers"] == 4
    rows = list(CUSTOMER_ROWS)
    rows[3] = ("D", "客D", "nobody")
    bad = write_book(tmp_path / "bad.xlsx", rows)
    assert main(["referrals", str(bad)]) == 2
    assert "(F5)" in capsys.readouterr().err


# --- 名寄せ: the merge re-points 紹介者ID, undo puts it back ----------------------------------------------------------

def refs(cust):
    return cust.set_index("顧客ID")["紹介者ID"].fillna("").to_dict()


def test_merge_repoints_referrers_and_undo_restores_them_in_frames():
    cust = pd.DataFrame({"顧客ID": ["A", "B", "C", "D", "E"], "氏名": ["a", "a2", "c", "d", "e"],
                         "紹介者ID": [None, "D", "B", None, "B"]}, index=range(2, 7))
    now = dt.datetime(2024, 6, 1)
    # B is A's duplicate: C and E named B, now A; A's empty 紹介者ID is filled from B's like any empty cell
    c1, _, _, h = merge.apply([("A", ["B"])], cust, None, None, merge_id="M1", now=now)
    assert refs(c1) == {"A": "D", "C": "A", "D": "", "E": "A"}
    assert json.loads(h.loc[0, "付け替えた紹介者"]) == [["C", "B"], ["E", "B"]]
    c2, _, _, n = merge.undo("M1", c1, None, None, h)
    assert n == 1 and c2.equals(cust)
    # the master referred by its own duplicate: blank once merged (nobody refers themself), back on undo
    cust2 = cust.assign(紹介者ID=[None, None, "B", "B", None])
    c3, _, _, h3 = merge.apply([("D", ["B"])], cust2, None, None, merge_id="M2", now=now)
    assert refs(c3) == {"A": "", "C": "D", "D": "", "E": ""}
    assert merge.undo("M2", c3, None, None, h3)[0].equals(cust2)
    # a 紹介者ID staff changed after the merge is theirs: undo leaves it
    c4 = c1.copy()
    c4.loc[c4["顧客ID"] == "C", "紹介者ID"] = "D"
    assert merge.undo("M1", c4, None, None, h)[0].set_index("顧客ID").loc["C", "紹介者ID"] == "D"
    # a 統合履歴 written before this column existed still undoes
    c5, _, _, n = merge.undo("M1", c1, None, None, h.drop(columns=["付け替えた紹介者"]))
    assert n == 1 and c5.set_index("顧客ID").loc["C", "紹介者ID"] == "A"


def test_merged_into_follows_chains_and_skips_undone_merges():
    h = pd.DataFrame({"統合ID": ["M1", "M2", "M3"], "主顧客ID": ["B", "C", "Y"], "統合元顧客ID": ["A", "B", "X"],
                      "取消": [None, None, dt.datetime(2024, 1, 1)]})
    assert merge.merged_into(h) == {"A": "C", "B": "C"}
    assert merge.merged_into(None) == {}


def test_merge_in_a_workbook_repoints_referrers_and_undo_restores(tmp_path):
    from dedupe_data import make_book
    from test_merge import decide, snapshot
    from xlcrm import cli
    p = make_book(tmp_path / "crm.xlsx", background=60)
    wb = openpyxl.load_workbook(p)
    ws = wb["顧客"]
    col = ws.max_column + 1
    ws.cell(1, col, "紹介者ID")
    refs = {"T0003": "T0001", "T0005": "T0002", "T0002": "T0001"}   # T0001 is merged into T0002
    for r in range(2, ws.max_row + 1):
        ws.cell(r, col, refs.get(ws.cell(r, 1).value))
    wb.save(p)
    run("dedupe", p)
    decide(p, {"T0001|T0002": "統合"})
    before = snapshot(p)
    r = run("merge", p)
    assert r.counts["referrers"] == 2
    cust = snapshot(p)["顧客"].set_index("顧客ID")
    assert cust.loc["T0003", "紹介者ID"] == "T0002" and cust.loc["T0005", "紹介者ID"] == "T0002"
    assert pd.isna(cust.loc["T0002", "紹介者ID"])        # its duplicate referred it: no referral once merged
    assert run("referrals", p).counts["links"] == 2
    # an old form typed after the merge names the absorbed record: rejected, pointing at 統合履歴
    wb = openpyxl.load_workbook(p)
    ws = wb["顧客"]
    row = next(c.row for c in ws["A"] if c.value == "T0006")
    ws.cell(row, col, "T0001")
    wb.save(p)
    with pytest.raises(BadInput) as e:
        run("referrals", p)
    assert [(x.row, x.key) for x in e.value.problems] == [(row, "rf_merged")]
    ws.cell(row, col).value = None        # (ws.cell(r, c, None) would leave the value)
    wb.save(p)
    assert cli.main(["undo", str(p), "--merge", r.counts["ids"]]) == 0
    after = snapshot(p)
    for name in before:
        assert before[name].equals(after[name][list(before[name].columns)]), name


# --- a demo workbook ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's customers and orders with the two jobs this depends on (the whole demo takes 20 s)."""
    from xlcrm.book import open_book
    from xlcrm.demo import make_demo
    from xlcrm.jobs.demo import DEMO_JOBS
    from xlcrm.jobs.io import _text_headers
    assert DEMO_JOBS.index("followup") < DEMO_JOBS.index("referrals")     # reward states show in the demo
    p = tmp_path_factory.mktemp("demo") / "CRM-demo.xlsx"
    openpyxl.Workbook().save(p)
    frames = make_demo(customers=300, seed=3, as_of="2024-06-30")
    with open_book(p, backups=0) as book:
        for key in ("customers", "orders"):
            t = schema.table(key)
            book.write_table(t.ja, frames[key], text_columns=_text_headers(t, frames[key].columns))
        book.save()
    for tag in ("followup", "referrals"):
        run(tag, p, overrides={"as_of": pd.Timestamp(AS_OF)})
    return p


@pytest.mark.slow
def test_demo_referrals_agree_with_the_customer_sheet(demo):
    cs = table(demo, "顧客")
    referred = cs["紹介者ID"].fillna("").astype(str).str.strip().ne("")
    assert 0 < referred.sum() == cs["紹介人数"].sum()
    lst = table(demo, "フォローリスト")
    rewards = lst[lst["ルール"] == "紹介特典の送付"]
    v = sheet_cells(demo)
    states = [v.get(f"H{k}") for k in range(row_of(v, "紹介された顧客ID", "C") + 1, 2000) if v.get(f"C{k}")]
    assert len(states) == referred.sum()
    assert states.count("未着手") == len(rewards) and set(states) <= {"未着手", "対象期間外", "フォロー行なし", "未購入"}


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed")
def test_libreoffice_renders_the_referrals_sheet(demo, tmp_path):
    wb = openpyxl.load_workbook(demo)
    for name in wb.sheetnames:
        if name != "紹介":
            wb.remove(wb[name])
    p = tmp_path / "r.xlsx"
    wb.save(p)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    subprocess.run(["soffice", "--headless", "--convert-to",
                    'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}',
                    "--outdir", str(tmp_path), str(p)], check=True, env=env, capture_output=True, timeout=180)
    page = "".join(subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                                  text=True).stdout.split())
    assert page.startswith("紹介")
    for label in ("紹介客とそれ以外の比較", "紹介者ランキング", "紹介人数上位", "紹介一覧と紹介特典", "F2転換率", "¥", "%"):
        assert label in page, label


def test_the_rule_is_a_service_rule():
    assert fu.BY_ID["referral"].marketing is False
    rules = fu.parse_rules(None)
    assert rules["referral"].enabled and rules["referral"].params == {"lookback_days": 90.0}
