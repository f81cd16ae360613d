"""Settings that office staff edit on the 設定 sheet (項目 / 値 / 説明), as one typed object.

Each domain declares its settings in its own section below. A job gets `Settings` once, validated, and passes
down what a core function needs; nothing reads settings from global state.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from . import lapse as _lapse
from . import schema
from .messages import BadInput, Problem

__all__ = ["Spec", "GENERAL", "SEARCH", "DEDUPE", "RFM", "LAPSE", "FOLLOWUP", "DASHBOARD", "PIPELINE", "SURVEYS", "STEPS",
           "JOURNEY", "SPECS", "Settings", "defaults", "load", "sheet_rows"]


@dataclass(frozen=True)
class Spec:
    key: str                 # English key (accepted in the 項目 column)
    ja: str                  # Japanese 項目 as written on the sheet
    default: Any
    parse: Callable[[Any], Any]
    help_ja: str
    help_en: str
    # a setting with a few values: (value, Japanese label, English label) each. The sheet shows the label of its
    # language with a drop-down of them; `parse` accepts the labels and the values (English keys typed earlier).
    choices: tuple[tuple[str, str, str], ...] = ()

    def label(self, value, lang: str = "ja") -> Any:
        """What the 値 cell shows for `value`: its label in `lang` (the value itself if it has none)."""
        for v, ja, en in self.choices:
            if v == value:
                return ja if lang == "ja" else en
        return value

    def labels(self, lang: str = "ja") -> list[str]:
        """The drop-down of this setting's 値 cell (empty if it takes any value)."""
        return [ja if lang == "ja" else en for _, ja, en in self.choices]


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


def _store(v):
    """保存先: blank or workbook (the book itself), duckdb:FILE, postgresql://USER@HOST/DB — never with a password."""
    from .store.url import StoreError, parse, redact
    s = schema.parse_text(v).strip()
    try:
        u = parse(s)
    except StoreError:
        raise ValueError("store_bad_setting") from None
    if redact(s) != s:
        raise ValueError("store_password_in_book")
    return "" if u.kind == "workbook" else s


def _view_rule(v):
    """表示する顧客: conditions such as 担当者=佐藤、都道府県=東京都、最終注文日>=2025/01/01 (all must hold)."""
    from .store.rule import parse_rule
    return parse_rule(schema.parse_text(v))


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
_LANGS = (("ja", "日本語", "Japanese"), ("en", "英語", "English"))

GENERAL = [
    Spec("as_of", "基準日", None, _date_or_none, "分析の基準日。空欄なら今日。", "As-of date for analyses; blank means today."),
    Spec("lang", "言語", "ja", _lang, "メッセージとシートに書く言葉の言語(日本語 / 英語)。",
         "Language of messages and of the words xlcrm writes on sheets (Japanese / English).", _LANGS),
    Spec("header_lang", "見出しの言語", "ja", _lang, "新しく作る表の見出しの言語(日本語 / 英語)。",
         "Headers of tables xlcrm creates (Japanese / English).", _LANGS),
    Spec("staff", "担当者一覧", [], _names, "フォローを割り振る担当者(読点区切り)。フォローリストの担当者の選択肢にもなります。",
         "Staff to assign follow-ups to (comma-separated); also the choices of 担当者 on the follow-up list."),
    Spec("operator", "実行者名", "", _text,
         "変更履歴の「実行者」に記録する名前。空欄なら、担当者一覧が1人のときはその人、ほかはパソコンのユーザー名。",
         "The name 変更履歴 records as who ran a job; blank = the one name of 担当者一覧, else the Windows user."),
    Spec("backups", "バックアップ保存数", 10, _int, "保存前に残すバックアップの数。", "How many backups to keep before each save."),
    Spec("store", "保存先", "", _store,
         "顧客・注文・対応履歴を置く場所。空欄ならこのブック。データベースの場所(書き方は説明書「保存先」)を入れると、"
         "ブックはその内容を表示する画面になります。パスワードは書かないでください(接続ファイルか資格情報に)。",
         "Where customers, orders and contacts are kept: blank = this workbook; duckdb:FILE or "
         "postgresql://USER@HOST/DB makes the workbook a view of that store. No password here: use ~/.pgpass or "
         "the OS keyring."),
    Spec("store_view", "表示する顧客", [], _view_rule,
         "保存先がデータベースのとき、ブックの顧客シートに表示する顧客の条件。例: 担当者=佐藤、最終注文日>=2025/01/01 "
         "(すべて満たす顧客)。空欄なら全員(シートに入る件数まで)。「表示を更新」で反映します。",
         "With a database store, which customers the workbook's 顧客 sheet shows, e.g. 担当者=佐藤、最終注文日>="
         "2025/01/01 (all must hold). Blank: everyone, up to a sheet's rows. Applied by 表示を更新 (refresh view)."),
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
         "Which record a merge keeps: most_orders / oldest / newest (registration date).",
         (("most_orders", "注文数が多い", "most_orders"), ("oldest", "登録日が古い", "oldest"),
          ("newest", "登録日が新しい", "newest"))),
]

# --- rfm / lapse -------------------------------------------------------------------------------------------------
def _choice(options: dict, key: str):
    """A parser accepting any spelling in `options` (folded), returning its canonical value; else ValueError(key)."""
    import unicodedata

    def parse(v):
        k = unicodedata.normalize("NFKC", schema.parse_text(v)).strip().lower()
        if k in options:
            return options[k]
        raise ValueError(key)
    return parse


def _cut_points(v):
    """Four increasing numbers in one cell: "30, 90, 180, 365" or with thousands commas "5,000、10,000、…"."""
    import re
    text = schema.parse_text(v)
    for pattern in (r"[,、，;；/／\s]+", r"[、，;；/／\s]+|,(?!\d{3}(?:\D|$))"):
        try:
            nums = tuple(schema.parse_number(x) for x in re.split(pattern, text) if x)
        except ValueError:
            continue
        if len(nums) == 4 and all(nums[i] < nums[i + 1] for i in range(3)):
            return tuple(int(n) if float(n).is_integer() else n for n in nums)
    raise ValueError("rfm_bad_thresholds")


def _segment_row(v):
    names = _names(v)
    if len(names) != 5:
        raise ValueError("rfm_bad_segment_row")
    return tuple(names)


def _fraction(v):
    f = _float(v)
    if f > 1:      # 80 typed for 80 %
        f /= 100
    if not 0 < f < 1:
        raise ValueError("bad_number")
    return f


_RFM_SEGMENT_DEFAULTS = {  # F1..F5 for each R (the 5×5 R×F map of xlcrm.rfm, in Japanese)
    5: "新規、ロイヤル予備軍、ロイヤル予備軍、優良、優良",
    4: "有望、ロイヤル予備軍、ロイヤル予備軍、ロイヤル、ロイヤル",
    3: "休眠予備軍、休眠予備軍、要注意、ロイヤル、ロイヤル",
    2: "休眠、休眠、離脱危険、離脱危険、失いたくない",
    1: "休眠、休眠、離脱危険、離脱危険、失いたくない",
}

RFM: list[Spec] = [
    Spec("rfm_method", "RFM方式", "quintile",
         _choice({"quintile": "quintile", "五分位": "quintile", "5分位": "quintile", "相対": "quintile",
                  "fixed": "fixed", "固定": "fixed", "区切り": "fixed", "絶対": "fixed"}, "rfm_bad_method"),
         "五分位(顧客を5等分。同じ値は同じ点)か 固定(下の区切りで採点)。",
         "quintile (customers split in fifths; equal values share a score) or fixed (the cut points below).",
         (("quintile", "五分位", "quintile"), ("fixed", "固定", "fixed"))),
    Spec("rfm_frequency", "RFM頻度の数え方", "orders",
         _choice({"orders": "orders", "注文回数": "orders", "回数": "orders", "days": "days", "購入日数": "days",
                  "日数": "days"}, "rfm_bad_method"),
         "注文回数か 購入日数(購入した日の数。同じ日の注文は1回)。",
         "orders (number of orders) or days (distinct order days).",
         (("orders", "注文回数", "orders"), ("days", "購入日数", "days"))),
    Spec("rfm_monetary", "RFM金額の集計", "total",
         _choice({"total": "total", "累計": "total", "合計": "total", "mean": "mean", "平均": "mean"}, "rfm_bad_method"),
         "累計(累計金額)か 平均(1回あたり平均)。", "total (sum of amounts) or mean (per order).",
         (("total", "累計", "total"), ("mean", "平均", "mean"))),
    Spec("rfm_r_days", "RFM R区切り(日)", (30, 90, 180, 365), _cut_points,
         "最終注文からの日数。この日数以内ならR5、R4、R3、R2。超えるとR1。",
         "Days since the last order: at most these for R5, R4, R3, R2; more is R1."),
    Spec("rfm_f_orders", "RFM F区切り(回)", (2, 3, 6, 12), _cut_points,
         "注文回数。この回数以上ならF2、F3、F4、F5。1回はF1。",
         "Orders: at least these for F2, F3, F4, F5; fewer is F1."),
    Spec("rfm_m_yen", "RFM M区切り(円)", (5000, 10000, 15000, 20000), _cut_points,
         "金額。この額以下ならM1、M2、M3、M4。超えるとM5。",
         "Yen: at most these for M1, M2, M3, M4; more is M5."),
    *[Spec(f"rfm_segments_r{r}", f"RFMセグメント R{r}", tuple(_RFM_SEGMENT_DEFAULTS[r].split("、")), _segment_row,
           f"R{r}の顧客のセグメント名(F1〜F5の順に5つ、読点区切り)。",
           f"Segment names for R{r} customers (five, for F1 to F5, comma-separated).") for r in (5, 4, 3, 2, 1)],
]
def _lapse_method(v):
    return _lapse.method_name(schema.parse_text(v))


LAPSE: list[Spec] = [
    Spec("lapse_method", "離脱判定の方式", "rhythm", _lapse_method,
         "、".join(f"{m.setting_ja}({m.label_ja})" for m in _lapse.REGISTRY) + "。",
         ", ".join(f"{m.name} ({m.label_en})" for m in _lapse.REGISTRY) + ".",
         tuple((m.name, m.setting_ja, m.name) for m in _lapse.REGISTRY)),
    Spec("lapse_warn_days", "離脱予兆の日数", 90, _int, "固定日数: 最終注文からこの日数を超えたら離脱予兆。",
         "Fixed days: lapsing after this many days without an order."),
    Spec("lapse_lapse_days", "離脱の日数", 180, _int, "固定日数: この日数を超えたら離脱。",
         "Fixed days: lapsed after this many days."),
    Spec("lapse_dormant_days", "休眠の日数", 365, _int, "どの方式でも、この日数を超えたら休眠。",
         "Any method: dormant after this many days."),
    Spec("lapse_warn_factor", "離脱予兆の間隔倍率", 1.5, _float, "購入リズム: いつもの間隔のこの倍を超えたら離脱予兆。",
         "Rhythm: lapsing after this multiple of the usual interval."),
    Spec("lapse_lapse_factor", "離脱の間隔倍率", 3.0, _float, "購入リズム: いつもの間隔のこの倍を超えたら離脱。",
         "Rhythm: lapsed after this multiple of the usual interval."),
    Spec("lapse_min_days", "離脱予兆の最短日数", 30, _int, "購入リズム: 間隔が短い顧客でもこの日数までは離脱予兆にしない。",
         "Rhythm: never lapsing before this many days, however short the interval."),
    Spec("lapse_warn_quantile", "1回購入の予兆割合", 0.8, _fraction,
         "購入1回の顧客: 2回目の注文のこの割合が来る日数を過ぎたら離脱予兆(0.8 = 80%)。",
         "One-order customers: lapsing once this share of second orders would have come (0.8 = 80%)."),
    Spec("lapse_lapse_quantile", "1回購入の離脱割合", 0.95, _fraction, "購入1回の顧客: この割合を過ぎたら離脱。",
         "One-order customers: lapsed past this share."),
    Spec("lapse_warn_p_alive", "BG/NBD予兆の継続確率", 0.5, _fraction, "統計モデル: 継続確率がこれ未満なら離脱予兆。",
         "bgnbd: lapsing below this P(alive)."),
    Spec("lapse_lapse_p_alive", "BG/NBD離脱の継続確率", 0.2, _fraction, "統計モデル: 継続確率がこれ未満なら離脱。",
         "bgnbd: lapsed below this P(alive)."),
    Spec("lapse_horizon_days", "BG/NBD予測日数", 90, _int, "統計モデル: 期待購入回数と「購入しない確率」を出す期間(日)。",
         "bgnbd: days ahead for expected purchases and P(no purchase)."),
]

# --- follow-up / dashboard ---------------------------------------------------------------------------------------
def _pct(v):
    n = _float(v)
    if not 0 <= n < 100:
        raise ValueError("bad_number")
    return n


def _seed_or_none(v):
    return None if schema.is_blank(v) else _int(v)


FOLLOWUP: list[Spec] = [
    Spec("control_pct", "対照群の割合(%)", 10.0, _pct,
         "キャンペーンで連絡しない対照群の割合(%)。効果(連絡した群との差)を測るため。",
         "Share of a campaign's customers held out as a control group (%), to measure the effect."),
    Spec("campaign_seed", "キャンペーン乱数シード", None, _seed_or_none,
         "対照群の抽選に使う乱数シード。空欄ならキャンペーンIDから決まる(記録されます)。",
         "Seed of the control-group draw; blank = derived from the campaign ID (recorded either way)."),
    Spec("campaign_days", "キャンペーン測定日数", 30, _int,
         "キャンペーン開始から何日間の購入を効果として数えるか。",
         "Days after a campaign's start whose purchases count as its outcome."),
]
DASHBOARD: list[Spec] = [
    Spec("f2_days", "F2判定日数", 90, _int, "初回購入からこの日数以内の2回目購入をF2転換と数える。",
         "A second purchase within this many days of the first counts as F2 conversion."),
    Spec("cohort_months", "コホート月数", 12, _int, "継続率コホート表の月数(列)と初回購入月の数(行)。",
         "Months shown in the retention cohort matrix (columns and cohorts)."),
    Spec("forecast_months", "売上予測の月数", 6, _int, "売上を何か月先まで予測するか。",
         "Months of revenue to forecast."),
    Spec("forecast_holdout", "予測検証の月数", 6, _int,
         "予測モデルを選ぶため、直近この月数を隠して当てられるか試す(平均誤差率)。",
         "Recent months held out to choose the forecast model (MAPE)."),
]

# --- sales pipeline (商談) ------------------------------------------------------------------------------------------
PIPELINE: list[Spec] = [
    Spec("pipeline_stall_days", "停滞日数", 30, _positive_int,
         "商談シート: 段階がこの日数以上変わらない進行中の商談を「停滞」として一覧にする"
         "(フォローリストはルールシート「商談の停滞」の日数を使う)。",
         "商談 sheet: open deals whose stage has not changed for this many days are listed as stalled (the "
         "follow-up list uses the days of the rule 'stalled' on the ルール sheet)."),
    Spec("pipeline_period_days", "成約率の集計日数", 365, _positive_int,
         "商談シート: 基準日までのこの日数の間に決着した商談で、成約・失注の件数、成約率、成約までの日数を数える。",
         "商談 sheet: won / lost counts, win rate and days to win count deals closed within this many days up "
         "to the as-of date."),
]

# --- surveys / satisfaction --------------------------------------------------------------------------------------
def _score_or_none(v):
    return None if schema.is_blank(v) else _float(v)


SURVEYS: list[Spec] = [
    Spec("survey_scale", "満足度の尺度", "1-5",
         _choice({"1-5": "1-5", "1〜5": "1-5", "1~5": "1-5", "5段階": "1-5", "5": "1-5", "星": "1-5",
                  "0-10": "0-10", "0〜10": "0-10", "0~10": "0-10", "11段階": "0-10", "10": "0-10", "nps": "0-10"},
                 "sv_bad_scale"),
         "アンケート・レビューの評価の尺度: 1-5(5段階・星)か 0-10(NPS)。",
         "Scale of survey / review scores: 1-5 (stars) or 0-10 (NPS).",
         (("1-5", "1-5", "1-5"), ("0-10", "0-10", "0-10"))),
    Spec("survey_low", "低評価の基準", None, _score_or_none,
         "この点以下を低評価とする。空欄なら 1-5 は2、0-10 は6(NPSの批判者)。",
         "Scores at or below this are low; blank = 2 on 1-5, 6 on 0-10 (NPS detractors)."),
    Spec("survey_high", "高評価の基準", None, _score_or_none,
         "この点以上を高評価とする。空欄なら 1-5 は4、0-10 は9(NPSの推奨者)。",
         "Scores at or above this are high; blank = 4 on 1-5, 9 on 0-10 (NPS promoters)."),
    Spec("survey_days", "評価後の観察日数", 90, _positive_int,
         "「低評価の後に離脱が多いか」は、回答からこの日数以上たった顧客で比べる。",
         "'Do low scores come before lapse' compares customers whose answer is at least this many days old."),
]

# --- timed steps (ステップ) ------------------------------------------------------------------------------------
def _step_pct(v):
    n = _float(v)
    if not 0 <= n <= 50:
        raise ValueError("st_bad_control_pct")
    return n


STEPS: list[Spec] = [
    Spec("step_last_days", "ステップ最終段の日数", 30, _int,
         "ステップの最後の段を何日間フォローリストに残すか。これより前に起点のある顧客はチェーンに入りません。",
         "Days the last step of a chain stays on the follow-up list; customers whose trigger is older are not in "
         "the chain."),
    Spec("coupon_days", "クーポン利用の判定日数", 30, _int,
         "ステップの日からこの日数以内に同じクーポンコードの注文があれば「利用」と数える。",
         "An order with the row's coupon code within this many days of the step's day counts as redeemed."),
    Spec("step_control_pct", "ステップ対照群の割合(%)", 0.0, _step_pct,
         "ステップを送らない対照群の割合(%、0〜50)。0なら全員に送ります。10などにすると、チェーンに入る人のうち"
         "その割合(顧客と起点日で決まり、後から入れ替わりません)にステップもクーポンも送らず、ステップ状況で"
         "2回目の購入が増えたかを比べます。",
         "Share of customers entering a step chain who get no steps and no coupon (%, 0-50), to measure on "
         "ステップ状況 whether the chain brings second orders; 0 = everyone gets the steps. Who is held out is "
         "fixed by customer and trigger day."),
]

# --- journey (ジャーニー) ----------------------------------------------------------------------------------------
JOURNEY: list[Spec] = [
    Spec("store_channels", "来店チャネル", ["店舗"], _names,
         "ジャーニーの来店数で「来店」と数える注文のチャネル(読点区切り)。",
         "Order channels that count as a store visit on the journey sheet (comma-separated)."),
]

# --- printing (顧客一覧(印刷用)) ----------------------------------------------------------------------------------
PRINT_COLUMNS = ["顧客ID", "氏名", "フリガナ", "電話番号", "携帯電話", "都道府県", "住所", "最終注文日", "注文回数",
                 "購入金額", "セグメント", "離脱状態", "担当者"]
PRINT: list[Spec] = [
    Spec("print_columns", "印刷する列(顧客)", PRINT_COLUMNS, _names,
         "「印刷用一覧」ボタンで顧客一覧(印刷用)シートに載せる顧客シートの列(読点区切り、この順に並びます)。",
         "Columns of 顧客 the print-list button copies to 顧客一覧(印刷用), in this order (comma-separated)."),
]

SPECS: list[Spec] = [*GENERAL, *SEARCH, *DEDUPE, *RFM, *LAPSE, *FOLLOWUP, *DASHBOARD, *PIPELINE, *SURVEYS,
                     *STEPS, *JOURNEY, *PRINT]
_BY_KEY = {s.key: s for s in SPECS}


class Settings(dict):
    """The settings by English key, as typed by their Spec's parser. Read them as attributes (`s.lapse_method`):
    one property per Spec, generated below, so reading a setting that has no Spec is an AttributeError instead
    of a silent default (tests/test_settings_specs.py checks every read in xlcrm/)."""

    def __setitem__(self, k, v):
        if k not in _BY_KEY:
            raise KeyError(f"no setting {k!r}: declare a Spec in xlcrm/settings.py")
        super().__setitem__(k, v)

    def as_of_date(self, given=None) -> pd.Timestamp:
        """The day a job counts up to: `given` (its own --as-of) when set, else 基準日 on 設定, else today."""
        if given is not None:
            return pd.Timestamp(given).normalize()
        return self["as_of"] if self.get("as_of") is not None else pd.Timestamp(dt.date.today())


for _s in SPECS:
    setattr(Settings, _s.key, property(lambda self, _k=_s.key: self[_k] if _k in self else _BY_KEY[_k].default,
                                       doc=_s.help_en))
del _s


def defaults() -> Settings:
    return Settings({s.key: s.default for s in SPECS})


_GENERIC_CHOICE = ("bad_choice", "lapse_bad_method", "rfm_bad_method")   # said better by the setting's own labels


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
                key = e.args[0] if e.args else "bad_number"
                kw = {"choices": "ja / en"}
                if spec.choices and key in _GENERIC_CHOICE:   # the drop-down's labels (the English keys in English)
                    key, kw = "setting_bad_choice", {"choices_ja": " / ".join(spec.labels("ja")),
                                                     "choices_en": " / ".join(v for v, _, _ in spec.choices)}
                problems.append(Problem(sheet, int(row), header, key, cell=f"{lt}{row}" if lt else "", **kw))
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
        if isinstance(v, (list, tuple)):
            v = "、".join(str(x) for x in v)
        rows.append({"key": s.ja if lang == "ja" else s.key, "value": "" if v is None else s.label(v, lang),
                     "explanation": s.help_ja if lang == "ja" else s.help_en})
    return pd.DataFrame(rows)
