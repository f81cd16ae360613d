"""Hold-out for step chains (ステップ対照群): who is held out (a fixed set per setting), that they stay held out on
later refreshes and get no step rows (nor the お礼 / F2 rows the chain replaces), the comparison figures checked by
hand, the ステップ状況 block in a real .xlsm, and a bad setting named by its cell."""
from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from xlcrm import followup as fu
from xlcrm import steps as st
from xlcrm.jobs import run
from xlcrm.jobs.steps import step_rows
from xlcrm.messages import BadInput

from conftest import add_table, macro_book
from fu_data import customers, orders

D0 = pd.Timestamp("2024-06-01")                    # everyone's first order
IDS = [f"C{i:02d}" for i in range(1, 61)]
# draw < pct / 100 for chain F2 and trigger 2024-06-01 (sha256 of "F2:<id>:20240601", first 8 hex digits / 2**32)
HELD_10 = {"C06", "C10", "C11", "C21", "C53"}
HELD_20 = HELD_10 | {"C03", "C14", "C24", "C26", "C34", "C44", "C50"}
HELD_50 = HELD_20 | {"C04", "C07", "C09", "C12", "C20", "C23", "C27", "C31", "C32", "C33", "C36", "C38", "C40",
                     "C42", "C43", "C57"}
CONTACTED = sorted(set(IDS) - HELD_50)             # 32 customers
HELD = sorted(HELD_50)                             # 28 customers


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


# contacted: 16 reorder on day 20, one on day 55 (the window's last day: counts); held out: 7 reorder on day 40,
# one on day 56 (a day late: does not count)
REORDERS = ([(c, 20) for c in CONTACTED[:16]] + [(CONTACTED[16], 55)]
            + [(c, 40) for c in HELD[:7]] + [(HELD[7], 56)])


def shop():
    cust = customers([dict(customer_id=i, name=f"客 {i}", email=f"{i.lower()}@example.jp", mail_ok="可")
                      for i in IDS])
    rows = [(f"o{i}", i, D0, 3000, None) for i in IDS]
    rows += [(f"r{c}", c, day(n), 4000, None) for c, n in REORDERS]
    return cust, orders(rows)


def refresh(lst, cust, ords, n: int, pct: float):
    """The followup job's step part on day n: step rows, then the list refreshed with them."""
    chains = st.parse_steps(None)
    now = day(n) + pd.Timedelta(hours=9)
    gen, _, notes = step_rows(chains, cust, ords, lst, day(n), now, control_pct=pct)
    return fu.refresh(lst, gen, now, notes=notes)[0], gen


def listed_customers(lst) -> set:
    return set(lst["customer_id"]) if lst is not None else set()


def test_who_is_held_out_is_fixed_by_chain_customer_and_trigger_day():
    cust, ords = shop()
    prog = st.progress(st.parse_steps(None), cust, ords, day(3))
    for pct, want in ((0, set()), (10, HELD_10), (20, HELD_20), (50, HELD_50)):
        assert set(prog["customer_id"][st.held_out(prog, pct)]) == want
    # the draw is sha256 of chain:customer:trigger, so a raised percentage only adds customers
    assert st.draw("F2", "C06", D0) == int(hashlib.sha256(b"F2:C06:20240601").hexdigest()[:8], 16) / 2 ** 32
    assert st.draw("F2", "C06", D0) < 0.10 <= st.draw("F2", "C03", D0) < 0.20
    # another chain or another trigger day draws again
    assert st.draw("F3", "C06", D0) != st.draw("F2", "C06", D0) != st.draw("F2", "C06", day(1))


def test_held_out_customers_get_no_rows_on_any_refresh_and_contacted_ones_stay_contacted():
    cust, ords = shop()
    lst, gen = refresh(None, cust, ords, 3, 50)
    assert listed_customers(lst) == set(CONTACTED)                 # お礼 for the 32, none for the 28
    assert gen.attrs["held_out"] == 28
    lst, _ = refresh(lst, cust, ords, 14, 50)
    lst, gen = refresh(lst, cust, ords, 26, 50)                     # day 26: the F2 coupon step
    assert listed_customers(lst) == set(CONTACTED)                 # nobody moved in
    coupons = lst[lst["follow_id"].str.endswith(":3")]
    assert set(coupons["customer_id"]) == set(CONTACTED[16:])      # the 16 who reordered on day 20 stopped
    assert coupons.set_index("customer_id").loc[CONTACTED[16], "coupon"] == f"F2-{CONTACTED[16]}"
    assert gen.attrs["held_out"] == 28                              # their reorders come on day 40 and 56
    assert (lst["status"].eq("不要") & lst["follow_id"].str.endswith(":1")).sum() == 32   # お礼 rows superseded


def test_switching_the_hold_out_on_later_leaves_customers_already_on_the_list_alone():
    cust, ords = shop()
    lst, _ = refresh(None, cust, ords, 3, 0)                       # off: everyone gets お礼
    assert listed_customers(lst) == set(IDS)
    lst, gen = refresh(lst, cust, ords, 14, 50)                     # on: nobody already reached is dropped
    assert len(gen) == 60 and gen.attrs["held_out"] == 0
    assert (lst["follow_id"].str.endswith(":2") & lst["status"].eq("未着手")).sum() == 60


def newcombe(k1, n1, k2, n2):
    """Newcombe 1998 method 10 from the two Wilson intervals, written out to check the library's."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = proportion_confint(k1, n1, alpha=0.05, method="wilson")
    l2, u2 = proportion_confint(k2, n2, alpha=0.05, method="wilson")
    d = p1 - p2
    return d - ((p1 - l1) ** 2 + (u2 - p2) ** 2) ** 0.5, d + ((u1 - p1) ** 2 + (p2 - l2) ** 2) ** 0.5


def test_comparison_counts_second_orders_within_the_last_step_plus_n_days():
    cust, ords = shop()
    chains = st.parse_steps(None)
    lst, _ = refresh(None, cust, ords, 3, 50)
    prog = st.progress(chains, cust, ords, day(55))
    # day 54: trigger + 25 + 30 is still ahead for everyone
    early = st.control_comparison(chains, st.progress(chains, cust, ords, day(54)), lst, day(54), pct=50)
    assert early[0]["result"]["treated"]["n"] == 0 and early[0]["verdict"] == "few"
    [x] = st.control_comparison(chains, prog, lst, day(55), pct=50, judge_days=30)
    assert (x["chain"], x["since"], x["window"], x["entered"]) == ("F2", D0, 55, (32, 28))
    t, c, d = x["result"]["treated"], x["result"]["control"], x["result"]["rate_diff"]
    assert (t["n"], t["buyers"], c["n"], c["buyers"]) == (32, 17, 28, 7)   # day 55 counts, day 56 does not
    assert d["est"] == pytest.approx(17 / 32 - 7 / 28)                   # 53.1% - 25.0% = 28.1 points
    assert (d["lo"], d["hi"]) == pytest.approx(newcombe(17, 32, 7, 28))
    assert 0.03 < d["lo"] < 0.06 and x["verdict"] == "yes"              # the interval clears 0
    # with a shorter window (N = 20: up to day 45) the day-55 reorder falls out: 16 of 32
    [y] = st.control_comparison(chains, prog, lst, day(55), pct=50, judge_days=20)
    assert (y["result"]["treated"]["buyers"], y["result"]["control"]["buyers"]) == (16, 7)
    # without a list there is no running chain to compare
    assert st.control_comparison(chains, prog, None, day(55), pct=50)[0]["verdict"] == "few"


def test_verdicts():
    def res(n1, k1, n2, k2):
        from xlcrm import campaign as cp
        df = pd.DataFrame({"group": [cp.TREATED] * n1 + [cp.CONTROL] * n2,
                           "bought": [True] * k1 + [False] * (n1 - k1) + [True] * k2 + [False] * (n2 - k2),
                           "revenue": 0.0})
        return cp.compare(df)
    assert st.verdict(res(19, 19, 40, 0)) == "few"                       # 19 < 20 judged in one group
    assert st.verdict(res(40, 20, 40, 8)) == "yes"
    assert st.verdict(res(40, 12, 40, 10)) == "unclear"
    assert st.verdict(res(40, 4, 40, 16)) == "worse"


# --- the jobs on a real .xlsm -----------------------------------------------------------------------------------

def write_book(path: Path, pct=None, lang="ja") -> Path:
    wb, ws = macro_book()
    add_table(ws, "顧客", [["顧客ID", "氏名", "メール", "メール可否"]]
              + [[i, f"客 {i}", f"{i.lower()}@example.jp", "可"] for i in IDS])
    add_table(wb.create_sheet("注文"), "注文", [["注文ID", "顧客ID", "注文日", "金額"]]
              + [[f"O{i}", i, D0.to_pydatetime(), 3000] for i in IDS]
              + [[f"R{c}", c, day(n).to_pydatetime(), 4000] for c, n in REORDERS])
    add_table(wb.create_sheet("設定"), "設定", [["項目", "値", "説明"], ["担当者一覧", "山田、鈴木", ""], ["言語", lang, ""]]
              + ([["ステップ対照群の割合(%)", pct, ""]] if pct is not None else []))
    wb.save(path)
    return path


def cells(path, sheet="ステップ状況"):
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}, ws


def row_of(v: dict, text: str) -> int:
    return min(int(k[1:]) for k, x in v.items() if k.startswith("A") and x == text)


def test_jobs_hold_customers_out_and_the_report_shows_the_comparison(tmp_path):
    p = write_book(tmp_path / "CRM.xlsm", pct=50)
    r = run("followup", p, as_of=day(3))
    assert r.counts["step_rows"] == 32 and r.counts["step_held_out"] == 28
    assert "ステップの対照群28人には送りません" in r.summary_ja and "28 customers held out" in r.summary_en
    lst = openpyxl.load_workbook(p)["フォローリスト"]
    heads = [c.value for c in lst[1]]
    on_list = {row[heads.index("顧客ID")] for row in lst.iter_rows(min_row=2, values_only=True)}
    assert on_list == set(CONTACTED)          # held out: no step row, and no お礼 rule row instead
    rep = run("steps", p, as_of=day(55))
    assert rep.counts["control"][0]["verdict"] == "yes"
    assert "利用。対照群との比較: F2 効果あり" in rep.summary_ja and "; control group: F2 Effective" in rep.summary_en
    v, ws = cells(p)
    r = row_of(v, "チェーン") + 2                  # the chain's own figures leave the 28 held out aside
    assert [v.get(f"{c}{r}") for c in "ABEFG"] == ["F2", "初回購入", 0, 15, 17]
    r0 = row_of(v, "対照群との比較: F2(対照群 50%)")
    assert v[f"A{r0 + 1}"] == "人数=起点が2024-06-01以降でチェーンに入った人。判定可=そのうち起点から55日(3段目の25日 + 30日)たった人。"
    assert v[f"A{r0 + 2}"] == "注文=判定可のうち、起点から55日以内に2回目の購入があった人。"
    r0 += 1
    assert [v.get(f"{c}{r0 + 2}") for c in "ABCDEF"] == ["群", "人数", "判定可", "注文", "注文率", "95%区間"]
    lo, hi = newcombe(17, 32, 7, 28)
    assert [v.get(f"{c}{r0 + 3}") for c in "ABCDE"] == ["送った群", 32, 32, 17, pytest.approx(17 / 32)]
    assert [v.get(f"{c}{r0 + 4}") for c in "ABCDE"] == ["対照群", 28, 28, 7, pytest.approx(0.25)]
    assert v[f"A{r0 + 5}"] == "差" and v[f"E{r0 + 5}"] == pytest.approx(17 / 32 - 0.25)
    assert v[f"F{r0 + 5}"] == f"{lo * 100:.1f}%〜{hi * 100:.1f}%"
    assert v[f"B{r0 + 6}"].startswith("効果あり")
    assert ws[f"E{r0 + 3}"].number_format == "0.0%" and ws.max_column <= 9


def test_the_block_in_english_before_anyone_can_be_judged(tmp_path):
    p = write_book(tmp_path / "CRM.xlsm", pct=50, lang="en")
    run("followup", p, as_of=day(3))
    run("steps", p, as_of=day(50))
    v, _ = cells(p)
    r0 = row_of(v, "Control group: F2 (50% held out)") + 1
    assert [v.get(f"{c}{r0 + 3}") for c in "ABCDE"] == ["Contacted", 32, 0, 0, None]
    assert v[f"B{r0 + 6}"] == "Too few: wait until each group has 20 customers to judge"


def test_without_hold_out_the_report_says_how_to_turn_it_on(tmp_path):
    p = write_book(tmp_path / "CRM.xlsm")
    r = run("followup", p, as_of=day(3))
    assert r.counts["step_rows"] == 60 and "対照群" not in r.summary_ja
    run("steps", p, as_of=day(55))
    v, _ = cells(p)
    r0 = row_of(v, "対照群との比較")
    assert v[f"A{r0 + 1}"] == "設定「ステップ対照群の割合(%)」が0のため、ステップで注文が増えたかは測れません。"
    assert v[f"A{r0 + 2}"].startswith("10 などにすると") and f"A{r0 + 4}" not in v


@pytest.mark.parametrize("value,key", [(60, "st_bad_control_pct"), (-1, "st_bad_control_pct"),
                                       ("たくさん", "bad_number")])
def test_a_bad_setting_is_named_by_its_cell_and_nothing_is_written(tmp_path, value, key):
    p = write_book(tmp_path / "CRM.xlsm", pct=value)
    with pytest.raises(BadInput) as e:
        run("followup", p, as_of=day(3))
    [prob] = e.value.problems
    assert (prob.sheet, prob.row, prob.cell) == ("設定", 4, "B4")
    assert prob.key == key and "シート「設定」4行目" in e.value.message("ja") and "(B4)" in e.value.message("ja")
    assert str(value) not in e.value.message("ja")                   # the value itself is not echoed
    assert "フォローリスト" not in openpyxl.load_workbook(p).sheetnames
