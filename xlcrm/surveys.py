"""Surveys and reviews (アンケート / レビュー): satisfaction per customer, by RFM segment and by lapse status,
whether low scores come before lapse, and the monthly trend.

A response is a 対応履歴 row of 種別 アンケート or レビュー with a number in 評価 (score). The scale is 1–5 (stars)
or 0–10 (NPS); a score outside it is bad input naming the 評価 cell. A score on a row of another 種別 (a 商談 rated
by staff, a typo in 種別) is not a customer's answer: it is ignored, not checked, and counted in
`attrs["ignored"]` so the job can say so. A survey row without a score is counted in `attrs["unscored"]`.

Units: the overall table counts answers (a customer may answer several times); the segment and lapse tables count
customers, each by their latest answer, because segment and lapse status describe the customer now.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import schema
from .messages import BadInput, Problem
from .smallstats import fisher_exact

__all__ = ["SURVEY_TYPES", "SCALES", "DEFAULT_LOW", "DEFAULT_HIGH", "LAPSED", "NO_ORDERS", "MIN_GROUP", "Scale",
           "make_scale", "fmt_score", "responses", "per_customer", "stats", "overall", "by_group", "low_then_lapse",
           "monthly", "build", "low_score_followups"]

SURVEY_TYPES = ("アンケート", "レビュー")
SCALES = {"1-5": (1.0, 5.0), "0-10": (0.0, 10.0)}
DEFAULT_LOW = {"1-5": 2.0, "0-10": 6.0}     # at or below: a low score (NPS detractors are 0–6)
DEFAULT_HIGH = {"1-5": 4.0, "0-10": 9.0}    # at or above: a high score (NPS promoters are 9–10)
LAPSED = ("離脱", "休眠")                     # lapse statuses that count as "gone" after an answer
NO_ORDERS = ""                               # group of respondents with no order (no segment, no lapse status)
MIN_GROUP = 10                               # fewer customers than this in a group: too few to judge


@dataclass(frozen=True)
class Scale:
    """The answer scale and the two thresholds (low: score <= low; high: score >= high)."""

    name: str
    lo: float
    hi: float
    low: float
    high: float

    @property
    def nps(self) -> bool:
        return self.name == "0-10"


def make_scale(name: str = "1-5", low=None, high=None, *, sheet: str = "設定") -> Scale:
    """The Scale for 設定 values (blank thresholds take the scale's defaults); BadInput naming the 設定 item
    when a threshold is outside the scale or low is not below high."""
    lo, hi = SCALES[name]
    low = DEFAULT_LOW[name] if low is None else float(low)
    high = DEFAULT_HIGH[name] if high is None else float(high)
    problems = []
    for item, v in (("低評価の基準", low), ("高評価の基準", high)):
        if not lo <= v <= hi:
            problems.append(Problem(sheet, None, item, "sv_bad_threshold", item=item, lo=fmt_score(lo),
                                    hi=fmt_score(hi)))
    if not problems and low >= high:
        problems.append(Problem(sheet, None, "低評価の基準", "sv_low_not_below_high", low=fmt_score(low),
                                high=fmt_score(high)))
    if problems:
        raise BadInput(problems)
    return Scale(name, lo, hi, low, high)


def fmt_score(v: float) -> str:
    """3.0 -> "3", 3.5 -> "3.5" (messages and reasons)."""
    return str(int(v)) if float(v).is_integer() else str(v)


# --- responses ---------------------------------------------------------------------------------------------------

def responses(contacts: pd.DataFrame | None, scale: Scale, as_of=None, *, sheet: str = "対応履歴") -> pd.DataFrame:
    """Survey answers with a score: contact_id, customer_id, at, type, score (rows after `as_of` left out).

    Every scored アンケート / レビュー row is checked, whatever its date; BadInput names each 評価 cell outside the
    scale. `attrs`: ignored (scores on other 種別), unscored (survey rows without a score).
    """
    cols = ["contact_id", "customer_id", "at", "type", "score"]
    if contacts is None or not len(contacts) or "score" not in contacts:
        out = pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "at" else float if c == "score" else object)
                            for c in cols})
        out.attrs.update(ignored=0, unscored=0)
        return out
    score = pd.to_numeric(contacts["score"], errors="coerce").astype(float)
    survey = contacts["type"].isin(SURVEY_TYPES).to_numpy()
    has = score.notna().to_numpy()
    bad = survey & has & ~score.between(scale.lo, scale.hi).to_numpy()
    if bad.any():
        header = contacts.attrs.get("headers", {}).get("score", "評価")
        lt = contacts.attrs.get("letters", {}).get(header, "")
        raise BadInput([Problem(sheet, int(r), header, "sv_bad_score", cell=f"{lt}{r}" if lt else "",
                                lo=fmt_score(scale.lo), hi=fmt_score(scale.hi)) for r in contacts.index[bad]])
    out = contacts.loc[survey & has, cols[:-1]].copy()
    out["score"] = score[survey & has].to_numpy()
    out["at"] = pd.to_datetime(out["at"]).astype("datetime64[ns]")
    if as_of is not None:   # an answer typed with a time on the as-of day still counts
        out = out[out["at"] < pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)]
    out = out.sort_values(["at", "contact_id"], kind="stable")
    out.attrs.update(ignored=int((~survey & has).sum()), unscored=int((survey & ~has).sum()))
    return out


def per_customer(resp: pd.DataFrame) -> pd.DataFrame:
    """One row per respondent: customer_id, answers, average, latest_score, latest_at, latest_contact,
    latest_type."""
    if not len(resp):
        return pd.DataFrame({"customer_id": pd.Series(dtype=object), "answers": pd.Series(dtype=int),
                             "average": pd.Series(dtype=float), "latest_score": pd.Series(dtype=float),
                             "latest_at": pd.Series(dtype="datetime64[ns]"),
                             "latest_contact": pd.Series(dtype=object), "latest_type": pd.Series(dtype=object)})
    # integer codes and positions rather than a groupby and index alignment on string ids (the slow part at scale)
    codes, labels = pd.factorize(resp["customer_id"].astype(str), sort=True)
    order = np.argsort(codes, kind="stable")       # resp is sorted by time: each customer's last row is the latest
    c = codes[order]
    latest = order[np.r_[c[1:] != c[:-1], True]]
    n = np.bincount(codes, minlength=len(labels))
    score = resp["score"].to_numpy(dtype=float)
    return pd.DataFrame({"customer_id": pd.array(np.asarray(labels, dtype=object), dtype="str"), "answers": n,
                         "average": np.bincount(codes, weights=score, minlength=len(labels)) / n,
                         "latest_score": score[latest], "latest_at": resp["at"].to_numpy()[latest],
                         "latest_contact": resp["contact_id"].to_numpy(dtype=object)[latest],
                         "latest_type": resp["type"].to_numpy(dtype=object)[latest]})


def stats(scores: pd.Series, scale: Scale) -> dict:
    """n, average, low_share, high_share and (0–10 scale) nps = % promoters − % detractors, in points."""
    s = pd.Series(scores, dtype=float).dropna()
    n = len(s)
    if not n:
        return {"n": 0, "average": np.nan, "low_share": np.nan, "high_share": np.nan, "nps": np.nan}
    low, high = float(s.le(scale.low).mean()), float(s.ge(scale.high).mean())
    return {"n": n, "average": float(s.mean()), "low_share": low, "high_share": high,
            "nps": 100 * (high - low) if scale.nps else np.nan}


def overall(resp: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """Answers in all and per 種別 (index "" = all, then アンケート, レビュー): answers, respondents and stats."""
    rows = {}
    for key, part in [("", resp)] + [(t, resp[resp["type"].eq(t)]) for t in SURVEY_TYPES]:
        st = stats(part["score"], scale)
        rows[key] = {"answers": st.pop("n"), "respondents": int(part["customer_id"].nunique()), **st}
    return pd.DataFrame.from_dict(rows, orient="index")


def by_group(latest: pd.DataFrame, groups: pd.Series, scale: Scale, order=()) -> pd.DataFrame:
    """Stats of each customer's latest score per group (`groups`: customer_id -> label; NO_ORDERS if absent).
    Groups in `order` first (when present), then the rest by respondents."""
    g = pd.Series(schema.lookup(groups, latest["customer_id"]), dtype=object).fillna(NO_ORDERS).astype(str).to_numpy()
    rows = {k: stats(latest["latest_score"][g == k], scale) for k in pd.unique(g)}
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["n", "average", "low_share", "high_share", "nps"])
    df = df.rename(columns={"n": "respondents"})
    first = [k for k in order if k in df.index]
    rest = df.drop(index=first + [NO_ORDERS], errors="ignore").sort_values("respondents", ascending=False,
                                                                            kind="stable")
    return df.loc[first + list(rest.index) + ([NO_ORDERS] if NO_ORDERS in df.index else [])]


def low_then_lapse(resp: pd.DataFrame, lapse: pd.DataFrame, scale: Scale, as_of, days: int) -> dict:
    """Do low scores come before lapse? Each customer's latest answer at least `days` before `as_of`, and their
    lapse status on `as_of` (離脱 or 休眠 = lapsed).

    Returns {"table": index low / middle / high with customers, lapsed, rate; "p": Fisher's exact test of
    low vs high (two-sided), "odds_ratio", "verdict": more / less / unclear / small / none, "excluded":
    respondents without orders, "cutoff"}. Too few customers ("small": a group under MIN_GROUP, or an expected
    cell count under 5) gives the figures but no verdict.
    """
    cutoff = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=int(days))
    early = per_customer(resp[resp["at"] < cutoff + pd.Timedelta(days=1)])
    status = lapse.set_index("customer_id")["status"] if len(lapse) else pd.Series(dtype=object)
    st = schema.lookup(status, early["customer_id"])
    known = pd.notna(st)
    early, st = early[known], st[known]
    band = np.where(early["latest_score"].le(scale.low), "low",
                    np.where(early["latest_score"].ge(scale.high), "high", "middle"))
    gone = np.isin(st, LAPSED)
    rows = {}
    for b in ("low", "middle", "high"):
        n, k = int((band == b).sum()), int((gone & (band == b)).sum())
        rows[b] = {"customers": n, "lapsed": k, "rate": k / n if n else np.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    lo, hi = rows["low"], rows["high"]
    out = {"table": table, "p": np.nan, "odds_ratio": np.nan, "excluded": int((~known).sum()), "cutoff": cutoff,
           "days": int(days)}
    if not lo["customers"] or not hi["customers"]:
        out["verdict"] = "none"
        return out
    cells = np.array([[lo["lapsed"], lo["customers"] - lo["lapsed"]], [hi["lapsed"], hi["customers"] - hi["lapsed"]]])
    out["odds_ratio"], out["p"] = fisher_exact(cells)   # scipy's test, without scipy.stats' 1 s import
    expected = cells.sum(1, keepdims=True) * cells.sum(0, keepdims=True) / cells.sum()
    if min(lo["customers"], hi["customers"]) < MIN_GROUP or expected.min() < 5:
        out["verdict"] = "small"
    elif out["p"] < 0.05:
        out["verdict"] = "more" if lo["rate"] > hi["rate"] else "less"
    else:
        out["verdict"] = "unclear"
    return out


def monthly(resp: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """Per month of answer ("YYYY-MM", oldest first, months without answers left out): answers and stats."""
    month = resp["at"].dt.strftime("%Y-%m")
    rows = {m: stats(part["score"], scale) for m, part in resp.groupby(month, sort=True)}
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["n", "average", "low_share", "high_share", "nps"])
    return df.rename(columns={"n": "answers"})


def build(customers: pd.DataFrame, contacts: pd.DataFrame | None, scored: pd.DataFrame | None,
          lapse: pd.DataFrame | None, as_of, scale: Scale, *, days: int = 90, lang: str = "ja") -> dict:
    """Everything the 満足度 sheet shows, plus `latest`: one row per customer of `customers` (latest_score and
    latest_at blank for those who never answered) for the 最新評価 / 評価日 columns."""
    from .lapse import STATUS, STATUS_EN
    resp = responses(contacts, scale, as_of)
    ignored, unscored = resp.attrs["ignored"], resp.attrs["unscored"]
    resp = resp[schema.isin(resp["customer_id"], customers["customer_id"])]
    pc = per_customer(resp)
    seg_col = "segment_ja" if lang == "ja" else "segment"
    seg = (scored.set_index("customer_id")[seg_col].astype(object) if scored is not None and len(scored)
           else pd.Series(dtype=object))
    lap = lapse if lapse is not None else pd.DataFrame(columns=["customer_id", "status", "status_en"])
    st = lap.set_index("customer_id")["status" if lang == "ja" else "status_en"].astype(object)
    latest = customers[["customer_id"]].drop_duplicates().merge(
        pc[["customer_id", "latest_score", "latest_at", "average", "answers"]], on="customer_id", how="left")
    return {"as_of": pd.Timestamp(as_of).normalize(), "scale": scale, "responses": resp, "per_customer": pc,
            "overall": overall(resp, scale), "by_segment": by_group(pc, seg, scale),
            "by_status": by_group(pc, st, scale, order=STATUS if lang == "ja" else STATUS_EN),
            "low_lapse": low_then_lapse(resp, lap, scale, as_of, days), "monthly": monthly(resp, scale),
            "latest": latest, "ignored": ignored, "unscored": unscored}


# --- the follow-up rule "survey" ---------------------------------------------------------------------------------

def low_score_followups(contacts: pd.DataFrame | None, scale: Scale, as_of, within_days: float) -> pd.DataFrame:
    """Customers whose latest answer (up to `as_of`) is low and at most `within_days` old: customer_id,
    contact_id, type, score, at. A newer answer that is not low takes the customer off (satisfaction came back)."""
    resp = responses(contacts, scale, as_of)
    pc = per_customer(resp)
    age = (pd.Timestamp(as_of).normalize() - pc["latest_at"].dt.normalize()).dt.days
    sel = pc["latest_score"].le(scale.low) & age.le(within_days)
    return pd.DataFrame({"customer_id": pc.loc[sel, "customer_id"].to_numpy(),
                         "contact_id": pc.loc[sel, "latest_contact"].to_numpy(),
                         "type": pc.loc[sel, "latest_type"].to_numpy(),
                         "score": pc.loc[sel, "latest_score"].to_numpy(),
                         "at": pc.loc[sel, "latest_at"].to_numpy()})
