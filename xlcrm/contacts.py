"""Contact history (対応履歴): record a contact, and a customer's timeline of orders, contacts and complaints."""
from __future__ import annotations

import re

import pandas as pd

from . import messages, schema
from .messages import BadInput, Problem

_ID_RE = re.compile(r"^C(\d+)$")


def next_ids(contacts: pd.DataFrame | None, n: int) -> list[str]:
    """`n` new 対応ID (C000001 style) after the largest existing one; ids typed in other styles are skipped."""
    used = set(contacts["contact_id"]) if contacts is not None and len(contacts) else set()
    nums = [int(m.group(1)) for m in (_ID_RE.match(str(x)) for x in used) if m]
    start = max(nums, default=0) + 1
    out = []
    i = start
    while len(out) < n:
        cid = f"C{i:06d}"
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
                "date": c["at"], "kind": kind, "detail": c["summary"], "amount": float("nan"),
                "channel": c["channel"], "staff": c["staff"], "status": c["status"], "ref": c["contact_id"]}))
    if followups is not None and len(followups):
        f = followups[followups["customer_id"].eq(customer_id) & followups["status"].isin(("未着手", "対応中"))]
        if len(f):
            parts.append(pd.DataFrame({
                "date": f["due"], "kind": messages.text("ct_kind_followup", lang), "detail": f["reason"],
                "amount": float("nan"), "channel": f["channel"], "staff": f["staff"], "status": f["status"],
                "ref": f["follow_id"]}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "date" else float if c == "amount"
                                          else object) for c in TIMELINE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    for k in ("kind", "detail", "channel", "staff", "status", "ref"):
        out[k] = out[k].fillna("").astype(str)
    return out.sort_values(["date", "ref"], ascending=[False, False], kind="stable").reset_index(drop=True)


def card(customer_id: str, customers: pd.DataFrame, rfm: pd.DataFrame | None = None,
         lapse: pd.DataFrame | None = None, lang: str = "ja") -> list[tuple[str, object]]:
    """The header block of the 顧客カルテ sheet: (label, value) pairs for one customer."""
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
                  ("累計購入金額" if not en else "Total spent", float(r["monetary"])),
                  ("最終購入日" if not en else "Last order", pd.Timestamp(r["last_order"]).strftime("%Y-%m-%d")),
                  ("RFM", f"{r.get('rfm_code', '')} {seg}".strip())]
    if lapse is not None and len(lapse) and customer_id in set(lapse["customer_id"]):
        r = lapse[lapse["customer_id"].eq(customer_id)].iloc[0]
        items.append(("状態" if not en else "Status", f"{r['status']}"))
        reason = r.get("reason_en" if en else "reason_ja", "")
        if reason:
            items.append(("判定理由" if not en else "Why", reason))
    return items


def _yn(v, en):
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "未確認" if not en else "not stated"
    return ("可" if not en else "yes") if bool(v) else ("不可" if not en else "no")
