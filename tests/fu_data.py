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
