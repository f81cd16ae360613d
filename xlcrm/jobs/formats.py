"""How the columns jobs write look to staff: number formats (¥26,380, 1,000, 2024/04/01, 12.5%), widths that fit
the values and the header, drop-down words. Light on purpose: the rfm / lapse commands import it on their
pandas-free CSV path."""
from __future__ import annotations

import unicodedata

# Number formats of the columns jobs write: what staff read (¥26,380, 1,000, 2024/04/01, 12.5%).
YEN = '"¥"#,##0'
COUNT = "#,##0"
WHOLE = "0"
DATE = "yyyy/mm/dd"
DATETIME = "yyyy/mm/dd hh:mm"
RATE = "0.0%"
ENABLED = ("○", "×")   # 有効 on ルール and ステップ


def header_width(header: str) -> int:
    """Characters a header needs: full-width characters count two, plus room for the filter button."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(header)) + 3


def dress_customer_columns(book, columns: dict) -> None:
    """Format the columns of 顧客 a job writes: {header: (number format or None, width of the values)}. Each
    column is as wide as its values or its header need (dates never show as ###); a column staff made wider stays
    so. As far as the engine can."""
    book.dress_table("customers", number_formats={h: f for h, (f, _) in columns.items() if f},
                     widths={h: min(max(w, header_width(h)), 40) for h, (_, w) in columns.items()},
                     print_setup=False)
