"""Referrals (紹介): who referred whom (顧客's 紹介者ID), how referred customers do, and who gets a reward.

Pure functions of the conformed 顧客 and 注文 frames.

- `links` checks every 紹介者ID and returns one row per referral. Bad input, naming the 紹介者ID cell: an ID that
  is on no customer, a customer referring themself, a referral cycle (A→B→A: someone cannot have been brought in
  by a customer they brought in), and the ID of a customer merged away by 名寄せ. The merge re-points 紹介者ID to
  the surviving record, so an absorbed ID only turns up when typed after the merge (from an old form): it is
  rejected with a hint to use the 統合履歴's 主顧客ID rather than silently credited to someone. An ID typed in
  full-width (Ｃ０００１) or lower case matches the customer it folds to, when exactly one does.
- Purchases are as in RFM and the journey: order rows with a positive amount on or before `as_of`, counted by
  distinct day. F2 = the second purchase day within `f2_days` of the first (the dashboard's F2); the F2 rate
  counts only customers whose first purchase is at least `f2_days` old, so everyone had the whole window.
  Revenue is net of returns (all rows up to `as_of`). Repeat rate = buyers with purchases on 2+ days / buyers.
- `build` gives the per-customer facts, the referred vs not-referred comparison (with Newcombe's interval for the
  F2-rate difference, as the campaign report uses), the referrer table and the referral list.
- `rewards` selects the referrals whose first purchase fell in the reward window: the follow-up rule "referral".
"""
from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from .messages import BadInput, Problem
from .purchases import first_purchase, purchase_days
from .smallstats import newcombe_diff

__all__ = ["SHEET", "links", "purchases", "facts", "compare", "f2_difference", "referrers", "referral_list", "build",
           "rewards"]

SHEET = "顧客"


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip().upper()


def _targets(customers: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(typed 紹介者ID, the customer it names or None) for the rows with a 紹介者ID, indexed by sheet row."""
    ref = customers["referrer_id"].fillna("").astype(str).str.strip() if "referrer_id" in customers else \
        pd.Series("", index=customers.index)
    ref = ref[ref.ne("")]
    ids = set(customers["customer_id"].astype(str))
    by_fold: dict[str, list[str]] = {}
    if not all(t in ids for t in ref):        # folding every ID only when some 紹介者ID needs it
        for i in ids:
            by_fold.setdefault(_fold(i), []).append(i)
    target = [t if t in ids else (by_fold[_fold(t)][0] if len(by_fold.get(_fold(t), ())) == 1 else None)
              for t in ref]
    return ref, pd.Series(target, index=ref.index, dtype=object)


def links(customers: pd.DataFrame, *, merged: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per customer with a 紹介者ID: customer_id, referrer_id (the customer it names), row (sheet row).

    Raises BadInput naming each bad 紹介者ID cell (see the module docstring); `merged` maps absorbed customer IDs
    to their master (`merge.merged_into`)."""
    sheet = customers.attrs.get("sheet", SHEET)
    header = customers.attrs.get("headers", {}).get("referrer_id", "紹介者ID")
    letter = customers.attrs.get("letters", {}).get(header, "")
    ids = customers["customer_id"].astype(str)
    typed, targets = _targets(customers)
    absorbed = {_fold(k) for k in merged or {}}
    problems, rows = [], []

    def bad(row, key, **kw):
        problems.append(Problem(sheet, int(row), header, key, cell=f"{letter}{row}" if letter else "", **kw))

    for cid, row, t, target in zip(ids.reindex(typed.index), typed.index, typed, targets):  # one lookup, not a
        if target is None:                                                                  # Series lookup per row
            bad(row, "rf_merged" if _fold(t) in absorbed else "rf_unknown")
        elif target == cid:
            bad(row, "rf_self")
        else:
            rows.append((cid, target, int(row)))
    out = pd.DataFrame(rows, columns=["customer_id", "referrer_id", "row"])
    # referral cycles: each customer has at most one referrer, so following referrers from anyone either stops or
    # runs into a loop; every member of a loop is reported once, with the rows of the whole loop
    nxt = dict(zip(out["customer_id"], out["referrer_id"]))
    row_of = dict(zip(out["customer_id"], out["row"]))
    state: dict[str, int] = {}          # 1 = on the current path, 2 = done
    for start in nxt:
        path, x = [], start
        while x in nxt and state.get(x, 0) == 0:
            state[x] = 1
            path.append(x)
            x = nxt[x]
        if state.get(x) == 1:           # came back to the current path: path[from x] is a loop
            loop = path[path.index(x):]
            chain = " → ".join(str(row_of[c]) for c in loop + [loop[0]])
            for c in loop:
                bad(row_of[c], "rf_cycle", rows=chain)
        for c in path:
            state[c] = 2
    if problems:
        problems.sort(key=lambda p: p.row)
        raise BadInput(problems)
    return out


def purchases(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per customer with orders up to `as_of` (index customer_id): first and second purchase day, purchase
    days, net revenue."""
    as_of = pd.Timestamp(as_of).normalize()
    o = orders[orders["order_date"].notna() & (orders["order_date"] < as_of + pd.Timedelta(days=1))]
    revenue = o.groupby("customer_id")["amount"].sum()
    d = purchase_days(orders, as_of)
    first = d[d["n"].eq(0).to_numpy()].set_index("customer_id")["order_date"]
    second = d[d["n"].eq(1).to_numpy()].set_index("customer_id")["order_date"]
    days = d.groupby("customer_id")["n"].size()
    ids = revenue.index
    return pd.DataFrame({"first_order": first.reindex(ids), "second_order": second.reindex(ids),
                         "days": days.reindex(ids).fillna(0).astype(np.int64),
                         "revenue": revenue.astype(float)}, index=ids)


def facts(customers: pd.DataFrame, orders: pd.DataFrame, lk: pd.DataFrame, as_of, f2_days: int = 90) -> pd.DataFrame:
    """One row per customer on 顧客: customer_id, name, referrer_id ("" when not referred), referred,
    first_order, second_order, days, revenue, bought, repeat, f2_due (had the whole F2 window), f2."""
    as_of = pd.Timestamp(as_of).normalize()
    ids = customers["customer_id"].astype(str)
    p = purchases(orders, as_of).reindex(ids)
    ref = pd.Series(lk["referrer_id"].to_numpy(), index=lk["customer_id"].to_numpy(), dtype=object)
    df = pd.DataFrame({"customer_id": ids.to_numpy(),
                       "name": customers["name"].astype(str).to_numpy() if "name" in customers else "",
                       "referrer_id": ref.reindex(ids).fillna("").to_numpy()})
    df["referred"] = df["referrer_id"].ne("")
    df["first_order"] = p["first_order"].to_numpy(dtype="datetime64[ns]")
    df["second_order"] = p["second_order"].to_numpy(dtype="datetime64[ns]")
    df["days"] = p["days"].fillna(0).astype(np.int64).to_numpy()
    df["revenue"] = p["revenue"].fillna(0.0).to_numpy(dtype=float)
    df["bought"] = df["days"].ge(1)
    df["repeat"] = df["days"].ge(2)
    df["f2_due"] = df["first_order"].le(as_of - pd.Timedelta(days=f2_days)).fillna(False)
    df["f2"] = ((df["second_order"] - df["first_order"]).dt.days.le(f2_days)).fillna(False)
    return df


def compare(fx: pd.DataFrame) -> pd.DataFrame:
    """Referred vs not referred (index "referred", "other"): customers, buyers, buy_rate, f2_base, f2, f2_rate,
    repeaters, repeat_rate, revenue, revenue_per_customer, revenue_per_buyer. Rates are NaN where their base
    is 0."""
    rows = {}
    for key, g in (("referred", fx[fx["referred"]]), ("other", fx[~fx["referred"]])):
        b = g[g["bought"]]
        base = g[g["f2_due"]]
        rows[key] = {"customers": len(g), "buyers": len(b), "f2_base": len(base), "f2": int(base["f2"].sum()),
                     "repeaters": int(b["repeat"].sum()), "revenue": float(g["revenue"].sum())}
    out = pd.DataFrame.from_dict(rows, orient="index")

    def ratio(a, b):
        return np.where(out[b] > 0, out[a] / out[b].where(out[b] > 0, 1), np.nan)
    out["buy_rate"] = ratio("buyers", "customers")
    out["f2_rate"] = ratio("f2", "f2_base")
    out["repeat_rate"] = ratio("repeaters", "buyers")
    out["revenue_per_customer"] = ratio("revenue", "customers")
    out["revenue_per_buyer"] = ratio("revenue", "buyers")
    return out[["customers", "buyers", "buy_rate", "f2_base", "f2", "f2_rate", "repeaters", "repeat_rate",
                "revenue", "revenue_per_customer", "revenue_per_buyer"]]


def f2_difference(cmp: pd.DataFrame) -> tuple[float, float, float]:
    """F2 rate referred − other, with Newcombe's 95% interval (NaN when either group has no F2 base)."""
    r, o = cmp.loc["referred"], cmp.loc["other"]
    if r["f2_base"] == 0 or o["f2_base"] == 0:
        return (np.nan, np.nan, np.nan)
    lo, hi = newcombe_diff(int(r["f2"]), int(r["f2_base"]), int(o["f2"]), int(o["f2_base"]))
    return (float(r["f2_rate"] - o["f2_rate"]), float(lo), float(hi))


def referrers(fx: pd.DataFrame) -> pd.DataFrame:
    """Per referrer: customer_id, name, referred, bought, f2, revenue (of the customers they referred), own
    revenue. Most referrals first, then the referred customers' revenue."""
    r = fx[fx["referred"]]
    g = r.groupby("referrer_id")
    out = pd.DataFrame({"referred": g.size(), "bought": g["bought"].sum(), "f2": g["f2"].sum(),
                        "revenue": g["revenue"].sum()})
    me = fx.set_index("customer_id")
    out["name"] = me["name"].reindex(out.index).fillna("")
    out["own_revenue"] = me["revenue"].reindex(out.index).fillna(0.0)
    out = out.astype({"referred": np.int64, "bought": np.int64, "f2": np.int64, "revenue": float})
    out = out.rename_axis("customer_id").reset_index()
    out = out.sort_values(["referred", "revenue", "customer_id"], ascending=[False, False, True], kind="stable")
    return out[["customer_id", "name", "referred", "bought", "f2", "revenue", "own_revenue"]].reset_index(drop=True)


def referral_list(fx: pd.DataFrame) -> pd.DataFrame:
    """One row per referral: referrer_id, referrer_name, customer_id, name, first_order, f2, revenue. Newest
    first purchases first; customers who have not bought yet last."""
    r = fx[fx["referred"]]
    names = fx.set_index("customer_id")["name"]
    out = pd.DataFrame({"referrer_id": r["referrer_id"].to_numpy(),
                        "referrer_name": names.reindex(r["referrer_id"]).fillna("").to_numpy(),
                        "customer_id": r["customer_id"].to_numpy(), "name": r["name"].to_numpy(),
                        "first_order": r["first_order"].to_numpy(), "f2": r["f2"].to_numpy(),
                        "revenue": r["revenue"].to_numpy()})
    return out.sort_values(["first_order", "referrer_id", "customer_id"], ascending=[False, True, True],
                           na_position="last", kind="stable").reset_index(drop=True)


def build(customers: pd.DataFrame, orders: pd.DataFrame, as_of, *, f2_days: int = 90,
          merged: dict[str, str] | None = None) -> dict:
    """Everything the 紹介 sheet shows: facts, compare, f2_diff, referrers, referrals, counts per customer."""
    lk = links(customers, merged=merged)
    fx = facts(customers, orders, lk, as_of, f2_days)
    cmp = compare(fx)
    counts = lk["referrer_id"].value_counts().reindex(fx["customer_id"]).fillna(0).astype(np.int64)
    return {"as_of": pd.Timestamp(as_of).normalize(), "f2_days": int(f2_days), "facts": fx, "compare": cmp,
            "f2_diff": f2_difference(cmp), "referrers": referrers(fx), "referrals": referral_list(fx),
            "referred_count": pd.DataFrame({"customer_id": fx["customer_id"], "referred": counts.to_numpy()})}


def rewards(customers: pd.DataFrame, orders: pd.DataFrame, as_of, lookback_days: float) -> pd.DataFrame:
    """Referrals whose referred customer made their first purchase within `lookback_days` before `as_of` (as_of
    included): referrer_id, customer_id, name, first_order. 紹介者IDs that name no other customer are left out
    (the jobs reject them first with `links`)."""
    as_of = pd.Timestamp(as_of).normalize()
    _, targets = _targets(customers)
    c = customers.loc[targets.index, ["customer_id", "name"]].assign(referrer_id=targets)
    c = c[c["referrer_id"].notna() & c["referrer_id"].ne(c["customer_id"])]
    first = first_purchase(orders, as_of)
    c = c.assign(first_order=first.reindex(c["customer_id"]).to_numpy(dtype="datetime64[ns]"))
    age = (as_of - c["first_order"]).dt.days
    c = c[age.between(0, lookback_days).to_numpy()]
    return c[["referrer_id", "customer_id", "name", "first_order"]].reset_index(drop=True)
