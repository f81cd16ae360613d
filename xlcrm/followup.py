"""Follow-up lists (フォローリスト): who to contact, why, how, by when and by whom.

Rules live on the editable ルール sheet (one row per rule: on/off, parameters, channels in order of preference,
priority, due-in days, the suggested action). `candidates()` turns customers, orders, contacts and the RFM / lapse
frames into list rows; `refresh()` merges them into the list staff already work on, keeping what they wrote;
`completed_contacts()` turns rows marked 完了 into 対応履歴 rows, once.

Row key (フォローID) = rule + customer + period (e.g. `winback:C0001:20240301`, the period being the episode the
row is about), so a refresh finds the same row again while the reason holds and a new episode gets a new row.

Opt-outs: DM可否=不可 never gets a DM row. Marketing e-mail needs explicit メール可否=可 (opt-in under 特定電子メール法);
a blank メール可否 counts as "not allowed" for marketing rules. Service mails (order thanks, 定期 delivery notice,
complaint reply) only need the customer not to have refused mail. When no channel of a rule is allowed and
reachable, the customer gets no row for that rule.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from . import messages, schema
from .messages import BadInput, Problem
from .purchases import purchase_days
from .schema import Column, Table

__all__ = ["CHANNELS", "STATUSES", "OPEN", "RULES_TABLE", "FOLLOW_TABLE", "default_rules", "Rule", "parse_rules", "Facts",
           "Found", "RuleDef", "RULES", "BY_ID", "candidates", "SYSTEM_COLUMNS", "STAFF_COLUMNS",
           "empty_list", "refresh", "completed_contacts"]

CHANNELS = ("電話", "メール", "DM", "LINE")
STATUSES = ("未着手", "対応中", "完了", "不要")
OPEN = ("未着手", "対応中")

RULES_TABLE = Table("rules", "ルール", (
    Column("rule", "ルールID", "id", required=True),
    Column("enabled", "有効", "bool"),
    Column("name", "名称"),
    Column("params", "パラメータ"),
    Column("channels", "チャネル"),
    Column("priority", "優先度", "number"),
    Column("due_days", "期限日数", "number"),
    Column("action", "推奨アクション"),
    Column("note", "説明"),
), id_column="rule")

FOLLOW_TABLE = Table("followups", "フォローリスト", (
    Column("customer_id", "顧客ID", "id", required=True),
    Column("name", "氏名"),
    Column("reason", "理由"),
    Column("action", "推奨アクション"),
    Column("coupon", "クーポン", aliases=("クーポンコード",)),   # filled by step chains (xlcrm/steps.py)
    Column("channel", "チャネル"),
    Column("priority", "優先度", "number"),
    Column("due", "期限", "date"),
    Column("staff", "担当者"),
    Column("status", "状態", "choice", choices=STATUSES),
    Column("memo", "結果メモ", aliases=("メモ",)),
    Column("created", "作成日時", "datetime"),
    Column("follow_id", "フォローID", "id", required=True),   # the row key; last, since staff read from the left
    Column("rule", "ルール"),
    Column("campaign_id", "キャンペーンID"),
    Column("contact_ref", "履歴ID"),
), id_column="follow_id")

def default_rules(lang: str | None = None) -> pd.DataFrame:
    """The ルール table of a new workbook (English keys; `schema.to_sheet(df, RULES_TABLE)` for headers). The rule
    column holds the English ids, or with `lang` the ルールID as that language's sheet shows it."""
    rows = []
    for r in RULES:
        params = "、".join(f"{ja}={_fmt(v)}" for ja, v in r.params.values())
        rows.append({"rule": rule_key(r.id, lang) if lang else r.id, "enabled": True, "name": r.name,
                     "params": params, "channels": r.channels,
                     "priority": float(r.priority), "due_days": float(r.due_days), "action": r.action,
                     "note": r.note})
    df = pd.DataFrame(rows)
    df["enabled"] = df["enabled"].astype("boolean")
    return df


def _fmt(v) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


@dataclass
class Rule:
    rule: str
    enabled: bool
    name: str
    params: dict
    channels: tuple[str, ...]
    priority: float
    due_days: int
    action: str
    marketing: bool = field(default=False)


_CHANNEL_WORDS = {"電話": "電話", "tel": "電話", "phone": "電話", "でんわ": "電話", "メール": "メール", "mail": "メール",
                  "email": "メール", "e-mail": "メール", "eメール": "メール", "dm": "DM", "ダイレクトメール": "DM",
                  "はがき": "DM", "line": "LINE"}


def parse_rules(rules: pd.DataFrame, sheet: str = "ルール") -> dict[str, Rule]:
    """Rules by id from the conformed ルール table; BadInput naming each bad cell (unknown rule, parameter,
    channel). A rule missing from the sheet keeps its default; a blank 有効 means on."""
    problems: list[Problem] = []
    defaults = {r["rule"]: r for r in default_rules().to_dict("records")}
    rows = {r: dict(v) for r, v in defaults.items()}
    where = {}
    headers = rules.attrs.get("headers", {}) if rules is not None else {}
    letters = rules.attrs.get("letters", {}) if rules is not None else {}

    def cell(key, row):
        h = headers.get(key, RULES_TABLE.header(key))
        lt = letters.get(h, "")
        return h, (f"{lt}{row}" if lt else "")

    for row, r in (rules.iterrows() if rules is not None else []):
        rid = rule_from_sheet(r["rule"])
        if rid not in defaults:
            h, c = cell("rule", row)
            problems.append(Problem(sheet, int(row), h, "fu_unknown_rule", cell=c,
                                    rules=" / ".join(rule_key(k) for k in defaults)))
            continue
        d = rows[rid]
        for k in ("enabled", "name", "params", "channels", "priority", "due_days", "action"):
            v = r.get(k)
            if k == "enabled":
                d[k] = True if v is pd.NA or v is None else bool(v)
            elif k in ("priority", "due_days"):
                if v is not None and not pd.isna(v):
                    d[k] = float(v)
            elif isinstance(v, str) and v.strip():
                d[k] = v.strip()
        where[rid] = row
    out = {}
    for rid, d in rows.items():
        row = where.get(rid)
        try:
            params = _parse_params(rid, d["params"])
        except ValueError as e:
            if row is None:
                raise
            h, c = cell("params", row)
            problems.append(Problem(sheet, int(row), h, str(e.args[0]), cell=c,
                                    names=" / ".join(ja for ja, _ in BY_ID[rid].params.values())))
            continue
        chans = []
        for w in re.split(r"[,、，;；/／\s→>]+", unicodedata.normalize("NFKC", d["channels"]).strip()):
            if not w:
                continue
            ch = _CHANNEL_WORDS.get(w.lower())
            if ch is None:
                h, c = cell("channels", row)
                problems.append(Problem(sheet, int(row or 0), h, "fu_bad_channel", cell=c,
                                        choices=" / ".join(CHANNELS)))
                break
            if ch not in chans:
                chans.append(ch)
        out[rid] = Rule(rid, d["enabled"], d["name"], params, tuple(chans), float(d["priority"]),
                        int(d["due_days"]), d["action"], BY_ID[rid].marketing)
    if problems:
        raise BadInput(problems)
    return out


def _parse_params(rid: str, text: str) -> dict:
    spec = BY_ID[rid].params
    names = {}
    for key, (ja, _) in spec.items():
        names[ja] = key
        names[key.lower()] = key
    out = {key: float(v) for key, (_, v) in spec.items()}
    s = unicodedata.normalize("NFKC", text or "")
    for part in re.split(r"[,、;；\n]+", s):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(.+?)\s*[=:]\s*(-?\d+(?:\.\d+)?)\s*(?:日|%)?", part)
        if not m or (m.group(1).strip() not in names and m.group(1).strip().lower() not in names):
            raise ValueError("fu_bad_param")
        key = names.get(m.group(1).strip()) or names[m.group(1).strip().lower()]
        out[key] = float(m.group(2))
    return out


# --- candidates --------------------------------------------------------------------------------------------------

def _reachable(customers: pd.DataFrame) -> pd.DataFrame:
    """Per customer and channel: reachable at all (address/number present), refused, mail opt-in given."""
    c = customers
    def nonblank(col):
        return c[col].astype(str).str.strip().ne("") if col in c else pd.Series(False, index=c.index)
    line_col = next((k for k in c.columns if str(k).strip().lower().replace(" ", "") in ("line", "lineid")), None)
    mail_ok = c["mail_ok"] if "mail_ok" in c else pd.Series(pd.NA, index=c.index, dtype="boolean")
    dm_ok = c["dm_ok"] if "dm_ok" in c else pd.Series(pd.NA, index=c.index, dtype="boolean")
    return pd.DataFrame({
        "電話": nonblank("phone") | nonblank("mobile"),
        "メール": nonblank("email") & mail_ok.ne(False).fillna(True).astype(bool),
        "メール_opt_in": nonblank("email") & mail_ok.eq(True).fillna(False).astype(bool),
        "DM": (nonblank("address") | nonblank("postcode")) & dm_ok.ne(False).fillna(True).astype(bool),
        "LINE": nonblank(line_col) if line_col else pd.Series(False, index=c.index),
    }, index=c.index)


def _pick_channel(rule: Rule, reach: pd.DataFrame) -> pd.Series:
    """The first channel of the rule the customer allows and can be reached by ("" when none)."""
    out = np.full(len(reach), "", dtype=object)    # numpy: a masked Series assignment costs 100 times more
    for ch in reversed(rule.channels):  # earlier channels overwrite later ones
        col = "メール_opt_in" if ch == "メール" and rule.marketing else ch
        out[reach[col].to_numpy(dtype=bool)] = ch
    return pd.Series(out, index=reach.index, dtype=object)


def _day(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y%m%d") if not pd.isna(ts) else "none"


@dataclass
class Facts:
    """What the rules look at on one run of `candidates`: the as-of day, customers (index customer_id), RFM
    figures (`stats`), lapse status (`lap`), orders, contacts, first / last purchase per customer (from RFM, so
    `xlcrm.purchases`' definition), the 設定's survey scale and `t(key, **kw)` for reasons in the list's language."""
    as_of: pd.Timestamp
    customers: pd.DataFrame
    cust: pd.DataFrame
    orders: pd.DataFrame
    contacts: pd.DataFrame | None
    stats: pd.DataFrame
    lap: pd.DataFrame
    first: pd.Series
    last: pd.Series
    freq: pd.Series
    survey_scale: object
    lang: str

    def t(self, key, **kw):
        return messages.text(key, self.lang, **kw)


@dataclass
class Found:
    """A rule's customers with, per row, the period (the episode the row is about; part of フォローID), the
    reason, and optionally an event date the row is due before and a staff member of its own."""
    ids: object
    period: list
    reason: list
    due: object = None
    staff: object = None


def _thanks(f: Facts, p: dict):
    age = (f.as_of - f.first).dt.days
    sel = age.between(0, p["days"])
    return Found(f.stats.index[sel], ["first"] * int(sel.sum()),
                 [f.t("fu_reason_thanks", days=int(d), date=f"{x:%Y-%m-%d}") for d, x in zip(age[sel], f.first[sel])])


def _f2(f: Facts, p: dict):
    age = (f.as_of - f.first).dt.days
    # one purchase so far = one purchase day (RFM may count two orders of one day as 2; that is no repeat)
    days = purchase_days(f.orders, f.as_of)["customer_id"].value_counts()
    sel = days.reindex(f.stats.index).eq(1) & age.between(p["min_days"], p["max_days"])
    return Found(f.stats.index[sel], ["1"] * int(sel.sum()), [f.t("fu_reason_f2", days=int(d)) for d in age[sel]])


def _subscription(f: Facts, p: dict):
    if not len(f.lap) or "subscription" not in f.orders:
        return None
    o = f.orders[f.orders["order_date"].le(f.as_of)].sort_values("order_date", kind="stable")
    # a subscriber = the latest order is a 定期 one (blank counts as not: groupby.last would skip it)
    flag = o["subscription"].fillna(False).astype(bool)
    last_sub = flag.groupby(o["customer_id"]).last()
    subs = last_sub.index[last_sub.to_numpy()]
    nxt = pd.to_datetime(f.lap["expected_next"]).reindex(subs)
    days = (nxt - f.as_of).dt.days
    sel = days.between(0, p["lead_days"])
    return Found(subs[sel.to_numpy()], [_day(x) for x in nxt[sel]],
                 [f.t("fu_reason_sub", date=f"{x:%Y-%m-%d}", days=int(d)) for x, d in zip(nxt[sel], days[sel])],
                 due=nxt[sel] - pd.Timedelta(days=1))


def _winback(f: Facts, p: dict):
    if not len(f.lap):
        return None
    lap, stats = f.lap, f.stats
    m = (stats["m"] if "m" in stats else pd.Series(np.nan, index=stats.index)).astype(float).reindex(lap.index)
    sel = lap["status"].eq("離脱予兆") & m.ge(p["min_m"])
    ds = lap.loc[sel, "days_since_last"].astype(float) if "days_since_last" in lap else (
        f.as_of - f.last.reindex(lap.index)[sel]).dt.days
    return Found(lap.index[sel], [_day(x) for x in f.last.reindex(lap.index)[sel]],
                 [f.t("fu_reason_winback", days=int(d), m=int(mm)) for d, mm in zip(ds, m[sel])])


def _birthday(f: Facts, p: dict):
    if "birth_date" not in f.cust:
        return None
    target = f.as_of + pd.Timedelta(days=p["lead_days"])
    sel = pd.to_datetime(f.cust["birth_date"]).dt.month.eq(target.month)
    return Found(f.cust.index[sel.to_numpy()], [f"{target.year}"] * int(sel.sum()),
                 [f.t("fu_reason_birthday", month=target.month)] * int(sel.sum()))


def _complaint(f: Facts, p: dict):
    if f.contacts is None or not len(f.contacts):
        return None
    c = f.contacts[f.contacts["type"].eq("クレーム") & f.contacts["status"].ne("完了")]
    age = (f.as_of - pd.to_datetime(c["at"]).dt.normalize()).dt.days
    c = c[age.ge(p["after_days"]).to_numpy()]
    age = age[age.ge(p["after_days"])]
    return Found(c["customer_id"], list(c["contact_id"]),
                 [f.t("fu_reason_complaint", days=int(d), date=f"{x:%Y-%m-%d}")
                  for d, x in zip(age, pd.to_datetime(c["at"]))])


def _dormant(f: Facts, p: dict):
    if not len(f.lap):
        return None
    ds = (f.as_of - f.last.reindex(f.lap.index)).dt.days
    sel = f.lap["status"].eq("休眠") & (ds.le(p["max_days"]) if p["max_days"] > 0 else True)
    return Found(f.lap.index[sel], [_day(x) for x in f.last.reindex(f.lap.index)[sel]],
                 [f.t("fu_reason_dormant", days=int(d)) for d in ds[sel]])


def _prospect(f: Facts, p: dict):
    if "kind" not in f.cust:
        return None
    cust, contacts = f.cust, f.contacts
    bought = f.stats.index[f.freq.gt(0)] if len(f.stats) else []
    pro = cust[cust["kind"].eq("見込み").to_numpy(bool) & ~schema.isin(pd.Series(cust.index), bought)]
    touch = pd.to_datetime(pro["registered_on"]) if "registered_on" in pro else pd.Series(pd.NaT, index=pro.index)
    if contacts is not None and len(contacts):
        lc = contacts[contacts["at"].le(f.as_of + pd.Timedelta(days=1))].groupby("customer_id")["at"].max()
        touch = pd.concat([touch, pd.to_datetime(lc).dt.normalize().reindex(pro.index)], axis=1).max(axis=1)
    age = (f.as_of - touch).dt.days
    sel = age.ge(p["after_days"]) | touch.isna()
    return Found(pro.index[sel.to_numpy()], [_day(x) for x in touch[sel]],
                 [f.t("fu_reason_prospect", days=int(d)) if not pd.isna(d) else f.t("fu_reason_prospect_none")
                  for d in age[sel]])


def _stalled(f: Facts, p: dict):
    if f.contacts is None or not len(f.contacts):
        return None
    from .pipeline import stalled_followups
    st = stalled_followups(f.customers, f.orders, f.contacts, f.as_of, int(p["days"]))
    return Found(st["customer_id"], [_day(x) for x in st["since"]],
                 [f.t("pl_reason_stalled", stage=f.t(f"pl_stage_{s}"), days=int(d), date=f"{x:%Y-%m-%d}")
                  for s, d, x in zip(st["stage"], st["days"], st["since"])], staff=st["owner"].to_numpy())


def _survey(f: Facts, p: dict):
    from . import surveys
    low = surveys.low_score_followups(f.contacts, f.survey_scale or surveys.make_scale(), f.as_of, p["within_days"])
    return Found(low["customer_id"], list(low["contact_id"]),
                 [f.t("sv_reason", type=ty, type_en=f.t("sv_type_" + ty), score=surveys.fmt_score(sc),
                      date=f"{x:%Y-%m-%d}") for ty, sc, x in zip(low["type"], low["score"], low["at"])])


def _referral(f: Facts, p: dict):
    if "referrer_id" not in f.cust:
        return None
    from .referrals import rewards
    r = rewards(f.customers, f.orders, f.as_of, p["lookback_days"])
    return Found(r["referrer_id"], list(r["customer_id"]),
                 [f.t("rf_reason", name=n, id=i, date=f"{d:%Y-%m-%d}")
                  for n, i, d in zip(r["name"], r["customer_id"], r["first_order"])])


@dataclass(frozen=True)
class RuleDef:
    """One follow-up rule: its row on a new ルール sheet (name, parameters with their Japanese names and defaults,
    channels, priority, due-in days, action, note), whether it is marketing (needs e-mail opt-in) and
    `find(facts, params) -> Found | None`. Adding a rule = one RuleDef here, its reason in messages.py, a test."""
    id: str
    name: str
    params: dict
    channels: str
    priority: int
    due_days: int
    action: str
    note: str
    marketing: bool
    find: Callable[[Facts, dict], Found | None]


RULES: tuple[RuleDef, ...] = (
    RuleDef("thanks", "初回購入のお礼", {"days": ("日数", 7)}, "メール、DM", 3, 3,
            "初回購入のお礼を送る(使い方のご案内を添えて)", "初回購入から「日数」日以内の顧客。", False, _thanks),
    RuleDef("f2", "F2転換(2回目購入の後押し)", {"min_days": ("開始日数", 20), "max_days": ("終了日数", 40)},
            "メール、DM、電話", 2, 7, "2回目の購入につながるご案内(特典・使い方)を送る",
            "購入1回の顧客で、初回購入から「開始日数」〜「終了日数」日の間。", True, _f2),
    RuleDef("subscription", "定期便の事前連絡", {"lead_days": ("事前日数", 7)}, "メール、電話", 3, 3,
            "次回お届け前のご連絡(お届け日・変更・スキップの確認)", "定期購入の顧客で、次回予定日まで「事前日数」日以内。",
            False, _subscription),
    RuleDef("winback", "優良顧客の離脱予兆", {"min_m": ("M以上", 4)}, "電話、メール、DM", 1, 3,
            "担当者からお礼とご様子伺いの連絡をする", "離脱予兆の顧客で、RFMのM(購入金額)スコアが「M以上」。", True,
            _winback),
    RuleDef("birthday", "誕生月", {"lead_days": ("先行日数", 0)}, "DM、メール、LINE", 4, 14, "誕生月のお祝いと特典を送る",
            "今日から「先行日数」日後の月が誕生月の顧客。", True, _birthday),
    RuleDef("complaint", "クレームの折り返し", {"after_days": ("経過日数", 2)}, "電話", 1, 1,
            "クレームの折り返し連絡と対応状況の確認", "対応履歴の種別=クレームで状態が完了でなく、「経過日数」日以上たったもの。",
            False, _complaint),
    RuleDef("dormant", "休眠顧客の掘り起こし", {"max_days": ("最長日数", 730)}, "DM、メール", 4, 30,
            "掘り起こしDM(再購入の特典付き)を送る", "休眠の顧客で、最終購入から「最長日数」日以内(0なら制限なし)。", True,
            _dormant),
    RuleDef("prospect", "見込み顧客のフォロー", {"after_days": ("経過日数", 14)}, "電話、メール", 3, 7,
            "資料・サンプルの感想を伺い、初回購入をご案内する",
            "区分=見込みで購入がなく、最後の連絡(なければ登録日)から「経過日数」日以上。", True, _prospect),
    # the salesperson's own deal: a service contact, not marketing
    RuleDef("stalled", "商談の停滞", {"days": ("停滞日数", 30)}, "電話、メール", 2, 3,
            "止まっている商談を次の段階へ(提案・見積の確認、日程の相談)",
            "商談段階が問い合わせ・提案・見積のまま「停滞日数」日以上変わらない商談。商談の担当者に割り当てる。", False,
            _stalled),
    # an apology / hearing call after a low score: service
    RuleDef("survey", "低評価のお詫び・ヒアリング", {"within_days": ("対象日数", 30)}, "電話、メール", 1, 2,
            "お詫びとご不満の内容を伺う連絡(担当者から)",
            "最新のアンケート・レビューの評価が低評価(設定「低評価の基準」以下)で、回答から「対象日数」日以内。", False,
            _survey),
    # a thank-you and reward to the referrer: service
    RuleDef("referral", "紹介特典の送付", {"lookback_days": ("対象日数", 90)}, "DM、メール、電話", 2, 7,
            "紹介のお礼と紹介特典を紹介者に送る",
            "紹介者IDのある顧客が初回購入してから「対象日数」日以内。紹介1件につき紹介者に1行(完了=特典送付済み)。", False,
            _referral),
)
BY_ID = {r.id: r for r in RULES}

# Rule ids as the sheets show them in Japanese mode: ルールID on ルール and the head of each フォローID
# (クレーム:C00249:R000387). Inside xlcrm the English ids stay the keys; both spellings are read back, so a book
# written in English (or before #13) reads as it did.
RULE_KEYS_JA = {"thanks": "お礼", "f2": "F2", "subscription": "定期便", "winback": "離脱予兆", "birthday": "誕生月",
                "complaint": "クレーム", "dormant": "休眠", "prospect": "見込み", "stalled": "商談停滞",
                "survey": "低評価", "referral": "紹介"}
STEP_KEY = ("step", "ステップ")     # the head of a step chain's rows (step:F2:… / ステップ:F2:…)
_FROM_SHEET = {unicodedata.normalize("NFKC", v).lower(): k for k, v in RULE_KEYS_JA.items()}
_FROM_SHEET[STEP_KEY[1]] = STEP_KEY[0]


def rule_key(rid: str, lang: str = "ja") -> str:
    """How ルールID shows the rule `rid` in `lang` (お礼 for thanks in Japanese, thanks in English)."""
    if lang == "en":
        return rid
    return STEP_KEY[1] if rid == STEP_KEY[0] else RULE_KEYS_JA.get(rid, rid)


def rule_from_sheet(text) -> str:
    """The rule id for a ルールID as typed: its Japanese key (お礼) or its English id (thanks), folded."""
    k = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return _FROM_SHEET.get(k, k)


_NO_DAY = ("none", "なし")    # the period of a row about no particular day (a prospect never contacted)


def id_to_sheet(fid: str, lang: str = "ja") -> str:
    """A フォローID as the sheet shows it: its head in the rule's Japanese key (complaint:C1:R9 -> クレーム:C1:R9,
    prospect:C3:none -> 見込み:C3:なし)."""
    parts = str(fid).split(":")
    if len(parts) < 2 or lang == "en":
        return str(fid)
    return ":".join([rule_key(parts[0], lang)] + [_NO_DAY[1] if p == _NO_DAY[0] else p for p in parts[1:]])


def id_from_sheet(fid: str) -> str:
    """The フォローID inside xlcrm for one read from the sheet (either spelling)."""
    parts = str(fid).split(":")
    if len(parts) < 2 or not parts[0]:
        return str(fid)
    return ":".join([rule_from_sheet(parts[0])] + [_NO_DAY[0] if p == _NO_DAY[1] else p for p in parts[1:]])


def rule_of(fid: str) -> str:
    """The rule a row belongs to, from its フォローID: complaint, or step:F2 for a step chain's row."""
    head, _, rest = str(fid).partition(":")
    if head == STEP_KEY[0]:
        return f"{head}:{rest.split(':', 1)[0]}"
    return head


def list_to_sheet(lst: pd.DataFrame, names: dict, lang: str = "ja") -> pd.DataFrame:
    """The list as the sheet shows it: フォローID in the sheet's spelling, ルール as the rule's name (ルール sheet's
    名称, ステップF2 for a chain) — the English ids stay out of a Japanese sheet."""
    def name(r):
        if r in names:
            return names[r]
        if r.startswith(STEP_KEY[0] + ":"):
            return messages.text("st_rule_name", lang, chain=r.split(":", 1)[1])
        return BY_ID[r].name if r in BY_ID else r
    out = lst.copy()
    out["follow_id"] = [id_to_sheet(x, lang) for x in out["follow_id"]]
    out["rule"] = [name(r) if lang == "ja" else r for r in out["rule"]]
    return out


def list_from_sheet(lst: pd.DataFrame) -> pd.DataFrame:
    """The list as read from the sheet, with the ids xlcrm works with: フォローID's head and ルール from it."""
    out = lst.copy()
    out["follow_id"] = [id_from_sheet(x) for x in out["follow_id"]]
    out["rule"] = [rule_of(x) if x else r for x, r in zip(out["follow_id"], out["rule"])]
    return out


def candidates(customers: pd.DataFrame, orders: pd.DataFrame, contacts: pd.DataFrame | None,
               rfm: pd.DataFrame, lapse: pd.DataFrame, rules: dict[str, Rule], as_of,
               *, only: tuple[str, ...] | None = None, exclude_customers=(), lang: str = "ja",
               survey_scale=None) -> pd.DataFrame:
    """List rows the rules call for on `as_of` (English keys of FOLLOW_TABLE, without staff/status/created).

    `rfm`: rfm.score output (customer_id, frequency, first_order, last_order, m, ...); `lapse`: lapse.assess
    output (customer_id, status, expected_next, days_since_last, ...). `only` restricts to some rules (a
    campaign); `exclude_customers` are left out (control groups of running campaigns); `survey_scale` is the
    surveys.Scale of 設定 (default 1–5, low ≤ 2). Also returns, in
    `out.attrs["skipped_optout"]`, how many customers a rule matched but no allowed channel reached.
    """
    as_of = pd.Timestamp(as_of).normalize()
    cust = customers.set_index("customer_id", drop=False)
    cust = cust[~cust.index.duplicated()]
    reach = _reachable(cust)
    stats = rfm.set_index("customer_id") if len(rfm) else pd.DataFrame(
        columns=["frequency", "first_order", "last_order", "m"])
    lap = lapse.set_index("customer_id") if len(lapse) else pd.DataFrame(
        columns=["status", "expected_next", "days_since_last"])
    excluded = set(exclude_customers)
    frames, skipped = [], {}
    names = cust["name"].to_numpy()     # by position: one lookup of a rule's customers, not one per column
    staffs = cust["staff"].to_numpy() if "staff" in cust else None

    def emit(rid, ids, period, reason, due=None, staff=None):
        rule = rules[rid]
        ids = pd.Index(np.asarray(ids, dtype=object), dtype=object)
        keep = schema.isin(pd.Series(ids), cust.index) & ~schema.isin(pd.Series(ids), excluded)
        ids, period, reason = ids[keep], np.asarray(period, dtype=object)[keep], np.asarray(reason, dtype=object)[keep]
        if due is not None:
            due = pd.DatetimeIndex(due)[keep]
        if staff is not None:   # a rule's own assignee (the deal's owner), else the customer's 担当者
            staff = np.asarray(staff, dtype=object)[keep]
        pos = cust.index.get_indexer(ids)       # every id is a customer's (kept above)
        ch = _pick_channel(rule, reach.iloc[pos]).to_numpy() if len(ids) else np.array([], dtype=object)
        ok = ch != ""
        skipped[rid] = int((~ok).sum())
        default_due = as_of + pd.Timedelta(days=rule.due_days)
        dues = pd.Series(default_due, index=range(int(ok.sum())))
        if due is not None:  # an event date (定期 delivery) may make the row due sooner, never before today
            dues = pd.Series(due[ok]).clip(upper=default_due, lower=as_of).fillna(default_due)
        df = pd.DataFrame({
            "follow_id": [f"{rid}:{i}:{p}" for i, p in zip(ids[ok], period[ok])],
            "customer_id": list(ids[ok]),
            "name": names[pos[ok]] if len(ids) else [],
            "reason": reason[ok],
            "action": rule.action,
            "channel": ch[ok],
            "priority": rule.priority,
            "due": dues.to_numpy(),
            "staff": (staff[ok] if staff is not None else
                      staffs[pos[ok]] if staffs is not None and len(ids) else ""),
            "rule": rid,
        })
        frames.append(df)

    facts = Facts(as_of, customers, cust, orders, contacts, stats, lap,
                  first=pd.to_datetime(stats["first_order"]) if len(stats) else pd.Series(dtype="datetime64[ns]"),
                  last=pd.to_datetime(stats["last_order"]) if len(stats) else pd.Series(dtype="datetime64[ns]"),
                  freq=stats["frequency"].astype(float) if len(stats) else pd.Series(dtype=float),
                  survey_scale=survey_scale, lang=lang)
    for r in RULES:
        if r.id in rules and rules[r.id].enabled and (only is None or r.id in only):
            found = r.find(facts, rules[r.id].params)
            if found is not None:
                emit(r.id, found.ids, found.period, found.reason, due=found.due, staff=found.staff)

    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["follow_id", "customer_id", "name", "reason", "action", "channel", "priority", "due", "staff",
                 "rule"])
    # a prospect whose deal has stalled is the deal owner's to call: one row, not a second generic one
    stalled_ids = set(out.loc[out["rule"].eq("stalled"), "customer_id"])
    out = out[~(out["rule"].eq("prospect") & out["customer_id"].isin(stalled_ids))]
    out = out.drop_duplicates("follow_id").sort_values(["priority", "due", "follow_id"], kind="stable")
    out["due"] = pd.to_datetime(out["due"]).astype("datetime64[ns]")
    out["priority"] = out["priority"].astype(float)
    out = out.reset_index(drop=True)
    out.attrs["skipped_optout"] = skipped
    return out


# --- refresh: merge with the list staff work on -----------------------------------------------------------------

SYSTEM_COLUMNS = ("name", "reason", "action", "coupon", "channel", "priority")   # rewritten on every refresh
STAFF_COLUMNS = ("status", "memo", "staff", "due")                     # what staff wrote is kept


def empty_list() -> pd.DataFrame:
    df = pd.DataFrame({c.key: pd.Series(dtype=_dtype(c)) for c in FOLLOW_TABLE.columns})
    return df


def _dtype(c: Column):
    return {"date": "datetime64[ns]", "datetime": "datetime64[ns]", "number": "float64"}.get(c.kind, object)


def refresh(existing: pd.DataFrame | None, generated: pd.DataFrame, now, *, staff_list=(), rules=None,
            campaign_id: str = "", held_out=(), scope=None, notes=None,
            lang: str = "ja") -> tuple[pd.DataFrame, dict]:
    """The new list: existing rows updated, new rows added, rows whose reason is gone closed with a note.

    Staff's 状態 / 結果メモ / 担当者 / 期限 survive. Open rows (未着手 / 対応中) no longer generated become 不要 with
    「条件外になったため自動終了」 (or 「ルール停止」 when their rule was switched off); closed rows never reopen.
    New rows go to the customer's own 担当者, else to the listed staff member with the fewest open rows
    (round-robin when loads are equal). With `scope` (rule ids), only rows of those rules are touched (a
    campaign run generates only its own rules). With `campaign_id`,
    open rows that remain get the campaign's ID; open rows of `held_out` customers (a control group) close with
    「対照群のため連絡しない」. `notes` (follow_id -> text) gives closing rows a more specific note (a step chain
    stopped by an order). Returns (list, counts).
    """
    now = pd.Timestamp(now)
    old = empty_list() if existing is None or not len(existing) else existing.copy()
    for c in FOLLOW_TABLE.columns:
        if c.key not in old:
            old[c.key] = pd.Series(dtype=_dtype(c), index=old.index)
    old["status"] = old["status"].replace("", "未着手")
    old = old.set_index("follow_id", drop=False).rename_axis(None)
    gen = generated.set_index("follow_id", drop=False).rename_axis(None)
    counts = {"new": 0, "kept": 0, "closed": 0}

    both = old.index.intersection(gen.index)
    open_both = both[old.loc[both, "status"].isin(OPEN).to_numpy()].tolist()   # one lookup, not one per row
    for col in SYSTEM_COLUMNS:
        if col in gen:
            old.loc[open_both, col] = gen.loc[open_both, col].to_numpy()
    counts["kept"] = len(both)
    if campaign_id:
        tag = [k for k in open_both if not str(old.at[k, "campaign_id"] or "").strip()]
        old.loc[tag, "campaign_id"] = campaign_id
    held_out = set(held_out)

    # (Arrow's own is_in: pandas' isin on Arrow-backed ids converts the 53,000 of the other list one by one)
    gone = old.index[~schema.isin(pd.Series(old.index), gen.index) & old["status"].isin(OPEN).to_numpy()]
    if scope is not None:
        gone = gone[old.loc[gone, "rule"].isin(list(scope)).to_numpy()]
    if len(gone):       # the rows' values read and written a column at a time, not a cell at a time
        said = {k: messages.text(k, lang, date=f"{now:%Y-%m-%d}")
                for k in ("fu_closed_control", "fu_closed_rule_off", "fu_closed_gone")}
        memos = []
        for k, rid, cid, memo in zip(gone, old.loc[gone, "rule"], old.loc[gone, "customer_id"], old.loc[gone, "memo"]):
            off = rules is not None and rid in rules and not rules[rid].enabled
            key = "fu_closed_control" if cid in held_out else "fu_closed_rule_off" if off else "fu_closed_gone"
            note = notes[k] if key == "fu_closed_gone" and notes and k in notes else said[key]
            memo = "" if memo is None or pd.isna(memo) else str(memo).strip()
            memos.append(f"{memo} / {note}" if memo else note)
        old.loc[gone, "memo"] = memos
        old.loc[gone, "status"] = "不要"
    counts["closed"] = len(gone)

    new = gen[~schema.isin(pd.Series(gen.index), old.index)].copy()
    counts["new"] = len(new)
    if len(new):
        new["status"] = "未着手"
        new["memo"] = ""
        new["created"] = now
        new["campaign_id"] = campaign_id
        new["contact_ref"] = ""
        own = new["staff"] if "staff" in new else pd.Series("", index=new.index)
        new["staff"] = _assign(own.fillna("").astype(str), old, list(staff_list))
        for c in FOLLOW_TABLE.columns:
            if c.key not in new:
                new[c.key] = pd.Series(dtype=_dtype(c), index=new.index)
        out = pd.concat([old, new[old.columns.intersection(new.columns).tolist()]])
    else:
        out = old
    out = _order(out)
    return out, counts


def _assign(own: pd.Series, old: pd.DataFrame, staff: list[str]) -> pd.Series:
    """The customer's own 担当者, else the listed staff member with the fewest open rows (ties: list order)."""
    if not staff:
        return own.copy()
    load = {s: 0 for s in staff}
    for s in old.loc[old["status"].isin(OPEN), "staff"]:
        if s in load:
            load[s] += 1
    values = own.tolist()
    for s in values:
        if s and s in load:
            load[s] += 1
    order = {s: i for i, s in enumerate(staff)}
    for i, s in enumerate(values):
        if s == "":
            s = min(staff, key=lambda x: (load[x], order[x]))
            values[i] = s
            load[s] += 1
    return pd.Series(values, index=own.index, dtype=own.dtype)


def _order(df: pd.DataFrame) -> pd.DataFrame:
    """Open rows first (by priority, due), then closed ones (newest first) — the Monday-morning order."""
    closed = ~df["status"].isin(OPEN)
    df = df.assign(_c=closed.to_numpy(), _neg=-pd.to_datetime(df["created"]).astype("int64"))
    df = df.sort_values(["_c", "priority", "due", "follow_id"], kind="stable")
    df = pd.concat([df[~df["_c"]], df[df["_c"]].sort_values(["_neg", "follow_id"], kind="stable")])
    df = df.drop(columns=["_c", "_neg"]).reset_index(drop=True)
    df["due"] = pd.to_datetime(df["due"]).astype("datetime64[ns]")
    df["created"] = pd.to_datetime(df["created"]).astype("datetime64[ns]")
    df["priority"] = df["priority"].astype(float)
    for k in ("follow_id", "customer_id", "name", "reason", "action", "coupon", "channel", "staff", "status",
              "memo", "rule", "campaign_id", "contact_ref"):
        df[k] = df[k].fillna("").astype(str)
    return df


# --- completed rows -> 対応履歴 -----------------------------------------------------------------------------------

def completed_contacts(follow: pd.DataFrame, contacts: pd.DataFrame | None, now, *, rule_names=None,
                       lang: str = "ja") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(new 対応履歴 rows, the list with 履歴ID filled) for rows marked 完了 that have no 履歴ID yet.

    The 履歴ID marker makes this idempotent: a second refresh adds nothing.
    """
    from .contacts import next_ids
    now = pd.Timestamp(now)
    follow = follow.copy()
    todo = follow.index[follow["status"].eq("完了") & follow["contact_ref"].fillna("").eq("")]
    ids = next_ids(contacts, len(todo))
    names = rule_names or {}
    rows = []
    for k, cid in zip(todo, ids):
        r = follow.loc[k]
        memo = str(r["memo"] or "").strip()
        title = names.get(r["rule"], r["rule"])
        rows.append({"contact_id": cid, "customer_id": r["customer_id"], "at": now, "channel": r["channel"],
                     "type": "フォロー", "summary": messages.text("fu_contact_summary", lang, title=title, memo=memo or "-",
                                                                   fid=id_to_sheet(r["follow_id"], lang)),
                     "staff": r["staff"], "status": "完了"})
        follow.at[k, "contact_ref"] = cid
    new = pd.DataFrame(rows, columns=schema.CONTACTS.keys)
    new["at"] = pd.to_datetime(new["at"]).astype("datetime64[ns]")
    return new, follow
