"""Sales pipeline (商談段階): hand-checked stages, deals and figures on a seven-customer shop, the job on a real
.xlsm (商談 sheet, 商談段階 / 段階日 on 顧客), bad stage values and unknown customers naming the cell, the
"stalled" follow-up rule, the CLI, and the sheet as LibreOffice renders it."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlcrm import followup, schema
from xlcrm import pipeline as pl
from xlcrm.jobs import run
from xlcrm.messages import BadInput

from conftest import add_table, macro_book

AS_OF = "2024-06-30"
# (顧客ID, 区分, 氏名, 担当者)
CUSTOMER_ROWS = [
    ("A", "見込み", "客A", "山田"),
    ("B", "見込み", "客B", ""),
    ("C", "見込み", "客C", "鈴木"),
    ("D", "見込み", "客D", ""),
    ("E", "顧客", "客E", ""),
    ("F", "見込み", "客F", ""),
    ("G", "顧客", "客G", "山田"),        # 区分=顧客 with no orders: a deal like any other
]
# (注文ID, 顧客ID, 注文日, 金額)
ORDER_ROWS = [
    ("O1", "B", "2024-05-20", 1000),    # B's deal was open: won on this day
    ("O2", "E", "2024-01-01", 500),     # E ordered before the deal began: no implied 成約
    ("O3", "B", "2024-06-01", 800),
]
# (対応ID, 顧客ID, 日時, 種別, 担当者, 商談段階)
CONTACT_ROWS = [
    ("K01", "A", "2024-04-01 10:00", "商談", "山田", "問い合わせ"),
    ("K02", "A", "2024-04-10 15:00", "商談", "", "提案"),          # blank 担当者: still 山田's deal
    ("K03", "B", "2024-05-01 11:00", "商談", "鈴木", "問い合わせ"),
    ("K04", "C", "2024-03-01 09:00", "商談", "", "問い合わせ"),
    ("K05", "C", "2024-03-15 09:00", "商談", "", "見積"),
    ("K06", "C", "2024-04-01 09:00", "商談", "", "提案"),          # back from 見積 to 提案: current is 提案
    ("K07", "D", "2024-02-01 09:00", "商談", "佐藤", "問い合わせ"),
    ("K08", "D", "2024-03-01 09:00", "商談", "佐藤", "失注"),
    ("K09", "E", "2024-03-01 09:00", "商談", "", "問い合わせ"),
    ("K10", "F", "2024-07-01 09:00", "商談", "", "問い合わせ"),    # after the as-of date: ignored
    ("K11", "G", "2023-01-10 09:00", "商談", "", "問い合わせ"),
    ("K12", "G", "2023-02-01 09:00", "商談", "", "失注"),          # lost long before the period
    ("K13", "G", "2024-06-20 09:00", "問い合わせ", "", "問い合わせ"),  # a new deal (any 種別 carries a stage)
    ("K14", "A", "2024-04-20 09:00", "クレーム", "", ""),           # no stage: not part of the pipeline
]


def frames(contact_rows=CONTACT_ROWS, order_rows=ORDER_ROWS):
    c = pd.DataFrame(CUSTOMER_ROWS, columns=["customer_id", "kind", "name", "staff"])
    o = pd.DataFrame(order_rows, columns=["order_id", "customer_id", "order_date", "amount"])
    k = pd.DataFrame(contact_rows, columns=["contact_id", "customer_id", "at", "type", "staff", "stage"])
    for df in (c, o, k):
        df.index = range(2, 2 + len(df))
    return schema.conform(c, "customers"), schema.conform(o, "orders"), schema.conform(k, "contacts")


def D(s):
    return pd.Timestamp(s)


def test_current_stage_since_owner_and_the_implied_win_by_hand():
    d = pl.build(*frames(), AS_OF)
    cur = d["current"].set_index("customer_id")
    assert cur["stage"].to_dict() == {"A": "提案", "B": "成約", "C": "提案", "D": "失注", "E": "問い合わせ",
                                      "G": "問い合わせ"}                    # F's only row is after the as-of date
    assert cur.loc["B", "since"] == D("2024-05-20")          # the first order's day; the second order adds nothing
    assert cur.loc["C", "since"] == D("2024-04-01") and cur.loc["C", "days"] == 90
    assert cur.loc["A", "days"] == (D(AS_OF) - D("2024-04-10")).days == 81
    # owner: the latest stage row naming one (A: K01), else the customer's 担当者 (C), else nobody (E)
    assert cur["owner"].to_dict() == {"A": "山田", "B": "鈴木", "C": "鈴木", "D": "佐藤", "E": "", "G": "山田"}
    assert cur["open"].to_dict() == {"A": True, "B": False, "C": True, "D": False, "E": True, "G": True}
    h = d["history"]
    assert h.loc[h["implied"], "customer_id"].tolist() == ["B"]       # not E: the deal began after the order
    deals = d["deals"].set_index("customer_id")
    assert deals.loc["C", "furthest"] == "見積"                        # went back, but had reached 見積
    assert deals.loc["B", "days_to_win"] == 19                         # 05-01 問い合わせ -> 05-20 first order
    assert deals.loc["G"].shape[0] == 2                                # lost, then a new deal


def test_a_new_deal_without_a_named_staff_goes_to_the_customers_staff_not_the_last_deals():
    rows = [("K01", "C", "2024-01-10 09:00", "商談", "山田", "問い合わせ"),
            ("K02", "C", "2024-02-01 09:00", "商談", "", "成約"),       # still 山田's deal
            ("K03", "C", "2024-05-01 09:00", "商談", "", "問い合わせ")]  # a new deal naming nobody: C's 鈴木
    d = pl.build(*frames(contact_rows=rows, order_rows=[]), AS_OF)
    assert d["deals"][["stage", "owner"]].values.tolist() == [["成約", "山田"], ["問い合わせ", "鈴木"]]
    assert d["current"].set_index("customer_id").loc["C", "owner"] == "鈴木"


def test_pipeline_by_owner_win_rate_and_days_to_win_by_hand():
    d = pl.build(*frames(), AS_OF, period_days=365, stall_days=30)
    bs = d["by_staff"]
    assert bs.index.tolist() == ["佐藤", "山田", "鈴木", "", "*"]       # nobody's deals last, then the total
    assert bs.loc["山田", ["問い合わせ", "提案", "見積", "open"]].tolist() == [1, 1, 0, 2]   # A at 提案, G at 問い合わせ
    assert bs.loc["鈴木", ["提案", "open", "won", "lost"]].tolist() == [1, 1, 1, 0]
    assert bs.loc["佐藤", ["open", "won", "lost", "win_rate"]].tolist() == [0, 0, 1, 0.0]
    assert np.isnan(bs.loc["山田", "win_rate"])                         # G's loss is older than the period
    total = bs.loc["*"]
    assert total[["問い合わせ", "提案", "見積", "open", "won", "lost"]].tolist() == [2, 2, 0, 4, 1, 1]
    assert total["win_rate"] == 0.5 and total["avg_days_to_win"] == 19.0
    # stalled = open, same stage 30+ days: A (81), C (90), E (121); G changed stage 10 days ago
    assert total["stalled"] == 3 and bs.loc["", "stalled"] == 1
    assert d["stalled"]["customer_id"].tolist() == ["E", "C", "A"]      # longest-waiting first
    # a longer period reaches G's loss of 2023-02-01 (516 days before the as-of date)
    assert pl.build(*frames(), AS_OF, period_days=600)["by_staff"].loc["山田", "lost"] == 1


def test_stage_funnel_counts_reached_moved_on_and_lost_by_hand():
    f = pl.build(*frames(), AS_OF)["funnel"].set_index("stage")
    # in scope: the open deals A C E G(2nd) and B (won) D (lost) closed in the period; G's first deal is older
    assert f["reached"].tolist() == [6, 3, 2, 1]          # C counts at 見積 (its furthest); B passed 提案 and 見積
    assert f["moved_on"].iloc[:3].tolist() == [3, 2, 1]   # A B C left 問い合わせ; B C left 提案; B left 見積
    assert f.loc["問い合わせ", "conversion"] == 0.5 and f.loc["提案", "conversion"] == pytest.approx(2 / 3)
    assert f.loc["見積", "conversion"] == 0.5 and np.isnan(f.loc["成約", "conversion"])
    assert f["lost"].tolist() == [1, 0, 0, 0]              # D was lost at 問い合わせ
    assert f["open_now"].tolist() == [2, 2, 0, 0]


def test_stalled_boundary_and_repeated_stage_is_no_change():
    rows = [("K1", "A", "2024-05-01", "商談", "山田", "提案"), ("K2", "A", "2024-06-10", "商談", "山田", "提案")]
    d = pl.build(*frames(rows), AS_OF, stall_days=60)
    # a second 提案 meeting is no stage change: still at 提案 since 05-01, 60 days on the as-of date
    assert d["current"].loc[0, "since"] == D("2024-05-01")
    assert d["stalled"]["customer_id"].tolist() == ["A"]
    assert pl.build(*frames(rows), AS_OF, stall_days=61)["stalled"].empty


def test_lost_then_an_order_is_won_and_an_explicit_win_is_not_counted_twice():
    rows = [("K1", "B", "2024-04-01", "商談", "", "問い合わせ"), ("K2", "B", "2024-04-20", "商談", "", "失注"),
            ("K3", "E", "2023-12-01", "商談", "", "見積"), ("K4", "E", "2024-01-01 18:00", "商談", "", "成約")]
    d = pl.build(*frames(rows), AS_OF)
    deals = d["deals"].set_index("customer_id")
    assert deals.loc["B", "outcome"] == "成約" and deals.loc["B", "closed_on"] == D("2024-05-20")
    assert len(d["history"].query("customer_id == 'E'")) == 2           # the order day already has its 成約
    assert d["by_staff"].loc["*", ["won", "lost"]].tolist() == [2, 0]
    assert np.isnan(deals.loc["E", "days_to_win"])                     # no 問い合わせ row: no days to win


def test_no_deals_at_all():
    c, o, k = frames([("K1", "A", "2024-04-01", "クレーム", "", "")])
    d = pl.build(c, o, k, AS_OF)
    assert d["deals"].empty and d["current"].empty and d["stalled"].empty
    assert d["by_staff"].loc["*", ["open", "won", "lost"]].tolist() == [0, 0, 0]
    assert d["funnel"]["reached"].sum() == 0
    assert pl.build(c, o, None, AS_OF)["deals"].empty


# --- the job on a real .xlsm ------------------------------------------------------------------------------------

def write_book(path: Path, contact_rows=CONTACT_ROWS, settings=()) -> Path:
    """An .xlsm with a real VBA project (xlwings' quickstart) and our four tables."""
    wb, ws = macro_book()
    add_table(ws, "顧客", [["顧客ID", "区分", "氏名", "担当者", "電話番号", "スタッフメモ"]]
              + [[*r, f"03-0000-000{i}", "メモ" + r[0]] for i, r in enumerate(CUSTOMER_ROWS)])
    add_table(wb.create_sheet("注文"), "注文", [["注文ID", "顧客ID", "注文日", "金額"]] + [list(r) for r in ORDER_ROWS])
    add_table(wb.create_sheet("対応履歴"), "対応履歴", [["対応ID", "顧客ID", "日時", "種別", "担当者", "商談段階"]]
              + [list(r) for r in contact_rows])
    add_table(wb.create_sheet("設定"), "設定", [["項目", "値", "説明"], ["基準日", AS_OF, ""],
                                              ["担当者一覧", "山田、鈴木", ""], *[[k, v, ""] for k, v in settings]])
    wb.save(path)
    return path


def sheet_cells(path, sheet="商談"):
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def customers_sheet(path):
    rows = list(openpyxl.load_workbook(path)["顧客"].values)
    return pd.DataFrame(rows[1:], columns=rows[0]).set_index("顧客ID")


def find(v: dict, text) -> int:
    return min(int(k[1:]) for k, x in v.items() if k.startswith("A") and x == text)


def test_job_writes_the_pipeline_sheet_and_stage_columns(tmp_path):
    p = write_book(tmp_path / "b.xlsm")
    r = run("pipeline", p)
    assert (r.counts["open"], r.counts["won"], r.counts["lost"], r.counts["stalled"]) == (4, 1, 1, 3)
    assert "進行中4件" in r.summary_ja and "成約率50%" in r.summary_ja and "win rate 50%" in r.summary_en
    v = sheet_cells(p)
    assert v["A1"] == "商談パイプライン" and v["D1"] == "基準日: 2024-06-30"
    assert v["A5"].startswith("担当者別パイプライン") and "365日" in v["A5"]
    assert [v.get(f"{c}6") for c in "ABCDEFGHIJ"] == ["担当者", "問い合わせ", "提案", "見積", "進行中 計", "成約", "失注",
                                                     "成約率", "成約までの平均日数", "停滞"]
    rows = {v[f"A{i}"]: [v.get(f"{c}{i}") for c in "BCDEFGHIJ"] for i in range(7, 12)}
    assert rows["山田"] == [1, 1, 0, 2, 0, 0, None, None, 1]
    assert rows["鈴木"] == [0, 1, 0, 1, 1, 0, 1, 19, 1]
    assert rows["(担当者なし)"] == [1, 0, 0, 1, 0, 0, None, None, 1]
    assert rows["合計"] == [2, 2, 0, 4, 1, 1, 0.5, 19, 3]
    f = find(v, "問い合わせ")
    assert [v.get(f"{c}{f}") for c in "BCDEF"] == [6, 3, 0.5, 1, 2]
    assert v[f"A{f + 3}"] == "成約" and v[f"B{f + 3}"] == 1
    s = find(v, "顧客ID") + 1
    assert [v.get(f"{c}{s}") for c in "ABCDEF"] == ["E", "客E", "問い合わせ", dt.datetime(2024, 3, 1), 121,
                                                    "(担当者なし)"]
    assert [v[f"A{s + i}"] for i in range(3)] == ["E", "C", "A"] and f"A{s + 3}" not in v
    cs = customers_sheet(p)
    assert cs.loc["A", "商談段階"] == "提案" and cs.loc["A", "段階日"] == dt.datetime(2024, 4, 10)
    assert cs.loc["B", "商談段階"] == "成約" and cs.loc["B", "段階日"] == dt.datetime(2024, 5, 20)
    assert pd.isna(cs.loc["F", "商談段階"]) and pd.isna(cs.loc["F", "段階日"])   # only a future row
    assert cs.loc["C", "スタッフメモ"] == "メモC" and cs.loc["C", "氏名"] == "客C"
    wb = openpyxl.load_workbook(p)
    ws = wb["商談"]
    assert ws["H10"].number_format == "0.0%" and ws[f"D{s}"].number_format == "yyyy/mm/dd"
    assert ws["A1"].font.b and ws["A11"].font.b                          # the title and the total row
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
        assert "xl/vbaProject.bin" in names                              # still a macro workbook
        assert sum(n.startswith("xl/charts/chart") for n in names) == 1


def test_refresh_replaces_the_sheet_and_follows_the_as_of_date(tmp_path):
    p = write_book(tmp_path / "b.xlsm")
    run("pipeline", p)
    r = run("pipeline", p, overrides={"as_of": pd.Timestamp("2024-03-31")})
    # on 03-31: A and B had no deal yet, C was at 見積 (since 03-15), D lost on 03-01, G's loss is a year old
    assert (r.counts["open"], r.counts["won"], r.counts["lost"]) == (2, 0, 1)
    v = sheet_cells(p)
    assert [v.get(f"A{i}") for i in range(7, 12)] == ["佐藤", "鈴木", "(担当者なし)", "合計", None]
    s = find(v, "顧客ID") + 1
    assert v[f"A{s}"] == "E" and v[f"E{s}"] == 30 and f"A{s + 1}" not in v   # only E, 30 days at 問い合わせ
    cs = customers_sheet(p)
    assert cs.loc["C", "商談段階"] == "見積" and pd.isna(cs.loc["A", "商談段階"])
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1


def test_english_labels_and_settings(tmp_path):
    p = write_book(tmp_path / "b.xlsm", settings=[("停滞日数", "100"), ("成約率の集計日数", "600")])
    r = run("pipeline", p, overrides={"lang": "en", "header_lang": "en"})
    assert r.counts["stalled"] == 1 and r.counts["lost"] == 2            # E only (121 days); G's loss counts now
    v = sheet_cells(p)
    assert v["A1"] == "Sales pipeline" and v["A5"] == "Pipeline by owner (won, lost and win rate: last 600 days)"
    assert {"Inquiry", "Proposal", "Quote", "Won", "(unassigned)", "Total"} <= set(v.values())
    assert "Pipeline refreshed" in r.summary("en")
    cs = customers_sheet(p)
    assert cs.loc["A", "Sales stage"] == "提案" and cs.loc["A", "Stage since"] == dt.datetime(2024, 4, 10)


def test_a_book_without_stages_says_so(tmp_path):
    p = write_book(tmp_path / "b.xlsm", [("K1", "A", "2024-04-20 09:00", "クレーム", "", "")])
    r = run("pipeline", p)
    assert (r.counts["open"], r.counts["won"], r.counts["charts"]) == (0, 0, 0)
    assert "商談の記録がありません(対応履歴の「商談段階」に入力すると表示されます)" in set(sheet_cells(p).values())
    assert customers_sheet(p)["商談段階"].isna().all()


def test_bad_stage_value_names_the_cell_and_nothing_is_written(tmp_path):
    rows = list(CONTACT_ROWS)
    rows[4] = ("K05", "C", "2024-03-15 09:00", "商談", "", "ほぼ決まり")
    p = write_book(tmp_path / "b.xlsm", rows)
    before = p.read_bytes()
    with pytest.raises(BadInput) as e:
        run("pipeline", p)
    prob = e.value.problems[0]
    assert (prob.sheet, prob.row, prob.column, prob.cell) == ("対応履歴", 6, "商談段階", "F6")
    msg = e.value.message("ja")
    assert "対応履歴" in msg and "商談段階" in msg and "問い合わせ / 提案 / 見積 / 成約 / 失注" in msg
    assert "ほぼ決まり" not in msg                       # cell references only, never the value
    assert p.read_bytes() == before


def test_stage_synonyms_are_read():
    rows = [("K1", "A", "2024-05-01", "商談", "", "見積もり"), ("K2", "B", "2024-05-01", "商談", "", "受注")]
    k = frames(rows)[2]
    assert k["stage"].tolist() == ["見積", "成約"]


def test_stage_row_for_an_unknown_customer_is_bad_input(tmp_path):
    p = write_book(tmp_path / "b.xlsm", CONTACT_ROWS + [("K15", "Z", "2024-05-01", "商談", "", "提案")])
    with pytest.raises(BadInput) as e:
        run("pipeline", p)
    prob = e.value.problems[0]
    assert (prob.sheet, prob.row, prob.column, prob.cell) == ("対応履歴", 16, "顧客ID", "B16")
    assert "商談" not in openpyxl.load_workbook(p).sheetnames


def test_bad_setting_names_the_cell(tmp_path):
    p = write_book(tmp_path / "b.xlsm", settings=[("停滞日数", "そのうち")])
    with pytest.raises(BadInput) as e:
        run("pipeline", p)
    assert (e.value.problems[0].sheet, e.value.problems[0].row) == ("設定", 4)


# --- the follow-up rule "stalled" -------------------------------------------------------------------------------

def test_stalled_rule_in_candidates_goes_to_the_deal_owner():
    c, o, k = frames()
    c["phone"] = "090-0000-0000"
    rules = followup.parse_rules(None)
    got = followup.candidates(c, o, k, pd.DataFrame(), pd.DataFrame(), rules, AS_OF, only=("stalled",))
    rows = got.set_index("customer_id")
    assert rows.index.tolist() == ["A", "C", "E"]             # priority 2, due in 3 days, then the row key
    assert rows.loc["A", "follow_id"] == "stalled:A:20240410"  # period = the day the stage was reached
    assert rows.loc["C", "staff"] == "鈴木" and rows.loc["A", "staff"] == "山田" and rows.loc["E", "staff"] == ""
    assert rows.loc["C", "reason"] == "商談が「提案」のまま90日(2024-04-01から)"
    assert rows["channel"].eq("電話").all() and not followup.BY_ID["stalled"].marketing
    # the rule's own days (ルール sheet), not the 商談 sheet's setting
    raw = followup.default_rules()
    raw.loc[raw["rule"].eq("stalled"), "params"] = "停滞日数=85"
    raw.index = range(2, 2 + len(raw))
    got = followup.candidates(c, o, k, pd.DataFrame(), pd.DataFrame(), followup.parse_rules(raw), AS_OF,
                              only=("stalled",))
    assert got["customer_id"].tolist() == ["C", "E"]


def test_a_prospect_with_a_stalled_deal_gets_the_owners_row_only():
    c, o, k = frames()
    c["phone"] = "090-0000-0000"
    c["kind"] = "見込み"
    rules = followup.parse_rules(None)
    got = followup.candidates(c, o, k, pd.DataFrame(), pd.DataFrame(), rules, AS_OF, only=("stalled", "prospect"))
    stalled = set(got.loc[got["rule"].eq("stalled"), "customer_id"])
    assert stalled == {"A", "C", "E"}
    assert not stalled & set(got.loc[got["rule"].eq("prospect"), "customer_id"])
    alone = followup.candidates(c, o, k, pd.DataFrame(), pd.DataFrame(), rules, AS_OF, only=("prospect",))
    assert stalled & set(alone["customer_id"])          # without the stalled rule they are prospects to call


def test_followup_job_adds_a_stalled_row_for_the_owner(tmp_path):
    p = write_book(tmp_path / "b.xlsm")
    run("followup", p)
    rows = list(openpyxl.load_workbook(p)["フォローリスト"].values)
    lst = pd.DataFrame(rows[1:], columns=rows[0]).set_index("フォローID")
    st = lst[lst["ルール"] == "商談の停滞"]
    assert sorted(st.index) == ["商談停滞:A:20240410", "商談停滞:C:20240401", "商談停滞:E:20240301"]
    assert st.loc["商談停滞:C:20240401", "担当者"] == "鈴木"          # the deal's owner, not C's blank... own 担当者
    assert st.loc["商談停滞:A:20240410", "担当者"] == "山田"
    assert st.loc["商談停滞:E:20240301", "担当者"] in ("山田", "鈴木")   # nobody's deal: shared out as usual
    assert (st["チャネル"] == "電話").all() and (st["状態"] == "未着手").all()


# --- CLI ----------------------------------------------------------------------------------------------------------

def test_cli(tmp_path, capsys):
    from xlcrm.cli import main
    p = write_book(tmp_path / "b.xlsm")
    assert main(["--lang", "en", "pipeline", str(p), "--as-of", "2024-06-30"]) == 0
    assert "4 open deals (3 stalled)" in capsys.readouterr().out
    assert main(["pipeline", str(p), "--staff", "鈴木"]) == 0
    out = capsys.readouterr().out
    assert "成約率: 100%" in out and "C  提案  2024-04-01  90" in out and "  A  " not in out
    assert main(["pipeline", str(p), "--json", "--staff", "山田"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert [r["owner"] for r in view["by_staff"]] == ["山田", "*"]
    assert view["by_staff"][0]["open"] == 2 and [s["customer_id"] for s in view["stalled"]] == ["A"]
    before = p.read_bytes()
    assert main(["pipeline", str(p), "--staff", "田中"]) == 2
    err = capsys.readouterr().err
    assert "田中" in err and "佐藤 / 山田 / 鈴木" in err
    assert p.read_bytes() == before


# --- LibreOffice --------------------------------------------------------------------------------------------------

@pytest.mark.libreoffice
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed")
def test_libreoffice_renders_the_pipeline_sheet(tmp_path):
    p = write_book(tmp_path / "b.xlsm")
    run("pipeline", p)
    wb = openpyxl.load_workbook(p)
    for name in wb.sheetnames:
        if name != "商談":
            wb.remove(wb[name])
    x = tmp_path / "s.xlsx"
    wb.save(x)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    subprocess.run(["soffice", "--headless", "--convert-to",
                    'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}',
                    "--outdir", str(tmp_path), str(x)], check=True, env=env, capture_output=True, timeout=180)
    page = "".join(subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                                  text=True).stdout.split())
    assert page.startswith("商談パイプライン")
    assert page.count("段階別の到達数") == 1                      # the chart title
    for label in ("担当者別パイプライン", "段階別の転換", "停滞している商談", "50.0%", "2024/03/01"):
        assert label in page, label
