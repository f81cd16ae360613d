"""Campaigns: a follow-up list sent to a random part of its customers, the rest held out as a control group,
and the A/B comparison afterwards (purchase rate and revenue per customer, contact group vs control).

Groups are compared as assigned (intention to treat): a customer the clerk never reached still counts in the
contact group, so the effect measured is that of running the campaign, and the random split stays fair.

Intervals come from well-kept libraries: Wilson for each group's rate and Newcombe's hybrid score interval for
the difference (statsmodels `confint_proportions_2indep(method="newcomb")`, Newcombe 1998 method 10, as
`xlcrm.smallstats` repeats it without statsmodels' 1.2 s import), Welch's t
interval (scipy `ttest_ind(equal_var=False)`) and a seeded percentile bootstrap (scipy `bootstrap`) for the difference
in revenue per customer — revenue is mostly zeros with a long tail, so both are shown.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from . import schema
from .purchases import is_purchase
from .schema import Column, Table
from .smallstats import newcombe_diff, wilson

__all__ = ["CAMPAIGNS_TABLE", "MEMBERS_TABLE", "seed_for", "split", "outcomes", "compare", "report_table"]

CAMPAIGNS_TABLE = Table("campaigns", "キャンペーン", (
    Column("campaign_id", "キャンペーンID", "id", required=True),
    Column("rules", "ルール"),
    Column("start", "開始日", "date"),
    Column("window_days", "測定日数", "number"),
    Column("control_pct", "対照群(%)", "number"),
    Column("seed", "乱数シード", "number"),
    Column("treated", "対象人数", "number"),
    Column("control", "対照人数", "number"),
    Column("created", "作成日時", "datetime"),
), id_column="campaign_id")

MEMBERS_TABLE = Table("campaign_members", "キャンペーン対象", (
    Column("campaign_id", "キャンペーンID", "id", required=True),
    Column("customer_id", "顧客ID", "id", required=True),
    Column("group", "群"),
    Column("follow_id", "フォローID"),
))

TREATED, CONTROL = "対象", "対照"


def seed_for(campaign_id: str) -> int:
    """A seed derived from the campaign ID when none is set: stable across runs and machines."""
    return int(hashlib.sha256(campaign_id.encode("utf-8")).hexdigest()[:8], 16)


def split(customer_ids, control_pct: float, seed: int) -> pd.DataFrame:
    """Randomly hold out round(n × pct / 100) customers as control; [customer_id, group]. Same seed, same split.

    Customers are sorted first, so the split does not depend on the order the list happened to be in.
    """
    ids = np.array(sorted(set(customer_ids)), dtype=object)
    n_control = int(round(len(ids) * float(control_pct) / 100.0))
    rng = np.random.default_rng(seed)
    control = np.zeros(len(ids), dtype=bool)
    control[rng.permutation(len(ids))[:n_control]] = True
    return pd.DataFrame({"customer_id": ids, "group": np.where(control, CONTROL, TREATED)})


def outcomes(members: pd.DataFrame, orders: pd.DataFrame, start, window_days: int) -> pd.DataFrame:
    """Per member: bought (a purchase, as `xlcrm.purchases` counts one, in [start, start + window)) and revenue in
    that window, net of returns."""
    start = pd.Timestamp(start).normalize()
    end = start + pd.Timedelta(days=int(window_days))
    o = orders[orders["order_date"].ge(start) & orders["order_date"].lt(end)]
    rev = o.groupby("customer_id")["amount"].sum()
    out = members[["customer_id", "group"]].copy()
    out["revenue"] = out["customer_id"].map(rev).fillna(0.0).astype(float)
    out["bought"] = schema.isin(out["customer_id"], o["customer_id"][is_purchase(o["amount"].to_numpy(dtype=float))])
    return out


def compare(outcome: pd.DataFrame, *, confidence: float = 0.95, seed: int = 0, n_boot: int = 2000) -> dict:
    """Contacted vs control: rates with Wilson intervals, the rate difference with Newcombe's interval,
    revenue per customer and its difference with Welch and bootstrap intervals."""
    alpha = 1 - confidence
    t = outcome[outcome["group"].eq(TREATED)]
    c = outcome[outcome["group"].eq(CONTROL)]
    res = {"confidence": confidence}
    for name, g in (("treated", t), ("control", c)):
        n, k = len(g), int(g["bought"].sum())
        lo, hi = wilson(k, n, alpha=alpha) if n else (np.nan, np.nan)
        res[name] = {"n": n, "buyers": k, "rate": k / n if n else np.nan, "rate_lo": lo, "rate_hi": hi,
                     "revenue": float(g["revenue"].sum()),
                     "revenue_per_customer": float(g["revenue"].mean()) if n else np.nan}
    nt, nc = res["treated"]["n"], res["control"]["n"]
    if nt and nc:
        lo, hi = newcombe_diff(res["treated"]["buyers"], nt, res["control"]["buyers"], nc, alpha=alpha)
        res["rate_diff"] = {"est": res["treated"]["rate"] - res["control"]["rate"], "lo": float(lo), "hi": float(hi)}
        x, y = t["revenue"].to_numpy(float), c["revenue"].to_numpy(float)
        diff = float(x.mean() - y.mean())
        if nt > 1 and nc > 1 and (x.var() > 0 or y.var() > 0):
            from scipy import stats   # 1 s to import: only for revenue that varies (steps compare purchases only)
            ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(confidence)
            welch = (float(ci.low), float(ci.high))
            kw = dict(n_resamples=n_boot, confidence_level=confidence, method="percentile", vectorized=True)
            stat = lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis)  # noqa: E731
            try:
                boot = stats.bootstrap((x, y), stat, rng=np.random.default_rng(seed), **kw)
            except TypeError:  # scipy < 1.15 names the generator random_state
                boot = stats.bootstrap((x, y), stat, random_state=np.random.default_rng(seed), **kw)
            boot = boot.confidence_interval
            boot = (float(boot.low), float(boot.high))
        else:
            welch = boot = (np.nan, np.nan)
        res["revenue_diff"] = {"est": diff, "welch_lo": welch[0], "welch_hi": welch[1],
                               "boot_lo": boot[0], "boot_hi": boot[1]}
    return res


def report_table(res: dict, lang: str = "ja") -> pd.DataFrame:
    """The comparison as rows for a sheet or the terminal (label, contacted, control, difference, interval)."""
    ja = lang != "en"
    t, c = res["treated"], res["control"]
    pct = lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v * 100:.1f}%"  # noqa: E731
    yen = lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"¥{v:,.0f}"  # noqa: E731
    level = f"{res['confidence'] * 100:.0f}%"

    def ci(lo, hi, fmt, name):
        return "" if any(isinstance(v, float) and np.isnan(v) for v in (lo, hi)) else \
            f"{fmt(lo)} 〜 {fmt(hi)} ({name} {level})"
    rows = [
        ("人数" if ja else "Customers", f"{t['n']:,}", f"{c['n']:,}", "", ""),
        ("購入者数" if ja else "Buyers", f"{t['buyers']:,}", f"{c['buyers']:,}", "", ""),
        ("購入率" if ja else "Purchase rate", f"{pct(t['rate'])} [{pct(t['rate_lo'])}–{pct(t['rate_hi'])}]",
         f"{pct(c['rate'])} [{pct(c['rate_lo'])}–{pct(c['rate_hi'])}]",
         pct(res.get("rate_diff", {}).get("est", np.nan)),
         ci(res["rate_diff"]["lo"], res["rate_diff"]["hi"], pct, "Newcombe") if "rate_diff" in res else ""),
        ("売上合計" if ja else "Revenue", yen(t["revenue"]), yen(c["revenue"]), "", ""),
        ("1人あたり売上" if ja else "Revenue per customer", yen(t["revenue_per_customer"]),
         yen(c["revenue_per_customer"]), yen(res.get("revenue_diff", {}).get("est", np.nan)),
         "; ".join(x for x in (ci(res["revenue_diff"]["welch_lo"], res["revenue_diff"]["welch_hi"], yen, "Welch"),
                                ci(res["revenue_diff"]["boot_lo"], res["revenue_diff"]["boot_hi"], yen, "bootstrap"))
                   if x) if "revenue_diff" in res else ""),
    ]
    cols = ["項目", "対象(連絡する群)", "対照(連絡しない群)", "差", "信頼区間"] if ja else \
        ["Measure", "Contact group", "Control group", "Difference", "Confidence interval"]
    return pd.DataFrame(rows, columns=cols)
