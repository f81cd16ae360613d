"""The referrals job (紹介 sheet) and 紹介人数 on 顧客.

The sheet is generated (cleared and written again on every refresh): the referred vs not-referred comparison with
a bar chart of the top referrers beside it, the referrer ranking, and every referral with the state of its reward —
the 状態 staff set on the フォローリスト row of the follow-up rule "referral" (完了 = reward sent). The 紹介人数
column goes to 顧客 through `book.update_columns`, so the job owns only that column.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import followup as fu
from .. import merge, messages
from .. import referrals as rf
from ..book.report import Chart, Report
from . import JobResult
from .common import plain, read_table
from .formats import COUNT, dress_customer_columns
from .orders import read_orders

SHEET = "紹介"
COMPARE_AT = 5
CHART_AT = "E5"
TOP = 20                 # referrers shown on the sheet; everyone's count is on 顧客
CHART_TOP = 8            # bars in the chart: with more, LibreOffice and Excel skip every other label
ROWS = ("customers", "buyers", "buy_rate", "f2_base", "f2_rate", "repeat_rate", "revenue_per_customer",
        "revenue_per_buyer", "revenue")
COUNTS = ("customers", "buyers", "f2_base", "f2", "repeaters")
FORMATS = {"buy_rate": "0.0%", "f2_rate": "0.0%", "repeat_rate": "0.0%", "revenue_per_customer": "¥#,##0",
           "revenue_per_buyer": "¥#,##0", "revenue": "¥#,##0"}


def _t(key: str, lang: str, **kw) -> str:
    return messages.text("rf_" + key, lang, **kw)


def _pct(v) -> str:
    return "-" if v is None or np.isnan(v) else f"{v:+.1%}" if v else "0.0%"


def merged_ids(book) -> dict[str, str]:
    """Absorbed customer ID -> master, from the 統合履歴 sheet (empty when nothing was merged)."""
    return merge.merged_into(book.read_raw(merge.HISTORY))


def check(book, customers: pd.DataFrame) -> pd.DataFrame:
    """The referral links of 顧客, checked (BadInput naming each bad 紹介者ID cell) — for any job that uses them."""
    return rf.links(customers, merged=merged_ids(book))


def reward_status(book) -> tuple[dict[str, str], float]:
    """(follow_id -> 状態 of the follow-up rule "referral"'s rows on the フォローリスト, the rule's reward window in
    days). The ルール sheet is only read: the followup job owns it."""
    rules = read_table(book, fu.RULES_TABLE)
    window = fu.parse_rules(rules, sheet=rules.attrs.get("sheet", fu.RULES_TABLE.ja) if rules is not None else
                            fu.RULES_TABLE.ja)["referral"].params["lookback_days"]
    lst = read_table(book, fu.FOLLOW_TABLE)
    if lst is None or not len(lst):
        return {}, window
    lst = lst[lst["rule"].eq("referral")]
    return dict(zip(lst["follow_id"], lst["status"].replace("", "未着手"))), window


def layout(d: dict, status: dict[str, str], lang: str, window: float = 90) -> Report:
    """The 紹介 sheet: referred vs not (with a bar chart of the top referrers beside it), the referrer ranking,
    and every referral with the state of its reward.

    A referral's reward state: the 状態 of its フォローリスト row; 未購入 before the first purchase; 対象期間外 when
    the first purchase is older than the rule's window and no row was ever made (before the rule was used)."""
    blocks, formats, refs = [], {}, {"titles": [], "chart": None}
    now = dt.datetime.now().replace(microsecond=0)
    blocks.append(("A1", [[_t("title", lang), None, f"{messages.text('db_as_of', lang)}: {d['as_of']:%Y-%m-%d}",
                           None, None, f"{messages.text('db_updated', lang)}: {now:%Y-%m-%d %H:%M}"]]))
    blocks.append(("A2", [[line] for line in _t("note", lang, days=d["f2_days"]).split("|")]))

    r = COMPARE_AT
    cmp = d["compare"]
    rows = [[_t("compare", lang)], _t("compare_cols", lang).split("|")]
    for i, k in enumerate(ROWS):
        rows.append([_t("k_" + k, lang), float(cmp.loc["referred", k]), float(cmp.loc["other", k])])
        if k in FORMATS:
            formats[f"B{r + 2 + i}:C{r + 2 + i}"] = FORMATS[k]
        else:
            formats[f"B{r + 2 + i}:C{r + 2 + i}"] = "#,##0"
    diff, lo, hi = d["f2_diff"]
    rows.append([_t("diff_none", lang) if np.isnan(diff) else _t("diff", lang, diff=_pct(diff), lo=_pct(lo),
                                                                   hi=_pct(hi))])
    blocks.append((f"A{r}", rows))
    refs["titles"].append(f"A{r}")
    refs["notes"] = [f"A{r + len(rows) - 1}"]
    refs["centre"] = [f"B{r + 1}:C{r + 1}"]

    # the chart beside the comparison is about 7.5 cm tall: the next block starts below it
    r = max(r + len(rows), COMPARE_AT + 15) + 1
    top = d["referrers"].head(TOP)
    rows = [[_t("referrers", lang)], _t("referrer_cols", lang).split("|")]
    for x in top.itertuples():
        rows.append([x.customer_id, x.name, int(x.referred), int(x.bought), int(x.f2), float(x.revenue),
                     float(x.own_revenue)])
    if len(d["referrers"]) > TOP:
        rows.append([_t("more", lang, n=len(d["referrers"]) - TOP)])
    if not len(top):
        rows.append([_t("none", lang)])
    blocks.append((f"A{r}", rows))
    refs["titles"].append(f"A{r}")
    if len(top):
        formats[f"F{r + 2}:G{r + 1 + len(top)}"] = "¥#,##0"
        refs["chart"] = (r + 2, min(len(top), CHART_TOP))
    r += len(rows) + 2

    lst = d["referrals"]
    rows = [[_t("list", lang)], _t("list_cols", lang).split("|")]
    yes = messages.text("db_yes", lang)
    for x in lst.itertuples():
        state = status.get(f"referral:{x.referrer_id}:{x.customer_id}")
        if state is None:
            state = _t("not_bought" if pd.isna(x.first_order) else
                       "outside" if (d["as_of"] - x.first_order).days > window else "no_row", lang)
        rows.append([x.referrer_id, x.referrer_name, x.customer_id, x.name, x.first_order, yes if x.f2 else "",
                     float(x.revenue), state])
    if not len(lst):
        rows.append([_t("none", lang)])
    blocks.append((f"A{r}", rows))
    refs["titles"].append(f"A{r}")
    if len(lst):
        formats[f"E{r + 2}:E{r + 1 + len(lst)}"] = "yyyy-mm-dd"
        formats[f"G{r + 2}:G{r + 1 + len(lst)}"] = "¥#,##0"
        refs["centre"] += [f"F{r + 2}:F{r + 1 + len(lst)}", f"H{r + 2}:H{r + 1 + len(lst)}"]
    charts = []
    if refs["chart"]:
        first, k = refs["chart"]
        charts.append(Chart("bar", CHART_AT, _t("chart", lang, n=k), values=f"C{first}:C{first + k - 1}",
                            categories=f"B{first}:B{first + k - 1}"))
    return Report(blocks, number_formats=formats, bold=refs["titles"], notes=["A2", "A3", *refs["notes"]],
                  centre=refs["centre"], widths={"A": 24, **{c: 16 for c in "BCD"}, **{c: 13 for c in "EFGH"}},
                  charts=charts)


def compute(book, settings, as_of) -> dict:
    """Read 顧客 and 注文, check every 紹介者ID (BadInput before anything is written), build."""
    got = read_orders(book, as_of)
    d = rf.build(got.customers, got.orders, as_of, f2_days=int(settings.f2_days), merged=merged_ids(book))
    d["dates"] = got.dates   # orders after the as-of date, for the summary
    return d


def referrals(book, settings, *, as_of=None) -> JobResult:
    """Rewrite the 紹介 sheet and the 紹介人数 column of 顧客."""
    lang = settings.lang
    as_of = settings.as_of_date(as_of)
    d = compute(book, settings, as_of)
    status, window = reward_status(book)
    charts = book.write_report(SHEET, layout(d, status, lang, window))
    n = d["referred_count"]
    hl = settings.header_lang
    book.update_columns("customers", pd.DataFrame({"customer_id": n["customer_id"],
                                                   _t("count", hl): n["referred"].to_numpy()}), key="customer_id")
    dress_customer_columns(book, {_t("count", hl): (COUNT, 5)})
    cmp = d["compare"]
    lst = d["referrals"]
    rewards = pd.Series([status.get(f"referral:{a}:{b}", "") for a, b in zip(lst["referrer_id"], lst["customer_id"])],
                        dtype=object)
    counts = {"links": len(lst), "referrers": len(d["referrers"]), "bought": int(lst["first_order"].notna().sum()),
              "f2_referred": plain(float(cmp.loc["referred", "f2_rate"])),
              "f2_other": plain(float(cmp.loc["other", "f2_rate"])),
              "f2_diff": [plain(x) for x in d["f2_diff"]],
              "compare": {g: {k: int(cmp.loc[g, k]) if k in COUNTS else plain(float(cmp.loc[g, k]))
                              for k in cmp.columns} for g in cmp.index},
              "top_referrers": [{"customer_id": x.customer_id, "referred": int(x.referred), "bought": int(x.bought),
                                 "revenue": float(x.revenue)} for x in d["referrers"].head(TOP).itertuples()],
              "rewards": {s: int(rewards.eq(s).sum()) for s in fu.STATUSES}, "charts": charts}
    fmt = {k: "-" if counts[k] is None else f"{counts[k]:.1%}" for k in ("f2_referred", "f2_other")}
    msg = {g: messages.text("rf_done", g, links=counts["links"], referrers=counts["referrers"],
                            bought=counts["bought"], f2_ref=fmt["f2_referred"], f2_other=fmt["f2_other"])
           for g in ("ja", "en")}
    ja, en = d["dates"].add_to(msg["ja"], msg["en"])
    book.journal("referrals", ja, en)
    return JobResult(ja, en, {**counts, **d["dates"].counts()})
