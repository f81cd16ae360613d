"""Contact history (対応履歴): record a contact, and a customer's timeline of orders, contacts and complaints."""
from __future__ import annotations

import re

import pandas as pd

from . import followup, messages, schema
from .messages import BadInput, Problem

__all__ = ["next_ids", "new_contact", "TIMELINE_COLUMNS", "TIMELINE_HEADERS", "timeline", "card"]


def next_ids(contacts: pd.DataFrame | None, n: int) -> list[str]:
    """`n` new 対応ID after the largest existing one: the table's prefix (R000001; customers are C00001, so a
    contact ID never reads as a customer's) and its sequence's width; IDs typed in other styles are skipped."""
    if n <= 0:
        return []
    prefix = schema.CONTACTS.id_prefix
    used = set(contacts["contact_id"]) if contacts is not None and len(contacts) else set()
    pattern = re.compile(rf"^{prefix}(\d+)$")
    found = [m.group(1) for m in (pattern.match(str(x)) for x in used) if m]
    width = max((len(d) for d in found), default=6)
    i = max((int(d) for d in found), default=0) + 1
    out = []
    while len(out) < n:
        cid = f"{prefix}{i:0{width}d}"
        if cid not in used:
            out.append(cid)
        i += 1
    return out


def new_contact(customers: pd.DataFrame, contacts: pd.DataFrame | None, customer_id: str, *, type: str,
                summary: str, at, staff: str = "", channel: str = "", status: str = "") -> pd.DataFrame:
    """One 対応履歴 row (English keys) for `customer_id`; BadInput if the customer or the 種別 is unknown.

    A complaint (クレーム) starts as 未対応 unless a status is given, so the complaint-callback rule sees it;
    other contacts are recorded as 完了.
    """
    problems = []
    if customer_id not in set(customers["customer_id"]):
        problems.append(Problem("対応履歴", None, "顧客ID", "unknown_customer"))
    parse_type = schema._choice_parser(schema.CONTACTS.by_key["type"])
    parse_status = schema._choice_parser(schema.CONTACTS.by_key["status"])
    try:
        type_ = parse_type(type)
    except ValueError:
        type_ = None
        problems.append(Problem("対応履歴", None, "種別", "bad_choice", choices=" / ".join(schema.CONTACT_TYPES)))
    try:
        status_ = parse_status(status)
    except ValueError:
        status_ = None
        problems.append(Problem("対応履歴", None, "状態", "bad_choice", choices=" / ".join(schema.CONTACT_STATUS)))
    if not str(summary or "").strip():
        problems.append(Problem("対応履歴", None, "内容", "ct_empty_summary"))
    if problems:
        raise BadInput(problems)
    if not status_:
        status_ = "未対応" if type_ == "クレーム" else "完了"
    row = {"contact_id": next_ids(contacts, 1)[0], "customer_id": customer_id, "at": pd.Timestamp(at),
           "channel": channel or "", "type": type_, "summary": str(summary).strip(), "staff": staff or "",
           "status": status_}
    df = pd.DataFrame([row], columns=schema.CONTACTS.keys)
    df["at"] = df["at"].astype("datetime64[ns]")
    return df


TIMELINE_COLUMNS = ["date", "kind", "detail", "amount", "channel", "staff", "status", "ref"]
TIMELINE_HEADERS = {"ja": ["日付", "種類", "内容", "金額", "チャネル", "担当者", "状態", "番号"],
                    "en": ["Date", "Kind", "Detail", "Amount", "Channel", "Staff", "Status", "Ref"]}


def timeline(customer_id: str, orders: pd.DataFrame, contacts: pd.DataFrame | None, *,
             followups: pd.DataFrame | None = None, lang: str = "ja") -> pd.DataFrame:
    """Orders, contacts (complaints marked as such) and follow-up rows of one customer, newest first."""
    parts = []
    o = orders[orders["customer_id"].eq(customer_id)]
    if len(o):
        detail = o["product"].astype(str) if "product" in o else pd.Series("", index=o.index)
        if "subscription" in o:
            sub = o["subscription"].fillna(False).astype(bool)
            detail = detail.where(~sub, detail + messages.text("ct_subscription_mark", lang))
        parts.append(pd.DataFrame({
            "date": o["order_date"], "kind": messages.text("ct_kind_order", lang), "detail": detail,
            "amount": o["amount"].astype(float), "channel": o.get("channel", ""), "staff": "", "status": "",
            "ref": o["order_id"]}))
    if contacts is not None and len(contacts):
        c = contacts[contacts["customer_id"].eq(customer_id)]
        if len(c):
            kind = c["type"].map(lambda x: messages.text("ct_kind_complaint", lang) if x == "クレーム"
                                 else messages.text("ct_kind_contact", lang) + (f"({x})" if x else ""))
            parts.append(pd.DataFrame({
                "date": c["at"], "kind": kind, "detail": _contact_detail(c, lang), "amount": float("nan"),
                "channel": c["channel"], "staff": c["staff"], "status": c["status"], "ref": c["contact_id"]}))
    if followups is not None and len(followups):
        f = followups[followups["customer_id"].eq(customer_id) & followups["status"].isin(("未着手", "対応中"))]
        if len(f):
            parts.append(pd.DataFrame({
                "date": f["due"], "kind": messages.text("ct_kind_followup", lang), "detail": f["reason"],
                "amount": float("nan"), "channel": f["channel"], "staff": f["staff"], "status": f["status"],
                "ref": [followup.id_to_sheet(x, lang) for x in f["follow_id"]]}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "date" else float if c == "amount"
                                          else object) for c in TIMELINE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    for k in ("kind", "detail", "channel", "staff", "status", "ref"):
        out[k] = out[k].fillna("").astype(str)
    return out.sort_values(["date", "ref"], ascending=[False, False], kind="stable").reset_index(drop=True)


def _contact_detail(c: pd.DataFrame, lang: str) -> pd.Series:
    """内容, with the rating of a survey or review and the sales stage a contact reached."""
    detail = c["summary"].fillna("").astype(str)
    if "score" in c:
        score = pd.to_numeric(c["score"], errors="coerce")
        mark = score.map(lambda v: "" if pd.isna(v) else messages.text("ct_score_mark", lang, score=f"{v:g}"))
        detail = detail + mark
    if "stage" in c:
        stage = c["stage"].fillna("").astype(str)
        detail = detail + stage.map(lambda v: messages.text("ct_stage_mark", lang, stage=v) if v else "")
    return detail


def _latest(contacts: pd.DataFrame | None, customer_id: str, column: str, types=None) -> pd.Series | None:
    """The customer's latest contact with a value in `column` (of `types` when given), or None."""
    if contacts is None or column not in contacts or not len(contacts):
        return None
    c = contacts[contacts["customer_id"].eq(customer_id)]
    if types is not None:
        c = c[c["type"].isin(types)]
    v = c[column]
    c = c[v.notna() & v.astype(str).ne("")]
    return None if not len(c) else c.sort_values("at", kind="stable").iloc[-1]


def card(customer_id: str, customers: pd.DataFrame, rfm: pd.DataFrame | None = None,
         lapse: pd.DataFrame | None = None, lang: str = "ja",
         contacts: pd.DataFrame | None = None) -> list[tuple[str, object]]:
    """The header block of the 顧客カルテ sheet: (label, value) pairs for one customer — who they are, how they
    buy, and (when there are any) who referred them, whom they referred, their latest rating and sales stage."""
    c = customers[customers["customer_id"].eq(customer_id)]
    if not len(c):
        raise BadInput([Problem("顧客カルテ", None, "顧客ID", "unknown_customer")])
    c = c.iloc[0]
    en = lang == "en"
    items = [("顧客ID" if not en else "Customer ID", customer_id), ("氏名" if not en else "Name", c["name"]),
             ("区分" if not en else "Kind", c.get("kind", "")), ("担当者" if not en else "Staff", c.get("staff", "")),
             ("電話番号" if not en else "Phone", c.get("phone", "") or c.get("mobile", "")),
             ("メール" if not en else "E-mail", c.get("email", "")),
             ("DM可否" if not en else "DM allowed", _yn(c.get("dm_ok"), en)),
             ("メール可否" if not en else "Mail opt-in", _yn(c.get("mail_ok"), en))]
    if rfm is not None and len(rfm) and customer_id in set(rfm["customer_id"]):
        r = rfm[rfm["customer_id"].eq(customer_id)].iloc[0]
        seg = r.get("segment_ja" if not en else "segment", "")
        items += [("購入回数" if not en else "Orders", int(r["frequency"])),
                  ("累計購入金額" if not en else "Total spent", f"¥{float(r['monetary']):,.0f}"),
                  ("最終購入日" if not en else "Last order", pd.Timestamp(r["last_order"]).strftime("%Y-%m-%d")),
                  ("RFM", f"{r.get('rfm_code', '')} {seg}".strip())]
    if lapse is not None and len(lapse) and customer_id in set(lapse["customer_id"]):
        r = lapse[lapse["customer_id"].eq(customer_id)].iloc[0]
        items.append(("状態" if not en else "Status", f"{r['status']}"))
        reason = r.get("reason_en" if en else "reason_ja", "")
        if reason:
            items.append(("判定理由" if not en else "Why", reason))
    ref = str(c.get("referrer_id", "") or "")
    if ref:
        who = customers.loc[customers["customer_id"].eq(ref), "name"]
        items.append(("紹介者" if not en else "Referred by", f"{ref} {who.iloc[0]}" if len(who) else ref))
    if "referrer_id" in customers:
        n = int(customers["referrer_id"].eq(customer_id).sum())
        if n:
            items.append(("紹介した人数" if not en else "Referrals made", n))
    r = _latest(contacts, customer_id, "score", types=("アンケート", "レビュー"))
    if r is not None:
        items.append(("最新の評価" if not en else "Latest rating",
                      f"{float(r['score']):g}({pd.Timestamp(r['at']):%Y-%m-%d} {r['type']})"))
    r = _latest(contacts, customer_id, "stage")
    if r is not None:
        items.append(("商談段階" if not en else "Sales stage", f"{r['stage']}({pd.Timestamp(r['at']):%Y-%m-%d})"))
    return items


def _yn(v, en):
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "未確認" if not en else "not stated"
    return ("可" if not en else "yes") if bool(v) else ("不可" if not en else "no")
