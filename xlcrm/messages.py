"""The one catalogue of user-facing messages, in Japanese and English.

A message is looked up by key and formatted with keyword arguments. Messages name sheets, rows, columns and
counts — never a customer's data (no PII in logs or errors).

Each domain keeps its messages in its own section below, so changes to one domain do not touch another's lines.
"""
from __future__ import annotations

import os

# --- common ---------------------------------------------------------------------------------------------------
_COMMON = {
    "done": ("完了しました。", "Done."),
    "bad_input_header": ("入力に問題があります({n}件)。何も書き込んでいません。",
                         "The input has {n} problem(s). Nothing was written."),
    "more_problems": ("…ほか{n}件", "... and {n} more"),
    "cell_problem": ("シート「{sheet}」{row}行目 列「{column}」{cell}: {what_ja}",
                     "sheet '{sheet}' row {row} column '{column}'{cell_en}: {what_en}"),
    "unexpected": ("予期しないエラーが発生しました: {kind}", "Unexpected error: {kind}"),
}

# --- schema: parsing values as staff type them ----------------------------------------------------------------
_SCHEMA = {
    "bad_date": ("日付として読めません(例: 2024-04-01, 2024/4/1, 令和6年4月1日, R6.4.1)",
                 "cannot be read as a date (e.g. 2024-04-01, 2024/4/1, 令和6年4月1日, R6.4.1)"),
    "date_out_of_range": ("日付が範囲外です(1900年〜2100年)", "date out of range (1900 to 2100)"),
    "bad_era": ("和暦の年が元号の範囲外です", "the Japanese era year is outside that era"),
    "bad_amount": ("金額として読めません(例: 12800, ¥12,800, 12800円)",
                   "cannot be read as an amount (e.g. 12800, ¥12,800, 12800円)"),
    "bad_number": ("数値として読めません", "cannot be read as a number"),
    "bad_bool": ("「可」「不可」(または ○/×, はい/いいえ)で入力してください",
                 "enter 可 or 不可 (or ○/×, yes/no)"),
    "bad_choice": ("次のいずれかで入力してください: {choices}", "must be one of: {choices}"),
    "empty_id": ("IDが空です", "the ID is empty"),
    "empty_value": ("必須の値が空です", "a required value is empty"),
    "duplicate_id": ("IDが重複しています({other}行目と同じ)", "duplicate ID (same as row {other})"),
    "missing_column": ("シート「{sheet}」に必要な列「{name}」がありません", "sheet '{sheet}' has no column '{name}', which is required"),
    "missing_table": ("シート(テーブル)「{table}」が見つかりません", "sheet (table) '{table}' not found"),
    "unknown_customer": ("顧客「顧客ID」に存在しない顧客IDです", "customer ID not found in the customers table"),
    "text_too_long": ("文字数が多すぎます(32,767文字まで)", "text too long (32,767 characters at most)"),
}

# --- workbook layer ---------------------------------------------------------------------------------------------
_BOOK = {
    "book_locked": ("ブック「{name}」は他の人(またはExcel)が開いています(~$ファイルあり)。閉じてから実行してください。",
                    "The workbook '{name}' is open elsewhere (an Excel owner file ~$ exists). Close it and try again."),
    "book_busy": ("ブック「{name}」は別のxlcrmの処理が書き込み中です。終わってから実行してください。",
                  "Another xlcrm job is writing '{name}'. Try again when it has finished."),
    "book_changed": ("ブック「{name}」は読み込んだ後に変更されました。上書きせずに中止しました。もう一度実行してください。",
                     "The workbook '{name}' changed after it was read. Nothing was overwritten; run the job again."),
    "book_not_found": ("ブック「{name}」が見つかりません", "workbook '{name}' not found"),
    "not_a_workbook": ("「{name}」はExcelブック(.xlsx/.xlsm)として読めません", "'{name}' cannot be read as an Excel workbook (.xlsx/.xlsm)"),
    "book_encrypted": ("「{name}」はパスワードで保護されています。保護を外してから実行してください。",
                       "'{name}' is password-protected. Remove the password and try again."),
    "book_too_large": ("「{name}」は展開後のサイズが大きすぎます(安全のため中止)",
                       "'{name}' is too large when unpacked (stopped for safety)"),
    "write_failed": ("ブック「{name}」を保存できませんでした({reason})。元のファイルはそのままです。",
                     "Could not save '{name}' ({reason}). The original file is unchanged."),
    "saved": ("保存しました: {name}(バックアップ: {backup})", "Saved {name} (backup: {backup})"),
    # hardening: hostile files and layouts the file engine refuses rather than guess
    "book_unsafe": ("「{name}」に安全でないXML(DTD・実体宣言)が含まれています。開かずに中止しました。",
                    "'{name}' contains unsafe XML (a DTD or entity declarations). It was not opened."),
    "book_damaged": ("「{name}」は壊れているため読めません(シート「{sheet}」)。Excelで開いて保存し直してください。",
                     "'{name}' is damaged and cannot be read (sheet '{sheet}'). Open it in Excel and save it again."),
    "merged_cell": ("結合されたセルに書き込めません。結合を解除してください", "is part of merged cells; unmerge them"),
    "cell_occupied": ("表を広げる先のセルに入力があります。上書きしないよう中止しました(セルを移動してください)",
                      "is not empty and lies where the table must grow; move that cell (nothing was overwritten)"),
}

# --- CSV import / export ----------------------------------------------------------------------------------------
_CSV = {
    "csv_encoding": ("「{name}」の文字コードを判定できません(UTF-8 / cp932 に対応)",
                     "cannot detect the encoding of '{name}' (UTF-8 and cp932 are supported)"),
    "csv_unencodable": ("{encoding}で表せない文字があります", "has characters that {encoding} cannot encode"),
    "csv_unknown_table": ("「{name}」がどの表(顧客/注文/対応履歴)か判定できません",
                          "cannot tell which table (customers/orders/contacts) '{name}' is"),
}

# --- search / dedupe --------------------------------------------------------------------------------------------
_SEARCH = {}
_DEDUPE = {}

# --- rfm / lapse ------------------------------------------------------------------------------------------------
_RFM = {}
_LAPSE = {}

# --- follow-up / dashboard --------------------------------------------------------------------------------------
_FOLLOWUP = {}
_DASHBOARD = {}

# --- workbook build / ribbon / doctor ---------------------------------------------------------------------------
_BUILD = {}

CATALOGUE: dict[str, tuple[str, str]] = {
    **_COMMON, **_SCHEMA, **_BOOK, **_CSV, **_SEARCH, **_DEDUPE, **_RFM, **_LAPSE, **_FOLLOWUP, **_DASHBOARD,
    **_BUILD,
}


def default_lang() -> str:
    """Language from XLCRM_LANG (ja or en); Japanese unless told otherwise."""
    return "en" if os.environ.get("XLCRM_LANG", "ja").lower().startswith("en") else "ja"


def text(key: str, lang: str | None = None, **kw) -> str:
    """The message `key` in `lang` ('ja' or 'en'), formatted with `kw`."""
    ja, en = CATALOGUE[key]
    return (en if (lang or default_lang()) == "en" else ja).format(**kw)


def both(key: str, **kw) -> str:
    """Japanese and English on two lines, for logs and places where the reader's language is unknown."""
    return f"{text(key, 'ja', **kw)}\n{text(key, 'en', **kw)}"


class XlcrmError(Exception):
    """An error a user can act on. `exit_code`: 2 bad input, 3 workbook locked or changed, 1 other."""

    exit_code = 1

    def __init__(self, key: str, **kw):
        self.key, self.kw = key, kw
        super().__init__(both(key, **kw))

    def message(self, lang: str | None = None) -> str:
        return text(self.key, lang, **self.kw)


class BookLocked(XlcrmError):
    exit_code = 3


class BadInput(XlcrmError):
    """Input that cannot be used: one or more problems, each naming sheet, row and column."""

    exit_code = 2

    def __init__(self, problems: list["Problem"] | None = None, key: str | None = None, **kw):
        self.problems = list(problems or [])
        if key is None:
            key, kw = "bad_input_header", {"n": len(self.problems)}
        XlcrmError.__init__(self, key, **kw)
        self.args = (self.message("ja") + "\n" + self.message("en"),)

    def message(self, lang: str | None = None, limit: int = 20) -> str:
        lines = [text(self.key, lang, **self.kw)]
        lines += [p.message(lang) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(text("more_problems", lang, n=len(self.problems) - limit))
        return "\n".join(lines)


class Problem:
    """One bad cell (or column, when row is None): where it is and what is wrong — never the value itself."""

    __slots__ = ("sheet", "row", "column", "cell", "key", "kw")

    def __init__(self, sheet: str, row: int | None, column: str, key: str, cell: str = "", **kw):
        self.sheet, self.row, self.column, self.cell, self.key, self.kw = sheet, row, column, cell, key, kw

    def message(self, lang: str | None = None) -> str:
        kw = {"sheet": self.sheet, **self.kw}
        what_ja, what_en = text(self.key, "ja", **kw), text(self.key, "en", **kw)
        if self.row is None:
            return what_en if (lang or default_lang()) == "en" else what_ja
        return text("cell_problem", lang, sheet=self.sheet, row=self.row, column=self.column,
                    cell=f"({self.cell})" if self.cell else "", cell_en=f" ({self.cell})" if self.cell else "",
                    what_ja=what_ja, what_en=what_en)

    def __repr__(self) -> str:
        return f"Problem({self.sheet!r}, {self.row!r}, {self.column!r}, {self.key!r})"
