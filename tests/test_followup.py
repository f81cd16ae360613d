"""Follow-up rules, opt-outs, and the refresh that keeps what staff wrote."""
from __future__ import annotations

import pandas as pd
import pytest

from xlcrm import followup, schema
from xlcrm.messages import BadInput

from fu_data import AS_OF, contacts, customers, lapse_frame, orders, rfm_frame

D = pd.Timestamp


def shop():
    cust = customers([
        # new buyer 3 days ago, mail opt-in given
        dict(customer_id="A", name="新規 花子", email="a@example.jp", mail_ok="可", address="東京都"),
        # one order 25 days ago (F2 window), mail opt-in blank, DM refused, phone known
        dict(customer_id="B", name="二回目 待ち", email="b@example.jp", dm_ok="不可", phone="0312345678"),
        # one order 25 days ago, everything refused / unknown: no channel at all
        dict(customer_id="B2", name="連絡 不可", email="b2@example.jp", mail_ok="不可", dm_ok="不可"),
        # subscriber, next delivery in 5 days
        dict(customer_id="S", name="定期 太郎", email="s@example.jp", staff="佐藤"),
        # high-value customer slipping
        dict(customer_id="W", name="優良 次郎", phone="09011112222", address="大阪府"),
        # low-value customer slipping: no win-back
        dict(customer_id="L", name="一般 三郎", phone="09033334444"),
        # birthday in June
        dict(customer_id="BD", name="誕生 月子", birth_date="1980-06-20", address="京都府", dm_ok="可"),
        # dormant
        dict(customer_id="Z", name="休眠 四郎", address="福岡県"),
        # prospect, registered 30 days ago, never contacted
        dict(customer_id="P", kind="見込み", name="見込 五郎", phone="0611112222", registered_on="2024-05-16"),
        # prospect contacted 3 days ago: not yet
        dict(customer_id="P2", kind="見込み", name="見込 六郎", phone="0611113333", registered_on="2024-01-01"),
        # customer with an open complaint 5 days old
        dict(customer_id="K", name="苦情 七子", phone="0455556666"),
    ])
    ords = orders([
        ("o1", "A", "2024-06-12", 5000, None),
        ("o2", "B", "2024-05-21", 4000, None),
        ("o2b", "B2", "2024-05-21", 4000, None),
        ("o3", "S", "2024-04-20", 3000, "定期"), ("o4", "S", "2024-05-20", 3000, "定期"),
        ("o5", "W", "2023-12-01", 30000, None), ("o6", "W", "2024-02-01", 30000, None),
        ("o7", "L", "2024-02-01", 2000, None), ("o8", "L", "2024-03-01", 2000, None),
        ("o9", "Z", "2023-01-10", 3000, None),
        ("o10", "K", "2024-05-01", 3000, None), ("o11", "BD", "2024-01-05", 3000, None),
    ])
    cons = contacts([
        ("R000001", "K", "2024-06-10 10:00", "クレーム", "未対応", "破損", "", "電話"),
        ("R000002", "P2", "2024-06-12 15:00", "問い合わせ", "完了", "資料請求", "", "電話"),
    ])
    rfm = rfm_frame([
        ("A", 1, 5000, "2024-06-12", "2024-06-12", 2), ("B", 1, 4000, "2024-05-21", "2024-05-21", 2),
        ("B2", 1, 4000, "2024-05-21", "2024-05-21", 2),
        ("S", 2, 6000, "2024-04-20", "2024-05-20", 3), ("W", 2, 60000, "2023-12-01", "2024-02-01", 5),
        ("L", 2, 4000, "2024-02-01", "2024-03-01", 1), ("Z", 1, 3000, "2023-01-10", "2023-01-10", 2),
        ("K", 1, 3000, "2024-05-01", "2024-05-01", 2), ("BD", 1, 3000, "2024-01-05", "2024-01-05", 2),
    ])
    lapse = lapse_frame([
        ("A", "稼働", None, 3), ("B", "稼働", None, 25), ("B2", "稼働", None, 25),
        ("S", "稼働", "2024-06-19", 26), ("W", "離脱予兆", "2024-04-01", 135),
        ("L", "離脱予兆", "2024-03-30", 106), ("Z", "休眠", None, 522), ("K", "稼働", None, 45),
        ("BD", "離脱", None, 162),
    ])
    return cust, ords, cons, rfm, lapse


def gen(as_of=AS_OF, rules=None, **kw):
    cust, ords, cons, rfm, lapse = kw.pop("data", None) or shop()
    rules = rules or followup.parse_rules(None)
    return followup.candidates(cust, ords, cons, rfm, lapse, rules, as_of, **kw)


def by_rule(df):
    return {r: sorted(g["customer_id"]) for r, g in df.groupby("rule")}


def test_each_default_rule_picks_the_customers_it_describes():
    got = by_rule(gen())
    assert got == {
        "thanks": ["A"],
        "f2": ["B"],                    # B2 matches but can be reached by no allowed channel
        "subscription": ["S"],
        "winback": ["W"],               # L is slipping too but M=1
        "birthday": ["BD"],
        "complaint": ["K"],
        "dormant": ["Z"],
        "prospect": ["P"],              # P2 was contacted 3 days ago
    }


def test_f2_window_boundaries_are_inclusive_and_follow_the_rule_parameters():
    for days, expect in [(19, False), (20, True), (40, True), (41, False)]:
        got = gen(as_of=D("2024-05-21") + pd.Timedelta(days=days), only=("f2",))
        assert ("B" in set(got["customer_id"])) is expect, days
    rules_raw = followup.default_rules()
    rules_raw.loc[rules_raw["rule"].eq("f2"), "params"] = "開始日数=10、終了日数=15"
    rules_raw.index = range(2, 2 + len(rules_raw))
    rules = followup.parse_rules(rules_raw)
    assert list(gen(as_of=D("2024-06-02"), rules=rules, only=("f2",))["customer_id"]) == ["B"]
    assert gen(rules=rules, only=("f2",)).empty


def test_opt_outs_dm_refused_never_gets_dm_and_blank_mail_is_not_marketing_opt_in():
    rows = gen().set_index("rule")
    # B: F2 is marketing; mail opt-in blank -> no mail; DM refused -> no DM; so the phone is used.
    assert rows.loc["f2", "channel"] == "電話"
    # A: thanks is a service mail -> mail; S: 定期 notice with blank opt-in is still allowed (service).
    assert rows.loc["thanks", "channel"] == "メール"
    assert rows.loc["subscription", "channel"] == "メール"
    # BD birthday prefers DM; Z dormant DM.
    assert rows.loc["birthday", "channel"] == "DM" and rows.loc["dormant", "channel"] == "DM"
    # nobody with DM可否=不可 has a DM row, nobody without explicit opt-in has a marketing mail row
    cust = shop()[0].set_index("customer_id")
    allrows = gen()
    dm_refused = set(cust.index[cust["dm_ok"].eq(False).fillna(False).astype(bool)])
    assert not ((allrows["channel"] == "DM") & allrows["customer_id"].isin(dm_refused)).any()
    marketing = allrows["rule"].map({r.id: r.marketing for r in followup.RULES})
    opted_in = allrows["customer_id"].map(cust["mail_ok"].eq(True).fillna(False))
    assert not ((allrows["channel"] == "メール") & marketing & ~opted_in.astype(bool)).any()
    assert gen().attrs["skipped_optout"]["f2"] == 1     # B2


def test_rows_are_readable_and_keyed_by_rule_customer_and_period():
    rows = gen().set_index("rule")
    assert rows.loc["winback", "follow_id"] == "winback:W:20240201"
    assert rows.loc["complaint", "follow_id"] == "complaint:K:R000001"
    assert rows.loc["f2", "reason"] == "購入1回・初回購入から25日(2回目はまだ)"
    assert rows.loc["subscription", "due"] == D("2024-06-18")   # the day before the delivery, within 3 days
    assert rows.loc["complaint", "due"] == D("2024-06-16")
    assert rows.loc["subscription", "staff"] == "佐藤"
    en = gen(lang="en").set_index("rule")
    assert en.loc["dormant", "reason"] == "dormant: 522 days since the last order"


def test_bad_rule_cells_are_reported_with_their_cell():
    raw = pd.DataFrame({"ルールID": ["f2", "nosuch", "thanks"], "パラメータ": ["開始日数=abc", "", "日数=5"],
                        "チャネル": ["電話", "電話", "FAX"]}, index=[2, 3, 4])
    raw.attrs["letters"] = {"ルールID": "A", "パラメータ": "D", "チャネル": "E"}
    with pytest.raises(BadInput) as e:
        followup.parse_rules(schema.conform(raw, followup.RULES_TABLE))
    cells = sorted(p.cell for p in e.value.problems)
    assert cells == ["A3", "D2", "E4"]
    assert "abc" not in e.value.message("ja")


def first_list(**kw):
    return followup.refresh(None, gen(), D("2024-06-15 09:00"), staff_list=["佐藤", "鈴木", "高橋"], **kw)


def test_new_rows_start_open_and_go_to_own_staff_else_the_least_loaded():
    lst, counts = first_list()
    assert counts == {"new": 8, "kept": 0, "closed": 0}
    assert set(lst["status"]) == {"未着手"}
    staff = lst.set_index("customer_id")["staff"]
    assert staff["S"] == "佐藤"
    others = staff.drop("S").value_counts()
    # 7 rows over 3 people, 佐藤 already has one: loads end up 3/3/2 or better balanced
    assert others.sum() == 7 and max(others.get("佐藤", 0) + 1, others.max()) - min(
        others.get("鈴木", 0), others.get("高橋", 0), others.get("佐藤", 0) + 1) <= 1


def test_refresh_keeps_staff_edits_closes_gone_rows_and_never_deletes():
    lst, _ = first_list()
    lst = lst.set_index("follow_id")
    lst.loc["f2:B:1", ["status", "memo", "staff"]] = ["対応中", "留守電", "高橋"]
    lst.loc["dormant:Z:20230110", ["status", "memo"]] = ["完了", "DM送付"]
    lst.loc["winback:W:20240201", "due"] = D("2024-07-01")
    lst = lst.reset_index()
    # a week later: B bought again (no longer F2), W ordered (no longer 離脱予兆), the rest stands
    cust, ords, cons, rfm, lapse = shop()
    ords = pd.concat([ords, orders([("o2c", "B", "2024-06-14", 4000, None)])], ignore_index=True)
    rfm.loc[rfm.customer_id.eq("B"), "frequency"] = 2
    lapse.loc[lapse.customer_id.eq("W"), "status"] = "稼働"
    later = followup.candidates(cust, ords, cons, rfm, lapse, followup.parse_rules(None), D("2024-06-16"))
    new, counts = followup.refresh(lst, later, D("2024-06-16 09:00"), staff_list=["佐藤"])
    new = new.set_index("follow_id")
    assert set(lst["follow_id"]) <= set(new.index)                     # nothing deleted
    assert new.loc["f2:B:1", "status"] == "不要"
    assert new.loc["f2:B:1", "memo"] == "留守電 / 条件外になったため自動終了(2024-06-16)"
    assert new.loc["f2:B:1", "staff"] == "高橋"
    assert new.loc["winback:W:20240201", "status"] == "不要"
    assert new.loc["dormant:Z:20230110", ["status", "memo"]].tolist() == ["完了", "DM送付"]
    assert counts["closed"] == 2
    # run again with the same input: nothing changes (idempotent)
    again, counts2 = followup.refresh(new.reset_index(), later, D("2024-06-16 10:00"), staff_list=["佐藤"])
    pd.testing.assert_frame_equal(again, new.reset_index()[again.columns])
    assert counts2["new"] == 0 and counts2["closed"] == 0
    # a closed row whose reason comes back is not reopened
    back, _ = followup.refresh(again, gen(), D("2024-06-17 09:00"))
    assert back.set_index("follow_id").loc["f2:B:1", "status"] == "不要"


def test_open_rows_close_with_rule_off_note_when_a_rule_is_switched_off():
    lst, _ = first_list()
    raw = followup.default_rules()
    raw.loc[raw["rule"].eq("birthday"), "enabled"] = False
    raw.index = range(2, 2 + len(raw))
    rules = followup.parse_rules(raw)
    new, _ = followup.refresh(lst, gen(rules=rules), D("2024-06-16 09:00"), rules=rules)
    row = new.set_index("follow_id").loc["birthday:BD:2024"]
    assert row["status"] == "不要" and row["memo"].startswith("ルール停止のため自動終了")


def test_completed_rows_go_to_contact_history_once():
    lst, _ = first_list()
    lst.loc[lst["follow_id"].eq("dormant:Z:20230110"), ["status", "memo"]] = ["完了", "DM送付済"]
    cons = shop()[2]
    names = {r: v.name for r, v in followup.parse_rules(None).items()}
    new, lst2 = followup.completed_contacts(lst, cons, D("2024-06-16 17:00"), rule_names=names)
    assert len(new) == 1
    r = new.iloc[0]
    assert (r["contact_id"], r["customer_id"], r["type"], r["status"]) == ("R000003", "Z", "フォロー", "完了")
    assert "休眠顧客の掘り起こし" in r["summary"] and "DM送付済" in r["summary"]
    assert lst2.set_index("follow_id").loc["dormant:Z:20230110", "contact_ref"] == "R000003"
    cons2 = pd.concat([cons, new], ignore_index=True)
    again, lst3 = followup.completed_contacts(lst2, cons2, D("2024-06-17 17:00"))
    assert again.empty
    # and a refresh keeps the marker
    lst4, _ = followup.refresh(lst3, gen(), D("2024-06-17 09:00"))
    assert lst4.set_index("follow_id").loc["dormant:Z:20230110", "contact_ref"] == "R000003"


def test_open_list_is_sorted_for_monday_morning():
    lst, _ = first_list()
    lst.loc[lst["follow_id"].eq("thanks:A:first"), "status"] = "完了"
    new, _ = followup.refresh(lst, gen(), D("2024-06-15 10:00"))
    open_rows = new[new["status"].isin(followup.OPEN)]
    assert list(new["status"].iloc[len(open_rows):]) == ["完了"]
    assert open_rows["priority"].is_monotonic_increasing
    assert open_rows["rule"].iloc[0] in ("winback", "complaint")


def test_campaign_over_an_existing_list_tags_treated_rows_and_closes_the_control_groups():
    lst, _ = first_list()
    gen_all = gen()
    camp = gen_all[gen_all["rule"].isin(["dormant", "prospect"])]
    treated, control = camp[camp["customer_id"].eq("Z")], {"P"}
    new, counts = followup.refresh(lst, treated, D("2024-06-16 09:00"), campaign_id="CP1", held_out=control,
                                      scope=("dormant", "prospect"))
    new = new.set_index("follow_id")
    assert new.loc["dormant:Z:20230110", "campaign_id"] == "CP1"
    assert new.loc["prospect:P:20240516", "status"] == "不要"
    assert new.loc["prospect:P:20240516", "memo"].startswith("キャンペーンの対照群のため連絡しない")
    # rows of other rules are not touched by a campaign run
    assert new.loc["f2:B:1", "status"] == "未着手" and new.loc["f2:B:1", "campaign_id"] == ""
    assert counts["closed"] == 1


def test_a_subscriber_whose_latest_order_is_not_subscription_gets_no_reminder():
    cust, ords, cons, rfm, lapse = shop()
    extra = orders([("o99", "S", "2024-06-01", 3000, None)])
    ords = pd.concat([ords, extra], ignore_index=True)
    got = followup.candidates(cust, ords, cons, rfm, lapse, followup.parse_rules(None), AS_OF, only=("subscription",))
    assert got.empty


def test_f2_push_counts_order_days_not_order_lines():
    cust, ords, cons, rfm, lapse = shop()
    # B's first basket came as two orders the same day: RFM says frequency 2, but it is still one purchase
    ords = pd.concat([ords, orders([("o2x", "B", "2024-05-21", 900, None)])], ignore_index=True)
    rfm.loc[rfm.customer_id.eq("B"), "frequency"] = 2
    got = followup.candidates(cust, ords, cons, rfm, lapse, followup.parse_rules(None), AS_OF, only=("f2",))
    assert list(got["customer_id"]) == ["B"]
