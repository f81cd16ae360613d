"""Timed steps (ステップメール): chains of follow-ups a fixed number of days after a trigger, stopping when the
customer orders.

The editable ステップ sheet holds one row per step: チェーンID, 段目, 起点 (初回購入 = the first purchase day, 登録 =
the registration day, for prospects), 日数 after the trigger, 名称, 推奨アクション, チャネル, クーポン, 区分 (販促 =
advertising, 案内 = service), 優先度, 期限日数, 有効.

Per customer and chain there is one current step: the latest enabled step whose day has come. The chain stops when
the customer orders again (初回購入: a purchase on a later day than the first; 登録: any purchase on or after the
registration day); it ends `last_days` after the last step's day. The follow-up list gets one row per customer and
chain, for the current step: `step:<chain>:<customer>:<trigger yyyymmdd>:<n>`. When the next step's day comes,
the earlier open row closes (superseded) and the next one opens; rows staff completed stay completed.

Opt-outs: a step is advertising (needs explicit メール可否=可 for e-mail) unless its 区分 is 案内 and it carries no
coupon — a coupon is always advertising.

Coupon templates: `{顧客ID}` (or `{customer_id}`), `{チェーンID}` (`{chain}`), `{段目}` (`{step}`) and `{起点日}`
(`{trigger}`, yyyymmdd) are replaced per customer, e.g. `F2-{顧客ID}` → `F2-C0001`. Any other `{...}` or a stray
brace is bad input.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import followup as fu
from . import messages, schema
from .messages import BadInput, Problem
from .purchases import is_purchase, purchase_days
from .schema import Column, Table

__all__ = ["TRIGGERS", "KINDS", "REPLACES", "STEPS_TABLE", "PLACEHOLDERS", "default_steps", "Step", "Chain",
           "check_coupon", "expand_coupon", "parse_steps", "progress", "follow_id", "split_id", "candidates", "covered",
           "closing_notes", "MIN_JUDGED", "draw", "listed", "held_out", "verdict", "control_comparison", "report",
           "summary"]

TRIGGERS = ("初回購入", "登録")
KINDS = ("販促", "案内")
# the follow-up rules a chain of that trigger replaces for the customers it covers (no double お礼 / F2 rows)
REPLACES = {"初回購入": ("thanks", "f2"), "登録": ("prospect",)}

STEPS_TABLE = Table("steps", "ステップ", (
    Column("chain", "チェーンID", "id", required=True),
    Column("step", "段目", "number"),
    Column("trigger", "起点"),
    Column("days", "日数", "number"),
    Column("name", "名称"),
    Column("action", "推奨アクション"),
    Column("channels", "チャネル"),
    Column("coupon", "クーポン", aliases=("クーポンコード",)),
    Column("kind", "区分"),
    Column("priority", "優先度", "number"),
    Column("due_days", "期限日数", "number"),
    Column("enabled", "有効", "bool"),
    Column("note", "説明"),
))

_TRIGGER_WORDS = {"初回購入": "初回購入", "初回": "初回購入", "購入": "初回購入", "初回注文": "初回購入",
                  "first_order": "初回購入", "first order": "初回購入", "first purchase": "初回購入",
                  "登録": "登録", "登録日": "登録", "registered": "登録", "registration": "登録",
                  "registered_on": "登録"}
_KIND_WORDS = {"販促": "販促", "広告": "販促", "marketing": "販促", "promotion": "販促",
               "案内": "案内", "連絡": "案内", "service": "案内", "お知らせ": "案内"}
PLACEHOLDERS = {"顧客id": "customer", "customer_id": "customer", "チェーンid": "chain", "chain": "chain",
                "段目": "step", "step": "step", "起点日": "trigger", "trigger": "trigger"}

_DEFAULTS = [  # step, days, name, action, channels, coupon, kind, priority, due_days, note
    (1, 3, "お礼", "初回購入のお礼(お届けの確認・使い方のご案内)", "メール、DM", "", "案内", 3, 4,
     "初回購入の3日後。販促を含めない案内なので、メール可否が空欄の人にも送れます。"),
    (2, 14, "使い方", "使い方のコツ・よくある質問のご案内", "メール、DM", "", "販促", 3, 7,
     "初回購入の14日後。"),
    (3, 25, "F2クーポン", "2回目購入のクーポンを送る", "メール、DM", "F2-{顧客ID}", "販促", 2, 7,
     "初回購入の25日後。クーポンの {顧客ID} は顧客ごとに置き換わります。"),
]


def default_steps() -> pd.DataFrame:
    """The ステップ table of a new workbook: the F2 chain お礼 (day 3) → 使い方 (day 14) → F2クーポン (day 25)."""
    rows = [{"chain": "F2", "step": float(n), "trigger": "初回購入", "days": float(d), "name": name, "action": act,
             "channels": ch, "coupon": cp, "kind": kind, "priority": float(pr), "due_days": float(due),
             "enabled": True, "note": note}
            for n, d, name, act, ch, cp, kind, pr, due, note in _DEFAULTS]
    df = pd.DataFrame(rows)
    df["enabled"] = df["enabled"].astype("boolean")
    return df


@dataclass(frozen=True)
class Step:
    n: int
    days: int
    name: str
    action: str
    channels: tuple[str, ...]
    coupon: str
    marketing: bool
    priority: float
    due_days: int


@dataclass(frozen=True)
class Chain:
    chain: str
    trigger: str
    steps: tuple[Step, ...]          # the enabled steps, by day

    @property
    def enabled(self) -> bool:
        return bool(self.steps)

    def step(self, n: int) -> Step | None:
        return next((s for s in self.steps if s.n == n), None)


def _norm(v) -> str:
    return unicodedata.normalize("NFKC", str(v or "")).strip()


def check_coupon(template: str) -> str:
    """The template with full-width braces folded; ValueError("st_bad_placeholder") for an unknown or broken
    placeholder."""
    s = _norm(template)
    for name in re.findall(r"\{([^{}]*)\}", s):
        if name.strip().lower() not in PLACEHOLDERS:
            raise ValueError("st_bad_placeholder")
    if "{" in re.sub(r"\{[^{}]*\}", "", s) or "}" in re.sub(r"\{[^{}]*\}", "", s):
        raise ValueError("st_bad_placeholder")
    return s


def expand_coupon(template: str, customer: str, chain: str, n: int, trigger) -> str:
    """The coupon code for one customer (placeholders as in the module docstring)."""
    if not template:
        return ""
    values = {"customer": customer, "chain": chain, "step": str(n), "trigger": f"{pd.Timestamp(trigger):%Y%m%d}"}
    return re.sub(r"\{([^{}]*)\}", lambda m: values[PLACEHOLDERS[m.group(1).strip().lower()]], template)


def parse_steps(df: pd.DataFrame | None, sheet: str = "ステップ") -> dict[str, Chain]:
    """Chains by ID from the conformed ステップ table; BadInput naming every bad cell (unknown 起点 or 区分, a
    missing or repeated 段目, 日数 not rising with 段目, an unknown チャネル, a bad クーポン placeholder, a
    チェーンID with ':')."""
    if df is None:
        df = default_steps()
    headers = df.attrs.get("headers", {})
    letters = df.attrs.get("letters", {})
    problems: list[Problem] = []

    def bad(row, key, what, **kw):
        h = headers.get(key, STEPS_TABLE.header(key))
        lt = letters.get(h, "")
        problems.append(Problem(sheet, int(row), h, what, cell=f"{lt}{row}" if lt and row else "", **kw))

    rows: dict[str, list] = {}
    for row, r in df.iterrows():
        cid = _norm(r["chain"])
        if ":" in cid:
            bad(row, "chain", "st_bad_chain")
            continue
        n, d = r.get("step"), r.get("days")
        if n is None or pd.isna(n) or n < 1 or not float(n).is_integer():
            bad(row, "step", "st_bad_step")
            continue
        if d is None or pd.isna(d) or d < 0 or not float(d).is_integer():
            bad(row, "days", "st_bad_days")
            continue
        trig = _TRIGGER_WORDS.get(_norm(r.get("trigger")).lower(), None) if _norm(r.get("trigger")) else ""
        if trig is None:
            bad(row, "trigger", "bad_choice", choices=" / ".join(TRIGGERS))
        kind = _KIND_WORDS.get(_norm(r.get("kind")).lower(), None) if _norm(r.get("kind")) else "販促"
        if kind is None:
            bad(row, "kind", "bad_choice", choices=" / ".join(KINDS))
        try:
            coupon = check_coupon(r.get("coupon"))
        except ValueError as e:
            bad(row, "coupon", str(e.args[0]), names=" ".join("{" + p + "}" for p in ("顧客ID", "チェーンID", "段目",
                                                                                    "起点日")))
            coupon = ""
        chans = []
        for w in re.split(r"[,、，;；/／\s→>]+", _norm(r.get("channels"))):
            if not w:
                continue
            ch = fu._CHANNEL_WORDS.get(w.lower())
            if ch is None:
                bad(row, "channels", "fu_bad_channel", choices=" / ".join(fu.CHANNELS))
                break
            if ch not in chans:
                chans.append(ch)
        if not chans and _norm(r.get("channels")) == "":
            bad(row, "channels", "fu_bad_channel", choices=" / ".join(fu.CHANNELS))
        name = _norm(r.get("name")) or f"{int(n)}"
        en = r.get("enabled")
        prio, due = r.get("priority"), r.get("due_days")
        rows.setdefault(cid, []).append(dict(
            row=row, n=int(n), days=int(d), trigger=trig, name=name, action=_norm(r.get("action")) or name,
            channels=tuple(chans), coupon=coupon, marketing=kind == "販促" or bool(coupon),
            priority=3.0 if prio is None or pd.isna(prio) else float(prio),
            due_days=7 if due is None or pd.isna(due) else max(int(due), 0),
            enabled=True if en is pd.NA or en is None else bool(en)))
    out = {}
    for cid, steps in rows.items():
        seen = {}
        for s in steps:
            if s["n"] in seen:
                bad(s["row"], "step", "st_dup_step", other=seen[s["n"]])
            seen.setdefault(s["n"], s["row"])
        trigs = {s["trigger"] for s in steps if s["trigger"]}
        if len(trigs) > 1:
            for s in steps[1:]:
                if s["trigger"] and s["trigger"] != steps[0]["trigger"]:
                    bad(s["row"], "trigger", "st_mixed_trigger")
        trigger = next(iter(trigs)) if len(trigs) == 1 else "初回購入"
        on = sorted((s for s in steps if s["enabled"]), key=lambda s: s["n"])
        for a, b in zip(on, on[1:]) if len(seen) == len(steps) else ():
            if b["days"] <= a["days"]:
                bad(b["row"], "days", "st_days_order", prev=a["n"])
        out[cid] = Chain(cid, trigger, tuple(
            Step(s["n"], s["days"], s["name"], s["action"], s["channels"], s["coupon"], s["marketing"],
                 s["priority"], s["due_days"]) for s in on))
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column))
        raise BadInput(problems)
    return out


# --- where each customer stands ---------------------------------------------------------------------------------

def progress(chains: dict[str, Chain], customers: pd.DataFrame, orders: pd.DataFrame, as_of, *,
             last_days: int = 30) -> pd.DataFrame:
    """Per chain and customer with a trigger on or before `as_of`: trigger, stop (the order day that stopped
    the chain, NaT if none), age (days since the trigger), current (step number in force, 0 = before the first
    step), state (waiting / active / stopped / finished)."""
    as_of = pd.Timestamp(as_of).normalize()
    pd_ = purchase_days(orders, as_of)
    first = pd_[pd_["n"].eq(0).to_numpy()].set_index("customer_id")["order_date"]
    frames = []
    for c in chains.values():
        if not c.enabled:
            continue
        if c.trigger == "初回購入":
            trig = first
            second = pd_[pd_["n"].eq(1).to_numpy()]
            stop = second.set_index("customer_id")["order_date"].reindex(trig.index)
        else:
            reg = customers.drop_duplicates("customer_id").set_index("customer_id")["registered_on"]
            trig = reg[reg.notna() & reg.le(as_of)]
            # a customer who bought before registering is no prospect
            trig = trig[~(first.reindex(trig.index) < trig).fillna(False).to_numpy()]
            m = pd_.join(trig.rename("t"), on="customer_id", how="inner")
            stop = m[m["order_date"].ge(m["t"])].groupby("customer_id")["order_date"].min().reindex(trig.index)
        days = np.array([s.days for s in c.steps])
        age = (as_of - trig).dt.days.to_numpy()
        idx = np.searchsorted(days, age, side="right") - 1
        current = np.where(idx >= 0, np.array([s.n for s in c.steps])[np.maximum(idx, 0)], 0)
        end = days[-1] + last_days
        # an order after the chain's span (an old customer's second order) ended nothing: the chain had finished
        stopped = ((stop - trig).dt.days <= end).to_numpy()
        state = np.where(stopped, "stopped",
                         np.where(age > end, "finished", np.where(idx >= 0, "active", "waiting")))
        frames.append(pd.DataFrame({"chain": c.chain, "customer_id": trig.index.to_numpy(dtype=object),
                                    "trigger": trig.to_numpy(), "stop": stop.to_numpy(), "age": age,
                                    "current": current, "state": state}))
    if not frames:
        return pd.DataFrame({"chain": pd.Series(dtype=object), "customer_id": pd.Series(dtype=object),
                             "trigger": pd.Series(dtype="datetime64[ns]"), "stop": pd.Series(dtype="datetime64[ns]"),
                             "age": pd.Series(dtype=int), "current": pd.Series(dtype=int),
                             "state": pd.Series(dtype=object)})
    out = pd.concat(frames, ignore_index=True)
    out["trigger"] = pd.to_datetime(out["trigger"]).astype("datetime64[ns]")
    out["stop"] = pd.to_datetime(out["stop"]).astype("datetime64[ns]")
    return out


def follow_id(chain: str, customer: str, trigger, n: int) -> str:
    return f"step:{chain}:{customer}:{pd.Timestamp(trigger):%Y%m%d}:{n}"


def split_id(fid: str) -> tuple[str, str, pd.Timestamp, int] | None:
    """(chain, customer, trigger, n) of a step row's フォローID; None for other rows."""
    if not str(fid).startswith("step:"):
        return None
    head, trig, n = str(fid).rsplit(":", 2)
    _, chain, customer = head.split(":", 2)
    try:
        return chain, customer, pd.Timestamp(trig), int(n)
    except ValueError:
        return None


def candidates(chains: dict[str, Chain], prog: pd.DataFrame, customers: pd.DataFrame, as_of, *,
               exclude_customers=(), lang: str = "ja") -> pd.DataFrame:
    """List rows (FOLLOW_TABLE keys, as `followup.candidates`) for the active customers' current steps.
    `out.attrs["skipped_optout"]` counts customers whose current step no allowed channel reaches."""
    as_of = pd.Timestamp(as_of).normalize()
    cust = customers.drop_duplicates("customer_id").set_index("customer_id", drop=False)
    excluded = set(exclude_customers)
    act = prog[prog["state"].eq("active").to_numpy(bool) & schema.isin(prog["customer_id"], cust.index)
               & ~schema.isin(prog["customer_id"], excluded)]
    cust = cust.loc[act["customer_id"].unique()]       # the few customers at a step, not the whole book
    reach = fu._reachable(cust)
    frames, skipped = [], 0
    for (cid, n), g in act.groupby(["chain", "current"], sort=True):
        c = chains[cid]
        s = c.step(int(n))
        rule = fu.Rule(f"step:{cid}", True, s.name, {}, s.channels, s.priority, s.due_days, s.action, s.marketing)
        ids = g["customer_id"].to_numpy(dtype=object)
        ch = fu._pick_channel(rule, reach.loc[ids]).to_numpy()
        ok = ch != ""
        skipped += int((~ok).sum())
        g = g[ok]
        trig = pd.to_datetime(g["trigger"])
        due = (trig + pd.Timedelta(days=s.days + s.due_days)).clip(lower=as_of)
        total = len(c.steps)
        pos = [x.n for x in c.steps].index(s.n) + 1
        what = messages.text("st_trigger_" + ("first" if c.trigger == "初回購入" else "registered"), lang)
        frames.append(pd.DataFrame({
            "follow_id": [follow_id(cid, i, t, s.n) for i, t in zip(g["customer_id"], trig)],
            "customer_id": g["customer_id"].to_numpy(dtype=object),
            "name": cust.loc[g["customer_id"], "name"].to_numpy(),
            "reason": [messages.text("st_reason", lang, chain=cid, pos=pos, total=total, name=s.name, what=what,
                                     date=f"{t:%Y-%m-%d}", days=int(a)) for t, a in zip(trig, g["age"])],
            "action": s.action,
            "coupon": [expand_coupon(s.coupon, i, cid, s.n, t) for i, t in zip(g["customer_id"], trig)],
            "channel": ch[ok],
            "priority": s.priority,
            "due": due.to_numpy(),
            "staff": cust.loc[g["customer_id"], "staff"].to_numpy() if "staff" in cust else "",
            "rule": f"step:{cid}",
        }))
    cols = ["follow_id", "customer_id", "name", "reason", "action", "coupon", "channel", "priority", "due", "staff",
            "rule"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out["due"] = pd.to_datetime(out["due"]).astype("datetime64[ns]")
    out["priority"] = out["priority"].astype(float)
    out.attrs["skipped_optout"] = skipped
    return out


def covered(chains: dict[str, Chain], prog: pd.DataFrame) -> dict[str, set]:
    """Rule id -> customers a running chain covers (waiting or active), whose rows of that rule are left out."""
    out: dict[str, set] = {}
    live = prog[prog["state"].isin(["waiting", "active"])]
    for cid, g in live.groupby("chain"):
        for rid in REPLACES[chains[cid].trigger]:
            out.setdefault(rid, set()).update(g["customer_id"])
    return out


def _rows_with_progress(follow: pd.DataFrame | None, prog: pd.DataFrame) -> pd.DataFrame:
    """The list's step rows (follow_id, chain, customer_id, trigger, n, status, coupon) with where the customer
    stands in that chain (state, stop, current; NaN/NaT when the chain has no record of that trigger)."""
    cols = ["follow_id", "chain", "customer_id", "trigger", "n", "status", "coupon"]
    if follow is None or not len(follow):
        rows = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    else:
        parts = [split_id(x) for x in follow["follow_id"]]
        keep = np.array([p is not None for p in parts], dtype=bool)
        parts = [p for p in parts if p is not None]
        coupon = follow["coupon"] if "coupon" in follow else pd.Series("", index=follow.index)
        rows = pd.DataFrame({
            "follow_id": follow["follow_id"].to_numpy(dtype=object)[keep],
            "chain": [p[0] for p in parts], "customer_id": [p[1] for p in parts],
            "trigger": pd.to_datetime(pd.Series([p[2] for p in parts], dtype=object)),
            "n": [p[3] for p in parts],
            "status": follow["status"].fillna("").replace("", "未着手").to_numpy(dtype=object)[keep],
            "coupon": coupon.fillna("").astype(str).str.strip().to_numpy(dtype=object)[keep]})
    rows["trigger"] = pd.to_datetime(rows["trigger"]).astype("datetime64[ns]")
    p = prog[["chain", "customer_id", "trigger", "state", "stop", "current"]]
    return rows.merge(p, on=["chain", "customer_id", "trigger"], how="left")


def closing_notes(existing: pd.DataFrame | None, chains: dict[str, Chain], prog: pd.DataFrame, now,
                  lang: str = "ja") -> dict[str, str]:
    """The note (dated `now`, as the list's own notes) an open step row gets when it closes: the customer
    ordered, the next step came, the chain ended or was switched off. Other rows close with the usual note."""
    r = _rows_with_progress(existing, prog)
    r = r[r["status"].isin(fu.OPEN).to_numpy(dtype=bool)]
    d = f"{pd.Timestamp(now):%Y-%m-%d}"
    out = {}
    for x in r.itertuples():
        c = chains.get(x.chain)
        if c is None or not c.enabled:
            out[x.follow_id] = messages.text("st_closed_off", lang, date=d)
        elif x.state == "stopped":
            out[x.follow_id] = messages.text("st_closed_ordered", lang, order=f"{x.stop:%Y-%m-%d}", date=d)
        elif x.state == "finished":
            out[x.follow_id] = messages.text("st_closed_finished", lang, date=d)
        elif x.state == "active" and int(x.current) != x.n:
            out[x.follow_id] = messages.text("st_closed_next", lang, name=c.step(int(x.current)).name, date=d)
    return out


# --- hold-out (対照群) -------------------------------------------------------------------------------------------

MIN_JUDGED = 20      # customers per group below which the comparison says 件数不足 rather than guess


def draw(chain: str, customer: str, trigger) -> float:
    """A number in [0, 1) fixed by chain, customer and trigger day (sha256, as `campaign.seed_for`): the same on
    every refresh and machine, and independent between chains and between a customer's triggers."""
    return _draw(chain, customer, f"{pd.Timestamp(trigger):%Y%m%d}")


def _draw(chain: str, customer: str, day: str) -> float:
    key = f"{chain}:{customer}:{day}".encode("utf-8")
    return int(hashlib.sha256(key).hexdigest()[:8], 16) / 2 ** 32


def listed(follow: pd.DataFrame | None) -> set:
    """(chain, customer, trigger) of every step row on the list, whatever its 状態."""
    out = set()
    for fid in [] if follow is None or not len(follow) else follow["follow_id"]:
        p = split_id(fid)
        if p is not None:
            out.add(p[:3])
    return out


def held_out(prog: pd.DataFrame, pct: float, on_list=()) -> np.ndarray:
    """Per `progress` row: held out of its chain (no step rows, no coupon). A customer's draw below pct / 100
    holds them out; one who already has a step row for that trigger (listed before the hold-out was on or
    raised) stays contacted, so nobody moves in or out once a chain reached them."""
    if not pct or not len(prog):
        return np.zeros(len(prog), dtype=bool)
    on_list = set(on_list)
    triggers = pd.to_datetime(prog["trigger"])
    if triggers.isna().any():
        days = [f"{pd.Timestamp(t):%Y%m%d}" for t in prog["trigger"]]
    else:   # the days as text in one pass: 80,000 triggers on a 100,000-customer book
        days = triggers.dt.strftime("%Y%m%d").tolist()
    return np.array([_draw(c, i, d) < pct / 100 and (c, i, pd.Timestamp(t)) not in on_list
                     for c, i, d, t in zip(prog["chain"], prog["customer_id"], days, prog["trigger"])], dtype=bool)


def verdict(res: dict) -> str:
    """件数不足 / 効果あり / 逆効果 / はっきりしない from a `campaign.compare` result (the 95% interval of the
    difference above zero, below zero, or across it)."""
    if min(res["treated"]["n"], res["control"]["n"]) < MIN_JUDGED:
        return "few"
    d = res["rate_diff"]
    return "yes" if d["lo"] > 0 else "worse" if d["hi"] < 0 else "unclear"


def control_comparison(chains: dict[str, Chain], prog: pd.DataFrame, follow: pd.DataFrame | None, as_of, *,
                       pct: float, judge_days: int = 30) -> list[dict]:
    """Per enabled chain: contacted vs held out, over the customers who entered it since it ran with a hold-out
    (triggers from the first held-out customer's on, and not before the chain's first row on the list).

    A customer can be judged once trigger + the last step's day + `judge_days` ≤ `as_of`; they *ordered* if their
    chain-stopping purchase (初回購入: the second purchase day; 登録: the first order from registration) falls
    within that window. Groups as assigned (intention to treat), compared with `campaign.compare`."""
    from . import campaign as cp
    as_of = pd.Timestamp(as_of).normalize()
    on_list = listed(follow)
    held = held_out(prog, pct, on_list)
    out = []
    for cid, c in chains.items():
        if not c.enabled:
            continue
        mine = prog["chain"].eq(cid).to_numpy(dtype=bool)
        p, h = prog[mine], held[mine]
        first_row = min((t for ch, _, t in on_list if ch == cid), default=None)
        since = None
        if first_row is not None and h.any():
            t = p["trigger"][h]
            t = t[t.ge(first_row)]
            since = t.min() if len(t) else None
        window = c.steps[-1].days + judge_days
        keep = p["trigger"].ge(since).to_numpy(dtype=bool) if since is not None else np.zeros(len(p), dtype=bool)
        p, h = p[keep], h[keep]
        judged = (p["trigger"] + pd.Timedelta(days=window)).le(as_of).to_numpy(dtype=bool)
        bought = ((p["stop"] - p["trigger"]).dt.days <= window).to_numpy(dtype=bool)
        outcome = pd.DataFrame({"customer_id": p["customer_id"].to_numpy(dtype=object)[judged],
                                "group": np.where(h[judged], cp.CONTROL, cp.TREATED),
                                "bought": bought[judged], "revenue": 0.0})
        res = cp.compare(outcome)
        out.append({"chain": cid, "since": since, "window": window,
                    "entered": (int((~h).sum()), int(h.sum())), "result": res,
                    "verdict": verdict(res) if "rate_diff" in res else "few"})
    return out


# --- the ステップ状況 report --------------------------------------------------------------------------------------

def _code(s: pd.Series) -> pd.Series:
    """Coupon codes as compared: width folded, trimmed, case ignored."""
    return s.fillna("").astype(str).map(lambda v: unicodedata.normalize("NFKC", v).strip().casefold())


def report(chains: dict[str, Chain], prog: pd.DataFrame, follow: pd.DataFrame | None, orders: pd.DataFrame,
           as_of, *, last_days: int = 30, coupon_days: int = 30) -> pd.DataFrame:
    """Per chain and step: rows on the list (reached), open, done (完了), closed (不要); of the customers the chain
    summary counts (`in_span`, on the list or not): entered (the step's day came before any order stopped the
    chain) and ordered (the chain stopped by an order while this step was the current one); coupons on the list and redeemed (an order
    carrying the row's クーポン within `coupon_days` of the step's day), and how many customers stand at the step
    today."""
    as_of = pd.Timestamp(as_of).normalize()
    r = _rows_with_progress(follow, prog)
    # each step's span in days after the trigger: [its day, the next step's day), the last one `last_days` long
    span = {(cid, s.n): (s.days, c.steps[i + 1].days if i + 1 < len(c.steps) else s.days + last_days + 1)
            for cid, c in chains.items() for i, s in enumerate(c.steps)}
    lo = np.array([span.get(k, (np.nan, np.nan))[0] for k in zip(r["chain"], r["n"])], dtype=float)
    r["issued"] = r["coupon"].ne("")
    o = orders[orders["order_date"].le(as_of).to_numpy() & is_purchase(orders["amount"].to_numpy(dtype=float))]
    if "coupon" in o and r["issued"].any():
        used = pd.DataFrame({"customer_id": o["customer_id"], "code": _code(o["coupon"]), "day": o["order_date"]})
        m = r[r["issued"]].assign(code=lambda x: _code(x["coupon"]),
                                  start=lambda x: x["trigger"] + pd.to_timedelta(lo[r["issued"].to_numpy()],
                                                                                  unit="D"))
        m = m.merge(used[used["code"].ne("")], on=["customer_id", "code"])
        hit = m[(m["day"] >= m["start"]) & (m["day"] <= m["start"] + pd.Timedelta(days=coupon_days))]
        r["redeemed"] = r["follow_id"].isin(set(hit["follow_id"]))
    else:
        r["redeemed"] = False
    now = prog[prog["state"].eq("active")]
    # who ordered during which step: the customers the chain summary counts (listed on the list or not), so the
    # steps' 注文で終了 (and the ones who ordered before the first step) add up to the chain's
    cur = in_span(chains, prog, last_days=last_days)
    stop_age = (pd.to_datetime(cur["stop"]) - cur["trigger"]).dt.days.to_numpy(dtype=float)
    stopped = cur["state"].eq("stopped").to_numpy(dtype=bool)
    rows, before = [], {}
    for cid, c in chains.items():
        mine_c = cur["chain"].eq(cid).to_numpy(dtype=bool)
        age = cur["age"].to_numpy(dtype=float)
        before[cid] = int((mine_c & stopped & (stop_age < c.steps[0].days)).sum())
        for s in c.steps:
            a, b = span[(cid, s.n)]
            mine = r[r["chain"].eq(cid) & r["n"].eq(s.n)]
            entered = mine_c & (age >= a) & ~(stopped & (stop_age < a))
            rows.append({"chain": cid, "step": s.n, "name": s.name, "days": s.days, "coupon": s.coupon,
                         "current": int((now["chain"].eq(cid) & now["current"].eq(s.n)).sum()),
                         "reached": len(mine), "open": int(mine["status"].isin(fu.OPEN).sum()),
                         "done": int(mine["status"].eq("完了").sum()), "closed": int(mine["status"].eq("不要").sum()),
                         "entered": int(entered.sum()),
                         "ordered": int((mine_c & stopped & (stop_age >= a) & (stop_age < b)).sum()),
                         **{k: int(mine[k].sum()) for k in ("issued", "redeemed")}})
    out = pd.DataFrame(rows, columns=["chain", "step", "name", "days", "coupon", "current", "reached", "open",
                                      "done", "closed", "entered", "ordered", "issued", "redeemed"])
    out.attrs["ordered_before"] = before       # per chain: ordered before the first step's day
    return out


def in_span(chains: dict[str, Chain], prog: pd.DataFrame, *, last_days: int = 30) -> pd.DataFrame:
    """The customers a chain's figures speak of: those whose trigger lies within the chain's span (last step +
    `last_days`) — waiting, at a step, or stopped by an order within it."""
    if not len(prog):
        return prog
    span = prog["chain"].map({cid: c.steps[-1].days + last_days for cid, c in chains.items()})
    return prog[prog["age"].le(span).to_numpy(dtype=bool)]


def summary(chains: dict[str, Chain], prog: pd.DataFrame, *, last_days: int = 30) -> pd.DataFrame:
    """Per chain, over the customers whose trigger lies within the chain's span (last step + `last_days`):
    waiting for the first step, at a step, stopped by an order."""
    rows = []
    cur = in_span(chains, prog, last_days=last_days)
    for cid, c in chains.items():
        p = cur[cur["chain"].eq(cid)] if len(cur) else cur
        n = {k: int(p["state"].eq(k).sum()) if len(p) else 0 for k in ("waiting", "active", "stopped")}
        rows.append({"chain": cid, "trigger": c.trigger, "steps": len(c.steps), "enabled": c.enabled,
                     "span": (c.steps[-1].days + last_days) if c.enabled else 0, **n})
    return pd.DataFrame(rows, columns=["chain", "trigger", "steps", "enabled", "span", "waiting", "active",
                                       "stopped"])
