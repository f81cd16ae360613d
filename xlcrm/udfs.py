"""Sheet formulas (UDFs): pure, vectorized functions of their arguments.

A whole column comes in as a list of lists (what xlwings passes), a 2-D list comes back and spills natively in
dynamic-array Excel (no legacy `expand`). Blanks are returned as "" (None/NaN show as #VALUE!), strings are cut
to 255 characters. On Linux the xlwings decorators are no-ops, so these test as plain Python.
"""
from __future__ import annotations

import xlwings as xw

# --- rfm / lapse -------------------------------------------------------------------------------------------------


# --- search ------------------------------------------------------------------------------------------------------
