"""Sheet formulas (UDFs): pure, vectorized functions of their arguments.

A whole column comes in as a list of lists (what xlwings passes), a 2-D list comes back and spills natively in
dynamic-array Excel (no legacy `expand`). Blanks are returned as "" (None/NaN show as #VALUE!), strings are cut
to 255 characters. On Linux the xlwings decorators are no-ops, so these test as plain Python.
"""
from __future__ import annotations

import xlwings as xw

# --- rfm / lapse -------------------------------------------------------------------------------------------------


# --- search ------------------------------------------------------------------------------------------------------


@xw.func
@xw.arg("table", ndim=2)
def CRM_SEARCH(query, table, limit=None):
    """顧客を検索: =CRM_SEARCH(検索語, 顧客[#All], [件数]) — 名前・フリガナ・電話(下4桁)・メール・住所・IDの一部、
    全角半角・ひらがなカタカナ・異体字を問わず。Search customers by any fragment; spills a table with a header row."""
    from .jobs.search import cells_search
    return cells_search(query, table, limit)
