"""Where the truth is kept: the workbook itself (the default), a DuckDB file, or a PostgreSQL server.

`open_store(url)` connects (`duckdb:crm.duckdb`, `postgresql://staff@crm-server/crm`); `stored(book, store)` gives
the Book jobs run on when the truth is in a store: 顧客 / 注文 / 対応履歴 come from the store and go back to it,
the workbook shows a view. `migrate` moves data between a book and a store.
"""
from __future__ import annotations

from .url import StoreError, StoreURL, chosen, parse, redact


def open_store(url: str | StoreURL):
    """A connection to the store `url` (StoreError with what to fix if it cannot be used)."""
    from .db import Store
    return Store(url if isinstance(url, StoreURL) else parse(url))


__all__ = ["StoreError", "StoreURL", "chosen", "parse", "redact", "open_store"]
