"""Surveys, referrals, sales pipeline and step mails: xlcrm (pandas) vs DuckDB SQL on the same in-memory 顧客 /
注文 / 対応履歴, same run — and the two must give the same numbers (checked below; exit 1 on a mismatch).

    python benchmarks/bench_relations.py            # 500,000 customers / 5,000,000 orders / 1,000,000 contacts
    python benchmarks/bench_relations.py --small    # 100,000 / 1,000,000 / 200,000
    python benchmarks/bench_relations.py --large    # 1,000,000 / 10,000,000 / 2,000,000 (about 4 min on 2 cores)

The default is the largest size that runs in about 2 minutes on 2 cores (2 GB; --large needs 3.7 GB). The scored
(RFM segment) and lapse frames surveys.build takes are random labels per buyer: their own cores are benchmarked in
bench_rfm.py. Each module is timed on its own; the DuckDB side materialises what several of its queries share.

Shared definitions (the modules' docstrings): purchases are order rows with a positive amount on or before the
as-of day, counted by distinct day; revenue is net of returns (of the generated orders 2% are returns, 0.5% ¥0).
- surveys.build: a response is a scored アンケート / レビュー row; each customer's latest answer (by 日時, then
  対応ID) goes into the by-segment and by-status tables; low = score <= 2, high = score >= 4.
- referrals.build: F2 = a second purchase day within 90 days of the first, over customers whose first purchase is
  at least 90 days old; 紹介者ID always names an earlier customer here, so there are no cycles.
- pipeline.build: stage rows sorted by day, 日時, sheet row; an implied 成約 on the first order's day after the
  day's rows when the latest stage up to that day is not 成約; a new deal starts at an open stage after a closed
  one; the current stage is the latest; the owner is the latest named 担当者 of the deal, else the customer's.
- steps.progress: the default F2 chain (初回購入: days 3 / 14 / 25) and a 登録 chain (days 1 / 7), ended 30 days
  after the last step; where each customer stands (state and current step).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench_rfm_data import median_time, orders_frame  # noqa: E402
from xlcrm import pipeline as pl  # noqa: E402
from xlcrm import referrals as rf  # noqa: E402
from xlcrm import steps as st  # noqa: E402
from xlcrm import surveys as sv  # noqa: E402
from xlcrm.lapse import STATUS, STATUS_EN  # noqa: E402
from xlcrm.schema import SFA_STAGES  # noqa: E402

AS_OF = "2024-02-01"
END = "DATE '2024-02-02'"                       # rows before the day after as-of
F2_DAYS, PERIOD, STALL, SURVEY_DAYS, LAST_DAYS = 90, 365, 30, 90, 30
STAFF = np.array(["佐藤", "鈴木", "高橋", "田中", ""], dtype=object)
SEGMENTS = np.array(["優良", "安定", "新規", "離反予備軍", "休眠"], dtype=object)
TYPES = np.array(["アンケート", "レビュー", "商談", "電話", "メール"], dtype=object)


def make_data(n_c: int, n_o: int, n_k: int, seed: int = 3):
    """(customers, orders, contacts) as the book's readers return them (English keys, conformed dtypes)."""
    rng = np.random.default_rng(seed)
    orders = orders_frame(n_c, n_o, seed=1)
    u = rng.random(n_o)                           # returns (negative) and ¥0 rows (samples): no purchase
    orders["amount"] = np.where(u < 0.02, -orders["amount"], np.where(u < 0.025, 0.0, orders["amount"]))
    n_all = n_c + n_c // 10                       # a tenth are prospects without orders
    ids = np.array([f"C{i:07d}" for i in range(n_all)], dtype=object)
    ref = np.full(n_all, "", dtype=object)
    who = np.flatnonzero(rng.random(n_all) < 0.2)
    who = who[who > 0]
    ref[who] = ids[(rng.random(len(who)) * who).astype(np.int64)]   # always an earlier customer: no cycles
    reg = (np.datetime64("2020-01-01") + rng.integers(0, 1500, n_all).astype("timedelta64[D]"))
    customers = pd.DataFrame({"customer_id": pd.array(ids, dtype="str"),
                              "name": pd.array(np.char.add("顧客", np.arange(n_all).astype(str)).astype(object),
                                               dtype="str"),
                              "staff": pd.array(STAFF[rng.integers(0, len(STAFF), n_all)], dtype="str"),
                              "referrer_id": pd.array(ref, dtype="str"),
                              "registered_on": reg.astype("datetime64[ns]")})
    kind = TYPES[rng.choice(len(TYPES), n_k, p=[0.3, 0.15, 0.35, 0.1, 0.1])]
    survey = np.isin(kind, ["アンケート", "レビュー"])
    score = rng.integers(1, 6, n_k).astype(float)
    score[survey & (rng.random(n_k) < 0.1)] = np.nan        # unscored survey rows
    score[~survey & (rng.random(n_k) > 0.05)] = np.nan      # a few scores on other 種別 (ignored)
    stage = np.full(n_k, "", dtype=object)
    staged = (kind == "商談") | ((kind == "電話") & (rng.random(n_k) < 0.1))
    stage[staged] = np.array(SFA_STAGES, dtype=object)[rng.choice(5, staged.sum(), p=[.3, .25, .2, .15, .1])]
    # hour resolution: ties within a customer happen, so the tie-breaks (対応ID, sheet row) matter
    at = np.datetime64("2022-01-01T00", "h") + rng.integers(0, 2 * 365 * 24 + 60 * 24, n_k).astype("timedelta64[h]")
    cid = np.array([f"K{i:08d}" for i in range(n_k)], dtype=object)
    rng.shuffle(cid)                              # 対応ID order differs from row order
    contacts = pd.DataFrame({"contact_id": pd.array(cid, dtype="str"),
                             "customer_id": pd.array(ids[rng.integers(0, n_all, n_k)], dtype="str"),
                             "at": at.astype("datetime64[ns]"), "type": pd.array(kind, dtype="str"),
                             "score": score, "stage": pd.array(stage, dtype="str"),
                             "staff": pd.array(STAFF[rng.integers(0, len(STAFF), n_k)], dtype="str")},
                            index=pd.RangeIndex(2, n_k + 2))            # sheet rows
    return customers, orders, contacts


# --- surveys -----------------------------------------------------------------------------------------------------

SURVEYS_SQL = f"""
CREATE OR REPLACE TEMP TABLE resp AS SELECT * FROM contacts
  WHERE type IN ('アンケート', 'レビュー') AND score IS NOT NULL AND NOT isnan(score) AND ts < {END}
    AND customer_id IN (SELECT customer_id FROM customers);
CREATE OR REPLACE TEMP TABLE latest AS
  SELECT customer_id, arg_max(score, (ts, contact_id)) AS score FROM resp GROUP BY 1;
CREATE OR REPLACE TEMP TABLE early AS
  SELECT customer_id, arg_max(score, (ts, contact_id)) AS score FROM resp
  WHERE ts < DATE '{AS_OF}' - INTERVAL {SURVEY_DAYS} DAY + INTERVAL 1 DAY GROUP BY 1"""
SV_STATS = "avg(score) AS average, avg((score <= 2)::INT) AS low_share, avg((score >= 4)::INT) AS high_share"
SURVEYS_Q = {
    "overall": f"""SELECT coalesce(type, '') AS key, count(*) AS answers, count(DISTINCT customer_id) AS respondents,
                   {SV_STATS} FROM resp GROUP BY GROUPING SETS ((), (type))""",
    "by_segment": f"""SELECT coalesce(s.segment_ja, '') AS key, count(*) AS respondents, {SV_STATS}
                      FROM latest LEFT JOIN scored s USING (customer_id) GROUP BY 1""",
    "by_status": f"""SELECT coalesce(s.status, '') AS key, count(*) AS respondents, {SV_STATS}
                     FROM latest LEFT JOIN lapse s USING (customer_id) GROUP BY 1""",
    "monthly": f"SELECT strftime(ts, '%Y-%m') AS key, count(*) AS answers, {SV_STATS} FROM resp GROUP BY 1",
    "low_lapse": """SELECT CASE WHEN score <= 2 THEN 'low' WHEN score >= 4 THEN 'high' ELSE 'middle' END AS key,
                    count(*) AS customers, count(*) FILTER (WHERE status IN ('離脱', '休眠')) AS lapsed
                    FROM early JOIN lapse USING (customer_id) GROUP BY 1""",
}


def surveys_ours(customers, contacts, scored, lapse, scale):
    d = sv.build(customers, contacts, scored, lapse, AS_OF, scale, days=SURVEY_DAYS)
    out = {k: d[k].drop(columns="nps") for k in ("overall", "by_segment", "by_status", "monthly")}   # 0–10 only
    return {**out, "low_lapse": d["low_lapse"]["table"][["customers", "lapsed"]]}


# --- referrals ---------------------------------------------------------------------------------------------------

REFERRALS_SQL = f"""
CREATE OR REPLACE TEMP TABLE fx AS
WITH o AS (SELECT * FROM orders WHERE order_date < {END}),
     rev AS (SELECT customer_id, sum(amount) AS revenue FROM o GROUP BY 1),
     d AS (SELECT DISTINCT customer_id, order_date::DATE AS day FROM o WHERE amount > 0),
     n AS (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS k FROM d),
     p AS (SELECT customer_id, count(*) AS days, min(day) FILTER (WHERE k = 1) AS first,
                  min(day) FILTER (WHERE k = 2) AS second FROM n GROUP BY 1)
SELECT c.customer_id, c.referrer_id, c.referrer_id <> '' AS referred, coalesce(p.days, 0) AS days,
       coalesce(rev.revenue, 0) AS revenue, coalesce(p.days, 0) >= 1 AS bought, coalesce(p.days, 0) >= 2 AS rep,
       coalesce(p.first <= DATE '{AS_OF}' - INTERVAL {F2_DAYS} DAY, false) AS f2_due,
       coalesce(p.second - p.first <= {F2_DAYS}, false) AS f2
FROM customers c LEFT JOIN p USING (customer_id) LEFT JOIN rev USING (customer_id)"""
REFERRALS_Q = {
    "compare": """SELECT CASE WHEN referred THEN 'referred' ELSE 'other' END AS key, count(*) AS customers,
                  count(*) FILTER (WHERE bought) AS buyers, count(*) FILTER (WHERE f2_due) AS f2_base,
                  count(*) FILTER (WHERE f2_due AND f2) AS f2, count(*) FILTER (WHERE bought AND rep) AS repeaters,
                  sum(revenue) AS revenue FROM fx GROUP BY 1""",
    "referrers": """SELECT r.referrer_id AS key, count(*) AS referred, count(*) FILTER (WHERE r.bought) AS bought,
                    count(*) FILTER (WHERE r.f2) AS f2, sum(r.revenue) AS revenue, any_value(me.revenue) AS own_revenue
                    FROM fx r JOIN fx me ON me.customer_id = r.referrer_id WHERE r.referred GROUP BY 1""",
}


def referrals_ours(customers, orders):
    d = rf.build(customers, orders, AS_OF, f2_days=F2_DAYS)
    cmp = d["compare"][["customers", "buyers", "f2_base", "f2", "repeaters", "revenue"]]
    return {"compare": cmp, "referrers": d["referrers"].set_index("customer_id").drop(columns="name")}


# --- pipeline ----------------------------------------------------------------------------------------------------

PIPELINE_SQL = f"""
CREATE OR REPLACE TEMP TABLE deals AS
WITH c AS (SELECT customer_id, ts, ts::DATE AS day, stage, trim(coalesce(staff, '')) AS staff, row, 0 AS implied
           FROM contacts WHERE stage <> '' AND ts IS NOT NULL AND ts < {END}),
     fo AS (SELECT customer_id, min(order_date)::DATE AS first FROM orders
            WHERE amount > 0 AND order_date < {END} GROUP BY 1),
     lb AS (SELECT customer_id, arg_max(stage, (day, ts, row)) AS stage, any_value(first) AS first
            FROM c JOIN fo USING (customer_id) WHERE c.day <= fo.first GROUP BY 1),
     h AS (SELECT * FROM c UNION ALL
           SELECT customer_id, first::TIMESTAMP, first, '成約', '', -1, 1 FROM lb WHERE stage <> '成約'),
     w AS (SELECT *, lag(stage) OVER win AS prev, row_number() OVER win AS k FROM h
           WINDOW win AS (PARTITION BY customer_id ORDER BY day, implied, ts, row)),
     s AS (SELECT *, prev IS NULL OR (stage NOT IN ('成約', '失注') AND prev IN ('成約', '失注')) AS new_deal FROM w),
     r AS (SELECT *, sum(new_deal::INT) OVER (PARTITION BY customer_id ORDER BY k) AS deal,
                  new_deal OR stage <> prev AS run_start FROM s),
     g AS (SELECT customer_id, deal, arg_max(stage, k) AS stage, max(day) FILTER (WHERE run_start) AS since,
                  arg_max(staff, k) FILTER (WHERE staff <> '') AS named,
                  max(CASE stage WHEN '問い合わせ' THEN 0 WHEN '提案' THEN 1 WHEN '見積' THEN 2 END) AS far_open,
                  min(day) FILTER (WHERE stage = '問い合わせ') AS inquiry FROM r GROUP BY 1, 2)
SELECT g.customer_id, deal, stage, since, DATE '{AS_OF}' - since AS days, stage NOT IN ('成約', '失注') AS open,
       CASE WHEN stage IN ('成約', '失注') THEN stage ELSE '' END AS outcome,
       CASE WHEN stage IN ('成約', '失注') THEN since END AS closed_on,
       CASE WHEN stage = '成約' THEN 3 ELSE coalesce(far_open, 0) END AS far,
       CASE WHEN stage = '成約' THEN since - inquiry END AS days_to_win,
       coalesce(named, nullif(trim(cu.staff), ''), '') AS owner,
       deal = max(deal) OVER (PARTITION BY g.customer_id) AS latest
FROM g LEFT JOIN customers cu USING (customer_id)"""
SCOPE = f"(open OR closed_on > DATE '{AS_OF}' - INTERVAL {PERIOD} DAY)"
CLOSED_IN = f"(NOT open AND closed_on > DATE '{AS_OF}' - INTERVAL {PERIOD} DAY)"
PIPELINE_Q = {
    "current": """SELECT customer_id AS key, stage, since::TIMESTAMP AS since, days, open, owner FROM deals
                  WHERE latest""",
    "by_staff": f"""SELECT coalesce(owner, '*') AS key,
        count(*) FILTER (WHERE open AND stage = '問い合わせ') AS "問い合わせ",
        count(*) FILTER (WHERE open AND stage = '提案') AS "提案",
        count(*) FILTER (WHERE open AND stage = '見積') AS "見積", count(*) FILTER (WHERE open) AS open,
        count(*) FILTER (WHERE {CLOSED_IN} AND outcome = '成約') AS won,
        count(*) FILTER (WHERE {CLOSED_IN} AND outcome = '失注') AS lost,
        avg(days_to_win) FILTER (WHERE {CLOSED_IN}) AS avg_days_to_win,
        count(*) FILTER (WHERE open AND days >= {STALL}) AS stalled
        FROM deals WHERE {SCOPE} GROUP BY GROUPING SETS ((owner), ())""",
    "funnel": f"""SELECT s.stage AS key, count(*) FILTER (WHERE far >= s.r) AS reached,
        count(*) FILTER (WHERE far > s.r) AS moved_on,
        count(*) FILTER (WHERE outcome = '失注' AND far = s.r) AS lost,
        count(*) FILTER (WHERE open AND d.stage = s.stage) AS open_now
        FROM (VALUES ('問い合わせ', 0), ('提案', 1), ('見積', 2), ('成約', 3)) s(stage, r), deals d
        WHERE {SCOPE} GROUP BY s.stage""",
}


def pipeline_ours(customers, orders, contacts):
    d = pl.build(customers, orders, contacts, AS_OF, period_days=PERIOD, stall_days=STALL)
    bs = d["by_staff"].drop(columns="win_rate")
    fn = d["funnel"].set_index("stage").drop(columns="conversion")
    fn.loc["成約", "moved_on"] = 0                  # None for the last stage; SQL counts 0 deals beyond 成約
    return {"current": d["current"].set_index("customer_id"), "by_staff": bs, "funnel": fn.astype(np.int64)}


# --- steps -------------------------------------------------------------------------------------------------------

def chains():
    extra = pd.DataFrame([{"chain": "P", "step": 1.0, "trigger": "登録", "days": 1.0, "name": "ご挨拶",
                           "channels": "メール", "kind": "案内"},
                          {"chain": "P", "step": 2.0, "trigger": "登録", "days": 7.0, "name": "初回クーポン",
                           "channels": "メール", "coupon": "W-{顧客ID}", "kind": "販促"}])
    df = pd.concat([st.default_steps(), extra], ignore_index=True)
    df["enabled"] = df["enabled"].fillna(True).astype("boolean")
    return st.parse_steps(df)


def steps_sql(chs) -> str:
    parts = []
    for c in chs.values():
        days = [s.days for s in c.steps]
        end = days[-1] + LAST_DAYS
        cur = "CASE " + " ".join(f"WHEN age >= {s.days} THEN {s.n}" for s in reversed(c.steps)) + " ELSE 0 END"
        if c.trigger == "初回購入":
            src = """SELECT customer_id, min(day) FILTER (WHERE k = 1) AS trig, min(day) FILTER (WHERE k = 2) AS stop
                     FROM pdn GROUP BY 1"""
        else:
            src = f"""SELECT c.customer_id, any_value(c.registered_on::DATE) AS trig,
                             min(pd.day) FILTER (WHERE pd.day >= c.registered_on::DATE) AS stop
                      FROM customers c LEFT JOIN pd USING (customer_id) WHERE c.registered_on <= DATE '{AS_OF}'
                      GROUP BY 1 HAVING NOT coalesce(min(pd.day) < any_value(c.registered_on), false)"""
        parts.append(f"""SELECT '{c.chain}' AS chain, {cur} AS current,
            CASE WHEN stop - trig <= {end} THEN 'stopped' WHEN age > {end} THEN 'finished'
                 WHEN age >= {days[0]} THEN 'active' ELSE 'waiting' END AS state, count(*) AS customers,
            sum(age) AS age_sum
            FROM (SELECT *, DATE '{AS_OF}' - trig AS age FROM ({src})) GROUP BY ALL""")
    return f"""WITH pd AS (SELECT DISTINCT customer_id, order_date::DATE AS day FROM orders
                           WHERE order_date <= DATE '{AS_OF}' AND amount > 0),
                    pdn AS (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS k FROM pd)
               """ + " UNION ALL ".join(parts)


def steps_ours(chs, customers, orders):
    p = st.progress(chs, customers, orders, AS_OF, last_days=LAST_DAYS)
    g = p.groupby(["chain", "current", "state"])["age"].agg(customers="size", age_sum="sum")
    return {"progress": g}


# --- comparing ---------------------------------------------------------------------------------------------------

def same(ours: pd.DataFrame, ref: pd.DataFrame, what: str) -> bool:
    """Same rows (keys) and, column by column, equal counts / dates and floats equal to 1e-9."""
    ref = ref.loc[:, list(ours.columns)]
    if set(map(str, ours.index)) != set(map(str, ref.index)):
        print(f"  {what}: keys differ: only xlcrm {sorted(set(ours.index) - set(ref.index))[:5]}, "
              f"only DuckDB {sorted(set(ref.index) - set(ours.index))[:5]}")
        return False
    ref = ref.loc[ours.index]
    ok = True
    for col in ours.columns:
        a, b = ours[col], ref[col]
        if pd.api.types.is_datetime64_any_dtype(a) or pd.api.types.is_datetime64_any_dtype(b):
            eq = (a.astype("datetime64[ns]").to_numpy() == b.astype("datetime64[ns]").to_numpy()) | (a.isna().to_numpy()
                                                                                                  & b.isna().to_numpy())
        elif pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            eq = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True)
        else:
            eq = (a.fillna("").astype(str).to_numpy() == b.fillna("").astype(str).to_numpy())
        if not eq.all():
            bad = np.flatnonzero(~eq)
            print(f"  {what}.{col}: {len(bad)} rows differ, e.g. {ours.index[bad[0]]}: xlcrm {a.iloc[bad[0]]!r} "
                  f"vs DuckDB {b.iloc[bad[0]]!r}")
            ok = False
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="100k customers / 1M orders / 200k contacts")
    ap.add_argument("--large", action="store_true", help="1M customers / 10M orders / 2M contacts")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_c = 100_000 if args.small else 1_000_000 if args.large else 500_000
    n_o, n_k = 10 * n_c, 2 * n_c
    t0 = time.perf_counter()
    customers, orders, contacts = make_data(n_c, n_o, n_k)
    rng = np.random.default_rng(4)
    buyers = orders["customer_id"].unique()
    scored = pd.DataFrame({"customer_id": buyers, "segment_ja": SEGMENTS[rng.integers(0, len(SEGMENTS), len(buyers))]})
    code = rng.integers(0, len(STATUS), len(buyers))
    lapse = pd.DataFrame({"customer_id": buyers, "status": np.array(STATUS, dtype=object)[code],
                          "status_en": np.array(STATUS_EN, dtype=object)[code]})
    scale = sv.make_scale("1-5")
    chs = chains()
    print(f"data: {len(customers):,} customers ({n_c:,} with orders) / {n_o:,} orders / {n_k:,} contacts; "
          f"{os.cpu_count()} cores, duckdb {duckdb.__version__}, pandas {pd.__version__}; "
          f"generated in {time.perf_counter() - t0:.0f} s")
    con = duckdb.connect()
    for name, df in (("customers", customers), ("orders", orders), ("scored", scored), ("lapse", lapse)):
        con.register(name, df)
    con.register("contacts", contacts.rename(columns={"at": "ts"}).assign(row=contacts.index.to_numpy()))  # AT: keyword
    import scipy.stats  # noqa: F401  (surveys imports it lazily: keep the 2 s import out of the timings)
    import statsmodels.stats.proportion  # noqa: F401  (the same for referrals)

    def sql(setup, queries):
        def run():
            if setup:
                con.execute(setup)
            return {k: con.sql(q).df().set_index("key") for k, q in queries.items()}
        return run

    cases = [
        ("surveys", "surveys.build (overall, by segment/status, monthly, low→lapse)",
         lambda: surveys_ours(customers, contacts, scored, lapse, scale), sql(SURVEYS_SQL, SURVEYS_Q)),
        ("referrals", "referrals.build (links, facts, compare, referrers)",
         lambda: referrals_ours(customers, orders), sql(REFERRALS_SQL, REFERRALS_Q)),
        ("pipeline", "pipeline.build (history, deals, current, by staff, funnel)",
         lambda: pipeline_ours(customers, orders, contacts), sql(PIPELINE_SQL, PIPELINE_Q)),
        ("steps", "steps.progress (where customers stand, 2 chains)",
         lambda: steps_ours(chs, customers, orders),
         lambda: {"progress": con.sql(steps_sql(chs)).df().set_index(["chain", "current", "state"])}),
    ]
    rows, all_ok = [], True
    for name, label, ours, ref in cases:
        t_ours, a = median_time(ours, args.repeat)
        t_sql, b = median_time(ref, args.repeat)
        ok = all([same(a[k], b[k], f"{name}.{k}") for k in a])   # every table, not just up to the first mismatch
        all_ok &= ok
        print(f"{name}: same numbers: {'yes' if ok else 'no'}")
        rows.append((label, t_ours, t_sql))
    print(f"\n{'':62s} {'xlcrm s':>8s} {'DuckDB s':>9s} {'ratio':>6s}")
    for label, a, b in rows:
        print(f"{label:62s} {a:8.2f} {b:9.2f} {a / b:6.1f}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
