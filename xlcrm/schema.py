"""The tables of the workbook, their columns (Japanese headers, English aliases) and the parsing of values as
office staff type them.

Inside xlcrm every table is a DataFrame with the English column keys below and typed values:
ids and text as `str` ("" for blank), dates as `datetime64[ns]` (NaT for blank), amounts as float64, flags as
pandas' nullable "boolean". Columns staff added keep their own header and their raw values.

`conform(raw, table, sheet=...)` turns a raw table (headers as typed in the sheet, values as read from cells or a
CSV, index = sheet row numbers) into that form, or raises `BadInput` naming every bad cell's sheet, row and column.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .messages import BadInput, Problem


@dataclass(frozen=True)
class Column:
    key: str                      # English key, used in code and accepted as a header
    ja: str                       # Japanese header, written by default
    kind: str = "text"            # id, text, phone, postcode, email, date, datetime, amount, number, bool, choice
    required: bool = False
    choices: tuple[str, ...] = ()  # for kind=choice: the Japanese values
    aliases: tuple[str, ...] = ()  # more headers we accept (typed variants seen in real sheets)


@dataclass(frozen=True)
class Table:
    key: str
    ja: str
    columns: tuple[Column, ...]
    id_column: str | None = None
    id_prefix: str = ""   # the letter xlcrm's generated IDs carry (C00001 customer, O000001 order, R000001 contact)
    by_key: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.by_key.update({c.key: c for c in self.columns})

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def header(self, key: str, lang: str = "ja") -> str:
        """The header written for column `key` (Japanese by default)."""
        c = self.by_key.get(key)
        return key if c is None else (c.ja if lang == "ja" else c.key)


KIND_CHOICES = ("顧客", "見込み")
CONTACT_TYPES = ("問い合わせ", "クレーム", "フォロー", "DM", "アンケート", "レビュー", "商談", "その他")
SFA_STAGES = ("問い合わせ", "提案", "見積", "成約", "失注")   # a prospect's sales stage (商談段階), in order
CONTACT_STATUS = ("未対応", "対応中", "完了")

CUSTOMERS = Table("customers", "顧客", (
    Column("customer_id", "顧客ID", "id", required=True, aliases=("顧客番号", "会員ID", "会員番号")),
    Column("kind", "区分", "choice", choices=KIND_CHOICES),
    Column("name", "氏名", required=True, aliases=("名前", "お名前", "顧客名")),
    Column("kana", "フリガナ", aliases=("ふりがな", "カナ", "氏名カナ")),
    Column("gender", "性別"),
    Column("birth_date", "生年月日", "date", aliases=("誕生日",)),
    Column("postcode", "郵便番号", "postcode", aliases=("〒",)),
    Column("prefecture", "都道府県"),
    Column("address", "住所", aliases=("住所1",)),
    Column("building", "建物名", aliases=("住所2", "マンション名")),
    Column("phone", "電話番号", "phone", aliases=("電話", "TEL")),
    Column("mobile", "携帯電話", "phone", aliases=("携帯", "携帯番号")),
    Column("email", "メール", "email", aliases=("メールアドレス", "Eメール", "e-mail", "mail")),
    Column("company", "会社名"),
    Column("dm_ok", "DM可否", "bool"),
    Column("mail_ok", "メール可否", "bool", aliases=("メール配信",)),
    Column("staff", "担当者"),
    Column("registered_on", "登録日", "date"),
    Column("notes", "備考", aliases=("メモ",)),
    Column("referrer_id", "紹介者ID", "id", aliases=("紹介者", "紹介元ID", "紹介者番号")),
), id_column="customer_id", id_prefix="C")

ORDERS = Table("orders", "注文", (
    Column("order_id", "注文ID", "id", required=True, aliases=("注文番号", "受注番号")),
    Column("customer_id", "顧客ID", "id", required=True, aliases=("顧客番号", "会員ID", "会員番号")),
    Column("order_date", "注文日", "date", required=True, aliases=("受注日", "購入日")),
    Column("amount", "金額", "amount", required=True, aliases=("合計金額", "購入金額", "売上")),
    Column("product", "商品", aliases=("商品名",)),
    Column("quantity", "数量", "number"),
    Column("channel", "チャネル", aliases=("チャネル", "経路", "販売経路")),
    Column("subscription", "定期", "bool", aliases=("定期購入",)),
    Column("coupon", "クーポン", aliases=("クーポンコード",)),   # the code a step chain sent (redemption)
), id_column="order_id", id_prefix="O")

CONTACTS = Table("contacts", "対応履歴", (
    Column("contact_id", "対応ID", "id", required=True),
    Column("customer_id", "顧客ID", "id", required=True, aliases=("顧客番号",)),
    Column("at", "日時", "datetime", required=True, aliases=("対応日", "日付")),
    Column("channel", "チャネル"),
    Column("type", "種別", "choice", choices=CONTACT_TYPES),
    Column("summary", "内容"),
    Column("staff", "担当者"),
    Column("status", "状態", "choice", choices=CONTACT_STATUS),
    Column("score", "評価", "number", aliases=("スコア", "点数", "満足度", "NPS")),   # アンケート / レビュー
    Column("stage", "商談段階", "choice", choices=SFA_STAGES, aliases=("段階", "ステージ")),  # SFA stage reached
), id_column="contact_id", id_prefix="R")

SETTINGS = Table("settings", "設定", (
    Column("key", "項目", required=True, aliases=("キー",)),
    Column("value", "値", "raw"),
    Column("explanation", "説明"),
))

TABLES: dict[str, Table] = {t.key: t for t in (CUSTOMERS, ORDERS, CONTACTS, SETTINGS)}


def table(name: str) -> Table:
    """A table by its English key or Japanese name (customers / 顧客)."""
    for t in TABLES.values():
        if name in (t.key, t.ja):
            return t
    raise KeyError(name)


# --- headers -----------------------------------------------------------------------------------------------------

def _fold_header(h) -> str:
    s = unicodedata.normalize("NFKC", str(h)).strip().lower()
    return re.sub(r"[\s_\-・]", "", s)


def header_map(headers, t: Table) -> dict:
    """Map each header found in the sheet to a column key (unknown headers map to themselves)."""
    known = {}
    for c in t.columns:
        for h in (c.key, c.ja, *c.aliases):
            known.setdefault(_fold_header(h), c.key)
    out, seen = {}, set()
    for h in headers:
        k = known.get(_fold_header(h))
        if k is not None and k not in seen:
            out[h] = k
            seen.add(k)
        else:
            out[h] = h
    return out


# --- value parsers: each takes one raw value and returns the parsed value, or raises ValueError(key) ------------

_BLANK = {"", "-", "－", "―", "なし", "n/a", "na", "nan", "none", "null"}
EXCEL_EPOCH = dt.datetime(1899, 12, 30)

_ERAS = [  # (names, first day of the era); year 1 of an era is 元年
    (("令和", "r"), dt.date(2019, 5, 1)),
    (("平成", "h"), dt.date(1989, 1, 8)),
    (("昭和", "s"), dt.date(1926, 12, 25)),
    (("大正", "t"), dt.date(1912, 7, 30)),
    (("明治", "m"), dt.date(1868, 1, 25)),
]
_ERA_RE = re.compile(
    r"^(令和|平成|昭和|大正|明治|[rhstm])\s*(元|\d{1,2})\s*(?:年|[./\-])\s*(\d{1,2})\s*(?:月|[./\-])\s*(\d{1,2})\s*日?$")
_YMD_RE = re.compile(r"^(\d{4})\s*(?:年|[./\-])\s*(\d{1,2})\s*(?:月|[./\-])\s*(\d{1,2})\s*日?"
                     r"(?:[ t]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def is_blank(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str):
        return unicodedata.normalize("NFKC", v).strip().lower() in _BLANK
    return False


def _check_range(d: dt.datetime) -> dt.datetime:
    if not (1900 <= d.year <= 2100):
        raise ValueError("date_out_of_range")
    return d


def parse_date(v) -> dt.datetime | None:
    """A date from ISO/slash text, 年月日, 和暦 (令和5年4月1日, R5.4.1, 平成元年…), an Excel serial or a datetime."""
    if is_blank(v):
        return None
    if isinstance(v, pd.Timestamp):
        return _check_range(v.to_pydatetime())
    if isinstance(v, dt.datetime):
        return _check_range(v)
    if isinstance(v, dt.date):
        return _check_range(dt.datetime(v.year, v.month, v.day))
    if isinstance(v, bool):
        raise ValueError("bad_date")
    if isinstance(v, (int, float, np.integer, np.floating)):
        return _from_serial(float(v))
    s = unicodedata.normalize("NFKC", str(v)).strip().lower()
    s = re.sub(r"\s*\((?:[月火水木金土日]|mon|tue|wed|thu|fri|sat|sun)\)\s*", " ", s).strip()  # 2024/4/1(月)
    m = _YMD_RE.match(s)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        return _make(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    m = _COMPACT_RE.match(s)
    if m:
        return _make(*map(int, m.groups()))
    m = _ERA_RE.match(s)
    if m:
        era, y, mo, d = m.groups()
        for names, start in _ERAS:
            if era in names:
                year = start.year + (1 if y == "元" else int(y)) - 1
                out = _make(year, int(mo), int(d))
                if out.date() < start:
                    raise ValueError("bad_era")
                return out
    if re.fullmatch(r"\d+(\.\d+)?", s):  # a serial that arrived as text
        return _from_serial(float(s))
    raise ValueError("bad_date")


def _make(y, mo, d, hh=0, mm=0, ss=0) -> dt.datetime:
    try:
        return _check_range(dt.datetime(y, mo, d, hh, mm, ss))
    except ValueError as e:
        if str(e) == "date_out_of_range":
            raise
        raise ValueError("bad_date") from None


def _from_serial(x: float) -> dt.datetime:
    # Excel's 1900 date system: serial 1 = 1900-01-01, and 60 is the nonexistent 1900-02-29 (Lotus bug).
    if not (1 <= x < 73051) or x == 60:  # 73051 = 2100-01-01
        raise ValueError("date_out_of_range" if x >= 73051 or x < 1 else "bad_date")
    if x < 60:
        x += 1
    return EXCEL_EPOCH + dt.timedelta(days=x)


_AMOUNT_STRIP = re.compile(r"\((?:税込|税抜|込|抜)\)|[¥\\,円\s]|yen|jpy|税込み?|税抜き?")


def parse_amount(v) -> float | None:
    """An amount in yen: numbers, '¥12,800', '12800円', full-width digits, '△500' / '▲500' / '(500)' negative."""
    if is_blank(v):
        return None
    if isinstance(v, bool):
        raise ValueError("bad_amount")
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            raise ValueError("bad_amount")
        return f
    s = unicodedata.normalize("NFKC", str(v)).strip().lower()
    neg = False
    if s[:1] in ("△", "▲"):
        neg, s = True, s[1:]
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1]
    s = _AMOUNT_STRIP.sub("", s)
    if not re.fullmatch(r"[+\-]?\d+(\.\d+)?", s):
        raise ValueError("bad_amount")
    f = float(s)
    return -f if neg else f


def parse_number(v) -> float | None:
    if is_blank(v):
        return None
    if isinstance(v, bool):
        raise ValueError("bad_number")
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
    else:
        s = unicodedata.normalize("NFKC", str(v)).strip().replace(",", "")
        s = re.sub(r"(個|点|本|袋|箱|回)$", "", s)
        try:
            f = float(s)
        except ValueError:
            raise ValueError("bad_number") from None
    if not math.isfinite(f):  # "inf", "1e400": float() takes them, no quantity is one
        raise ValueError("bad_number")
    return f


_TRUE = {"可", "○", "〇", "◯", "o", "はい", "yes", "y", "true", "1", "ok", "希望", "許可", "有", "あり", "定期", "する"}
_FALSE = {"不可", "×", "x", "✕", "いいえ", "no", "n", "false", "0", "ng", "拒否", "停止", "不要", "無", "なし", "否", "しない"}


def parse_bool(v):
    """可/不可, ○/×, はい/いいえ, TRUE/FALSE, 1/0 … ; blank stays unknown (pd.NA)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return pd.NA
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    s = unicodedata.normalize("NFKC", str(v)).strip().lower()
    if s == "":
        return pd.NA
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("bad_bool")


def parse_text(v) -> str:
    """Text as typed (trimmed). Integral floats from a numeric cell lose their '.0'."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    s = str(v).strip()
    if len(s) > 32767:
        raise ValueError("text_too_long")
    return s


def parse_texts(values: list) -> list[str]:
    """[parse_text(v) for v in values], text already trimmed (nearly every ID and name) taken as it is, no call
    each."""
    return [v if type(v) is str and v and not v[0].isspace() and not v[-1].isspace() and len(v) <= 32767
            else parse_text(v) for v in values]


def parse_phone(v) -> str:
    """A phone number as text. A number cell lost its leading 0 (every Japanese number starts with 0): restore it."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)):
        digits = str(int(v))
        return "0" + digits if 9 <= len(digits) <= 10 else digits
    return parse_text(v)


def parse_postcode(v) -> str:
    """A postcode as text; a number cell (60001 for 006-0001) is padded back to 7 digits."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)):
        return f"{int(v):07d}"
    return parse_text(v)


def _choice_parser(c: Column):
    folded = {unicodedata.normalize("NFKC", x).lower(): x for x in c.choices}
    synonyms = {"見込": "見込み", "見込客": "見込み", "見込み客": "見込み", "見込み顧客": "見込み", "prospect": "見込み",
                "customer": "顧客", "既存": "顧客", "既存顧客": "顧客", "会員": "顧客",
                "問合せ": "問い合わせ", "問合わせ": "問い合わせ", "お問い合わせ": "問い合わせ", "inquiry": "問い合わせ",
                "complaint": "クレーム", "苦情": "クレーム", "followup": "フォロー", "follow-up": "フォロー",
                "other": "その他", "survey": "アンケート", "review": "レビュー", "口コミ": "レビュー",
                "商談中": "商談", "proposal": "提案", "提案中": "提案", "quote": "見積", "見積り": "見積", "見積もり": "見積",
                "won": "成約", "受注": "成約", "lost": "失注", "open": "未対応", "未着手": "未対応", "in progress": "対応中", "done": "完了",
                "済": "完了", "対応済": "完了", "対応済み": "完了", "closed": "完了"}

    def parse(v) -> str:
        s = parse_text(v)
        if s == "":
            return ""
        k = unicodedata.normalize("NFKC", s).strip().lower()
        if k in folded:
            return folded[k]
        if synonyms.get(k) in c.choices:
            return synonyms[k]
        raise ValueError("bad_choice")
    return parse


_PARSERS = {
    "id": parse_text, "text": parse_text, "email": parse_text, "phone": parse_phone, "postcode": parse_postcode,
    "date": parse_date, "datetime": parse_date, "amount": parse_amount, "number": parse_number, "bool": parse_bool,
}


def parse_column(values: pd.Series, c: Column, sheet: str, problems: list, letters: dict | None = None,
                 header: str | None = None) -> pd.Series:
    """Parse one column. Each distinct value is parsed once (a million order dates hold a few thousand days)."""
    if c.kind == "raw":
        return values
    if c.kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(values):
        out = values.astype("datetime64[ns]")
        return out if c.kind == "datetime" else out.dt.normalize()
    if c.kind in ("amount", "number") and pd.api.types.is_float_dtype(values) or \
            c.kind in ("amount", "number") and pd.api.types.is_integer_dtype(values):
        return values.astype("float64")
    parser = _choice_parser(c) if c.kind == "choice" else _PARSERS[c.kind]
    if c.kind == "id":
        # ids are nearly all distinct (374,000 order ids): parsed as they come, not factorized first
        try:
            return pd.Series(parse_texts(values.to_numpy(dtype=object).tolist()), index=values.index, dtype=str)
        except ValueError:      # a text too long: the cells are named below
            pass
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    uniques = uniques.tolist()
    parsed, todo = [None] * len(uniques), range(len(uniques))
    if parser is parse_text:
        try:
            parsed, todo = parse_texts(uniques), ()
        except ValueError:      # a text too long: each value again, to name the cells
            pass
    if parser is parse_date and len(uniques) > 1000:
        plain = _plain_dates(uniques)
        for i, d in plain.items():
            parsed[i] = d
        todo = [i for i in todo if i not in plain]
    bad = {}
    for i in todo:
        try:
            parsed[i] = parser(uniques[i])
        except ValueError as e:
            parsed[i] = None
            bad[i] = str(e.args[0]) if e.args else "bad_number"
    na = {"date": None, "datetime": None, "amount": np.nan, "number": np.nan, "bool": pd.NA}.get(c.kind, "")
    if c.kind in ("date", "datetime", "amount", "number", "bool"):
        blank_val = na
    else:
        blank_val = parser(None)
    for i, key in bad.items():
        for row in values.index[codes == i]:
            kw = {"choices": " / ".join(c.choices)} if key == "bad_choice" else {}
            col_letter = (letters or {}).get(header, "")
            problems.append(Problem(sheet, int(row), header or c.ja, key,
                                    cell=f"{col_letter}{row}" if col_letter else "", **kw))
    lookup = np.array(parsed + [blank_val], dtype=object)
    arr = lookup[codes]  # code -1 (missing) picks the trailing blank
    if c.kind in ("date", "datetime"):
        out = pd.to_datetime(pd.Series(arr, index=values.index), errors="coerce")
        return out.astype("datetime64[ns]") if c.kind == "datetime" else out.dt.normalize().astype("datetime64[ns]")
    if c.kind in ("amount", "number"):
        return pd.Series(arr, index=values.index, dtype="float64")
    if c.kind == "bool":
        return pd.Series(arr, index=values.index, dtype="boolean")
    return pd.Series(arr, index=values.index, dtype=object).astype(str)


_PLAIN_DATE = (r"^(?P<y>\d{4})[/-](?P<m>\d{1,2})[/-](?P<d>\d{1,2})"
               r"(?: (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")


def _plain_dates(values: list) -> dict[int, dt.datetime]:
    """{index: parse_date(value)} for the texts written the plain ways (2024/4/1, 2024-04-01 10:30:15) that are
    real days in range, worked out in one step (Arrow's regex, numpy's calendar): 150,000 contact times typed as
    text take a tenth of the time. Every other value (和暦, 年月日, full-width digits, spaces) is left to
    parse_date, which also names the bad ones."""
    import pyarrow as pa
    import pyarrow.compute as pac
    at = [i for i, v in enumerate(values) if type(v) is str]
    if not at:
        return {}
    parts = pac.extract_regex(pa.array([values[i] for i in at], type=pa.large_string()), _PLAIN_DATE)
    ok = parts.is_valid().to_numpy(zero_copy_only=False)

    def field(name):
        f = parts.field(name)
        f = pac.if_else(pac.equal(f, ""), "0", f)   # a time not given
        return pac.cast(f, pa.int64()).fill_null(0).to_numpy()
    y, m, d, hh, mm, ss = (field(k) for k in ("y", "m", "d", "H", "M", "S"))
    ok &= (1900 <= y) & (y <= 2100) & (1 <= m) & (m <= 12) & (1 <= d) & (d <= 31) & (hh <= 23) & (mm <= 59) & (ss <= 59)
    month = np.where(ok, (y - 1970) * 12 + m - 1, 0).astype("datetime64[M]")
    day = month.astype("datetime64[D]") + np.where(ok, d - 1, 0).astype("timedelta64[D]")
    ok &= day.astype("datetime64[M]") == month     # 2024/2/30 is no day
    when = day.astype("datetime64[s]") + (hh * 3600 + mm * 60 + ss).astype("timedelta64[s]")
    hit = np.flatnonzero(ok)
    return dict(zip([at[i] for i in hit.tolist()], when[hit].astype("datetime64[us]").tolist()))


class FrozenMap(dict):
    """A dict that stays as made: a conformed table's `attrs` headers and letters.

    pandas deep-copies a frame's attrs into every frame and series made from it — thousands of times in a job
    (0.1 s of `xlcrm run followup`, #12); this copies as itself, and refuses changes, so sharing it is safe."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __reduce__(self):
        return FrozenMap, (dict(self),)

    def _refuse(self, *args, **kwargs):
        raise TypeError("FrozenMap cannot be changed: copy it with dict(...) first")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse


def conform(raw: pd.DataFrame, t: Table | str, *, sheet: str | None = None, check_ids: bool = True,
            only=None) -> pd.DataFrame:
    """Typed table with English column keys; extra columns kept as they are.

    `raw.index` must be the sheet's row numbers (1-based, as Excel shows them); `raw.attrs["letters"]` may map
    each header to its column letter so messages can name the cell. Raises BadInput listing every problem.
    `only`: the column keys wanted — the others are neither parsed nor checked, nor returned.
    """
    t = table(t) if isinstance(t, str) else t
    sheet = sheet or t.ja
    letters = raw.attrs.get("letters", {})
    hmap = header_map(raw.columns, t)
    if only is not None:
        only = set(only)
        t = Table(t.key, t.ja, tuple(c for c in t.columns if c.key in only),
                  t.id_column if t.id_column in only else None, t.id_prefix)
        raw = raw[[h for h in raw.columns if hmap[h] in only]]
        hmap = {h: hmap[h] for h in raw.columns}
    problems: list[Problem] = []
    present = {k: h for h, k in hmap.items() if k in t.by_key}
    for c in t.columns:
        if c.required and c.key not in present:
            problems.append(Problem(sheet, None, c.ja, "missing_column", name=f"{c.ja} ({c.key})"))
    if problems:
        raise BadInput(problems)
    out = {}
    for h in raw.columns:
        k = hmap[h]
        if k in t.by_key:
            out[k] = parse_column(raw[h], t.by_key[k], sheet, problems, letters, h)
        else:
            out[k] = raw[h]
    for c in t.columns:
        if c.key not in out:
            out[c.key] = parse_column(pd.Series([None] * len(raw), index=raw.index, dtype=object), c, sheet, [])
    df = pd.DataFrame(out, index=raw.index)
    if check_ids and t.id_column and not problems:
        _check_ids(df, t, sheet, problems, letters, present.get(t.id_column))
    for c in t.columns:  # required non-id values (an order with no date or customer) are bad rows too
        if c.required and c.key != t.id_column and c.kind in ("id", "date", "datetime", "amount", "text"):
            col = df[c.key]
            empty = col.isna() if c.kind in ("date", "datetime", "amount") else col.eq("")
            h = present.get(c.key, c.ja)
            flagged = {p.row for p in problems if p.column == h}
            for row in df.index[empty.to_numpy()]:
                if int(row) in flagged:
                    continue
                lt = letters.get(h, "")
                problems.append(Problem(sheet, int(row), h, "empty_id" if c.kind == "id" else "empty_value",
                                        cell=f"{lt}{row}" if lt else ""))
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column))
        raise BadInput(problems)
    cols = [c.key for c in t.columns] + [k for k in df.columns if k not in t.by_key]
    df = df[cols]
    df.attrs = {"sheet": sheet, "headers": FrozenMap({k: h for h, k in hmap.items()}), "letters": FrozenMap(letters)}
    return df


def _check_ids(df, t, sheet, problems, letters, header):
    ids = df[t.id_column]
    lt = letters.get(header, "")
    for row in df.index[ids.eq("").to_numpy()]:
        problems.append(Problem(sheet, int(row), header or t.id_column, "empty_id", cell=f"{lt}{row}" if lt else ""))
    nonblank = ids[ids.ne("")]
    # a set of the ids as Python strings: pandas' and Arrow's duplicate checks on Arrow-backed strings take
    # 0.6 s for 374,000 order ids, the set a tenth of it (and nearly every table has no duplicate)
    values = nonblank.to_numpy(dtype=object)
    if len(set(values)) == len(values):
        return
    dup = nonblank[pd.Series(values, index=nonblank.index).duplicated(keep=False).to_numpy()]
    first = {}
    for row, v in dup.items():
        if v in first:
            problems.append(Problem(sheet, int(row), header or t.id_column, "duplicate_id",
                                    cell=f"{lt}{row}" if lt else "", other=first[v]))
        else:
            first[v] = int(row)


def isin(values: pd.Series, lookup) -> np.ndarray:
    """`values.isin(lookup)` as a boolean array, for id columns. pandas' isin on Arrow-backed strings converts
    value by value (2 s for a million ids against half a million); Arrow's own is_in takes a tenth of a second."""
    import pyarrow as pa
    import pyarrow.compute as pac
    try:
        arr = pa.array(values.array if isinstance(values, pd.Series) else values, type=pa.large_string())
        ref = pa.array(pd.Series(list(lookup) if isinstance(lookup, (set, frozenset)) else lookup, dtype="str").array,
                       type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return np.asarray(pd.Series(values).astype(object).isin(pd.Series(list(lookup), dtype=object)))
    return pac.is_in(arr, value_set=ref).fill_null(False).to_numpy(zero_copy_only=False)


def lookup(keyed: pd.Series, keys) -> np.ndarray:
    """`keyed.reindex(keys)` as an object array (None where a key is missing) for a Series indexed by unique ids;
    Arrow's index_in finds the positions ten times faster than pandas' indexer on Arrow-backed strings."""
    import pyarrow as pa
    import pyarrow.compute as pac
    try:
        ref = pa.array(pd.Series(keyed.index, dtype="str").array, type=pa.large_string())
        arr = pa.array(pd.Series(keys, dtype="str").array, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return keyed.reindex(keys).astype(object).to_numpy()
    pos = pac.index_in(arr, value_set=ref).fill_null(-1).to_numpy(zero_copy_only=False)
    vals = np.append(keyed.to_numpy(dtype=object), None)
    return vals[pos]


def check_references(customers: pd.DataFrame, other: pd.DataFrame, sheet: str, *, shown: int = 5) -> None:
    """Every customer_id in `other` (orders, contacts) must exist in customers; else BadInput counting the rows
    (and distinct ids) and naming the cells of the first `shown` of them."""
    bad = ~isin(other["customer_id"], customers["customer_id"])
    if not bad.any():
        return
    rows = other.index[bad]
    header = other.attrs.get("headers", {}).get("customer_id", "顧客ID")
    lt = other.attrs.get("letters", {}).get(header, "")
    problems = [Problem(sheet, int(r), header, "unknown_customer", cell=f"{lt}{r}" if lt else "") for r in rows[:shown]]
    raise BadInput(problems, key="oc_unknown_customers", omitted=len(rows) - len(problems), sheet=sheet,
                   n=len(rows), ids=len(pd.unique(other["customer_id"].to_numpy()[bad])),
                   customers=customers.attrs.get("sheet", CUSTOMERS.ja))


def to_sheet(df: pd.DataFrame, t: Table | str, lang: str = "ja") -> pd.DataFrame:
    """The table with headers for writing (Japanese by default); extra columns keep their own header."""
    t = table(t) if isinstance(t, str) else t
    headers = df.attrs.get("headers", {})
    return df.rename(columns={k: headers.get(k, t.header(k, lang)) for k in df.columns})
