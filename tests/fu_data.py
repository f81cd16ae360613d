"""Small hand-made shop data for the follow-up / dashboard / campaign tests (English keys, typed)."""
from __future__ import annotations

import pandas as pd

from xlcrm import schema

AS_OF = pd.Timestamp("2024-06-15")


def customers(rows):
    """rows: dicts with some of the customer keys; the rest blank."""
    raw = pd.DataFrame([{k: r.get(k) for k in schema.CUSTOMERS.keys} for r in rows])
    raw.index = range(2, 2 + len(raw))
    return schema.conform(raw, "customers")


def orders(rows):
    raw = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount", "subscription"])
    raw.index = range(2, 2 + len(raw))
    return schema.conform(raw, "orders")


def contacts(rows):
    raw = pd.DataFrame(rows, columns=["contact_id", "customer_id", "at", "type", "status", "summary", "staff",
                                      "channel"])
    raw.index = range(2, 2 + len(raw))
    return schema.conform(raw, "contacts")


def rfm_frame(rows):
    """rows: (customer_id, frequency, monetary, first_order, last_order, m)."""
    df = pd.DataFrame(rows, columns=["customer_id", "frequency", "monetary", "first_order", "last_order", "m"])
    df["first_order"] = pd.to_datetime(df["first_order"])
    df["last_order"] = pd.to_datetime(df["last_order"])
    df["frequency"] = df["frequency"].astype(float)
    return df


def lapse_frame(rows):
    """rows: (customer_id, status, expected_next, days_since_last)."""
    df = pd.DataFrame(rows, columns=["customer_id", "status", "expected_next", "days_since_last"])
    df["expected_next"] = pd.to_datetime(df["expected_next"])
    return df


def synthetic_shop(n: int = 600, *, seed: int = 7, start: str = "2021-07-01", as_of: str = "2024-06-15"):
    """A repeat-order shop: seasonal sign-ups (December peak), ~20% subscribers on a 30-day cycle, others
    buying again with shrinking probability; 10% prospects with no orders; opt-ins mixed with blanks.
    Returns raw sheet rows (Japanese headers) for 顧客, 注文, 対応履歴."""
    import numpy as np
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(start), pd.Timestamp(as_of)
    span = (end - start).days
    days = np.arange(span)
    month = np.asarray((start + pd.to_timedelta(days, unit="D")).month)
    w = (1 + 0.6 * np.cos(2 * np.pi * (month - 12) / 12)) * (1 + days / span)   # seasonal, growing
    first = start + pd.to_timedelta(rng.choice(days, size=n, p=w / w.sum()), unit="D")
    cust, orders, contacts = [], [], []
    staff = ["佐藤", "鈴木", ""]
    oid = 0
    for i in range(n):
        cid = f"C{i + 1:05d}"
        prospect = rng.random() < 0.1
        cust.append({"顧客ID": cid, "区分": "見込み" if prospect else "顧客", "氏名": f"顧客 {i + 1}",
                     "電話番号": f"03{rng.integers(10**7, 10**8)}" if rng.random() < 0.7 else "",
                     "メール": f"u{i}@example.jp" if rng.random() < 0.8 else "",
                     "住所": "東京都千代田区" if rng.random() < 0.9 else "",
                     "生年月日": pd.Timestamp("1960-01-01") + pd.Timedelta(days=int(rng.integers(0, 15000))),
                     "DM可否": rng.choice(["可", "不可", ""], p=[0.6, 0.15, 0.25]),
                     "メール可否": rng.choice(["可", "不可", ""], p=[0.5, 0.1, 0.4]),
                     "担当者": staff[i % 3] if rng.random() < 0.3 else "",
                     "登録日": first[i] - pd.Timedelta(days=int(rng.integers(0, 30)))})
        if prospect:
            continue
        sub = rng.random() < 0.2
        d, k = first[i], 0
        while d <= end:
            oid += 1
            orders.append({"注文ID": f"O{oid:06d}", "顧客ID": cid, "注文日": d,
                           "金額": float(3980 if sub else rng.integers(20, 150) * 100), "定期": "定期" if sub else ""})
            k += 1
            cont = 0.93 if sub else 0.55 * (0.9 ** k) + 0.25
            if rng.random() > cont:
                break
            d = d + pd.Timedelta(days=int(30 if sub else max(7, rng.gamma(2.0, 30.0))))
        if rng.random() < 0.05:
            contacts.append({"対応ID": f"K{len(contacts) + 1:05d}", "顧客ID": cid,
                             "日時": end - pd.Timedelta(days=int(rng.integers(1, 20))), "チャネル": "電話",
                             "種別": "クレーム", "内容": "配送の遅れ", "担当者": "", "状態": rng.choice(["未対応", "完了"])})
    return cust, orders, contacts


def write_shop_book(path, *, as_of: str = "2024-06-15", **kw):
    """An .xlsx with the synthetic shop as Excel tables and a 設定 sheet (基準日, 担当者一覧)."""
    import openpyxl
    from openpyxl.worksheet.table import Table as XTable
    from openpyxl.utils import get_column_letter
    cust, orders, contacts = synthetic_shop(as_of=as_of, **kw)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in (("顧客", cust), ("注文", orders), ("対応履歴", contacts),
                       ("設定", [{"項目": "基準日", "値": as_of, "説明": ""},
                                 {"項目": "担当者一覧", "値": "佐藤、鈴木、高橋", "説明": ""}])):
        ws = wb.create_sheet(name)
        headers = list(rows[0].keys())
        ws.append(headers)
        for r in rows:
            ws.append([(v.to_pydatetime() if isinstance(v, pd.Timestamp) else (v if v != "" else None))
                       for v in (r[h] for h in headers)])
        ws.add_table(XTable(displayName=name, ref=f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"))
    wb.save(path)
    return path
