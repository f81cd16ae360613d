"""Sales stages for prospects (SFA, 商談管理): stage history, current stage, pipeline by 担当者, stage funnel and
stalled deals. Pure functions of the 顧客, 注文 and 対応履歴 frames.

Where the stages come from: every 対応履歴 row with a 商談段階 (any 種別; staff normally use 商談) is a stage the
customer reached on that row's 日時. Rows dated after `as_of` are ignored everywhere, so a back-dated run shows the
pipeline as it stood. Stages are 問い合わせ → 提案 → 見積 → 成約, and 失注; 成約 and 失注 close a deal.

An order closes the deal as won: when a customer with stage rows places an order (a positive amount, as in RFM)
and their latest stage row on or before the first order's day is not 成約, a 成約 is implied on the first order's
day (even after a 失注: the lost deal came back). A buyer whose stage rows all come after the first order gets no
implied 成約: those rows are a new deal with an existing customer.

A customer may go through several deals: an open-stage row after a closed one starts a new deal. A stage may go
backwards (見積, then 提案 again when the proposal is reworked): that is allowed and the current stage is simply the
latest by date (ties: the sheet's row order; an implied 成約 comes after that day's rows). The funnel counts a
deal as having reached every stage up to the furthest it got, so a deal that skipped 提案 still passed it.

The date a stage was reached is the first row of the latest run of that stage (a second 提案 meeting is no stage
change), and "days in stage" count from it. The owner of a deal is the 担当者 on its latest stage row that names
one, else the customer's 担当者, else nobody ("").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .purchases import first_purchase
from .schema import SFA_STAGES

__all__ = ["OPEN_STAGES", "CLOSED", "FUNNEL_STAGES", "RANK", "history", "deals", "current", "in_period", "by_staff",
           "funnel", "stalled", "build", "stalled_followups"]

OPEN_STAGES = SFA_STAGES[:3]                  # 問い合わせ, 提案, 見積
WON, LOST = SFA_STAGES[3], SFA_STAGES[4]
CLOSED = (WON, LOST)
FUNNEL_STAGES = SFA_STAGES[:4]               # the stages a deal moves along; 失注 is a way out of any of them
RANK = {s: i for i, s in enumerate(FUNNEL_STAGES)}


def _end_of(as_of) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)


def history(customers: pd.DataFrame, orders: pd.DataFrame | None, contacts: pd.DataFrame | None,
            as_of) -> pd.DataFrame:
    """Every stage a customer reached, in order: customer_id, at, day, stage, staff, owner, implied (a 成約 from
    the first order), row (the 対応履歴 row, -1 if implied), deal (a running deal number) and run_start (True
    where the stage changes)."""
    cols = ["customer_id", "at", "day", "stage", "staff", "owner", "implied", "row", "deal", "run_start"]
    end = _end_of(as_of)
    if contacts is None or not len(contacts) or "stage" not in contacts:
        return pd.DataFrame(columns=cols)
    c = contacts[contacts["stage"].ne("") & contacts["at"].notna() & (contacts["at"] < end)]
    h = pd.DataFrame({
        "customer_id": c["customer_id"].astype(str).to_numpy(),
        "at": c["at"].to_numpy(dtype="datetime64[ns]"),
        "stage": c["stage"].astype(str).to_numpy(),
        "staff": (c["staff"].fillna("").astype(str).str.strip().to_numpy() if "staff" in c else ""),
        "implied": False,
        "row": np.asarray(c.index, dtype=np.int64),
    })
    h["day"] = h["at"].dt.normalize()
    h = h.sort_values(["customer_id", "day", "at", "row"], kind="stable")
    if orders is not None and len(orders):
        first = first_purchase(orders, as_of)
        before = h[h["day"].le(first.reindex(h["customer_id"]).to_numpy())]
        last = before.groupby("customer_id")["stage"].last()
        won = last.index[last.ne(WON).to_numpy()]
        if len(won):
            add = pd.DataFrame({"customer_id": won, "at": first[won].to_numpy(), "stage": WON, "staff": "",
                                "implied": True, "row": -1})
            add["day"] = add["at"]
            h = pd.concat([h, add], ignore_index=True)
    h = h.sort_values(["customer_id", "day", "implied", "at", "row"], kind="stable").reset_index(drop=True)
    h["implied"] = h["implied"].astype(bool)
    cust = customers.drop_duplicates("customer_id")
    own = pd.Series(cust["staff"].fillna("").astype(str).str.strip().to_numpy() if "staff" in cust else "",
                    index=cust["customer_id"].astype(str).to_numpy())
    same = h["customer_id"].eq(h["customer_id"].shift())
    closed = h["stage"].isin(CLOSED)
    h["deal"] = (~same | (~closed & closed.shift(fill_value=False))).cumsum() - 1
    # the deal's latest row naming one: an earlier deal's 担当者 does not carry over to a new deal
    named = h["staff"].replace("", np.nan).groupby(h["deal"]).ffill()
    fallback = pd.Series(own.reindex(h["customer_id"]).to_numpy(), index=h.index).replace("", np.nan)
    h["owner"] = named.fillna(fallback).fillna("")
    h["run_start"] = ~same | h["deal"].ne(h["deal"].shift()) | h["stage"].ne(h["stage"].shift())
    return h[cols]


def deals(h: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per deal: customer_id, start, stage (the latest), since (the day it was reached), days (in that
    stage on `as_of`), open, outcome (成約 / 失注 / ""), closed_on, furthest (the furthest of FUNNEL_STAGES
    reached), inquiry (first 問い合わせ day), days_to_win (問い合わせ → 成約, won deals with a 問い合わせ) and
    owner. The last deal of each customer has `latest` True."""
    cols = ["deal", "customer_id", "start", "stage", "since", "days", "open", "outcome", "closed_on", "furthest",
            "inquiry", "days_to_win", "owner", "latest"]
    if not len(h):
        return pd.DataFrame(columns=cols)
    g = h.groupby("deal", sort=True)
    d = pd.DataFrame({"customer_id": g["customer_id"].first(), "start": g["day"].min(),
                      "stage": g["stage"].last(), "since": h[h["run_start"]].groupby("deal")["day"].last(),
                      "owner": g["owner"].last()})
    d["open"] = ~d["stage"].isin(CLOSED)
    d["outcome"] = d["stage"].where(~d["open"], "")
    d["closed_on"] = d["since"].where(~d["open"])
    rank = h["stage"].map(RANK).where(h["stage"].ne(WON))          # open stages only; 成約 counts if it is the end
    furthest = rank.groupby(h["deal"]).max().reindex(d.index)
    furthest = furthest.where(d["outcome"].ne(WON), RANK[WON]).fillna(0).astype(int)
    d["furthest"] = np.array(FUNNEL_STAGES, dtype=object)[furthest.to_numpy()]
    d["inquiry"] = h[h["stage"].eq(SFA_STAGES[0])].groupby("deal")["day"].min().reindex(d.index)
    d["days_to_win"] = ((d["closed_on"] - d["inquiry"]).dt.days.astype(float)).where(d["outcome"].eq(WON))
    d["days"] = (pd.Timestamp(as_of).normalize() - d["since"]).dt.days.astype(np.int64)
    d["latest"] = ~d["customer_id"].duplicated(keep="last")
    d = d.reset_index()
    return d[cols]


def current(d: pd.DataFrame) -> pd.DataFrame:
    """Per customer with a deal: the latest deal's stage, since, days, open and owner."""
    return d.loc[d["latest"], ["customer_id", "stage", "since", "days", "open", "owner"]].reset_index(drop=True)


def in_period(d: pd.DataFrame, as_of, period_days: int) -> pd.Series:
    """Deals closed within the `period_days` days ending on `as_of` (the day itself included)."""
    start = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=int(period_days))
    return ~d["open"] & (d["closed_on"] > start)


def by_staff(d: pd.DataFrame, as_of, period_days: int = 365, stall_days: int = 30) -> pd.DataFrame:
    """Per owner (index; "" = nobody): open deals now per open stage and in all (open), won and lost within the
    period, win_rate (won / closed, NaN with none closed), avg_days_to_win and stalled (open deals with no stage
    change for `stall_days` days or more). A last row "*" totals every owner."""
    cols = [*OPEN_STAGES, "open", "won", "lost", "win_rate", "avg_days_to_win", "stalled"]
    if not len(d):
        out = pd.DataFrame([[0] * 6 + [np.nan, np.nan, 0]], columns=cols, index=pd.Index(["*"], name="owner"))
        return out.astype({c: np.int64 for c in cols if c not in ("win_rate", "avg_days_to_win")})
    op = d[d["open"]]
    closed = d[in_period(d, as_of, period_days)]

    def table(op, closed):
        t = pd.crosstab(op["owner"], op["stage"]).reindex(columns=list(OPEN_STAGES), fill_value=0)
        t.columns.name = None
        t = t.reindex(t.index.union(pd.Index(closed["owner"].unique())), fill_value=0)
        t["open"] = t[list(OPEN_STAGES)].sum(axis=1)
        t["won"] = closed[closed["outcome"].eq(WON)].groupby("owner").size().reindex(t.index, fill_value=0)
        t["lost"] = closed[closed["outcome"].eq(LOST)].groupby("owner").size().reindex(t.index, fill_value=0)
        n = t["won"] + t["lost"]
        t["win_rate"] = (t["won"] / n.where(n > 0)).astype(float)
        t["avg_days_to_win"] = closed.groupby("owner")["days_to_win"].mean().reindex(t.index).astype(float)
        t["stalled"] = op[op["days"].ge(stall_days)].groupby("owner").size().reindex(t.index, fill_value=0)
        return t

    per = table(op, closed)
    per = per.sort_index(key=lambda i: i.map(lambda s: (s == "", s)))            # nobody last
    total = table(op.assign(owner="*"), closed.assign(owner="*"))
    out = pd.concat([per, total.reindex(["*"])])
    out.index.name = "owner"
    ints = {c: np.int64 for c in cols if c not in ("win_rate", "avg_days_to_win")}
    return out[cols].fillna({c: 0 for c in ints}).astype(ints)


def funnel(d: pd.DataFrame, as_of, period_days: int = 365) -> pd.DataFrame:
    """Stage conversion over the deals open now or closed within the period: per stage of FUNNEL_STAGES, deals
    that reached it, moved on (reached a later stage), conversion (moved on / reached), lost at it (失注 with this
    as the furthest stage) and open at it now."""
    scope = d[d["open"] | in_period(d, as_of, period_days)] if len(d) else d
    far = scope["furthest"].map(RANK) if len(scope) else pd.Series(dtype=float)
    rows = []
    for s in FUNNEL_STAGES:
        r = RANK[s]
        reached = int(far.ge(r).sum())
        moved = int(far.gt(r).sum()) if s != WON else None
        rows.append({"stage": s, "reached": reached, "moved_on": moved,
                     "conversion": (moved / reached if reached and moved is not None else np.nan),
                     "lost": int((scope["outcome"].eq(LOST) & far.eq(r)).sum()) if len(scope) else 0,
                     "open_now": int((scope["open"] & scope["stage"].eq(s)).sum()) if len(scope) else 0})
    return pd.DataFrame(rows)


def stalled(d: pd.DataFrame, stall_days: int) -> pd.DataFrame:
    """Open deals with no stage change for `stall_days` days or more, longest-waiting first."""
    s = d[d["open"] & d["days"].ge(stall_days)] if len(d) else d
    return s.sort_values(["days", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def build(customers: pd.DataFrame, orders: pd.DataFrame | None, contacts: pd.DataFrame | None, as_of, *,
          period_days: int = 365, stall_days: int = 30, staff: str | None = None) -> dict:
    """Everything the 商談 sheet shows: as_of, history, deals, current (per customer), by_staff, funnel, stalled.
    With `staff`, only that owner's deals (the customer columns still cover everyone)."""
    h = history(customers, orders, contacts, as_of)
    d = deals(h, as_of)
    cur = current(d)
    if staff is not None:
        d = d[d["owner"].eq(staff)]
    return {"as_of": pd.Timestamp(as_of).normalize(), "period_days": int(period_days),
            "stall_days": int(stall_days), "history": h, "deals": d, "current": cur,
            "by_staff": by_staff(d, as_of, period_days, stall_days), "funnel": funnel(d, as_of, period_days),
            "stalled": stalled(d, stall_days)}


def stalled_followups(customers: pd.DataFrame, orders: pd.DataFrame | None, contacts: pd.DataFrame | None,
                      as_of, stall_days: int) -> pd.DataFrame:
    """For the follow-up rule "stalled": customer_id, stage, since, days and owner of each stalled open deal."""
    d = deals(history(customers, orders, contacts, as_of), as_of)
    return stalled(d, stall_days)[["customer_id", "stage", "since", "days", "owner"]] if len(d) else pd.DataFrame(
        columns=["customer_id", "stage", "since", "days", "owner"])
