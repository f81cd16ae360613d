"""設定「表示する顧客」: which customers a database store's workbook view shows, as conditions staff type —
`担当者=佐藤、都道府県=東京都、最終注文日>=2025/01/01` — turned into a SQL WHERE with parameters."""
from __future__ import annotations

import re

import pandas as pd

from .. import schema
from .db import q

_OPS = ("<>", "!=", ">=", "<=", "=", ">", "<")
_SPLIT = re.compile(r"[、,，;；\n]+")


def parse_rule(text: str) -> list[tuple[str, str, str]]:
    """[(header, operator, value)]; ValueError('store_bad_rule') for a condition without an operator."""
    out = []
    for part in _SPLIT.split((text or "").replace("＝", "=").replace("＞", ">").replace("＜", "<")):
        part = part.strip()
        if not part:
            continue
        for op in _OPS:
            if op in part:
                head, value = part.split(op, 1)
                if not head.strip():
                    raise ValueError("store_bad_rule")
                out.append((head.strip(), "<>" if op == "!=" else op, value.strip()))
                break
        else:
            raise ValueError("store_bad_rule")
    return out


def where(rule: list[tuple[str, str, str]], columns: dict[str, str]) -> tuple[str, list]:
    """(SQL condition, parameters) over the store's customers (`columns`: name -> type). A header the table lacks
    or a value its column cannot hold raises KeyError / ValueError naming it."""
    t = schema.CUSTOMERS
    parts, params = [], []
    for head, op, value in rule:
        col = schema.header_map([head], t).get(head, head)
        if col not in columns:
            raise KeyError(head)
        kind = columns[col]
        try:
            v = {"TIMESTAMP": schema.parse_date, "DOUBLE PRECISION": schema.parse_number,
                 "BOOLEAN": schema.parse_bool}.get(kind, str)(value)
        except ValueError:
            v = None
        if v is None or v is pd.NA:
            raise ValueError(head)
        parts.append(f"{q(col)} {op} ?")
        params.append(v)
    return " AND ".join(parts), params
