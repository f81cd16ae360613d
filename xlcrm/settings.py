"""Settings that office staff edit on the 設定 sheet (項目 / 値 / 説明), as one typed object.

Each domain declares its settings in its own section below. A job gets `Settings` once, validated, and passes
down what a core function needs; nothing reads settings from global state.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from . import schema
from .messages import BadInput, Problem


@dataclass(frozen=True)
class Spec:
    key: str                 # English key (accepted in the 項目 column)
    ja: str                  # Japanese 項目 as written on the sheet
    default: Any
    parse: Callable[[Any], Any]
    help_ja: str
    help_en: str


def _date_or_none(v):
    return None if schema.is_blank(v) else pd.Timestamp(schema.parse_date(v))


def _int(v):
    n = schema.parse_number(v)
    if n is None or not float(n).is_integer():
        raise ValueError("bad_number")
    return int(n)


def _float(v):
    n = schema.parse_number(v)
    if n is None:
        raise ValueError("bad_number")
    return float(n)


def _text(v):
    return schema.parse_text(v)


def _lang(v):
    s = schema.parse_text(v).lower()
    if s in ("", "ja", "日本語", "japanese"):
        return "ja"
    if s in ("en", "english", "英語"):
        return "en"
    raise ValueError("bad_choice")


def _names(v):
    """A list typed in one cell: 佐藤, 鈴木 / 佐藤、鈴木 / one per line."""
    import re
    return [x for x in (s.strip() for s in re.split(r"[,、，;；\n/／]", schema.parse_text(v))) if x]


# --- general -----------------------------------------------------------------------------------------------------
GENERAL = [
    Spec("as_of", "基準日", None, _date_or_none, "分析の基準日。空欄なら今日。", "As-of date for analyses; blank means today."),
    Spec("lang", "言語", "ja", _lang, "メッセージの言語(ja / en)。", "Language of messages (ja / en)."),
    Spec("header_lang", "見出しの言語", "ja", _lang, "新しく作る表の見出し(ja / en)。", "Headers of tables xlcrm creates (ja / en)."),
    Spec("staff", "担当者一覧", [], _names, "フォローを割り振る担当者(読点区切り)。", "Staff to assign follow-ups to (comma-separated)."),
    Spec("backups", "バックアップ保存数", 10, _int, "保存前に残すバックアップの数。", "How many backups to keep before each save."),
]

# --- search / dedupe ---------------------------------------------------------------------------------------------
def _positive_int(v):
    n = _int(v)
    if n < 1:
        raise ValueError("bad_number")
    return n


SEARCH: list[Spec] = [
    Spec("search_limit", "検索の表示件数", 20, _positive_int, "検索シートと xlcrm search で表示する件数の既定値。",
         "Default number of results on the 検索 sheet and in `xlcrm search`."),
]


def _probability(v):
    """0.9, 90%, 90 → 0.9 (a share typed either way)."""
    s = schema.parse_text(v).replace("％", "%").strip()
    pct = s.endswith("%")
    n = schema.parse_number(s.rstrip("%"))
    if n is None:
        raise ValueError("bad_number")
    n = n / 100 if (pct or n > 1) else n
    if not 0 < n < 1:
        raise ValueError("bad_number")
    return float(n)


_MASTER_RULES = {"注文数": "most_orders", "注文数が多い": "most_orders", "most_orders": "most_orders",
                 "登録日が古い": "oldest", "古い": "oldest", "oldest": "oldest",
                 "登録日が新しい": "newest", "新しい": "newest", "newest": "newest"}


def _master_rule(v):
    s = schema.parse_text(v).strip().lower()
    if s not in _MASTER_RULES:
        raise ValueError("bad_choice")
    return _MASTER_RULES[s]


DEDUPE: list[Spec] = [
    Spec("dedupe_threshold", "名寄せの一致確率", 0.5, _probability,
         "この確率以上のペアを同一人物候補として重複候補に出します(0〜1 または %)。",
         "Pairs at or above this match probability are proposed as one person (0–1 or %)."),
    Spec("dedupe_review", "名寄せの確認範囲", 0.05, _probability,
         "この確率以上で一致確率未満のペアは「要確認」として出します。",
         "Pairs from this probability up to the match probability are listed as 'to check'."),
    Spec("merge_master", "統合の主レコード", "most_orders", _master_rule,
         "統合で残す顧客: 注文数が多い / 登録日が古い / 登録日が新しい。",
         "Which record a merge keeps: most_orders / oldest / newest (registration date)."),
]

# --- rfm / lapse -------------------------------------------------------------------------------------------------
RFM: list[Spec] = []
LAPSE: list[Spec] = []

# --- follow-up / dashboard ---------------------------------------------------------------------------------------
FOLLOWUP: list[Spec] = []
DASHBOARD: list[Spec] = []

SPECS: list[Spec] = [*GENERAL, *SEARCH, *DEDUPE, *RFM, *LAPSE, *FOLLOWUP, *DASHBOARD]


class Settings(dict):
    """Typed settings by English key; attribute access for convenience (s.as_of)."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def as_of_date(self) -> pd.Timestamp:
        return self["as_of"] if self.get("as_of") is not None else pd.Timestamp(dt.date.today())


def defaults() -> Settings:
    return Settings({s.key: s.default for s in SPECS})


def load(table: pd.DataFrame | None, overrides: dict | None = None, sheet: str = "設定") -> Settings:
    """Settings from the 設定 table (conformed: key/value columns, index = sheet rows) plus CLI overrides."""
    out = defaults()
    by_name = {}
    for s in SPECS:
        by_name[s.key.lower()] = s
        by_name[s.ja] = s
    problems = []
    if table is not None:
        for row, key, value in zip(table.index, table["key"], table["value"]):
            spec = by_name.get(str(key).strip()) or by_name.get(str(key).strip().lower())
            if spec is None:
                continue  # staff notes and settings of jobs this version does not have are left alone
            try:
                out[spec.key] = spec.parse(value) if not schema.is_blank(value) else spec.default
            except ValueError as e:
                header = table.attrs.get("headers", {}).get("value", "値")
                lt = table.attrs.get("letters", {}).get(header, "")
                problems.append(Problem(sheet, int(row), header, e.args[0] if e.args else "bad_number",
                                        cell=f"{lt}{row}" if lt else "", choices="ja / en"))
    if problems:
        raise BadInput(problems)
    for k, v in (overrides or {}).items():
        if v is not None:
            out[k] = v
    return out


def sheet_rows(lang: str = "ja") -> pd.DataFrame:
    """The default 設定 table as written into a new workbook."""
    rows = []
    for s in SPECS:
        v = s.default
        if isinstance(v, list):
            v = "、".join(v)
        rows.append({"key": s.ja if lang == "ja" else s.key, "value": "" if v is None else v,
                     "explanation": s.help_ja if lang == "ja" else s.help_en})
    return pd.DataFrame(rows)
