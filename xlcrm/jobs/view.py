"""表示を更新 (ribbon "view", `xlcrm run view BOOK`): with a database store, show on 顧客 / 注文 / 対応履歴 what the
store holds now — the customers 設定「表示する顧客」 names and their orders and contacts — each row with its 版, so
staff's corrections and new rows in those sheets go back to the store with the next job. On a workbook store there is
nothing to refresh: the job says so and writes nothing."""
from __future__ import annotations

from .. import messages
from ..messages import BadInput, Problem
from ..settings import SPECS
from . import JobResult

MANY = 50_000       # customers on the view above which staff are told to narrow it


def _at_rule(book, key: str, **kw) -> Problem:
    """A problem with 設定「表示する顧客」, at its 値 cell (sheet, row, column) as 設定's own checks name theirs."""
    table = book.read("settings", required=False)
    spec = next(s for s in SPECS if s.key == "store_view")
    if table is not None:
        for row, item in zip(table.index, table["key"]):
            if str(item).strip() in (spec.ja, spec.key):
                header = table.attrs.get("headers", {}).get("value", "値")
                letter = table.attrs.get("letters", {}).get(header, "")
                return Problem(table.attrs.get("sheet", "設定"), int(row), header, key,
                               cell=f"{letter}{row}" if letter else "", **kw)
    return Problem("設定", None, spec.ja, key, **kw)


def refresh_view(book, settings) -> JobResult:
    rule = settings.store_view
    try:
        got = book.refresh_view(rule)
    except KeyError as e:
        raise BadInput([_at_rule(book, "store_rule_column", name=str(e.args[0]))]) from None
    except ValueError as e:
        raise BadInput([_at_rule(book, "store_rule_value", name=str(e.args[0]))]) from None
    if got is None:
        return JobResult(messages.text("view_not_needed", "ja"), messages.text("view_not_needed", "en"), {})
    kw = {"customers": got["customers"][0], "customers_all": got["customers"][1],
          "orders": got.get("orders", (0, 0))[0], "contacts": got.get("contacts", (0, 0))[0], "url": book.store.shown}
    ja, en = messages.text("view_done", "ja", **kw), messages.text("view_done", "en", **kw)
    if kw["customers"] > MANY:            # every job reads and writes the view: a big one is slow in the book
        ja += "\n" + messages.text("view_many", "ja", n=kw["customers"])
        en += "\n" + messages.text("view_many", "en", n=kw["customers"])
    if rule:
        shown = "、".join(f"{h}{op}{v}" for h, op, v in rule)
        ja += messages.text("view_rule", "ja", rule=shown)
        en += " " + messages.text("view_rule", "en", rule=shown)
    book.journal("view", ja, en)
    return JobResult(ja, en, {k: v for k, v in got.items()})
