"""The one way jobs read 注文: with 顧客, refusing orders of unknown customers, and noting orders dated after
the as-of date.

* `read_orders(book, as_of)` — every job that computes from orders (rfm, lapse, followup, the customer card,
  campaign report, dashboard and its PNG report, journey, pipeline, survey, steps, referrals, and `xlcrm
  rfm|lapse BOOK`) reads through it, so a bad book is refused by all of them with the same message, before anything is written.
  (Merge only carries orders to the surviving customer and import checks its CSVs itself.)
* `DateCheck` — orders after the as-of date are left out of the figures (scoring as of a past date needs that),
  but never silently: the job's summary and its 変更履歴 line say how many and where the first one is. Orders
  dated after today are told apart: they are likely typos (2062 for 2026) rather than a backdated as-of.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import messages  # schema (pandas) only where frames are read: `xlcrm rfm orders.csv` avoids it


@dataclass
class DateCheck:
    """Orders dated after the as-of date (left out) or after today (likely typos): counts, and where the first
    of each is (a cell such as 注文!C1234)."""

    as_of: str
    today: str
    after_as_of: int = 0        # left out of the figures
    after_as_of_at: str = ""
    future_ignored: int = 0     # after today, and after the as-of date: left out
    future_ignored_at: str = ""
    future_counted: int = 0     # after today but not after an as-of date in the future: counted
    future_counted_at: str = ""

    def counts(self) -> dict:
        return {"after_as_of": self.after_as_of, "after_today": self.future_ignored + self.future_counted}

    def note(self, lang: str) -> str:
        """The sentences to add to a summary ("" when no order is dated after the as-of date or today)."""
        kw = {"as_of": self.as_of, "today": self.today}
        out = []
        if self.after_as_of > self.future_ignored:   # scoring as of a past date: expected, said once
            out.append(messages.text("oc_after_as_of", lang, n=self.after_as_of, where=self.after_as_of_at, **kw))
            if self.future_ignored:
                out.append(messages.text("oc_future_among", lang, n=self.future_ignored,
                                         where=self.future_ignored_at, **kw))
        elif self.future_ignored:
            out.append(messages.text("oc_future_ignored", lang, n=self.future_ignored, where=self.future_ignored_at,
                                     **kw))
        if self.future_counted:
            out.append(messages.text("oc_future_counted", lang, n=self.future_counted, where=self.future_counted_at,
                                     **kw))
        return ("" if lang == "ja" else " ").join(out)

    def add_to(self, ja: str, en: str) -> tuple[str, str]:
        """A summary pair with the note on a line of its own."""
        nj, ne = self.note("ja"), self.note("en")
        return (ja + "\n" + nj if nj else ja), (en + "\n" + ne if ne else en)


def _day(d) -> int:
    return int(np.datetime64(str(d)[:10], "D").astype(np.int64))


def _after(days: np.ndarray, day: int) -> np.ndarray:
    if days.dtype.kind == "M":
        # as integers in the array's own unit (NaT is the smallest): ten times faster than comparing datetimes
        limit = np.datetime64(day + 1, "D").astype(days.dtype)
        return days.view(np.int64) >= limit.view(np.int64)
    return days > day


def check_days(days: np.ndarray, as_of, where: Callable[[int], str], *, today=None) -> DateCheck:
    """Classify order dates (days since 1970, or datetime64) against the as-of date and today; `where(i)` names
    order i."""
    today = dt.date.today() if today is None else today
    c = DateCheck(as_of=str(as_of)[:10], today=str(today)[:10])
    a, t = _day(as_of), _day(today)
    after_as_of, after_today = _after(days, a), _after(days, t)
    if a <= t:   # the usual case: whatever is after today is after the as-of date too, and left out
        ignored, counted = after_today, None
    else:
        ignored, counted = after_as_of, after_today & ~after_as_of
    for name, mask in (("after_as_of", after_as_of), ("future_ignored", ignored), ("future_counted", counted)):
        n = 0 if mask is None else int(np.count_nonzero(mask))
        if n:
            setattr(c, name, n)
            setattr(c, name + "_at", where(int(np.argmax(mask))))
    return c


def cell_namer(orders) -> Callable[[int], str]:
    """`where` for a conformed orders frame: 注文!C1234 (its sheet, the 注文日 column's letter, the row)."""
    from ..schema import ORDERS   # pandas: see the import at the top
    sheet = orders.attrs.get("sheet", ORDERS.ja)
    header = orders.attrs.get("headers", {}).get("order_date", ORDERS.header("order_date"))
    letter = orders.attrs.get("letters", {}).get(header, "")
    index = orders.index

    def where(i: int) -> str:
        row = int(index[i])
        return f"{sheet}!{letter}{row}" if letter else f"{sheet}!{row}:{row}"
    return where


def check_dates(orders, as_of, *, today=None) -> DateCheck:
    """`check_days` for a conformed orders frame."""
    return check_days(orders["order_date"].to_numpy(), as_of, cell_namer(orders), today=today)


@dataclass
class OrdersRead:
    customers: object
    orders: object
    dates: DateCheck | None


# what RFM and lapse read of the book: the purchases and who made them — a 生年月日 typed wrong, a 商品 left blank
# is not their business (the jobs that use those columns name such cells)
PURCHASE_READS = {"customers": ("customer_id",), "orders": ("order_id", "customer_id", "order_date", "amount")}


def read_orders(book, as_of=None, *, today=None, required: bool = True, customers=None, orders=None,
                writes: tuple[str, ...] = ()) -> OrdersRead:
    """顧客 and 注文, conformed; BadInput when an order names a customer not on 顧客 (the cells of the first few,
    and the total). With `as_of`, `dates` tells about orders dated after it or after today. Without `required`,
    a book with no 注文 sheet gives orders None. `customers`, `orders`: the column keys wanted of each, when not
    all (see Book.read); `writes`: the tables the job writes next (see Book.prefetch)."""
    from .. import schema   # pandas: see the import at the top
    wanted_orders = orders
    book.prefetch("customers", "orders", writes=writes)
    customers = book.read("customers", columns=customers)
    orders = book.read("orders", required=required, columns=wanted_orders)
    book.release("orders")      # read once: the job has its frame
    if orders is not None:
        schema.check_references(customers, orders, orders.attrs.get("sheet", schema.ORDERS.ja))
    dates = None
    if as_of is not None:
        dates = check_dates(orders, as_of, today=today) if orders is not None else \
            check_days(np.zeros(0, np.int64), as_of, str, today=today)
    return OrdersRead(customers, orders, dates)
