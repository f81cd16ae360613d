"""Surveys and reviews: hand-checked satisfaction figures on a six-customer shop (overall, by segment, by lapse
status, low score → lapse, monthly, NPS), scores outside the scale rejected naming the 評価 cell, the follow-up
rule "survey" on a real workbook (row appears, staff edits kept, closed when a better answer comes), the 満足度
sheet and the 最新評価 / 評価日 columns in a demo .xlsm, the CLI, and the sheet as LibreOffice renders it."""
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
from scipy.stats import fisher_exact

from xlcrm import followup as fu
from xlcrm import schema, settings
from xlcrm import surveys as sv
from xlcrm.jobs import run
from xlcrm.messages import BadInput

from conftest import add_table, sheet

AS_OF = "2024-06-30"
# (対応ID, 顧客ID, 日時, 種別, 評価)
CONTACT_ROWS = [
    ("K01", "A", "2024-01-10 10:00", "アンケート", 2),
    ("K02", "A", "2024-05-01 11:00", "レビュー", 5),
    ("K03", "B", "2024-02-01 09:00", "アンケート", 1),
    ("K04", "C", "2024-03-01 12:00", "アンケート", 4),
    ("K05", "C", "2024-06-20 15:00", "アンケート", 3),
    ("K06", "D", "2024-01-15 16:00", "レビュー", 5),
    ("K07", "E", "2024-06-25 10:00", "アンケート", 2),    # E is a prospect: no orders
    ("K08", "B", "2024-03-05 10:00", "クレーム", 9),      # not an answer: ignored, even outside the scale
    ("K09", "F", "2024-04-01 10:00", "アンケート", None),  # an answer without a score
    ("K10", "D", "2024-07-05 10:00", "アンケート", 1),     # after the as-of date
]
SCORED = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "segment": ["Loyal", "Loyal", "Hibernating", "Champions"],
                       "segment_ja": ["ロイヤル", "ロイヤル", "休眠", "優良"]})
LAPSE = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "status": ["稼働", "離脱", "休眠", "稼働"],
                      "status_en": ["Active", "Lapsed", "Dormant", "Active"]})
SCALE = sv.make_scale()


def contacts(rows=CONTACT_ROWS):
    c = pd.DataFrame([(k, cid, at, "電話", ty, "回答", "", "完了", sc) for k, cid, at, ty, sc in rows],
                     columns=["contact_id", "customer_id", "at", "channel", "type", "summary", "staff", "status",
                              "score"])
    c.index = range(2, 2 + len(c))
    return schema.conform(c, "contacts")


def customers():
    c = pd.DataFrame({"customer_id": list("ABCDEF"), "name": [f"客{i}" for i in "ABCDEF"],
                      "phone": ["03-1111-1111"] * 6})
    c.index = range(2, 8)
    return schema.conform(c, "customers")


def build(**kw):
    return sv.build(customers(), contacts(), SCORED, LAPSE, AS_OF, SCALE, **kw)


def test_responses_skip_other_types_blank_scores_and_later_answers():
    r = sv.responses(contacts(), SCALE, AS_OF)
    assert r["contact_id"].tolist() == ["K01", "K06", "K03", "K04", "K02", "K05", "K07"]   # by time
    assert (r.attrs["ignored"], r.attrs["unscored"]) == (1, 1)


def test_per_customer_latest_and_average_by_hand():
    pc = sv.per_customer(sv.responses(contacts(), SCALE, AS_OF)).set_index("customer_id")
    assert pc["latest_score"].to_dict() == {"A": 5, "B": 1, "C": 3, "D": 5, "E": 2}
    assert pc["average"].to_dict() == {"A": 3.5, "B": 1, "C": 3.5, "D": 5, "E": 2}
    assert pc.loc["C", "latest_at"] == pd.Timestamp("2024-06-20 15:00") and pc.loc["C", "latest_contact"] == "K05"
    assert pc["answers"].to_dict() == {"A": 2, "B": 1, "C": 2, "D": 1, "E": 1}


def test_overall_and_by_type_count_answers():
    ov = build()["overall"]
    # all: 2 5 1 4 3 5 2 -> 22/7; low (<=2) 2 1 2; high (>=4) 5 4 5
    assert ov.loc["", ["answers", "respondents"]].tolist() == [7, 5]
    assert ov.loc["", "average"] == pytest.approx(22 / 7)
    assert ov.loc["", ["low_share", "high_share"]].tolist() == pytest.approx([3 / 7, 3 / 7])
    assert ov.loc["アンケート", ["answers", "respondents"]].tolist() == [5, 4]
    assert ov.loc["アンケート", "average"] == pytest.approx(12 / 5)
    assert ov.loc["レビュー", ["answers", "respondents", "average"]].tolist() == [2, 2, 5]
    assert np.isnan(ov.loc["", "nps"])           # no NPS on a 1-5 scale


def test_by_segment_and_by_lapse_status_use_each_customers_latest_answer():
    d = build()
    seg = d["by_segment"]
    assert seg.index.tolist() == ["ロイヤル", "休眠", "優良", sv.NO_ORDERS]    # most respondents first, no orders last
    assert seg.loc["ロイヤル"].tolist() == [2, 3.0, 0.5, 0.5, pytest.approx(np.nan, nan_ok=True)]   # A 5, B 1
    assert seg.loc[sv.NO_ORDERS, ["respondents", "average"]].tolist() == [1, 2]                  # E
    st = d["by_status"]
    assert st.index.tolist() == ["稼働", "離脱", "休眠", sv.NO_ORDERS]          # the lapse order, not by size
    assert st.loc["稼働", ["respondents", "average", "high_share"]].tolist() == [2, 5.0, 1.0]  # A 5, D 5
    assert st.loc["離脱", ["average", "low_share"]].tolist() == [1.0, 1.0]
    en = build(lang="en")
    assert "Loyal" in en["by_segment"].index and "Lapsed" in en["by_status"].index


def test_low_score_then_lapse_by_hand_and_too_few_to_judge():
    ll = build(days=90)["low_lapse"]
    # answers up to 2024-04-01: A K01 (2, low; her 5 came later), B K03 (1), C K04 (4), D K06 (5); E answered late
    t = ll["table"]
    assert t.loc["low"].tolist() == [2, 1, 0.5]       # A active, B lapsed
    assert t.loc["high"].tolist() == [2, 1, 0.5]      # C dormant, D active
    assert t.loc["middle", "customers"] == 0
    assert ll["cutoff"] == pd.Timestamp("2024-04-01") and ll["p"] == pytest.approx(1.0)
    assert ll["verdict"] == "small"
    # a longer wait leaves only January answers: A low, D high
    t2 = build(days=160)["low_lapse"]["table"]
    assert t2.loc["low", "customers"] == 1 and t2.loc["high", "customers"] == 1


def test_low_scores_that_do_precede_lapse_are_called_so_with_fishers_p():
    # 20 low answers (15 lapsed later), 20 high (3 lapsed)
    ids = [f"L{i:02d}" for i in range(20)] + [f"H{i:02d}" for i in range(20)]
    rows = [(f"K{i:02d}", c, "2024-01-10", "アンケート", 1 if c[0] == "L" else 5) for i, c in enumerate(ids)]
    status = ["離脱" if i < 15 else "稼働" for i in range(20)] + ["休眠" if i < 3 else "稼働" for i in range(20)]
    lap = pd.DataFrame({"customer_id": ids, "status": status})
    ll = sv.low_then_lapse(sv.responses(contacts(rows), SCALE), lap, SCALE, AS_OF, 90)
    assert ll["table"].loc["low"].tolist() == [20, 15, 0.75] and ll["table"].loc["high"].tolist() == [20, 3, 0.15]
    assert ll["p"] == pytest.approx(fisher_exact([[15, 5], [3, 17]]).pvalue) and ll["p"] < 0.001
    assert ll["verdict"] == "more"
    lap2 = lap.assign(status=["稼働"] * 5 + ["離脱"] * 15 + ["稼働"] * 5 + ["離脱"] * 15)   # the same rate
    assert sv.low_then_lapse(sv.responses(contacts(rows), SCALE), lap2, SCALE, AS_OF, 90)["verdict"] == "unclear"
    assert sv.low_then_lapse(sv.responses(contacts(rows[:20]), SCALE), lap, SCALE, AS_OF, 90)["verdict"] == "none"


def test_monthly_trend_by_hand():
    m = build()["monthly"]
    assert m.index.tolist() == ["2024-01", "2024-02", "2024-03", "2024-05", "2024-06"]
    assert m.loc["2024-01", ["answers", "average", "low_share"]].tolist() == [2, 3.5, 0.5]   # K01 2, K06 5
    assert m.loc["2024-06", ["answers", "average"]].tolist() == [2, 2.5]                      # K05 3, K07 2


def test_nps_on_the_zero_to_ten_scale():
    s = sv.make_scale("0-10")
    assert (s.low, s.high, s.nps) == (6, 9, True)
    rows = [(f"K{i}", "A", "2024-06-01", "アンケート", v) for i, v in enumerate([10, 9, 8, 7, 6, 0])]
    st = sv.stats(sv.responses(contacts(rows), s)["score"], s)
    assert st["nps"] == pytest.approx(0.0)                      # 2 promoters, 2 detractors of 6
    assert sv.stats(pd.Series([10, 10, 9, 3]), s)["nps"] == pytest.approx(50.0)
    assert sv.stats(pd.Series([], dtype=float), s)["n"] == 0


def test_score_outside_the_scale_is_bad_input_naming_the_cell():
    rows = list(CONTACT_ROWS)
    rows[2] = ("K03", "B", "2024-02-01 09:00", "アンケート", 6)     # 6 on 1-5
    rows[5] = ("K06", "D", "2024-01-15 16:00", "レビュー", 0)
    c = contacts(rows)
    c.attrs.update(headers={"score": "評価"}, letters={"評価": "I"})     # as book.read leaves them
    with pytest.raises(BadInput) as e:
        sv.responses(c, SCALE)
    probs = e.value.problems
    assert [(p.sheet, p.row, p.column, p.cell) for p in probs] == [("対応履歴", 4, "評価", "I4"),
                                                                  ("対応履歴", 7, "評価", "I7")]
    assert "1〜5" in e.value.message("ja") and "1 to 5" in e.value.message("en")
    assert len(sv.responses(c, sv.make_scale("0-10"))) == 8      # the same scores fit 0-10


def test_thresholds_and_scale_settings_are_checked():
    with pytest.raises(BadInput) as e:
        sv.make_scale("1-5", low=4, high=3)
    assert e.value.problems[0].key == "sv_low_not_below_high"
    with pytest.raises(BadInput) as e:
        sv.make_scale("1-5", low=7)
    assert e.value.problems[0].column == "低評価の基準" and "1〜5" in e.value.message("ja")
    table = pd.DataFrame({"key": ["満足度の尺度", "低評価の基準"], "value": ["ＮＰＳ", "５"]}, index=[2, 3])
    s = settings.load(table)
    assert (s["survey_scale"], s["survey_low"]) == ("0-10", 5.0)
    table = pd.DataFrame({"key": ["満足度の尺度"], "value": ["7段階"]}, index=[4])
    table.attrs = {"headers": {"value": "値"}, "letters": {"値": "B"}}
    with pytest.raises(BadInput) as e:
        settings.load(table)
    assert (e.value.problems[0].row, e.value.problems[0].cell) == (4, "B4")
    assert "1-5 か 0-10" in e.value.message("ja")


# --- the follow-up rule ------------------------------------------------------------------------------------------

def test_survey_rule_selects_recent_low_latest_answers():
    low = sv.low_score_followups(contacts(), SCALE, AS_OF, 30)
    # E answered 2 five days ago; B's 1 is five months old; A's 2 was followed by a 5
    assert low[["customer_id", "contact_id", "type", "score"]].values.tolist() == [["E", "K07", "アンケート", 2]]
    assert len(sv.low_score_followups(contacts(), SCALE, AS_OF, 365)) == 2       # and B
    rules = fu.parse_rules(None)
    assert rules["survey"].marketing is False and rules["survey"].params == {"within_days": 30}
    gen = fu.candidates(customers(), pd.DataFrame(columns=["customer_id", "order_date"]), contacts(),
                        pd.DataFrame(), pd.DataFrame(), {"survey": rules["survey"]}, AS_OF)
    row = gen.iloc[0]
    assert (row["follow_id"], row["channel"], row["priority"]) == ("survey:E:K07", "電話", 1)
    assert row["reason"] == "アンケートで低評価(2点, 2024-06-25)" and row["due"] == pd.Timestamp("2024-07-02")
    # on 0-10, 2 is still low (<= 6), and so is C's latest 3
    gen = fu.candidates(customers(), pd.DataFrame(columns=["customer_id", "order_date"]), contacts(),
                        pd.DataFrame(), pd.DataFrame(), {"survey": rules["survey"]}, AS_OF,
                        survey_scale=sv.make_scale("0-10"), lang="en")
    assert gen["reason"].tolist() == ["low score (3) in the survey of 2024-06-20",
                                      "low score (2) in the survey of 2024-06-25"]


def write_book(path, rows=CONTACT_ROWS, extra_settings=()):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    add_table(ws, "顧客", [["顧客ID", "区分", "氏名", "電話番号"]] + [
        [i, "見込み" if i in "EF" else "顧客", f"客{i}", "03-1111-1111"] for i in "ABCDEF"])
    orders = [("O1", "A", "2024-06-01", 3000), ("O2", "B", "2023-09-01", 3000), ("O3", "C", "2023-01-10", 2000),
              ("O4", "D", "2024-06-10", 5000), ("O5", "D", "2024-03-10", 5000)]
    add_table(wb.create_sheet("注文"), "注文", [["注文ID", "顧客ID", "注文日", "金額"]] + [list(o) for o in orders])
    add_table(wb.create_sheet("対応履歴"), "対応履歴", [["対応ID", "顧客ID", "日時", "チャネル", "種別", "内容", "担当者",
                                                    "状態", "評価"]]
              + [[k, c, at, "メール", ty, "回答", "", "完了", sc] for k, c, at, ty, sc in rows])
    add_table(wb.create_sheet("設定"), "設定", [["項目", "値", "説明"], ["基準日", AS_OF, ""], *extra_settings])
    wb.save(path)
    return path


def edit_row(path, name, key_header, key, **values):
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[headers.index(key_header)].value == key:
            for h, v in values.items():
                ws.cell(row[0].row, headers.index(h) + 1, v)
    wb.save(path)


def test_followup_row_for_a_low_score_keeps_staff_edits_and_closes_when_a_better_answer_comes(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    run("followup", p)
    lst = sheet(p, "フォローリスト").set_index("フォローID")
    row = lst.loc["低評価:E:K07"]
    assert (row["理由"], row["優先度"], row["状態"]) == ("アンケートで低評価(2点, 2024-06-25)", 1, "未着手")
    assert row["期限"] == dt.datetime(2024, 7, 2) and row["チャネル"] == "電話"
    assert not any(k.startswith("低評価:B:") or k.startswith("低評価:A:") for k in lst.index)
    edit_row(p, "フォローリスト", "フォローID", "低評価:E:K07", 状態="対応中", 結果メモ="留守電", 担当者="鈴木",
             期限=dt.datetime(2024, 7, 5))
    run("followup", p)
    row = sheet(p, "フォローリスト").set_index("フォローID").loc["低評価:E:K07"]
    assert (row["状態"], row["結果メモ"], row["担当者"], row["期限"]) == ("対応中", "留守電", "鈴木",
                                                                    dt.datetime(2024, 7, 5))
    # E answers again, happier: the apology call is no longer called for
    wb = openpyxl.load_workbook(p)
    ws = wb["対応履歴"]
    ws.append(["K11", "E", "2024-06-28 10:00", "メール", "アンケート", "回答", "", "完了", 4])
    ws.tables["対応履歴"].ref = f"A1:I{ws.max_row}"
    wb.save(p)
    r = run("followup", p)
    assert r.counts["closed"] == 1
    row = sheet(p, "フォローリスト").set_index("フォローID").loc["低評価:E:K07"]
    assert row["状態"] == "不要" and row["結果メモ"].startswith("留守電 / 条件外になったため自動終了")


# --- the job on a workbook ---------------------------------------------------------------------------------------

def sheet_cells(path, name="満足度"):
    ws = openpyxl.load_workbook(path)[name]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def test_job_writes_the_sheet_and_the_latest_score_columns(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    r = run("survey", p)
    assert (r.counts["answers"], r.counts["respondents"], r.counts["low"]) == (7, 5, 2)     # B 1, E 2
    assert r.counts["ignored"] == 1 and r.counts["unscored"] == 1
    assert "回答7件・回答者5人・平均3.14点" in r.summary_ja and "アンケート/レビュー以外の評価1件は集計外" in r.summary_ja
    assert "7 answers from 5 customers" in r.summary_en
    v = sheet_cells(p)
    assert v["A1"] == "顧客満足度(アンケート・レビュー)" and v["A2"].startswith("基準日: 2024-06-30")
    assert v["A6"] == "全体" and (v["A8"], v["B8"], v["C8"]) == ("すべて", 7, 5) and v["D8"] == pytest.approx(22 / 7)
    texts = set(v.values())
    assert {"RFMセグメント別(最新の回答)", "離脱状態別(最新の回答)", "月別の平均評価", "低評価", "高評価",
            "(購入なし)"} <= texts
    assert any(str(t).startswith("件数が少ないため判断できません") for t in texts)
    ws = openpyxl.load_workbook(p)["満足度"]
    assert ws["D8"].number_format == "0.00" and ws["E8"].number_format == "0.0%"
    cs = sheet(p, "顧客").set_index("顧客ID")
    assert cs.loc["C", "最新評価"] == 3 and cs.loc["C", "評価日"] == dt.datetime(2024, 6, 20)
    assert pd.isna(cs.loc["F", "最新評価"]) and cs.loc["A", "氏名"] == "客A"
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1


def test_refresh_replaces_the_sheet_and_english_labels(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    run("survey", p)
    run("survey", p, overrides={"as_of": pd.Timestamp("2024-01-31"), "lang": "en"})
    v = sheet_cells(p)
    assert v["A1"] == "Customer satisfaction (surveys and reviews)" and (v["A8"], v["B8"]) == ("All", 2)
    assert "2024-06" not in set(v.values())      # nothing left over from the first refresh
    cs = sheet(p, "顧客").set_index("顧客ID")
    assert cs.loc["A", "最新評価"] == 2 and pd.isna(cs.loc["C", "最新評価"])
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1


def test_nps_scale_from_settings_adds_the_nps_column(tmp_path):
    rows = [(f"K{i}", c, "2024-06-01", "アンケート", v) for i, (c, v) in enumerate(zip("ABCD", [10, 9, 6, 8]))]
    p = write_book(tmp_path / "b.xlsx", rows, [["満足度の尺度", "0-10", ""]])
    r = run("survey", p)
    assert r.counts["nps"] == pytest.approx(25.0)        # 2 promoters, 1 detractor of 4
    v = sheet_cells(p)
    assert v["G7"] == "NPS" and v["G8"] == pytest.approx(25.0)


def test_bad_score_stops_the_job_before_anything_is_written(tmp_path):
    rows = list(CONTACT_ROWS)
    rows[3] = ("K04", "C", "2024-03-01 12:00", "アンケート", 7)
    p = write_book(tmp_path / "b.xlsx", rows)
    before = p.read_bytes()
    for tag in ("survey", "followup"):
        with pytest.raises(BadInput) as e:
            run(tag, p)
        prob = e.value.problems[0]
        assert (prob.sheet, prob.row, prob.column, prob.cell) == ("対応履歴", 5, "評価", "I5")
        assert p.read_bytes() == before
    p = write_book(tmp_path / "c.xlsx", extra_settings=[["低評価の基準", "4", ""], ["高評価の基準", "4", ""]])
    with pytest.raises(BadInput) as e:
        run("survey", p)
    assert "低評価の基準(4)は高評価の基準(4)より小さく" in e.value.message("ja")


def test_an_answer_from_an_unknown_customer_is_bad_input(tmp_path):
    p = write_book(tmp_path / "b.xlsx", CONTACT_ROWS + [("K11", "Z", "2024-06-01", "レビュー", 3)])
    with pytest.raises(BadInput) as e:
        run("survey", p)
    assert (e.value.problems[0].sheet, e.value.problems[0].row) == ("対応履歴", 12)


def test_cli(tmp_path, capsys):
    from xlcrm.cli import main
    p = write_book(tmp_path / "b.xlsx")
    assert main(["--lang", "en", "survey", str(p), "--as-of", "2024-06-30"]) == 0
    assert "7 answers from 5 customers" in capsys.readouterr().out
    before = p.read_bytes()
    assert main(["survey", str(p), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert p.read_bytes() == before                    # --json only reads
    assert d["overall"][0]["type"] == "all" and d["overall"][0]["answers"] == 7
    assert d["low_then_lapse"]["verdict"] == "small" and d["by_status"][0]["status"] == "稼働"
    assert d["by_segment"][-1]["segment"] is None and d["by_segment"][-1]["respondents"] == 1    # E: no orders
    rows = list(CONTACT_ROWS)
    rows[0] = ("K01", "A", "2024-01-10", "アンケート", 8)
    q = write_book(tmp_path / "c.xlsx", rows)
    assert main(["survey", str(q)]) == 2
    assert "対応履歴" in capsys.readouterr().err


# --- a demo workbook ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo workbook as `run_demo` makes it, with only the jobs this file looks at (the rest take 15 s)."""
    from xlcrm.book import open_book
    from xlcrm.build import build_workbook
    from xlcrm.demo import make_demo
    from xlcrm.jobs.demo import DEMO_JOBS
    from xlcrm.jobs.io import _text_headers
    assert "survey" in DEMO_JOBS
    p = build_workbook(tmp_path_factory.mktemp("demo") / "CRM-demo.xlsm")
    frames = make_demo(customers=300, seed=3, as_of="2024-06-30")
    with open_book(p, backups=0) as book:
        for key in ("customers", "orders", "contacts"):
            t = schema.table(key)
            book.write_table(t.ja, frames[key], text_columns=_text_headers(t, frames[key].columns))
        book.save()
    for tag in ("followup", "survey"):
        run(tag, p, overrides={"as_of": pd.Timestamp("2024-06-30")})
    return p


@pytest.mark.slow
def test_demo_sheet_agrees_with_the_contact_sheet(demo):
    wb = openpyxl.load_workbook(demo, read_only=True)

    def table(name):
        rows = list(wb[name].iter_rows(values_only=True))
        return pd.DataFrame(rows[1:], columns=rows[0])

    hist, cs, lst = table("対応履歴"), table("顧客").set_index("顧客ID"), table("フォローリスト")
    ans = hist[hist["種別"].isin(["アンケート", "レビュー"]) & pd.to_numeric(hist["評価"], errors="coerce").notna()]
    v = {(r, c): x for r, row in enumerate(wb["満足度"].iter_rows(max_row=8, values_only=True), 1)
         for c, x in zip("ABCDEFG", row)}
    assert v[8, "A"] == "すべて" and v[8, "B"] == len(ans) > 50 and v[8, "C"] == ans["顧客ID"].nunique()
    assert v[8, "D"] == pytest.approx(ans["評価"].astype(float).mean())
    assert cs["最新評価"].notna().sum() == ans["顧客ID"].nunique()
    rows = lst[lst["ルール"] == "低評価のお詫び・ヒアリング"]
    assert len(rows) == 2       # the two recent low answers of this demo (a レビュー 2 and an アンケート 1)
    assert (cs.loc[rows["顧客ID"], "最新評価"] <= 2).all()


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed")
def test_libreoffice_renders_the_satisfaction_sheet(demo, tmp_path):
    wb = openpyxl.load_workbook(demo)
    for name in wb.sheetnames:
        if name != "満足度":
            wb.remove(wb[name])
    p = tmp_path / "s.xlsx"
    wb.save(p)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    subprocess.run(["soffice", "--headless", "--convert-to",
                    'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}',
                    "--outdir", str(tmp_path), str(p)], check=True, env=env, capture_output=True, timeout=180)
    page = "".join(subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                                  text=True).stdout.split())
    assert page.startswith("顧客満足度")
    for label in ("セグメント別の平均評価", "RFMセグメント別", "離脱状態別", "フィッシャーの正確検定", "月別の平均評価", "%"):
        assert label in page, label
