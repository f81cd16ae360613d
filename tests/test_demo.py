"""The demo data: messy as staff type it, yet every value parses; deterministic; planted duplicates and traps
are where the ground truth says; orders follow a repeat-purchase rhythm."""
import datetime as dt
import re
import unicodedata

import pandas as pd
import pytest

from xlcrm import schema
from xlcrm.demo import PRODUCTS, demo_truth, make_demo

AS_OF = "2026-06-30"
N = 3000


def rows(df: pd.DataFrame) -> pd.DataFrame:
    """As read from a sheet: index = Excel row numbers under the header row."""
    return df.set_axis(range(2, len(df) + 2))


@pytest.fixture(scope="module")
def raw():
    return make_demo(N, seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def typed(raw):
    c = schema.conform(rows(raw["customers"]), "customers")
    o = schema.conform(rows(raw["orders"]), "orders")
    k = schema.conform(rows(raw["contacts"]), "contacts")
    return c, o, k


@pytest.fixture(scope="module")
def truth():
    return demo_truth(N, seed=7, as_of=AS_OF)


def fold(s: str) -> str:
    """Width, case, spaces and hiragana folded: enough to compare two spellings of one reading or number."""
    s = unicodedata.normalize("NFKC", str(s)).lower()
    s = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in s)
    return re.sub(r"\s", "", s)


def digits(s) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", str(s)))


def test_headers_are_the_schema_japanese_headers(raw):
    for key, t in (("customers", schema.CUSTOMERS), ("orders", schema.ORDERS), ("contacts", schema.CONTACTS)):
        assert list(raw[key].columns) == [c.ja for c in t.columns]


def test_every_table_conforms_and_references_resolve(typed):
    c, o, k = typed
    assert len(c) == N
    schema.check_references(c, o, "注文")
    schema.check_references(c, k, "対応履歴")
    assert c["registered_on"].notna().all() and o["order_date"].notna().all() and k["at"].notna().all()
    assert o["amount"].notna().all()


def test_values_come_in_the_messy_forms_staff_type(raw):
    cu, od = raw["customers"], raw["orders"]
    as_text = lambda col: col.map(lambda v: v if isinstance(v, str) else "")
    reg = cu["登録日"]
    assert reg.map(lambda v: isinstance(v, int)).any()                        # Excel serial
    assert reg.map(lambda v: isinstance(v, dt.datetime)).any()                # a date cell
    assert as_text(reg).str.match(r"^令和(元|\d+)年").any()
    assert as_text(reg).str.match(r"^R\d+\.\d+\.\d+$").any()
    assert as_text(reg).str.contains(r"[０-９]").any()
    assert as_text(cu["生年月日"]).str.match(r"^(昭和|S)").any()
    amount = as_text(od["金額"])
    for pattern in (r"^¥[\d,]+$", r"^[\d]+円$", r"^[０-９]+$", r"^\d{1,3}(,\d{3})+$"):
        assert amount.str.match(pattern).any(), pattern
    phone = pd.concat([cu["電話番号"], cu["携帯電話"]])
    text = as_text(phone)
    for pattern in (r"^0\d{1,3}-\d{2,4}-\d{4}$", r"^0\d{9,10}$", r"^０", r"^\(0\d+\)", r"^\+81 ", r"^0\d+ \d+ \d+$"):
        assert text.str.match(pattern).any(), pattern
    assert phone.map(lambda v: isinstance(v, int)).any()                      # a number cell lost its 0
    pc = cu["郵便番号"]
    assert pc.str.match(r"^\d{3}-\d{4}$").any() and pc.str.match(r"^\d{7}$").any() and pc.str.startswith("〒").any()
    kana = cu["フリガナ"]
    assert kana.str.contains(r"[ぁ-ゖ]").any() and kana.str.contains(r"[ｦ-ﾟ]").any() and kana.eq("").any()
    assert cu["氏名"].str.contains("髙|﨑|齋|齊|邊|邉").any()
    assert cu["住所"].str.contains("丁目").any() and cu["住所"].str.contains(r"\d+-\d+-\d+").any()
    assert cu["住所"].str.contains("[一二三四五六七八九]丁目").any()
    mail = cu["メール"]
    assert mail.str.contains("[A-Z]").any() and mail.str.contains(" ").any()
    assert set(cu["DM可否"]) >= {"可", "不可", "○", "×", ""}


def test_same_seed_same_frames_other_seed_other_frames():
    a, b = make_demo(300, seed=3, as_of=AS_OF), make_demo(300, seed=3, as_of=AS_OF)
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    c = make_demo(300, seed=4, as_of=AS_OF)
    assert not a["customers"].equals(c["customers"])
    pd.testing.assert_frame_equal(demo_truth(300, seed=3), demo_truth(300, seed=3))


def test_dates_run_about_three_years_up_to_as_of(typed):
    c, o, k = typed
    end = pd.Timestamp(AS_OF)
    assert o["order_date"].max() <= end and k["at"].max() < end + pd.Timedelta(days=1)
    assert c["registered_on"].max() <= end
    assert pd.Timedelta(days=2.5 * 365) < end - o["order_date"].min() < pd.Timedelta(days=3.2 * 365)
    assert o["order_date"].max() > end - pd.Timedelta(days=7)


def test_prospects_have_no_orders_and_are_a_fifth_or_so(typed):
    c, o, _ = typed
    prospects = set(c.loc[c["kind"] == "見込み", "customer_id"])
    assert 0.12 < len(prospects) / len(c) < 0.28
    assert not prospects & set(o["customer_id"])
    buyers = set(c.loc[c["kind"] == "顧客", "customer_id"])
    assert buyers == set(o["customer_id"])  # every customer marked 顧客 has bought


def test_leading_zero_postcodes_survive_as_text(typed):
    c, _, _ = typed
    hokkaido = c[c["prefecture"].eq("北海道") | c["address"].str.startswith("北海道")]
    assert len(hokkaido) > 20
    pcs = hokkaido["postcode"].map(digits)
    assert pcs.str.fullmatch(r"0\d{6}").all()


def test_planted_duplicates_are_three_to_five_percent_and_findable(typed, truth):
    c, _, _ = typed
    dup = truth[truth["relation"] == "duplicate"]
    second_records = set(dup["id_b"])
    assert 0.03 * N <= len(second_records) <= 0.05 * N
    assert dup["same_person"].all() and (~truth.loc[truth["relation"] != "duplicate", "same_person"]).all()
    by_id = c.set_index("customer_id")
    kinds = set()
    for a_id, b_id, how in dup[["id_a", "id_b", "variants"]].itertuples(index=False):
        a, b = by_id.loc[a_id], by_id.loc[b_id]
        kinds.update(how.split(","))
        assert a_id != b_id
        phones_a = {digits(x)[-8:] for x in (a["phone"], a["mobile"]) if x}
        phones_b = {digits(x)[-8:] for x in (b["phone"], b["mobile"]) if x}
        given_a, given_b = fold(a["kana"]), fold(b["kana"])
        if how == "married":
            assert a["birth_date"] == b["birth_date"] and phones_a & phones_b
            assert a["name"][-1] == b["name"][-1]  # same given name, other surname
        else:
            # the second record is the same person typed differently: one phone number in common
            assert phones_a & phones_b, (a_id, b_id, how)
            if given_a and given_b:
                assert given_a == given_b
    assert kinds == {"width", "kana", "itaiji", "phone", "address", "old_email", "married"}


def test_traps_look_alike_but_are_other_people(typed, truth):
    c, _, _ = typed
    by_id = c.set_index("customer_id")
    nospace = lambda s: re.sub(r"\s", "", s)
    seen = set()
    for a_id, b_id, rel in truth.loc[~truth["same_person"], ["id_a", "id_b", "relation"]].itertuples(index=False):
        a, b = by_id.loc[a_id], by_id.loc[b_id]
        seen.add(rel)
        if rel == "household":
            assert nospace(a["name"]) != nospace(b["name"])  # another family member
        elif rel == "same_name":
            assert nospace(a["name"]) == nospace(b["name"])
            assert a["birth_date"] != b["birth_date"] or pd.isna(a["birth_date"]) or pd.isna(b["birth_date"])
        else:
            assert {nospace(a["name"])[:2], nospace(b["name"])[:2]} == {"伊藤", "伊東"}
            assert nospace(a["name"])[2:] == nospace(b["name"])[2:]
    assert seen == {"household", "same_name", "same_kana"}


def test_households_share_address_and_landline(raw, truth):
    cu = raw["customers"].set_index("顧客ID")
    house = truth[truth["relation"] == "household"]
    assert len(house) > 0.02 * N
    for a_id, b_id in house[["id_a", "id_b"]].itertuples(index=False):
        a, b = cu.loc[a_id], cu.loc[b_id]
        assert digits(a["電話番号"])[-8:] == digits(b["電話番号"])[-8:] != ""
        assert digits(a["郵便番号"]) == digits(b["郵便番号"])


def test_orders_follow_a_repeat_purchase_rhythm(typed):
    _, o, _ = typed
    o = o.sort_values(["customer_id", "order_date"])
    per_customer = o.groupby("customer_id").size()
    assert 0.2 < (per_customer == 1).mean() < 0.5           # one-time buyers (the F2 problem)
    assert (per_customer >= 10).mean() > 0.1                 # long-lived subscribers
    sub = o[o["subscription"].fillna(False).astype(bool) & (o["amount"] > 0)]
    gaps = sub.groupby("customer_id")["order_date"].diff().dt.days.dropna()
    share_on_cycle = (gaps.between(26, 34) | gaps.between(41, 49) | gaps.between(56, 64)).mean()
    assert share_on_cycle > 0.95
    first = o.groupby("customer_id").head(1)
    trial_prices = {p[2] for p in PRODUCTS}
    assert first["amount"].isin(trial_prices).mean() > 0.5   # 初回 discounted
    assert first["amount"].between(980, 1980).mean() > 0.5
    later = o[~o.index.isin(first.index) & (o["amount"] > 0)]
    assert later["amount"].median() >= 3000
    assert (o["amount"] < 0).any()                           # a few returns
    assert set(o["channel"]) <= {"EC", "電話", "店舗", "SNS", "紹介", "LINE"}


def test_some_customers_churned_and_some_cancelled(typed):
    _, o, _ = typed
    end = pd.Timestamp(AS_OF)
    last = o.groupby("customer_id")["order_date"].max()
    assert (last < end - pd.Timedelta(days=365)).mean() > 0.05
    assert (last > end - pd.Timedelta(days=45)).mean() > 0.2


def test_contacts_are_plausible(typed):
    c, o, k = typed
    assert set(k["type"]) == set(schema.CONTACT_TYPES)
    assert set(k["status"]) == set(schema.CONTACT_STATUS)
    reg = c.set_index("customer_id")["registered_on"]
    assert (k["at"].dt.normalize() >= k["customer_id"].map(reg)).all()
    old = k[k["at"] < pd.Timestamp(AS_OF) - pd.Timedelta(days=60)]
    assert (old["status"] == "完了").mean() > 0.9
    recent = k[k["at"] > pd.Timestamp(AS_OF) - pd.Timedelta(days=14)]
    assert (recent["status"] != "完了").mean() > 0.3
    timed = k["at"] != k["at"].dt.normalize()  # some rows were typed as a date only
    assert k.loc[timed, "at"].dt.hour.between(9, 17).all() and timed.mean() > 0.8
    complaints = k[k["type"] == "クレーム"]
    assert complaints["customer_id"].isin(set(o["customer_id"])).all()


@pytest.mark.slow
def test_a_hundred_thousand_customers_conform():
    d = make_demo(100_000, seed=1, as_of=AS_OF)
    c = schema.conform(rows(d["customers"]), "customers")
    o = schema.conform(rows(d["orders"]), "orders")
    schema.check_references(c, o, "注文")
    assert len(c) == 100_000 and len(o) > 250_000
