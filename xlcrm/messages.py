"""The one catalogue of user-facing messages, in Japanese and English.

A message is looked up by key and formatted with keyword arguments. Messages name sheets, rows, columns and
counts — never a customer's data (no PII in logs or errors).

Each domain keeps its messages in its own section below, so changes to one domain do not touch another's lines.
"""
from __future__ import annotations

import os

__all__ = ["CATALOGUE", "default_lang", "text", "both", "XlcrmError", "BookLocked", "BadInput", "Problem"]

# --- common ---------------------------------------------------------------------------------------------------
_COMMON = {
    "done": ("完了しました。", "Done."),
    "bad_input_header": ("入力に問題があります({n}件)。何も書き込んでいません。",
                         "The input has {n} problem(s). Nothing was written."),
    "more_problems": ("…ほか{n:,}件", "... and {n:,} more"),
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
    "setting_bad_choice": ("次のいずれかを選んでください: {choices_ja}", "must be one of: {choices_en}"),
    "empty_id": ("IDが空です", "the ID is empty"),
    "empty_value": ("必須の値が空です", "a required value is empty"),
    "duplicate_id": ("IDが重複しています({other}行目と同じ)", "duplicate ID (same as row {other})"),
    "missing_column": ("シート「{sheet}」に必要な列「{name}」がありません", "sheet '{sheet}' has no column '{name}', which is required"),
    "missing_table": ("シート(テーブル)「{table}」が見つかりません", "sheet (table) '{table}' not found"),
    "print_no_columns": ("顧客シートに印刷する列がひとつもありません。列名を顧客シートの見出しのとおりに入力してください",
                         "names no column of 顧客; type the columns as 顧客's headers say"),
    "unknown_customer": ("顧客「顧客ID」に存在しない顧客IDです", "customer ID not found in the customers table"),
    "text_too_long": ("文字数が多すぎます(32,767文字まで)", "text too long (32,767 characters at most)"),
}

# --- workbook layer ---------------------------------------------------------------------------------------------
_BOOK = {
    "book_locked": ("ブック「{name}」は他の人(またはExcel)が開いています(Excelの ~$ ファイルあり)。閉じてから実行してください。",
                    "The workbook '{name}' is open elsewhere (an Excel owner file ~$ exists). Close it and try again."),
    "book_locked_lo": ("ブック「{name}」はLibreOfficeで開かれています(.~lock.{name}# ファイルあり)。閉じてから実行してください。",
                       "The workbook '{name}' is open in LibreOffice (a .~lock.{name}# file exists). Close it and try again."),
    "book_busy": ("ブック「{name}」は別のxlcrmの処理が書き込み中です。終わってから実行してください。",
                  "Another xlcrm job is writing '{name}'. Try again when it has finished."),
    "book_changed": ("ブック「{name}」は読み込んだ後に変更されました。上書きせずに中止しました。もう一度実行してください。",
                     "The workbook '{name}' changed after it was read. Nothing was overwritten; run the job again."),
    "book_not_found": ("ブック「{name}」が見つかりません。ファイル名と場所を確かめてください。",
                       "workbook '{name}' not found. Check the file name and folder."),
    "not_a_workbook": ("「{name}」はExcelブック(.xlsx/.xlsm)として読めません。Excelで開けるか確かめ、.xlsx か .xlsm のブックを指定してください。",
                       "'{name}' cannot be read as an Excel workbook (.xlsx/.xlsm). Check that Excel opens it and give an .xlsx or .xlsm book."),
    "book_empty": ("「{name}」は空のファイルです(0バイト)。保存し直したブックか、バックアップを指定してください。",
                   "'{name}' is an empty file (0 bytes). Give a saved copy of the workbook or its backup."),
    "book_ods": ("「{name}」はLibreOffice/OpenDocumentの表計算(.ods)です。「名前を付けて保存」で Excel 2007-365 (.xlsx) 形式にしてから指定してください。",
                 "'{name}' is a LibreOffice/OpenDocument spreadsheet (.ods). Save it as Excel 2007-365 (.xlsx) and try again."),
    "book_xls": ("「{name}」は古いExcel形式(.xls)です。Excelで開いて「Excel マクロ有効ブック (.xlsm)」か .xlsx で保存し直してください。",
                 "'{name}' is an old Excel file (.xls). Open it in Excel and save it as .xlsm or .xlsx."),
    "book_is_csv": ("「{name}」はCSV(テキスト)でブックではありません。CSVは「xlcrm import {name} --into ブック」で取り込めます。",
                    "'{name}' is a CSV (text) file, not a workbook. Import it with 'xlcrm import {name} --into BOOK'."),
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
    "disk_full": ("ディスクの空きが足りないため「{name}」を保存できませんでした。元のファイルはそのままです。空きを作ってからもう一度実行してください。",
                  "Not enough disk space to save '{name}'. The original file is unchanged; free some space and run again."),
    "read_only": ("「{name}」またはそのフォルダーは読み取り専用のため保存できませんでした。元のファイルはそのままです。",
                  "'{name}' or its folder is read-only, so it could not be saved. The original file is unchanged."),
    "sheet_full": ("シート「{sheet}」に書ききれません({rows:,}行×{cols:,}列。Excelのシートは1,048,576行×16,384列まで)",
                   "sheet '{sheet}' cannot hold {rows:,} rows x {cols:,} columns (an Excel sheet holds 1,048,576 x 16,384)"),
    "cell_occupied": ("表を広げる先のセルに入力があります。上書きしないよう中止しました(セルを移動してください)",
                      "is not empty and lies where the table must grow; move that cell (nothing was overwritten)"),
    "formula_without_value": ("数式の計算結果が保存されていません(計算しないソフトで作られたファイル)。ExcelかLibreOfficeで開いて保存し直してください",
                              "is a formula saved without its result (made by a program that does not calculate); open and save the book in Excel or LibreOffice"),
    "recalc_on_open": ("書き込んだ値を使う数式があるため、次にExcelで開いたときに再計算されます。",
                       "Formulas use the values written: the book recalculates when next opened in Excel."),
}

# --- CSV import / export ----------------------------------------------------------------------------------------
_CSV = {
    "csv_encoding": ("「{name}」の文字コードを判定できません(UTF-8 / cp932 に対応)",
                     "cannot detect the encoding of '{name}' (UTF-8 and cp932 are supported)"),
    "csv_unencodable": ("{encoding}で表せない(または別の文字に置き換わる)文字があります",
                        "has characters that {encoding} cannot encode (or would turn into other characters)"),
    "csv_unknown_table": ("「{name}」がどの表(顧客/注文/対応履歴)か判定できません",
                          "cannot tell which table (customers/orders/contacts) '{name}' is"),
    "csv_closest_table": ("「{name}」がどの表か判定できません。いちばん近いのは「{table}」ですが、必須の列 {missing} がありません。"
                          "見出し行に加えてください(受け付ける見出しは xlcrm import --help)。",
                          "cannot tell which table '{name}' is. The closest is {table}, but it lacks the required "
                          "column(s) {missing}. Add them to the header row (accepted headers: xlcrm import --help)."),
    "csv_not_found": ("「{name}」が見つかりません。ファイル名と場所を確かめてください。",
                      "'{name}' not found. Check the file name and folder."),
    "csv_empty": ("「{name}」は空です(見出し行もありません)。データを保存したCSVを指定してください。",
                  "'{name}' is empty (not even a header row). Give a CSV with the data saved in it."),
    "csv_utf16": ("「{name}」はUTF-16(Excelの「Unicode テキスト」)です。Excelで「CSV UTF-8(コンマ区切り)」か「CSV(コンマ区切り)」で保存し直してください。",
                  "'{name}' is UTF-16 (Excel's 'Unicode Text'). Save it from Excel as 'CSV UTF-8 (Comma delimited)' or 'CSV (Comma delimited)'."),
    "csv_nul": ("「{name}」{line}行目にNUL文字(0x00)があります。壊れているか、CSVではないファイルです。元の表から保存し直してください。",
                "'{name}' has a NUL byte (0x00) on line {line}: it is damaged or not a CSV. Save it again from its source."),
    "csv_binary": ("「{name}」はテキストではありません(CSVではないファイル)。CSVで保存したファイルを指定してください。",
                   "'{name}' is not text (not a CSV). Give a file saved as CSV."),
    "csv_malformed": ("「{name}」{line}行目: CSVとして読めません(引用符「\"」の閉じ忘れなど)",
                      "'{name}' line {line}: cannot be read as CSV (an unclosed quote \" or similar)"),
    "csv_extra_fields": ("見出しより列の多い行です", "this row has more fields than the header row"),
    "csv_duplicate_header": ("見出しが重複しています({other}列と同じ)", "duplicate header (same as column {other})"),
    "export_done": ("{table} を {n:,}行 書き出しました: {out}({encoding})",
                    "Exported {n:,} rows of {table} to {out} ({encoding})"),
    "export_substituted": ("{encoding}にない文字を{n:,}セルで置き換えました(置き換えずに中止するには --strict):",
                           "Replaced characters {encoding} lacks in {n:,} cells (--strict refuses instead):"),
    "export_as_number": ("数値", "a plain number"),
    "export_dropped": ("(削除: 異体字セレクタ)", "(dropped: variation selector)"),
    "export_kept_as_typed": ("読み取れない値{n:,}件は入力どおり書き出しました(最初: {sheet}!{cell})",
                             "{n:,} cells that cannot be read were exported as typed (first: {sheet}!{cell})"),
    "export_labels_skipped": ("DM不可の{dm:,}人と住所が空の{no_address:,}人は除きました",
                              "Left out {dm:,} customers marked DM不可 and {no_address:,} without an address"),
}

# --- search / dedupe --------------------------------------------------------------------------------------------
_SEARCH = {
    "search_reason_id": ("ID一致", "ID"),
    "search_reason_phone": ("電話一致", "phone"),
    "search_reason_email": ("メール一致", "e-mail"),
    "search_reason_name": ("氏名一致", "name"),
    "search_reason_kana": ("フリガナ一致", "reading"),
    "search_reason_address": ("住所一致", "address"),
    "search_reason_fuzzy": ("あいまい一致", "fuzzy"),
    "search_done": ("「{query_cell}」の検索結果 {total}件中{n}件を表示",
                    "{n} of {total} result(s) shown for the query in {query_cell}"),
    "search_empty_query": ("検索する言葉を入力してください", "enter something to search for"),
    "search_bad_limit": ("件数は1以上の整数で入力してください", "the limit must be a whole number of at least 1"),
    "search_no_results": ("該当する顧客はいません。", "No matching customers."),
    "search_count": ("{total}件中{shown}件を表示", "Showing {shown} of {total}"),
    "search_count_more_cli": ("{total}件中{shown}件を表示(--limit で増やせます)",
                              "Showing {shown} of {total} (see more with --limit)"),
    "search_count_more_sheet": ("{total}件中{shown}件を表示({cell} の件数を増やすと続きを表示します)",
                                "Showing {shown} of {total} (raise the number in {cell} to see more)"),
    "search_count_more_settings": ("{total}件中{shown}件を表示(設定シートの「検索の表示件数」を増やすと続きを表示します)",
                                   "Showing {shown} of {total} (raise 検索の表示件数 on the 設定 sheet to see more)"),
    "search_col_score": ("スコア", "score"),
    "search_col_matched": ("一致理由", "matched"),
    "search_udf_usage": ("使い方: =CRM_SEARCH(検索語, 顧客[#All], [件数])",
                         "usage: =CRM_SEARCH(query, customers[#All], [limit])"),
    "search_udf_no_header": ("顧客表の見出し行(顧客ID・氏名…)が見つかりません。顧客[#All] を渡してください",
                             "no customers header row (顧客ID, 氏名, ...): pass the whole table, customers[#All]"),
}
_DEDUPE = {
    "dedupe_too_few": ("顧客が{n}件のため、名寄せする組み合わせがありません。", "{n} customer(s): nothing to compare."),
    "dedupe_done": ("重複候補 {groups}グループ({records}件)、要確認 {review}ペア、同一世帯(別人) {households}ペア。"
                    "「重複候補」シートの「判定」に 統合 / 別人 / 保留 を入力してください。",
                    "{groups} duplicate group(s) ({records} records), {review} pair(s) to check, {households} "
                    "same-household pair(s) (different people). Fill in 判定 on the 重複候補 sheet: 統合 (merge) / 別人 (different) / 保留 (hold)."),
    "dedupe_new_done": ("新しい顧客 {new}件を確認: 重複の可能性 {warned}件(「重複警告」列)。",
                        "Checked {new} new customer(s): {warned} may be duplicates (column 重複警告)."),
    "dedupe_table_done": ("{records}件 → {clusters}人(重複 {dupes}件)。出力: {out}",
                          "{records} records → {clusters} people ({dupes} duplicates). Written: {out}"),
    "dedupe_bad_map": ("--map の指定が読めません(列名=種類。種類: {kinds})",
                       "cannot read --map (COLUMN=KIND; kinds: {kinds})"),
    "dedupe_unknown_column": ("列「{column}」が入力にありません", "column '{column}' is not in the input"),
    "dedupe_no_fields": ("照合に使える列がありません。--map で列の種類を指定してください(例: --map 氏名=name)",
                         "no column to match on; tell the kinds with --map (e.g. --map surname=family_name)"),
    "dedupe_bad_decision": ("判定は 統合 / 別人 / 保留 のいずれかで入力してください",
                            "the decision must be 統合 (merge), 別人 (different) or 保留 (hold)"),
    "merge_done": ("{groups}グループを統合しました(統合した顧客 {records}件、付け替えた注文 {orders}件・対応 {contacts}件)。"
                   "統合ID: {ids}",
                   "Merged {groups} group(s) ({records} records absorbed, {orders} orders and {contacts} contacts "
                   "re-pointed). Merge id(s): {ids}"),
    "merge_nothing": ("「判定」が 統合 のペアがありません。", "No pair is decided 統合 (merge)."),
    "merge_conflict": ("{n}グループは 別人 と判定されたペアを含むため統合しませんでした。",
                       "{n} group(s) contain a pair decided 別人 (different people) and were not merged."),
    "undo_merge_done": ("統合 {id} を取り消しました(顧客 {records}件を復元)。",
                        "Merge {id} undone ({records} customer record(s) restored)."),
    "undo_merge_none": ("取り消せる統合がありません。", "There is no merge to undo."),
    "undo_merge_unknown": ("統合ID「{id}」は統合履歴にないか、取り消し済みです。",
                           "Merge id '{id}' is not in 統合履歴 or was already undone."),
}

# --- rfm / lapse ------------------------------------------------------------------------------------------------
_RFM = {
    "rfm_bad_thresholds": ("RFMの区切りは小さい順の数値4つで入力してください(例: 30, 90, 180, 365)",
                           "RFM cut points must be four increasing numbers (e.g. 30, 90, 180, 365)"),
    "rfm_bad_segment_row": ("セグメント表の行にはF1〜F5の5つの名前を読点区切りで入力してください",
                            "a segment map row needs five names for F1 to F5, separated by commas"),
    "rfm_bad_method": ("方式は quintile(五分位)か fixed(固定)で指定してください",
                       "method must be quintile or fixed"),
    "rfm_bad_option": ("「{option}」は {choices} のいずれかで指定してください", "'{option}' must be one of {choices}"),
    "rfm_no_orders": ("基準日までの注文がありません", "no orders on or before the as-of date"),
    "rfm_done": ("RFMを更新しました: 顧客{n:,}人(注文のある顧客{scored:,}人、基準日 {as_of})",
                 "RFM refreshed: {n:,} customers ({scored:,} with orders, as of {as_of})"),
    "udf_bad_value": ("注文の{n}件目の{what}が読めません", "order {n} of the range: the {what_en} cannot be read"),
    "rfm_file_done": ("RFMを書き出しました: {n:,}人 → {out}", "RFM written: {n:,} customers -> {out}"),
}
_LAPSE = {
    "lapse_bad_method": ("方式は {choices} のいずれかで指定してください", "method must be one of {choices}"),
    "lapse_reason_days": ("最終注文から{days}日(固定日数: {warn}日超で離脱予兆、{lapse}日超で離脱)",
                          "{days} days since the last order (fixed days: lapsing after {warn}, lapsed after {lapse})"),
    "lapse_reason_rhythm": ("最終注文から{days}日。いつもの購入間隔は約{interval}日(離脱予兆{warn}日超、離脱{lapse}日超)",
                            "{days} days since the last order; usual interval about {interval} days "
                            "(lapsing after {warn}, lapsed after {lapse})"),
    "lapse_reason_one_order": ("購入1回・最終注文から{days}日。当店の2回目の注文は{wq}%が{qw}日以内、{lq}%が{ql}日以内"
                               "(離脱予兆{warn}日超、離脱{lapse}日超)",
                               "one order, {days} days ago; in this shop {wq}% of second orders come within {qw} days "
                               "and {lq}% within {ql} (lapsing after {warn}, lapsed after {lapse})"),
    "lapse_reason_one_order_no_repeaters": (
        "購入1回・最終注文から{days}日。2回購入した顧客がまだいないため固定日数で判定({warn}日超で離脱予兆、{lapse}日超で離脱)",
        "one order, {days} days ago; no customer has ordered twice yet, so fixed days apply "
        "(lapsing after {warn}, lapsed after {lapse})"),
    "lapse_reason_bgnbd": ("BG/NBD: 継続している確率{pa}%、今後{horizon}日に購入しない確率{pn}%"
                           "(継続確率{warn}%未満で離脱予兆、{lapse}%未満で離脱)。最終注文から{days}日",
                           "BG/NBD: {pa}% likely still a customer, {pn}% likely to buy nothing in the next {horizon} "
                           "days (lapsing below {warn}%, lapsed below {lapse}%); {days} days since the last order"),
    "lapse_reason_bgnbd_one_order": ("BG/NBDは購入1回の顧客を判定できないため購入リズムで判定: ",
                                     "BG/NBD cannot judge one-order customers, so the rhythm rule applies: "),
    "lapse_p_alive_one_order": ("購入1回のため算出しません(BG/NBDは2回以上購入した顧客だけを判定します)",
                                "not computed: one order only (BG/NBD judges customers with two or more orders)"),
    "lapse_p_alive_fit_refused": ("BG/NBDの当てはめを採用しなかったため算出していません({why})",
                                  "not computed: the BG/NBD fit was refused ({why})"),
    "lapse_p_alive_not_finite": ("数値計算で値が求まりませんでした(購入履歴が極端です)",
                                 "could not be computed (an extreme purchase history)"),
    "lapse_reason_fallback": ("BG/NBDを使えないため購入リズムで判定({why}): ",
                              "BG/NBD not used ({why}); judged by rhythm: "),
    "lapse_reason_dormant": ("最終注文から{days}日({dormant_days}日超で休眠)",
                             "{days} days since the last order (dormant after {dormant_days})"),
    "bgnbd_degenerate": ("離脱の推定が極端です(a={a:.3g}, b={b:.3g})。購入がモデルの想定に合いません",
                         "the dropout estimate is extreme (a={a:.3g}, b={b:.3g}); purchases do not follow the model"),
    "bgnbd_at_bound": ("推定値が探索範囲の端に達しました", "an estimate reached the edge of the search range"),
    "bgnbd_unidentified": ("データから推定値が定まりません(標準誤差が過大)",
                           "the data do not pin down the estimates (standard errors too large)"),
    "bgnbd_not_converged": ("推定が収束しませんでした", "the fit did not converge"),
    "bgnbd_too_few": ("2回以上購入した顧客が{min_repeaters}人未満です", "fewer than {min_repeaters} customers have ordered twice"),
    "bgnbd_refused": ("BG/NBDの当てはめを採用しませんでした: {why}。購入リズムで判定しました。",
                      "BG/NBD fit refused: {why}. Judged by personal rhythm instead."),
    "lapse_done": ("離脱判定を更新しました({method}): 顧客{n:,}人 — 稼働{active:,}・離脱予兆{lapsing:,}・離脱{lapsed:,}・休眠{dormant:,}",
                   "Lapse status refreshed ({method}): {n:,} customers - active {active:,}, lapsing {lapsing:,}, "
                   "lapsed {lapsed:,}, dormant {dormant:,}"),
}

# --- follow-up / dashboard --------------------------------------------------------------------------------------
_FOLLOWUP = {
    "fu_rules_added": ("\nルールシートに新しいルール{n}件を追加しました({names})。既定の設定で動いています。",
                       "\nAdded {n} new rule(s) to the ルール sheet ({names}); they run with their defaults."),
    "fu_unknown_rule": ("知らないルールIDです(使えるのは {rules})", "unknown rule ID (known: {rules})"),
    "fu_bad_param": ("パラメータは「名前=数値」を読点で区切って書いてください(使える名前: {names})",
                     "parameters must be 'name=number' separated by commas (names: {names})"),
    "fu_bad_channel": ("チャネルは次から選んでください: {choices}", "channels must be among: {choices}"),
    "fu_reason_thanks": ("初回購入({date})から{days}日", "first order ({date}) {days} days ago"),
    "fu_reason_f2": ("購入1回・初回購入から{days}日(2回目はまだ)", "one order so far, first order {days} days ago"),
    "fu_reason_sub": ("定期便の次回予定日 {date}(あと{days}日)", "next subscription delivery {date} (in {days} days)"),
    "fu_reason_winback": ("優良顧客(M={m})が離脱予兆: 最終購入から{days}日",
                          "high-value customer (M={m}) slipping: {days} days since the last order"),
    "fu_reason_birthday": ("{month}月が誕生月", "birthday month ({month})"),
    "fu_reason_complaint": ("クレーム({date})が未完了のまま{days}日", "complaint of {date} still open after {days} days"),
    "fu_reason_dormant": ("休眠: 最終購入から{days}日", "dormant: {days} days since the last order"),
    "fu_reason_prospect": ("見込み顧客: 最後の連絡から{days}日", "prospect: {days} days since the last contact"),
    "fu_reason_prospect_none": ("見込み顧客: 連絡の記録なし", "prospect: never contacted"),
    "fu_closed_gone": ("条件外になったため自動終了({date})", "closed automatically: no longer applies ({date})"),
    "fu_closed_control": ("キャンペーンの対照群のため連絡しない({date})",
                          "closed: customer is in a campaign's control group, do not contact ({date})"),
    "fu_closed_rule_off": ("ルール停止のため自動終了({date})", "closed automatically: rule switched off ({date})"),
    "fu_contact_summary": ("フォロー完了「{title}」: {memo} [{fid}]", "follow-up done '{title}': {memo} [{fid}]"),
    "fu_done": ("フォローリストを更新: 新規{new}件・継続{kept}件・自動終了{closed}件・対応履歴へ{recorded}件"
                "(配信拒否・連絡先なしで除外{skipped_optout}件)",
                "Follow-up list refreshed: {new} new, {kept} kept, {closed} closed, {recorded} written to contacts "
                "({skipped_optout} left out: opted out or no usable contact)"),
    "fu_campaign_done": ("キャンペーン「{campaign}」: 対象{treated}人・対照群{control}人(乱数シード {seed})",
                         "Campaign '{campaign}': {treated} contacted, {control} held out (seed {seed})"),
    "fu_campaign_exists": ("キャンペーン「{campaign}」は既にあります", "campaign '{campaign}' already exists"),
    "fu_campaign_unknown": ("キャンペーン「{campaign}」が見つかりません", "campaign '{campaign}' not found"),
    "fu_campaign_empty": ("キャンペーンの対象者がいません", "the campaign has no customers"),
    "ct_empty_summary": ("内容が空です", "the summary is empty"),
    "ct_kind_order": ("注文", "order"),
    "ct_kind_contact": ("対応", "contact"),
    "ct_score_mark": ("(評価 {score})", " (rating {score})"),
    "ct_stage_mark": ("(商談段階: {stage})", " (stage: {stage})"),
    "ct_kind_complaint": ("クレーム", "complaint"),
    "ct_kind_followup": ("フォロー予定", "follow-up due"),
    "ct_subscription_mark": ("(定期)", " (subscription)"),
    "ct_recorded": ("対応履歴に記録しました({contact_id})", "Contact recorded ({contact_id})"),
    "ct_card_done": ("顧客カルテを表示: 履歴{n}件", "Customer card shown: {n} timeline entries"),
    "ct_no_customer": ("顧客IDを指定してください(顧客カルテのB2セル、または --customer)",
                       "give a customer ID (cell B2 of the customer card, or --customer)"),
}
_DASHBOARD = {
    "db_done": ("ダッシュボードを更新: 稼働顧客{active}人・リピート率{repeat}・F2転換率{f2}・売上予測 {model}(検証の平均誤差率 {mape})"
                "・いちばん離れる段階 {drop}",
                "Dashboard refreshed: {active} active, repeat rate {repeat}, F2 {f2}, forecast {model} "
                "(hold-out MAPE {mape}), largest drop-off: {drop}"),
    "db_report": ("グラフを{n}枚書き出しました: {out}", "Wrote {n} charts to {out}"),
    # sheet labels ("|" separates the headers of one block)
    "db_title": ("ダッシュボード", "Dashboard"),
    "db_as_of": ("基準日", "As of"),
    "db_updated": ("更新", "Updated"),
    "db_kpi": ("指標|値", "Measure|Value"),
    "db_revenue": ("月別売上と予測", "Revenue by month and forecast"),
    "db_rev_cols": ("月|売上|傾向線|予測", "Month|Revenue|Trend|Forecast"),
    "db_f2": ("F2転換率(初回購入月別)", "F2 conversion by first-order month"),
    "db_f2_cols": ("月|初回購入者|F2転換|転換率|確定", "Month|First buyers|Converted|Rate|Complete"),
    "db_status": ("セグメント×状態", "Segment × status"),
    "db_cohort": ("継続率コホート(初回購入月×経過月)", "Retention cohorts (first-order month × months since)"),
    "db_cohort_size": ("人数", "Size"),
    "db_segments": ("セグメント推移(RFM 効果推移)", "Segments over time (RFM)"),
    "db_movement": ("前回からのセグメント移動(行: 前回 → 列: 今回)",
                    "Segment moves since last refresh (rows: before → columns: now)"),
    "db_no_previous": ("前回のスナップショットがありません(次回の更新から表示)",
                       "No previous snapshot yet (shown from the next refresh)"),
    "db_models": ("予測モデルの検証(直近{k}か月を隠して予測したときの平均誤差率)", "Forecast check (last {k} months held out, MAPE)"),
    "db_yes": ("○", "yes"),
    "db_k_customers": ("顧客数", "Customers"),
    "db_k_prospects": ("見込み顧客", "Prospects"),
    "db_k_buyers": ("購入者", "Buyers"),
    "db_k_active": ("稼働顧客", "Active customers"),
    "db_k_active_rate": ("稼働率", "Active share"),
    "db_k_repeat": ("リピート率", "Repeat rate"),
    "db_k_f2": ("F2転換率({days}日以内)", "F2 conversion (within {days} days)"),
    "db_k_new": ("今月の新規購入者", "New buyers this month"),
    "db_k_revenue": ("今月の売上", "Revenue this month"),
    "db_k_revenue_so_far": ("今月の売上(途中)", "Revenue this month (so far)"),
    "db_k_trend": ("売上傾向(円/月)", "Revenue trend (yen/month)"),
    "db_k_model": ("予測モデル", "Forecast model"),
    "db_k_mape": ("予測の平均誤差率(検証)", "Forecast hold-out MAPE"),
    "db_k_drop": ("いちばん離れる段階(ファネル)", "Largest drop-off (funnel)"),
    "db_funnel": ("顧客ファネル(見込み → 優良)", "Customer funnel (prospects → top customers)"),
    "db_funnel_mark": ("◀ 最大の離脱", "◀ biggest drop-off"),
    "db_funnel_fix": ("いちばん多く離れているのは「{before} → {step}」: {n}人が進まず、転換率{rate}。ここが改善のポイントです。",
                      "Most customers are lost between {before} and {step}: {n} did not go on ({rate} did). "
                      "This is the step to fix."),
    "db_funnel_more": ("獲得チャネル別・初回購入月別のファネルは「ジャーニー」シートに(リボンの「顧客ジャーニー」で更新)。",
                       "The funnel by acquisition channel and by first-order month: the ジャーニー sheet (ribbon "
                       "顧客ジャーニー / xlcrm journey)."),
    "db_funnel_chart": ("顧客ファネル", "Customer funnel"),
    "db_channels_chart": ("F2転換率(獲得チャネル別)", "F2 rate by acquisition channel"),
    "db_funnel_pct": ("%は前の段階からの転換率", "% = conversion from the step before"),
    "db_channel_n": ("{channel}(初回{n}人)", "{channel} ({n} first buyers)"),
    "db_channels": ("獲得チャネル別 F2転換率・リピート率", "F2 and repeat rate by channel"),
    "db_channel_cols": ("チャネル|初回購入|F2転換率|リピート率", "Channel|First purchases|F2 rate|Repeat rate"),
    "db_no_channels": ("注文にチャネルの記録がありません", "No channels recorded on the orders"),
    "db_no_font": ("(日本語フォントが見つからないため英語の見出しで描きました。fonts-noto-cjk を入れると日本語になります)",
                   " (no Japanese font found, so the labels are in English; install fonts-noto-cjk)"),
}

# --- journey / channels / store visits -----------------------------------------------------------------------
_JOURNEY = {
    "jr_done": ("ジャーニーを更新: 見込み{prospect}人 → 初回購入{first}人 → F2 {f2}人 → 定期・リピート{repeat}人 → 優良{top}人"
                "(一番多く離れる段階: {worst})・来店客{visitors}人",
                "Journey refreshed: {prospect} prospects → {first} first purchases → {f2} F2 → {repeat} repeat → "
                "{top} top (largest drop-off: {worst}); {visitors} store visitors"),
    "jr_title": ("カスタマージャーニー", "Customer journey"),
    "jr_note": ("各段階は前の段階の人だけを数えます。F2=別の日に2回目の購入、定期・リピート=3日以上購入または定期購入、"
                "優良=RFMセグメントが優良・ロイヤル。|月別・チャネル別は初回購入から(獲得チャネル=初回注文のチャネル)。"
                "「確定」のない月はF2判定の日数(設定「F2判定日数」)がまだ経っておらず、率はこれから上がります。",
                "Each step counts only customers of the step before. F2 = a second purchase on another day; repeat = "
                "3+ purchase days or a subscription; top = RFM segment Champions or Loyal.|By month and channel the "
                "funnel starts at the first purchase (acquisition channel = channel of the first order). Months not "
                "marked complete are less than the F2 window (f2_days) old: their rates can still go up."),
    "jr_funnel": ("ファネル(全体)", "Funnel (all customers)"),
    "jr_funnel_cols": ("段階|人数|転換率|離脱人数|見込みからの割合", "Step|Customers|Conversion|Dropped|Share of prospects"),
    "jr_step_prospect": ("見込み", "Prospects"),
    "jr_step_first": ("初回購入", "First purchase"),
    "jr_step_f2": ("F2(2回目購入)", "F2 (second purchase)"),
    "jr_step_repeat": ("定期・リピート", "Subscription / repeat"),
    "jr_step_top": ("優良", "Top customers"),
    "jr_by_channel": ("獲得チャネル別ファネル", "Funnel by acquisition channel"),
    "jr_by_month": ("初回購入月別ファネル", "Funnel by first-order month"),
    "jr_by_cols": ("|初回購入|F2|定期・リピート|優良|F2転換率|リピート転換率|優良転換率",
                   "|First purchase|F2|Repeat|Top|F2 rate|Repeat rate|Top rate"),
    "jr_complete": ("確定", "Complete"),
    "jr_month": ("初回購入月", "First-order month"),
    "jr_channel": ("チャネル", "Channel"),
    "jr_channels": ("チャネル分析", "Channels"),
    "jr_channel_cols": ("チャネル|注文数|売上|購入者|初回購入|F2|F2転換率|リピーター|リピート率",
                        "Channel|Orders|Revenue|Buyers|First purchases|F2|F2 rate|Repeaters|Repeat rate"),
    "jr_no_channel": ("(未設定)", "(none)"),
    "jr_none": ("注文がありません", "No orders yet"),
    "jr_visit_count": ("来店回数", "Store visits"),
    "jr_last_visit": ("最終来店日", "Last store visit"),
}

# --- timed steps (ステップメール) ----------------------------------------------------------------------------------
_STEPS = {
    "st_bad_chain": ("チェーンIDに「:」は使えません", "a chain ID cannot contain ':'"),
    "st_bad_step": ("段目は1以上の整数で入力してください", "the step number must be a whole number from 1"),
    "st_bad_days": ("日数は0以上の整数で入力してください", "days must be a whole number from 0"),
    "st_dup_step": ("同じチェーンに同じ段目があります({other}行目と同じ)",
                    "the chain already has this step number (same as row {other})"),
    "st_mixed_trigger": ("同じチェーンの起点はそろえてください(1つのチェーンに1つの起点)",
                         "all steps of a chain must have the same trigger"),
    "st_days_order": ("日数は段目の順に大きくしてください({prev}段目より後の日に)",
                      "days must rise with the step number (later than step {prev})"),
    "st_bad_placeholder": ("クーポンの差し込みは次だけ使えます: {names}(例: F2-{{顧客ID}})",
                           "coupon placeholders must be among: {names} (e.g. F2-{{顧客ID}})"),
    "st_trigger_first": ("初回購入", "first order"),
    "st_trigger_registered": ("登録", "registration"),
    "st_reason": ("ステップ{chain} {pos}/{total}段目「{name}」: {what}({date})から{days}日",
                  "step chain {chain}, step {pos} of {total} '{name}': {days} days after {what} ({date})"),
    "st_closed_ordered": ("ご注文({order})があったためステップ終了({date})",
                          "chain stopped: the customer ordered ({order}) ({date})"),
    "st_closed_next": ("次の段「{name}」に進んだため終了({date})", "superseded by the next step '{name}' ({date})"),
    "st_closed_finished": ("ステップの期間が終わったため終了({date})", "chain finished ({date})"),
    "st_closed_off": ("ステップ停止のため自動終了({date})", "closed automatically: step chain switched off ({date})"),
    "st_done": ("ステップ状況を更新: {chains}チェーン・段に到達{reached}件(対応中{open}件・完了{done}件)・"
                "注文で終了{ordered}人・クーポン{issued}件中{redeemed}件利用",
                "Step progress refreshed: {chains} chain(s), {reached} rows reached ({open} open, {done} done), "
                "{ordered} stopped by an order, {redeemed} of {issued} coupons redeemed"),
    "st_fu_done": (" うちステップ該当{rows}件", " (step chains: {rows} rows due)"),
    "st_rule_name": ("ステップ{chain}", "step chain {chain}"),
    "st_title": ("ステップ状況", "Step chains"),
    "st_as_of": ("基準日", "As of"),
    "st_note": ("現在=いまその段にいる人(連絡先がなくリストに載らない人も含む)。到達=フォローリストに載った行。|"
                "注文で終了=その段の期間中に注文してチェーンが止まった人(リストに載らない人も含む。段の合計がチェーンの「注文で終了」)。"
                "注文率=その段の日を迎えた人のうち、その段の期間中に注文した人の割合。|"
                "クーポンの利用=クーポン付きの行のうち、段の日から{days}日以内に同じコードで注文した人。",
                "Now = customers at the step today (also those the list cannot reach). Listed = rows on the list.|"
                "Ordered = customers who ordered while the step was current, which stopped the chain (also those the "
                "list cannot reach; the steps add up to the chain's). Rate = of those whose step day came, who ordered.|"
                "Used = coupon rows whose customer ordered with that code within {days} days of the step's day."),
    "st_chains": ("チェーン", "Chains"),
    "st_chain_cols": ("チェーン|起点|段数|期間(日)|開始待ち|進行中|注文で終了",
                      "Chain|Trigger|Steps|Span|Waiting|Active|Ordered"),
    "st_steps": ("段ごとの状況: {chain}", "Steps of {chain}"),
    "st_step_cols": ("段目|名称|日数|現在|到達|未完了|完了|注文で終了|注文率",
                     "Step|Name|Day|Now|Listed|Open|Done|Ordered|Rate"),
    "st_before_first": ("1段目の前", "Before step 1"),
    "st_coupons": ("クーポン", "Coupons"),
    "st_coupon_cols": ("チェーン|名称|段目|発行|利用|利用率|クーポン",
                       "Chain|Name|Step|Issued|Used|Rate|Coupon"),
    "st_no_coupons": ("クーポン付きの段はありません", "No step carries a coupon"),
    "st_off": ("(停止中)", "(off)"),
    "st_none": ("ステップがありません", "No steps"),
    "st_bad_control_pct": ("0から50までの数で入力してください(%)", "must be a number from 0 to 50 (%)"),
    "st_fu_held_out": ("(ステップの対照群{n}人には送りません)", " ({n} customers held out of the step chains)"),
    "st_ctl_done": ("。対照群との比較: {verdicts}", "; control group: {verdicts}"),
    "st_ctl_off_title": ("対照群との比較", "Control group"),
    "st_ctl_off": ("設定「ステップ対照群の割合(%)」が0のため、ステップで注文が増えたかは測れません。|"
                   "10 などにすると、チェーンに入る人のうちその割合にはステップもクーポンも送らず、|"
                   "その人たちと送った人とで2回目の購入の率を比べます(誰を外すかは顧客と起点日で決まり、"
                   "入れ替わりません)。",
                   "The setting ステップ対照群の割合(%) is 0, so whether the steps bring orders cannot be measured.|"
                   "Set it to e.g. 10: that share of customers entering a chain get no steps and no coupon,|"
                   "and their second-order rate is compared with the others' (fixed by customer and trigger day)."),
    "st_ctl_title": ("対照群との比較: {chain}(対照群 {pct:g}%)", "Control group: {chain} ({pct:g}% held out)"),
    "st_ctl_note": ("人数=起点が{since}以降でチェーンに入った人。判定可=そのうち起点から{window}日({last}段目の{days}日 + "
                    "{judge}日)たった人。|注文=判定可のうち、起点から{window}日以内に{what}があった人。",
                    "Entered = customers whose trigger is {since} or later. Judged = those whose trigger is {window} "
                    "days old (last step's day {days} + {judge}).|Ordered = judged customers who {what} within "
                    "{window} days of the trigger."),
    "st_ctl_note_none": ("まだ対照群の人がいません(対照群の最初の人の起点日から数えます)。",
                         "No customer held out yet (counting starts at the first held-out customer's trigger)."),
    "st_ctl_what_first": ("2回目の購入", "ordered a second time"),
    "st_ctl_what_registered": ("初めての購入", "placed a first order"),
    "st_ctl_cols": ("群|人数|判定可|注文|注文率|95%区間", "Group|Entered|Judged|Ordered|Rate|95% interval"),
    "st_ctl_treated": ("送った群", "Contacted"),
    "st_ctl_control": ("対照群", "Held out"),
    "st_ctl_diff": ("差", "Difference"),
    "st_ctl_verdict": ("判定", "Verdict"),
    "st_ctl_few": ("件数不足: 判定できる人が各群{min}人以上になるまで待ってください",
                   "Too few: wait until each group has {min} customers to judge"),
    "st_ctl_yes": ("効果あり: 送った群の方が注文率が高い(区間が0より上)",
                   "Effective: the contacted group orders more (interval above 0)"),
    "st_ctl_unclear": ("はっきりしない: 差が0の場合もありえる(区間が0をまたぐ)",
                       "Unclear: the difference may be 0 (interval spans 0)"),
    "st_ctl_worse": ("逆効果の疑い: 送った群の方が注文率が低い(区間が0より下)",
                     "Worse: the contacted group orders less (interval below 0)"),
}

# --- sales pipeline (商談段階 / SFA) -------------------------------------------------------------------------------
_PIPELINE = {
    "pl_done": ("商談を更新: 進行中{open}件(停滞{stalled}件)・直近{period}日の成約{won}件・失注{lost}件・成約率{rate}",
                "Pipeline refreshed: {open} open deals ({stalled} stalled); last {period} days: {won} won, {lost} lost, "
                "win rate {rate}"),
    "pl_title": ("商談パイプライン", "Sales pipeline"),
    "pl_note": ("対応履歴の「商談段階」から作ります。最新の日付の段階が現在の段階です(戻ることもあります)。"
                "購入した顧客は初回注文日に成約とみなします。|成約と失注で商談は終わり、その後の問い合わせ・提案・見積は新しい商談です。"
                "担当者=最後に記録した担当者(なければ顧客の担当者)。",
                "Built from the 商談段階 column of 対応履歴. The stage with the latest date is the current one (a stage "
                "may go back). A customer who orders counts as won on the first order's day.|成約 (won) and 失注 (lost) "
                "close a deal; a later inquiry, proposal or quote starts a new one. Owner = the latest 担当者 recorded "
                "(else the customer's)."),
    "pl_by_staff": ("担当者別パイプライン(成約・失注・成約率は直近{days}日)",
                    "Pipeline by owner (won, lost and win rate: last {days} days)"),
    "pl_staff_cols": ("担当者|問い合わせ|提案|見積|進行中 計|成約|失注|成約率|成約までの平均日数|停滞",
                      "Owner|Inquiry|Proposal|Quote|Open total|Won|Lost|Win rate|Avg days to win|Stalled"),
    "pl_total": ("合計", "Total"),
    "pl_nobody": ("(担当者なし)", "(unassigned)"),
    "pl_funnel": ("段階別の転換(進行中と直近{days}日に決着した商談)",
                  "Stage conversion (deals open now or closed in the last {days} days)"),
    "pl_funnel_cols": ("段階|到達した商談|次へ進んだ|転換率|この段階で失注|現在この段階",
                       "Stage|Reached|Moved on|Conversion|Lost here|Open here now"),
    "pl_chart": ("段階別の到達数", "Deals reaching each stage"),
    "pl_stalled": ("停滞している商談({days}日以上段階が変わらない)", "Stalled deals (same stage for {days}+ days)"),
    "pl_stalled_cols": ("顧客ID|氏名|商談段階|段階日|経過日数|担当者",
                        "Customer ID|Name|Stage|Since|Days|Owner"),
    "pl_none_deals": ("商談の記録がありません(対応履歴の「商談段階」に入力すると表示されます)",
                      "No deals yet (fill in 商談段階 on 対応履歴)"),
    "pl_none_stalled": ("停滞している商談はありません", "No stalled deals"),
    "pl_stage_問い合わせ": ("問い合わせ", "Inquiry"),
    "pl_stage_提案": ("提案", "Proposal"),
    "pl_stage_見積": ("見積", "Quote"),
    "pl_stage_成約": ("成約", "Won"),
    "pl_stage_失注": ("失注", "Lost"),
    "pl_col_stage": ("商談段階", "Sales stage"),
    "pl_col_since": ("段階日", "Stage since"),
    "pl_unknown_staff": ("担当者「{staff}」の商談はありません(商談のある担当者: {known})",
                         "no deals owned by '{staff}' (owners with deals: {known})"),
    "pl_reason_stalled": ("商談が「{stage}」のまま{days}日({date}から)", "deal at '{stage}' for {days} days (since {date})"),
}

# --- surveys / satisfaction ------------------------------------------------------------------------------------
_SURVEYS = {
    "sv_bad_scale": ("満足度の尺度は 1-5 か 0-10 で入力してください", "the satisfaction scale must be 1-5 or 0-10"),
    "sv_bad_threshold": ("「{item}」が尺度の範囲外です({lo}〜{hi})", "'{item}' is outside the scale ({lo} to {hi})"),
    "sv_low_not_below_high": ("低評価の基準({low})は高評価の基準({high})より小さくしてください",
                              "the low-score threshold ({low}) must be below the high-score threshold ({high})"),
    "sv_bad_score": ("評価が尺度の範囲外です({lo}〜{hi}。設定「満足度の尺度」)",
                     "score outside the scale ({lo} to {hi}; setting 満足度の尺度)"),
    "sv_done": ("満足度を更新: 回答{answers}件・回答者{respondents}人・平均{average}・最新の回答が低評価{low}人"
                "(低評価の後の離脱・休眠率 {low_rate} / 高評価の後 {high_rate}){extra}",
                "Satisfaction refreshed: {answers} answers from {respondents} customers, average {average}, {low} "
                "with a low latest score (lapsed after a low score: {low_rate}, after a high one: {high_rate}){extra}"),
    "sv_points": ("点", ""),
    "sv_ignored": ("・アンケート/レビュー以外の評価{n}件は集計外", "; {n} scores on other contact types not counted"),
    "sv_unscored": ("・評価なしの回答{n}件", "; {n} answers without a score"),
    "sv_reason": ("{type}で低評価({score}点, {date})", "low score ({score}) in the {type_en} of {date}"),
    # sheet labels ("|" separates the headers of one block)
    "sv_title": ("顧客満足度(アンケート・レビュー)", "Customer satisfaction (surveys and reviews)"),
    "sv_scale_label": ("尺度 {name}: 低評価 {low}点以下・高評価 {high}点以上", "Scale {name}: low ≤ {low}, high ≥ {high}"),
    "sv_note": ("全体は回答ごと、セグメント別・離脱状態別は顧客ごとに最新の回答で集計します。"
                "NPS = 推奨者(高評価)の割合 − 批判者(低評価)の割合(0-10 の尺度のとき)。",
                "Overall counts answers; by segment and by lapse status count customers by their latest answer. "
                "NPS = % promoters (high) − % detractors (low), on the 0-10 scale."),
    "sv_overall": ("全体", "Overall"),
    "sv_overall_cols": ("種別|回答数|回答者数|平均|低評価の割合|高評価の割合|NPS",
                        "Type|Answers|Customers|Average|Low share|High share|NPS"),
    "sv_all": ("すべて", "All"),
    "sv_type_アンケート": ("アンケート", "survey"),
    "sv_type_レビュー": ("レビュー", "review"),
    "sv_by_segment": ("RFMセグメント別(最新の回答)", "By RFM segment (latest answer)"),
    "sv_by_status": ("離脱状態別(最新の回答)", "By lapse status (latest answer)"),
    "sv_segment": ("セグメント", "Segment"),
    "sv_status": ("離脱状態", "Lapse status"),
    "sv_group_cols": ("|回答者数|平均|低評価の割合|高評価の割合|NPS", "|Customers|Average|Low share|High share|NPS"),
    "sv_no_orders": ("(購入なし)", "(no orders)"),
    "sv_low_lapse": ("低評価の後に離脱が多いか(回答から{days}日以上たった顧客・{cutoff}までの回答)",
                     "Do low scores come before lapse? (answers at least {days} days old, up to {cutoff})"),
    "sv_low_lapse_cols": ("最後の回答|顧客数|離脱・休眠|離脱・休眠率", "Latest answer|Customers|Lapsed/dormant|Rate"),
    "sv_band_low": ("低評価", "Low"),
    "sv_band_middle": ("中間", "Middle"),
    "sv_band_high": ("高評価", "High"),
    "sv_fisher": ("フィッシャーの正確検定(低評価 vs 高評価): p = {p}・オッズ比 {odds}",
                  "Fisher's exact test (low vs high): p = {p}, odds ratio {odds}"),
    "sv_verdict_more": ("低評価の後は、高評価の後より離脱・休眠がはっきり多い(p < 0.05)。低評価の方へのフォローが大切です。",
                        "Customers lapse clearly more after a low score than after a high one (p < 0.05): follow up "
                        "low scores."),
    "sv_verdict_less": ("低評価の後の方が離脱・休眠が少ない(p < 0.05)。評価と離脱の関係は薄いようです。",
                        "Customers lapse less after a low score (p < 0.05): scores say little about lapse here."),
    "sv_verdict_unclear": ("差ははっきりしません(p ≥ 0.05)。偶然の範囲かもしれません。",
                           "No clear difference (p ≥ 0.05): it may be chance."),
    "sv_verdict_small": ("件数が少ないため判断できません(各グループ{n}人以上が目安)。数字は参考です。",
                         "Too few customers to judge (about {n} per group needed); the figures are indicative only."),
    "sv_verdict_none": ("低評価・高評価の両方の回答がまだありません。", "No low and high answers to compare yet."),
    "sv_excluded": ("購入のない回答者{n}人は除外", "{n} respondents without orders left out"),
    "sv_monthly": ("月別の平均評価", "Average score by month"),
    "sv_monthly_cols": ("月|回答数|平均|低評価の割合|NPS", "Month|Answers|Average|Low share|NPS"),
    "sv_none": ("評価のある回答がありません", "No scored answers yet"),
    "sv_chart": ("セグメント別の平均評価", "Average score by segment"),
    "sv_latest_score": ("最新評価", "Latest score"),
    "sv_latest_at": ("評価日", "Score date"),
}

# --- referrals (紹介) ----------------------------------------------------------------------------------------------
_REFERRALS = {
    "rf_unknown": ("この紹介者IDの顧客が「顧客」にありません(紹介した人の顧客IDを入力してください)",
                   "no customer has this referrer ID (enter the referring customer's customer ID)"),
    "rf_self": ("自分自身を紹介者にしています", "the customer is entered as their own referrer"),
    "rf_cycle": ("紹介が循環しています(行 {rows}): どれかの紹介者IDが誤りです",
                 "the referrals go round in a circle (rows {rows}): one of these referrer IDs is wrong"),
    "rf_merged": ("名寄せで統合された顧客のIDです。「統合履歴」の主顧客IDに直してください",
                  "this customer was merged into another by 名寄せ: enter the master ID shown on 統合履歴"),
    "rf_reason": ("ご紹介の{name}様({id})が初回購入({date})", "referred customer {name} ({id}) first bought on {date}"),
    "rf_done": ("紹介を更新: 紹介{links}件(紹介者{referrers}人)・購入{bought}人・F2転換率 紹介{f2_ref} / 紹介以外{f2_other}",
                "Referrals refreshed: {links} referrals by {referrers} customers, {bought} bought; F2 rate referred "
                "{f2_ref} vs others {f2_other}"),
    # sheet labels ("|" separates the headers of one block)
    "rf_title": ("紹介", "Referrals"),
    "rf_note": ("紹介=顧客の「紹介者ID」に入っている顧客からの紹介。購入=金額がプラスの注文(返品・0円は除く)、売上は返品差引後。|"
                "F2=初回購入から{days}日以内に別の日の2回目購入。F2転換率は初回購入から{days}日以上たった人だけで計算。",
                "A referral = a customer whose 紹介者ID names the customer who referred them. Purchases = orders "
                "with a positive amount; revenue is net of returns.|F2 = a second purchase on another day within "
                "{days} days of the first; the F2 rate counts only customers whose first purchase is {days}+ days old."),
    "rf_compare": ("紹介客とそれ以外の比較", "Referred customers vs the rest"),
    "rf_compare_cols": ("|紹介された顧客|それ以外", "|Referred|Others"),
    "rf_k_customers": ("顧客数", "Customers"),
    "rf_k_buyers": ("購入者", "Buyers"),
    "rf_k_buy_rate": ("購入した割合", "Share who bought"),
    "rf_k_f2_rate": ("F2転換率", "F2 rate"),
    "rf_k_f2_base": ("F2判定済みの人数", "Customers past the F2 window"),
    "rf_k_repeat_rate": ("リピート率", "Repeat rate"),
    "rf_k_revenue_per_customer": ("顧客1人あたり売上", "Revenue per customer"),
    "rf_k_revenue_per_buyer": ("購入者1人あたり売上", "Revenue per buyer"),
    "rf_k_revenue": ("売上合計", "Revenue"),
    "rf_diff": ("F2転換率の差(紹介−それ以外): {diff}(95%信頼区間 {lo} 〜 {hi})",
                "F2 rate difference (referred − others): {diff} (95% interval {lo} to {hi})"),
    "rf_diff_none": ("F2転換率の差: 判定済みの人がまだいないため計算できません",
                     "F2 rate difference: nobody is past the F2 window yet"),
    "rf_referrers": ("紹介者ランキング", "Top referrers"),
    "rf_referrer_cols": ("顧客ID|氏名|紹介人数|うち購入|うちF2|紹介客の売上|本人の売上",
                         "Customer ID|Name|Referred|Bought|F2|Referred customers' revenue|Own revenue"),
    "rf_more": ("…ほか{n}人(全件は顧客の「紹介人数」列)", "... and {n} more (all in 顧客's 紹介人数 column)"),
    "rf_list": ("紹介一覧と紹介特典(特典=フォローリストの状態、完了=送付済み。行なし=フォローリスト未更新か紹介者に連絡できない)",
                "Referrals and rewards (reward = 状態 of the follow-up row, 完了 = sent; no row = follow-up list not "
                "refreshed yet, or the referrer cannot be reached)"),
    "rf_chart": ("紹介人数 上位{n}人", "Top {n} referrers"),
    "rf_list_cols": ("紹介者ID|紹介者|紹介された顧客ID|氏名|初回購入日|F2|売上|紹介特典",
                     "Referrer ID|Referrer|Referred ID|Name|First purchase|F2|Revenue|Reward"),
    "rf_no_row": ("フォロー行なし", "no follow-up row"),
    "rf_not_bought": ("未購入", "not bought yet"),
    "rf_outside": ("対象期間外", "before the reward window"),
    "rf_none": ("紹介者IDの入った顧客がいません", "No customer has a 紹介者ID yet"),
    "rf_count": ("紹介人数", "Referred"),
}

# --- orders checks: orders of unknown customers, orders dated after the as-of date, read-only snapshots ---------
_ORDERS_CHECKS = {
    "oc_unknown_customers": (
        "シート「{sheet}」の{n:,}行の顧客ID({ids:,}種類)がシート「{customers}」にありません。顧客を登録するか、"
        "顧客IDを直してください。何も書き込んでいません。",
        "{n:,} row(s) of sheet '{sheet}' name a customer ID ({ids:,} distinct) that is not on sheet '{customers}'. "
        "Add those customers or correct the IDs. Nothing was written."),
    "oc_after_as_of": ("基準日({as_of})より後の注文{n:,}件は集計に含めていません(最初: {where})。",
                       "{n:,} order(s) dated after the as-of date ({as_of}) are not counted (first: {where})."),
    "oc_future_ignored": ("今日({today})より後の日付の注文{n:,}件は集計に含めていません(最初: {where})。"
                          "入力ミス(2026年を2062年と入力するなど)ではありませんか。",
                          "{n:,} order(s) dated after today ({today}) are not counted (first: {where}). "
                          "A typo, such as 2062 for 2026?"),
    "oc_future_among": ("うち{n:,}件は今日({today})より後の日付です(最初: {where})。"
                        "入力ミス(2026年を2062年と入力するなど)ではありませんか。",
                        "{n:,} of them are dated after today ({today}) (first: {where}): a typo, such as 2062 for 2026?"),
    "oc_future_counted": ("今日({today})より後の日付の注文{n:,}件を集計に含めました(基準日 {as_of} まで)(最初: {where})。"
                          "入力ミス(2026年を2062年と入力するなど)ではありませんか。",
                          "{n:,} order(s) dated after today ({today}) are counted, as the as-of date is {as_of} "
                          "(first: {where}). A typo, such as 2062 for 2026?"),
    "oc_snapshot": ("「{name}」は他の人(またはExcel)が開いています。最後に保存された時点の内容を読み取りました"
                    "(未保存の変更は含みません)。",
                    "'{name}' is open elsewhere: read as last saved (unsaved changes in Excel are not included)."),
}

# --- workbook build / ribbon / doctor ---------------------------------------------------------------------------
_BUILD = {
    "ribbon_running": ("xlcrm: 「{label}」を実行中…", "xlcrm: running '{label}'..."),
    "step_reading": ("{sheet}を読み込んでいます…", "Reading {sheet}..."),
    "step_writing": ("{sheet}に書き込んでいます…", "Writing {sheet}..."),
    "step_saving": ("{name}を保存しています…", "Saving {name}..."),
    "ribbon_step": ("xlcrm: 「{label}」{step}", "xlcrm: '{label}' {step}"),
    "ribbon_no_job": ("「{label}」はこのバージョンのxlcrmにはまだありません。新しい配布フォルダーの setup.bat で更新してください。",
                      "'{label}' is not in this version of xlcrm. Update it with setup.bat from a newer release folder."),
    "ribbon_log": ("詳しい記録: {log}(サポートに送ってください)", "Details were logged to {log} (send it to support)."),
    "undo_nothing": ("取り消せる変更はありません。", "There is no change to undo."),
    "undo_done": ("変更 {change} を取り消しました。", "Change {change} was undone."),
    "build_done": ("ブックを作成しました: {path}", "Workbook written: {path}"),
    "build_current": ("{path} はソースから作ったものと同じです。", "{path} is what the sources build."),
    "build_stale": ("{path} はソースと違います(xlcrm build-workbook で作り直してください)。",
                    "{path} differs from what the sources build (run xlcrm build-workbook)."),
    "build_vba_syntax": ("ブックのVBAに構文エラーがあります({n}件)。ブックは作っていません。",
                         "The workbook's VBA has {n} syntax error(s); nothing was written."),
    "build_vba_unchecked": ("VBAの構文は確認していません(確認するには pip install 'xlcrm[build]')。",
                            "VBA syntax not checked (pip install 'xlcrm[build]' to check it)."),
    "conf_written": ("{path} の xlwings.conf に Interpreter_{os} = {interpreter} を書き込みました。",
                     "Wrote Interpreter_{os} = {interpreter} into the xlwings.conf sheet of {path}."),
    # doctor: each finding is one line; the *_fix lines say what to do
    "dr_ok": ("問題は見つかりませんでした。", "No problems found."),
    "dr_interpreter_ok": ("Python: {path}", "Python: {path}"),
    "dr_interpreter_missing": ("xlwings.conf の Interpreter_{os} に書かれた Python が見つかりません: {path}",
                               "The Python named in xlwings.conf Interpreter_{os} does not exist: {path}"),
    "dr_interpreter_fix": ("Pythonをインストールし、コマンドプロンプトで「xlcrm set-interpreter ブック.xlsm」を実行してください。",
                           "Install Python, then run 'xlcrm set-interpreter <book>.xlsm' in a command prompt."),
    "dr_interpreter_path": ("Interpreter_{os} が「{path}」です(PATH上の python を使います): {found}",
                            "Interpreter_{os} is '{path}' (the python on PATH is used): {found}"),
    "dr_store_python": ("Microsoft Store 版のPythonです({path})。Excelから起動できないことがあります。",
                        "This is the Microsoft Store Python ({path}); Excel often cannot start it."),
    "dr_store_python_fix": ("python.org のインストーラー版Pythonを入れ、xlcrm set-interpreter で設定し直してください。",
                            "Install Python from python.org and run xlcrm set-interpreter again."),
    "dr_store_office": ("Microsoft Store 版のOfficeです({path})。xlwingsのシート関数やCOM接続が動かないことがあります。",
                        "This is Microsoft Store Office ({path}); xlwings UDFs and COM often fail with it."),
    "dr_store_office_fix": ("Microsoft 365 のインストーラー版(クイック実行)のOfficeを使ってください。",
                            "Use the installer (Click-to-Run) version of Microsoft 365 Office."),
    "dr_xlwings_ok": ("xlwings {installed}(ブックのVBAと一致)", "xlwings {installed} (matches the workbook's VBA)"),
    "dr_xlwings_mismatch": ("インストールされている xlwings は {installed}、ブックのVBAは {expected} 用です。",
                            "xlwings {installed} is installed; the workbook's VBA expects {expected}."),
    "dr_xlwings_fix": ("pip install xlwings=={expected} を実行するか、xlcrm build-workbook でブックを作り直してください。",
                       "Run pip install xlwings=={expected}, or rebuild the workbook with xlcrm build-workbook."),
    "dr_xlwings_missing": ("Python に xlwings がインストールされていません。", "xlwings is not installed in this Python."),
    "dr_no_vba": ("ブックに xlwings のVBAが見つかりません(.xlsm ですか?)。",
                  "The workbook has no xlwings VBA (is it an .xlsm?)."),
    "dr_url": ("ブックの場所がURLです({path})。OneDrive/SharePoint上のファイルをExcelで直接開いています。",
               "The workbook's path is a URL ({path}): it is open from OneDrive/SharePoint directly."),
    "dr_url_fix": ("エクスプローラーの同期フォルダ(「常にこのデバイス上に保持する」)から開いてください。リボンは動きますが、"
                   "コマンド(xlcrm …)にはローカルのパスが必要です。",
                   "Open it from the synced folder in Explorer ('Always keep on this device'). The ribbon works, "
                   "but xlcrm commands need a local path."),
    "dr_no_conf": ("xlwings.conf シートがありません。", "There is no xlwings.conf sheet."),
    "dr_no_conf_fix": ("xlcrm build-workbook で作った CRM.xlsm の xlwings.conf シートをコピーしてください。",
                       "Copy the xlwings.conf sheet from a CRM.xlsm made by xlcrm build-workbook."),
    "dr_conf_blank": ("xlwings.conf の {row} 行目が空行です。それより下の設定({keys})は読まれません。",
                      "Row {row} of xlwings.conf is blank: the settings below it ({keys}) are ignored."),
    "dr_conf_blank_fix": ("空行を削除して、A1から詰めて書いてください。", "Delete the blank row so the settings run from A1 without gaps."),
    "dr_udf_modules": ("xlwings.conf の UDF Modules が「{value}」です(xlcrm.udfs であるべきです)。",
                       "UDF Modules in xlwings.conf is '{value}' (should be xlcrm.udfs)."),
    "dr_mac": ("macOS: リボンのボタン(RunPython)は使えますが、シート関数(RFM_SCORE など)はWindows版Excelだけです。",
               "macOS: ribbon buttons (RunPython) work; sheet functions (RFM_SCORE, ...) need Windows Excel."),
    "dr_mac_fix": ("初回だけターミナルで「xlwings runpython install」を実行してください。",
                   "Run 'xlwings runpython install' once in a terminal."),
    "dr_xlcrm_missing": ("この Python({path})に xlcrm がインストールされていません。",
                         "xlcrm is not installed in this Python ({path})."),
    "dr_xlcrm_fix": ("配布フォルダーの setup.bat を実行してください(xlcrm をその Python に入れ、ブックを設定します)。",
                     "Run setup.bat from the release folder (it installs xlcrm into its own Python and sets the workbook)."),
    # xlcrm release: the set-up folder for Windows
    "rel_done": ("配布フォルダーを作りました({seconds:.0f}秒): {path}", "Release folder written in {seconds:.0f} s: {path}"),
    "rel_deps": ("  wheels\\: 依存パッケージのWindows用wheel {n}個(Python {pythons}、{size})。オフラインで入れられます。",
                 "  wheels\\: {n} Windows wheels of the dependencies (Python {pythons}, {size}): installs offline."),
    "rel_no_deps": ("  依存パッケージはセットアップ時にPyPIから入ります(オフライン用は --with-deps)。",
                    "  Dependencies come from PyPI at set-up time (--with-deps bundles them for offline use)."),
    "rel_no_source": ("{path} は xlcrm のソース(pyproject.toml)ではありません。配布フォルダーはソースから作ります。",
                      "{path} is not an xlcrm source checkout (pyproject.toml); a release is built from sources."),
    "rel_not_empty": ("出力先 {path} が空のフォルダーではありません。新しいフォルダーを指定してください。",
                      "The output {path} is not an empty folder; name a new one."),
    "rel_bad_python": ("Python のバージョンは 3.11 以上を 3.12 のように指定してください: {version}",
                       "Give Python versions 3.11 or later like 3.12: {version}"),
    "rel_pip_failed": ("{what} が失敗しました:\n{detail}", "{what} failed:\n{detail}"),
    "rel_wheel_incomplete": ("wheel にパッケージのファイルが{n}個入っていません(pyproject.toml の package-data を確認): {files}",
                             "The wheel lacks {n} file(s) of the package (check package-data in pyproject.toml): {files}"),
}

# --- the ribbon's VBA guard (XlcrmRibbon.bas): shown by VBA before Python runs ---------------------------------
# The build writes these into the VBA module (UTF-16 as hex: VBA source is code page 1252); VBA fills in
# {python}, {version} (the workbook's xlwings), {log} and {book} itself. Keys start with vba_.
_VBA = {
    "vba_no_python": ("Python が見つかりません(xlwings.conf シートの Interpreter_Win: {python})。\n"
                      "python.org の Python 3.11 以上を入れ、コマンドプロンプトで「py -m pip install xlcrm」、"
                      "ブックを閉じてから「xlcrm set-interpreter \"{book}\"」を実行してください。",
                      "Python was not found (Interpreter_Win on the xlwings.conf sheet: {python}).\n"
                      "Install Python 3.11+ from python.org, run 'py -m pip install xlcrm' in a command prompt, close "
                      "the workbook and run 'xlcrm set-interpreter \"{book}\"'."),
    "vba_store_python": ("Python の場所が Microsoft Store 版の入り口です({python})。Excel からは使えません。\n"
                         "python.org の Python 3.11 以上を入れ、ブックを閉じてから"
                         "「xlcrm set-interpreter \"{book}\"」を実行してください。",
                         "The Python set is the Microsoft Store stub ({python}), which Excel cannot use.\n"
                         "Install Python 3.11+ from python.org, close the workbook and run "
                         "'xlcrm set-interpreter \"{book}\"'."),
    "vba_no_xlwings": ("この Python に xlwings が入っていません: {python}\n"
                       "コマンドプロンプトで「\"{python}\" -m pip install xlcrm」を実行してください。",
                       "xlwings is not installed in this Python: {python}\n"
                       "Run '\"{python}\" -m pip install xlcrm' in a command prompt."),
    "vba_xlwings_version": ("この Python の xlwings の版がブック(xlwings {version})と違います: {python}\n"
                            "「\"{python}\" -m pip install xlwings=={version}」を実行してください。",
                            "This Python's xlwings is not the workbook's version ({version}): {python}\n"
                            "Run '\"{python}\" -m pip install xlwings=={version}'."),
    "vba_no_xlcrm": ("この Python に xlcrm が入っていません: {python}\n"
                     "コマンドプロンプトで「\"{python}\" -m pip install xlcrm」を実行してください。",
                     "xlcrm is not installed in this Python: {python}\n"
                     "Run '\"{python}\" -m pip install xlcrm' in a command prompt."),
    "vba_xlcrm_broken": ("xlcrm を読み込めませんでした(必要なパッケージが足りない可能性があります): {python}\n"
                         "「\"{python}\" -m pip install --force-reinstall xlcrm」を実行してください。"
                         "詳しい記録: {log}(サポートに送ってください)",
                         "xlcrm could not be loaded (a package it needs may be missing): {python}\n"
                         "Run '\"{python}\" -m pip install --force-reinstall xlcrm'. "
                         "Details: {log} (send it to support)."),
    "vba_see_doctor": ("CRMタブの「環境チェック」と docs/excel.md(トラブルシューティング)も参照してください。",
                       "See also the CRM tab's 環境チェック button and docs/excel.md (troubleshooting)."),
    "vba_see_docs": ("手順は docs/excel.md の「Windows のセットアップ」にあります。",
                     "The steps are in docs/excel.md, 'Windows set-up'."),
    "vba_doctor_python": ("Python: {python}", "Python: {python}"),
    "vba_doctor_python_missing": ("Python: 見つかりません(Interpreter_Win: {python})",
                                  "Python: not found (Interpreter_Win: {python})"),
    "vba_doctor_dll": ("xlwings の DLL(シート関数用): {python} にあります", "xlwings DLL (for sheet functions): in {python}"),
    "vba_doctor_no_dll": ("xlwings の DLL(シート関数用)が見つかりません。シート関数を使うには"
                          "「\"{python}\" -m pip install --force-reinstall xlwings=={version}」を実行してください。",
                          "The xlwings DLL (for sheet functions) was not found. For sheet functions run "
                          "'\"{python}\" -m pip install --force-reinstall xlwings=={version}'."),
}

# --- 変更履歴: what each job is called in the 処理 column ------------------------------------------------------
_JOB_LABELS = {
    "job_demo": ("デモデータ作成", "Demo data"),
    "job_import": ("CSV取り込み", "CSV import"),
    "job_search": ("検索", "Search"),
    "job_tidy": ("データ整形", "Tidy data"),
    "job_print_list": ("印刷用一覧", "Print list"),
    "job_migrate": ("移行", "Migrate"),
    "job_view": ("表示を更新", "Refresh view"),
    "job_conflict": ("競合(保存されなかった変更)", "Conflict (change not saved)"),
    "job_dedupe": ("重複チェック", "Duplicate check"),
    "job_merge": ("統合", "Merge"),
    "job_undo_merge": ("統合の取り消し", "Merge undone"),
    "job_rfm": ("RFM分析", "RFM analysis"),
    "job_lapse": ("離脱判定", "Lapse check"),
    "job_followup": ("フォローリスト更新", "Follow-up list"),
    "job_record_contact": ("対応の記録", "Contact recorded"),
    "job_campaign_report": ("キャンペーン結果", "Campaign report"),
    "job_dashboard": ("ダッシュボード更新", "Dashboard"),
    "job_journey": ("顧客ジャーニー", "Customer journey"),
    "job_pipeline": ("商談", "Pipeline"),
    "job_survey": ("満足度", "Satisfaction"),
    "job_referrals": ("紹介", "Referrals"),
    "job_steps": ("ステップ状況", "Step chains"),
    "job_undo": ("取り消し", "Undo"),
    "job_write": ("書き込み", "Write"),
    "job_set-interpreter": ("Pythonの設定", "Python set-up"),
}

# --- 顧客一覧(印刷用) (print_list) ----------------------------------------------------------------------------------
_PRINT = {
    "print_title": ("顧客一覧(印刷用)", "Customer list (for printing)"),
    "print_note": ("顧客シートから作った印刷用の一覧です。変更は顧客シートで行い、「印刷用一覧」ボタンで作り直してください。"
                   "載せる列は設定の「印刷する列(顧客)」で選べます。",
                   "A copy of 顧客 for printing: edit 顧客, then press the print-list button again. The columns are "
                   "chosen on 設定 (印刷する列(顧客))."),
    "print_done": ("印刷用一覧を更新: 顧客{rows}件・{cols}列を「{sheet}」に(A4横・1ページ幅・見出しを各ページに)",
                   "Print list refreshed: {rows} customers, {cols} columns on '{sheet}' (A4 landscape, one page wide, "
                   "header on every page)"),
    "print_missing": ("。顧客シートにない列: {names}", ". Columns 顧客 lacks: {names}"),
}

# --- データ整形 (tidy): text dates and amounts into real dates and numbers --------------------------------------
_TIDY = {
    "tidy_done": ("データ整形: {changed}セルを日付・数値に直しました({detail})。",
                  "Tidy: {changed} cell(s) turned into real dates and numbers ({detail})."),
    "tidy_nothing": ("データ整形: 直すセルはありませんでした(日付・金額はすべて日付・数値です)。",
                     "Tidy: nothing to change (every date and amount is already a date or a number)."),
    "tidy_sheet": ("{sheet} {n}セル", "{sheet} {n}"),
    "tidy_unreadable": ("読めなかったセル {n}件(そのままにしています。正しい値を入力してください):",
                        "{n} cell(s) could not be read (left as they are; please type the right value):"),
    "tidy_cell": ("  {sheet}!{cell}({row}行目 列「{column}」)", "  {sheet}!{cell} (row {row}, column '{column}')"),
    "tidy_undo": ("元に戻すときは「取り消し」を押してください(xlcrm undo)。",
                  "To put them back, press 取り消し (xlcrm undo)."),
}

# --- store: DuckDB / PostgreSQL (xlcrm/store) ---------------------------------------------------------------------
_STORE = {
    "store_bad_url": ("保存先「{url}」が読めません。workbook(ブック)、duckdb:ファイル名、postgresql://ユーザー@サーバー/データベース "
                      "のいずれかで指定してください。",
                      "Cannot read the store '{url}': use workbook, duckdb:FILE or postgresql://USER@HOST/DATABASE."),
    "store_bad_login": ("保存先「{url}」にログインできません(ユーザー名かパスワードが違います)。パスワードはブックに書かず、"
                        "~/.pgpass(接続ファイル)かOSの資格情報(keyring)に入れてください。詳細: {why}",
                        "Cannot log in to the store '{url}' (wrong user or password). Keep the password out of the "
                        "workbook: in ~/.pgpass (the connection file) or the OS keyring. Details: {why}"),
    "store_no_database": ("保存先「{url}」のデータベースがありません。名前を確かめるか、管理者に作成を依頼してください。詳細: {why}",
                          "The database of the store '{url}' does not exist: check its name or ask the administrator "
                          "to create it. Details: {why}"),
    "store_unreachable": ("保存先「{url}」に接続できません。サーバー名・ポート・ネットワーク(またはファイル)を確かめてください。"
                          "詳細: {why}",
                          "Cannot reach the store '{url}': check the server, port and network (or the file). "
                          "Details: {why}"),
    "store_lost": ("保存先「{url}」との接続が処理の途中で切れました。何も保存していません(ブックも保存先も元のままです)。"
                   "接続を確かめてもう一度実行してください。詳細: {why}",
                   "The connection to the store '{url}' was lost during the job. Nothing was saved (the workbook and "
                   "the store are as they were): check the connection and run it again. Details: {why}"),
    "store_denied": ("保存先「{url}」で、この操作の権限がありません。何も保存していません。管理者にロールの権限を確かめてもらって"
                     "ください。詳細: {why}",
                     "The store '{url}' does not allow this for your role. Nothing was saved: ask the administrator "
                     "to check your role. Details: {why}"),
    "store_same_id": ("同じIDの行が保存先にすでにあります(ほかの人が同時に記録した可能性があります)。何も保存していません。"
                      "もう一度実行してください。",
                      "A row with the same ID is already in the store (someone may have recorded one at the same "
                      "moment). Nothing was saved: run it again."),
    "store_bad_rule": ("「見出し=値」を読点で区切って入力してください(例: 担当者=佐藤、最終注文日>=2025/01/01)。使える記号: = <> >= <= > <",
                       "type conditions as HEADER=VALUE separated by commas (e.g. 担当者=佐藤、最終注文日>=2025/01/01); "
                       "operators: = <> >= <= > <"),
    "store_rule_column": ("「表示する顧客」の「{name}」は保存先の顧客にない列です", "「表示する顧客」: the store's customers have no "
                          "column '{name}'"),
    "store_rule_value": ("「表示する顧客」の「{name}」の値が、その列の値として読めません(日付・数値・可/不可)",
                         "「表示する顧客」: the value for '{name}' cannot be read as that column's (a date, a number, "
                         "可/不可)"),
    "view_done": ("表示を更新しました: 顧客 {customers:,}件(保存先 {customers_all:,}件中)・注文 {orders:,}件・対応履歴 {contacts:,}件"
                  "(保存先: {url})。", "View refreshed: {customers:,} customers (of {customers_all:,} in the store), "
                  "{orders:,} orders, {contacts:,} contacts (store: {url})."),
    "view_many": ("顧客を{n:,}件表示しています。ボタンを押すたびにブックの読み書きが重くなります。設定「表示する顧客」で"
                  "担当の顧客などに絞り込むと速くなります。",
                  "{n:,} customers are shown: every button reads and writes them in the workbook. Narrow the view "
                  "with 設定 表示する顧客 (e.g. your own customers) to keep it quick."),
    "view_rule": ("条件: {rule}", "Condition: {rule}"),
    "view_not_needed": ("保存先はこのブックです(設定「保存先」が空欄)。表示を更新する必要はありません。何も変更していません。",
                        "The store is this workbook (設定 保存先 is blank): there is no view to refresh. Nothing was "
                        "changed."),
    "store_in_use": ("保存先「{url}」のファイルは、ほかのプログラム(ほかの人の xlcrm など)が使用中です。何も書き込んでいません。"
                     "終わるのを待ってからもう一度実行してください。DuckDB のファイルは同時に1か所からしか使えません。何人かで同時に使うなら "
                     "PostgreSQL を保存先にしてください。",
                     "The file of the store '{url}' is in use by another program (someone else's xlcrm, say). Nothing "
                     "was written: run it again when that one is done. A DuckDB file serves one program at a time; "
                     "for a team working at once, use PostgreSQL."),
    "store_empty": ("保存先「{url}」に顧客の表がありません。先に xlcrm migrate ブック --to {url} で移してください。",
                    "The store '{url}' holds no customers yet: move them first with xlcrm migrate BOOK --to {url}."),
    "migrate_bad_pair": ("「{source}」から「{dest}」へは移せません。ブック→保存先、保存先→ブック、CSV/Parquet(注文)→保存先 "
                         "のいずれかです。",
                         "Cannot move '{source}' to '{dest}': book → store, store → book or CSV/Parquet orders → "
                         "store."),
    "migrate_not_empty": ("保存先「{url}」にはすでに{table}が{n:,}件あります。何も書き込んでいません。置き換えるときは "
                          "--replace を付けてください。",
                          "The store '{url}' already holds {n:,} rows of {table}. Nothing was written; add "
                          "--replace to replace them."),
    "migrate_check_failed": ("移行の検査が合いません: {table} の列「{columns}」。何も保存していません(元に戻しました)。",
                             "The migration check failed: {table}, column(s) {columns}. Nothing was saved (rolled "
                             "back)."),
    "migrate_too_many_rows": ("{table}が{n:,}行あり、シートの上限({limit:,}行)を超えます。何も書き込んでいません。"
                              "この表は保存先に置いたまま使ってください(設定「保存先」)。",
                              "{table} has {n:,} rows, more than a sheet holds ({limit:,}). Nothing was written: "
                              "keep this table in the store (設定 保存先)."),
    "migrate_in_done": ("「{src}」を保存先「{dest}」に移しました(1つのトランザクション、行数と列ごとの検査値が一致)。"
                        "変更履歴 {journal}件も移しました。",
                        "Moved '{src}' into the store '{dest}' in one transaction; row counts and per-column "
                        "checksums agree. {journal} journal row(s) moved too."),
    "migrate_out_done": ("保存先「{src}」をブック「{dest}」に書き出しました(行数と列ごとの検査値が一致)。",
                         "Wrote the store '{src}' into the workbook '{dest}'; row counts and per-column checksums "
                         "agree."),
    "migrate_table": ("  {table}: {n:,}行・{cols}列 一致", "  {table}: {n:,} rows, {cols} columns agree"),
    "migrate_orders_done": ("「{name}」の注文 {n:,}件を保存先「{dest}」に取り込みました(検査値が一致)。注文は全部で {total:,}件です。",
                            "Imported {n:,} orders from '{name}' into the store '{dest}' (checksums agree); "
                            "{total:,} orders in all."),
    "store_bad_setting": ("workbook(空欄)、duckdb:ファイル名、postgresql://ユーザー@サーバー/データベース のいずれかで入力してください",
                          "enter workbook (or leave blank), duckdb:FILE or postgresql://USER@HOST/DATABASE"),
    "store_password_in_book": ("パスワードはブックに書かないでください(~/.pgpass か資格情報に入れます)",
                               "no password in the workbook: keep it in ~/.pgpass or the OS keyring"),
    "store_id_exists": ("この注文IDは保存先にすでにあります", "this order ID is already in the store"),
    "store_conflict": ("{table} の {column}「{id}」は {who} さんが {at} に先に変更しました(版 {version})。あなたの変更"
                       "({columns})は保存していません。変更履歴に残しました。シートを更新してから、必要ならもう一度入力してください。",
                       "{table} {column} '{id}' was changed first by {who} at {at} (version {version}). Your change "
                       "({columns}) was not saved; it is kept in the journal. Refresh the sheet and enter it again "
                       "if still needed."),
    "store_view_note": ("保存先: {url}(ブックの{table}には {shown:,}/{n:,}件を表示)",
                        "Store: {url} (the workbook's {table} shows {shown:,} of {n:,})"),
}

CATALOGUE: dict[str, tuple[str, str]] = {
    **_COMMON, **_SCHEMA, **_BOOK, **_CSV, **_SEARCH, **_DEDUPE, **_RFM, **_LAPSE, **_FOLLOWUP, **_DASHBOARD,
    **_BUILD, **_JOURNEY, **_PIPELINE, **_SURVEYS, **_REFERRALS, **_STEPS, **_ORDERS_CHECKS, **_VBA,
    **_JOB_LABELS, **_TIDY, **_PRINT, **_STORE,
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


class BadFile(XlcrmError):
    """A file that is not what the command needs (missing, empty, not a workbook, protected): the user picks
    another file or saves it again, so it is bad input (exit 2). The message names the file and what to do."""

    exit_code = 2


class BadInput(XlcrmError):
    """Input that cannot be used: one or more problems, each naming sheet, row and column."""

    exit_code = 2

    def __init__(self, problems: list["Problem"] | None = None, key: str | None = None, *, omitted: int = 0,
                 **kw):
        self.problems = list(problems or [])
        self.omitted = omitted  # problems found but not listed (a million bad rows are counted, a few are named)
        if key is None:
            key, kw = "bad_input_header", {"n": len(self.problems)}
        XlcrmError.__init__(self, key, **kw)
        self.args = (self.message("ja") + "\n" + self.message("en"),)

    def message(self, lang: str | None = None, limit: int = 20) -> str:
        lines = [text(self.key, lang, **self.kw)]
        lines += [p.message(lang) for p in self.problems[:limit]]
        more = max(len(self.problems) - limit, 0) + self.omitted
        if more:
            lines.append(text("more_problems", lang, n=more))
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
