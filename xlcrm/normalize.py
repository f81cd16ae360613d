"""Japanese text folding for matching: width, kana, 異体字, phone, postcode, address, e-mail.

Every function takes one raw cell value (str, number, None, NaN) and returns a comparable key; blank in → "" out.
The string functions are idempotent: f(f(x)) == f(x). `series(values, f)` applies one to a pandas Series,
computing each distinct value once; `address_frame(addresses, prefectures, buildings)` does `address` over columns.
Addresses: `address` splits (prefecture, city_rest, building, key) for dedupe; `address_text` is the flat folded
form search matches fragments against. An address written from the city or ward on (江東区豊洲1-2-27) gets its
prefecture from the municipality, by `data/municipalities.txt` (built from Japan Post's postcode data, see
`data/README.md`), only when the name is unique in Japan (府中市 is in 東京都 and 広島県: not guessed).

Evidence levels for names (strongest first), used by search and dedupe:
  `name_plain` equal   same characters after width/kana/space folding          (髙橋 太郎 == 髙橋太郎)
  `name` equal         same after 異体字 folding too                            (髙橋 == 高橋, 斎藤 == 齋藤)
  `kana` equal         different kanji, same reading (weaker: 伊藤/伊東 are different people)
  `kana_loose` equal   same reading up to long vowels, ヴ/ブ, ヂ/ジ (weakest: オオノ 大野 == オノ 小野)
`name_evidence(...)` returns that level for two records.

Why hand-written: NFKC (unicodedata) does width and ㈱/① but no kana folding; jaconv folds kana but its
`normalize` turns `－` into `ー` (so does neologdn), which breaks phones and addresses; no PyPI library folds 異体字,
and address normalisers on PyPI need the network at run time. Phones go through `phonenumbers` (its JP metadata).

Sources of the 異体字 table (`ITAIJI`, old/variant form → the form in everyday use):
  - 常用漢字表 (2010, 文化庁), the 康熙字典体 given in brackets beside each 新字体, e.g. 國→国, 澤→沢, 櫻→桜;
  - 戸籍法施行規則 別表第二 (人名用漢字), part 二: the old forms allowed in names (亞, 惡, 逸, 榮, 衞 …);
  - Unicode Unihan database (kTraditionalVariant / kZVariant / kSemanticVariant, kJoyoKanji) for the pairs above;
  - JIS X 0213 / IBM extension characters frequent in surnames that none of the above lists: 髙(はしご高)→高,
    﨑/嵜/碕(たつさき)→崎, 嶋/嶌→島, 邉/邊→辺, 濵→浜, 冨→富, 槇→槙, 桒→桑, 栁→柳, 𠮷→吉, 德→徳, 曻→昇, 淵/渊→渕.
  Ideographic variation selectors (IVS, U+E0100–E01EF, U+FE00–FE0F) are dropped: 邉󠄂 == 邉.
  Judgement calls, written down: 齊/斉/齋 all fold to 斎 — in surnames 斉藤/斎藤/齊藤/齋藤 are one name (サイトウ)
  written interchangeably; 龍→竜 folds for matching only (both are in use; the key is never shown to users).
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import phonenumbers

__all__ = [
    "nfkc", "itaiji", "name", "name_plain", "kana", "kana_loose", "kana_unvoiced", "split_name", "name_evidence",
    "phone", "phone_kind", "postcode", "email", "address", "Address", "prefecture", "PREFECTURES",
    "address_text", "series", "address_frame", "address_columns", "ITAIJI",
]


def _text(s) -> str:
    """A cell value as text: None/NaN/NA → "", integral floats lose '.0' (phones typed as numbers)."""
    if s is None or s is pd.NA or s is pd.NaT:
        return ""
    if isinstance(s, float):
        if math.isnan(s):
            return ""
        if s.is_integer():
            return str(int(s))
    return s if isinstance(s, str) else str(s)


# The longest text a matching key keeps. A cell holds up to 32,767 characters; one such value made every
# comparison of its column as wide as itself (dedupe keeps keys in fixed-width numpy arrays: one 10,000-character
# name among 2,000 customers took dedupe from 0.6 s to 50 s CPU). Keys equal in their first TEXT_MAX (NAME_MAX for
# names and readings) characters compare equal. Japanese addresses and e-mails fit in 64; names
# and readings in 24 (a long latin name, christopheralexandermontgomery, is found and compared by its first 24).
# Larger caps cost more: with 40 / 128 one long cell still made dedupe's keys 1.8-2x as wide.
TEXT_MAX = 64
NAME_MAX = 24


def nfkc(s) -> str:
    """Unicode NFKC, trimmed: full-width ASCII and half-width kana to standard width, ㈱ → (株), ① → 1.
    At most TEXT_MAX characters (cut after NFKC, which can lengthen a value: ㍿ → 株式会社)."""
    t = unicodedata.normalize("NFKC", s if type(s) is str else _text(s))
    return (t[:TEXT_MAX] if len(t) > TEXT_MAX else t).strip()


# --- 異体字 ------------------------------------------------------------------------------------------------------
# old/variant → everyday form. Pairs are grouped by source (see module docstring).
_JOYO_OLD = (  # 常用漢字表 康熙字典体 → 新字体
    "亞亜惡悪壓圧圍囲醫医爲為壹壱隱隠榮栄營営衞衛驛駅圓円鹽塩奧奥應応櫻桜歐欧毆殴鷗鴎溫温假仮價価畫画會会壞壊"
    "懷懐繪絵擴拡覺覚學学嶽岳樂楽勸勧卷巻歡歓罐缶觀観關関陷陥巖巌顏顔歸帰氣気龜亀僞偽戲戯犧犠舊旧據拠擧挙"
    "峽峡挾挟狹狭曉暁區区驅駆勳勲徑径惠恵溪渓經経繼継莖茎螢蛍輕軽鷄鶏藝芸缺欠儉倹劍剣圈圏檢検權権獻献縣県"
    "險険顯顕驗験嚴厳效効廣広恆恒鑛鉱號号國国濟済碎砕劑剤雜雑參参慘惨棧桟蠶蚕贊賛殘残絲糸齒歯兒児辭辞濕湿"
    "實実舍舎寫写釋釈壽寿收収從従澁渋獸獣縱縦肅粛處処緖緒敍叙奬奨將将燒焼稱称證証乘乗剩剰壤壌孃嬢條条淨浄"
    "疊畳穰穣讓譲釀醸觸触囑嘱眞真愼慎寢寝盡尽圖図粹粋醉酔隨随髓髄數数樞枢聲声靜静攝摂竊窃專専戰戦淺浅潛潜"
    "纖繊踐践錢銭禪禅雙双壯壮搜捜插挿爭争總総聰聡莊荘裝装騷騒增増藏蔵臟臓卽即屬属續続墮堕對対體体帶帯滯滞"
    "臺台瀧滝擇択澤沢單単擔担膽胆團団彈弾斷断癡痴遲遅晝昼蟲虫鑄鋳廳庁徵徴聽聴敕勅鎭鎮遞逓鐵鉄轉転點点傳伝"
    "黨党盜盗燈灯當当鬭闘鬪闘獨独讀読屆届繩縄貳弐惱悩腦脳霸覇廢廃拜拝賣売麥麦發発髮髪拔抜蠻蛮祕秘濱浜甁瓶"
    "拂払佛仏竝並變変邊辺辨弁瓣弁辯弁舖舗步歩寶宝豐豊襃褒萬万滿満默黙彌弥譯訳藥薬與与豫予餘余譽誉搖揺樣様"
    "謠謡來来賴頼亂乱覽覧兩両獵猟壘塁勵励禮礼靈霊齡齢戀恋爐炉勞労樓楼錄録灣湾德徳黑黒黃黄郞郎靑青淸清晴晴"
    "姬姫巢巣吳呉娛娯瑤瑶鄕郷鄉郷穗穂曾曽俱倶兔兎剝剥噓嘘屛屏摑掴潑溌瘦痩繡繍蔣蒋蠟蝋醬醤頰頬麴麹顚顛塡填"
    "彥彦堯尭遙遥檜桧寳宝瀨瀬𠮟叱"
)
_NAME_VARIANTS = (  # surname/given-name variants (JIS X 0213, IBM ext., Unihan kZVariant)
    "髙高﨑崎嵜崎碕崎嶋島嶌島邉辺濵浜冨富槇槙桒桑栁柳桺柳𠮷吉曻昇淵渕渊渕埜野邨村峯峰舘館凉涼龍竜"
    "齋斎齊斎斉斎槗橋𣘺橋薮薮藪薮"
)


def _pairs(s: str) -> dict[int, str]:
    chars = list(s)
    return {ord(chars[i]): chars[i + 1] for i in range(0, len(chars), 2) if chars[i] != chars[i + 1]}


# variation selectors (standardised and ideographic): a glyph choice, not a different character
_VS: dict[int, None] = {cp: None for cp in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))}
ITAIJI: dict[int, str | None] = {**_pairs(_JOYO_OLD), **_pairs(_NAME_VARIANTS), **_VS}
ITAIJI[ord("\ufa11")] = "崎"  # 﨑 is a *unified* ideograph in the compatibility block: NFKC keeps it


def _is_kanji(c: str) -> bool:
    return bool(c) and ("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" or c >= "\U00020000")


def _repeat_marks(s: str) -> str:
    """々 repeats the previous character: 佐々木 == 佐佐木 (both are written)."""
    if "々" not in s:
        return s
    out: list[str] = []
    prev = ""  # the last character that is not a space: '佐 々木' typed with a space is still 佐佐木
    for ch in s:
        if ch == "々" and _is_kanji(prev):
            ch = prev
        out.append(ch)
        if not ch.isspace():
            prev = ch
    return "".join(out)


# one C-level scan decides whether the (slower, per-character) translate is needed at all
_ITAIJI_CHARS = frozenset([*map(chr, ITAIJI), "々"])


def itaiji(s) -> str:
    """Fold 異体字/旧字体 to the everyday form (髙→高, 﨑→崎, 齋→斎, 邊→辺, 々 expanded); nothing else changes."""
    t = _text(s)
    if _ITAIJI_CHARS.isdisjoint(t):
        return t
    return _repeat_marks(t.translate(ITAIJI))


# --- kana --------------------------------------------------------------------------------------------------------
_HIRA2KATA = {cp: cp + 0x60 for cp in range(0x3041, 0x3097)}  # ぁ..ゖ → ァ..ヶ
_HIRA2KATA.update({0x309D: 0x30FD, 0x309E: 0x30FE})  # ゝゞ → ヽヾ
_HIRA2KATA.update(_VS)
_SPACES = re.compile(r"[\s・]+")
_SMALL = str.maketrans("ァィゥェォャュョッヮヵヶ", "アイウエオヤユヨツワカケ")
_DASHES = "-‐‑‒–—―−─━〜~"
_KANA_DASH = re.compile(f"(?<=[\u30a1-\u30fa])[{re.escape(_DASHES)}ー]+")  # dashes after kana: one long vowel
_HONORIFIC = re.compile(r"(?<=.)様+$")


def _compose(s: str) -> str:
    # A lone ゛/゜ (NFKC: space + combining mark) can end up next to its kana once spaces go: compose again.
    return unicodedata.normalize("NFKC", s)


def name_plain(s) -> str:
    """A name folded for width, case, kana script and spaces, 様 dropped — but no 異体字 folding.
    Its first NAME_MAX characters (cut before the spaces go, so folding the key again leaves it as it is)."""
    t = nfkc(s).casefold()[:NAME_MAX]
    t = _SPACES.sub("", t).translate(_HIRA2KATA).translate({ord("ヵ"): "カ", ord("ヶ"): "ケ"})
    t = _HONORIFIC.sub("", _compose(t))
    return _compose(t)


def name(s) -> str:
    """A name's matching key: NFKC, case folded, no spaces, hiragana/half-width kana → katakana, 異体字 folded."""
    return _compose(_HONORIFIC.sub("", itaiji(name_plain(s))))  # 様々 → 様様 → 様


def kana(s) -> str:
    """A reading folded to katakana: no spaces, small kana → large, dashes after kana → ー (first NAME_MAX
    characters, as `name_plain`)."""
    t = nfkc(s).casefold()[:NAME_MAX]
    t = _SPACES.sub("", t).translate(_HIRA2KATA)
    t = _compose(_compose(t).translate(_SMALL))  # ッ+゛ → ツ+゛ → ヅ: compose before the dash rule looks back
    t = _KANA_DASH.sub("ー", t)
    return _compose(t)


_VOWEL = {}
for _row, _chars in (("a", "アカガサザタダナハバパマヤラワ"), ("i", "イキギシジチヂニヒビピミリヰ"),
                     ("u", "ウクグスズツヅヌフブプムユルヴ"), ("e", "エケゲセゼテデネヘベペメレヱ"),
                     ("o", "オコゴソゾトドノホボポモヨロヲ")):
    for _c in _chars:
        _VOWEL[_c] = _row
_LENGTHENS = {"a": "ア", "i": "イ", "u": "ウ", "e": "エイ", "o": "オウ"}  # vowels that only lengthen the previous
_LOOSE = str.maketrans({"ヂ": "ジ", "ヅ": "ズ", "ヲ": "オ", "ヰ": "イ", "ヱ": "エ"})
_VU = re.compile("ヴ([アイエオ]?)")


def kana_loose(s) -> str:
    """`kana`, then long vowels dropped (サトウ == サトー == サト, オオノ == オノ) and ヴ→ブ, ヂ→ジ, ヅ→ズ, ヲ→オ.

    Weakest evidence: it makes 大野 (オオノ) and 小野 (オノ) equal."""
    t = _KANA_DASH.sub("", _compose(kana(s).replace("ー", "")))  # ウー゛- → ヴ-: that dash is a long vowel too
    t = _VU.sub(lambda m: {"": "ブ", "ア": "バ", "イ": "ビ", "エ": "ベ", "オ": "ボ"}[m.group(1)], t)
    t = t.translate(_LOOSE)
    out: list[str] = []
    last = ""
    for i, ch in enumerate(t):
        nxt = t[i + 1:i + 2]
        if last and ch in _LENGTHENS.get(_VOWEL.get(last, ""), "") and nxt not in ("\u3099", "\u309a"):
            continue  # keep `last`: a run of lengthening vowels is compared against the mora they lengthen
        out.append(ch)
        last = ch
    return "".join(out)


_VOICING = {0x3099: None, 0x309A: None}  # combining ゛ ゜ (NFD splits ガ into カ + ゛)


def kana_unvoiced(s) -> str:
    """`kana_loose`, then voicing marks dropped (ザ→サ, パ→ハ, ヅ→ツ): a reading as heard by someone who leaves
    out 濁点, and the rendaku of one name (山崎 is ヤマサキ and ヤマザキ). Search only; weaker than `kana_loose`."""
    t = kana_loose(s)
    if t.isascii():
        return t
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", t).translate(_VOICING))


def split_name(s) -> tuple[str, str]:
    """(family, given) split at the space staff typed (全角 or 半角); ('', '') when there is no space."""
    parts = nfkc(s).split()
    if len(parts) < 2:
        return "", ""
    return parts[0], "".join(parts[1:])


def name_evidence(name_a, kana_a, name_b, kana_b) -> str:
    """How two names agree: 'exact', 'itaiji', 'kana', 'kana_loose' or '' (see the module docstring)."""
    pa, pb = name_plain(name_a), name_plain(name_b)
    if pa and pa == pb:
        return "exact"
    if pa and name(pa) == name(pb):
        return "itaiji"
    ka, kb = kana(kana_a), kana(kana_b)
    if ka and ka == kb:
        return "kana"
    if ka and kana_loose(ka) == kana_loose(kb):
        return "kana_loose"
    return ""


# --- phone -------------------------------------------------------------------------------------------------------
_JP = phonenumbers.PhoneMetadata.metadata_for_region("JP")
_EXT = re.compile(r"(?:内線|ext\.?|x|#).*$", re.IGNORECASE)
_PHONE_SEP = re.compile(r"[\s\-‐‑‒–—―−ー().]+")
_NATIONAL = re.compile(r"0(?!0|10)(\d{8,10})")  # 00…/010… are international prefixes
_INTL_JP = re.compile(r"\+810?([1-9]\d{8,9})")  # +81 90-…, +81 (0)3-…: the national significant number


def _desc(d):
    if d is None or not d.national_number_pattern:
        return None
    return re.compile(d.national_number_pattern), frozenset(d.possible_length or ())


# The order phonenumbers' number_type checks the JP metadata in; FIXED/MOBILE come last.
_TYPES = [(_desc(getattr(_JP, a)), kind) for a, kind in (
    ("premium_rate", "other"), ("toll_free", "other"), ("shared_cost", "other"), ("voip", "other"),
    ("personal_number", "other"), ("pager", "other"), ("uan", "other"), ("voicemail", "other"))]
_GENERAL, _FIXED, _MOBILE = _desc(_JP.general_desc), _desc(_JP.fixed_line), _desc(_JP.mobile)


def _matches(desc, nsn: str) -> bool:
    if desc is None:
        return False
    pattern, lengths = desc
    return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None


# All type patterns as one alternation, tried in phonenumbers' order: one regex call instead of eleven.
_KINDS = [kind for desc, kind in _TYPES if desc] + ["fixed", "mobile"]
_DESCS = [desc for desc, kind in _TYPES if desc] + [_FIXED, _MOBILE]
_ANY_KIND = re.compile("|".join(f"(?P<k{i}>{d[0].pattern})" for i, d in enumerate(_DESCS)))


def _nsn_kind(nsn: str) -> str:
    """'mobile', 'fixed', 'other' (toll-free, IP phone …) or '' when invalid — phonenumbers' rules for JP."""
    if not _matches(_GENERAL, nsn):
        return ""
    m = _ANY_KIND.fullmatch(nsn)
    if m is None:
        return ""
    i = int(m.lastgroup[1:])
    if not _DESCS[i][1] or len(nsn) in _DESCS[i][1]:
        return _KINDS[i]
    return _nsn_kind_slow(nsn)


def _nsn_kind_slow(nsn: str) -> str:
    for desc, kind in _TYPES:
        if _matches(desc, nsn):
            return kind
    if _matches(_FIXED, nsn):
        return "fixed"  # JP has no fixed/mobile overlap (same_mobile_and_fixed_line_pattern is False)
    if _matches(_MOBILE, nsn):
        return "mobile"
    return ""


_NOTE = re.compile(r"[(（][^\d()（）]*[)）]")  # (携帯) (代) （自宅）: a note, not part of the number
_LIST = re.compile(r"[/,、;；／]")


def _phone_parse(s) -> tuple[str, str]:
    t = nfkc(s)
    if not t:
        return "", ""
    if _LIST.search(t):  # '03-1234-5678 / 090-1234-5678': the first number that is one
        for part in _LIST.split(t):
            got = _phone_parse(part)
            if got[0]:
                return got
        return "", ""
    if "(" in t:
        t = _NOTE.sub("", t)
    if not t.isascii() or "x" in t or "X" in t or "#" in t:
        t = _EXT.sub("", t)
    digits = _PHONE_SEP.sub("", t)
    m = _NATIONAL.fullmatch(digits) or _INTL_JP.fullmatch(digits)
    if m:  # the common cases (0…, +81 …), without phonenumbers' parser (30 µs a number)
        nsn = m.group(1)
    else:
        try:
            p = phonenumbers.parse(t, "JP")
        except phonenumbers.NumberParseException:
            return "", ""
        if p.country_code != 81:
            return "", ""
        nsn = phonenumbers.national_significant_number(p)
    kind = _nsn_kind(nsn)
    return ("0" + nsn, kind) if kind else ("", "")


def phone(s) -> str:
    """A Japanese phone number as national digits ('09012345678'); '' when not a valid number (0000-00-0000).

    Notes in brackets are dropped ('03-1234-5678(代)'); of several numbers in one cell the first valid one counts."""
    return _phone_parse(s)[0]


# phones(): the common shapes a sheet holds (digits with -, space, brackets or dots, a leading +), handled by
# pyarrow's compute kernels over the whole column at once. Why this is the same as phone(): NFKC is the same Unicode
# table; a value made only of these characters has no list separator, extension or note with words, so phone()
# would go straight to removing the separators and _NATIONAL/_INTL_JP (written here for RE2, which has no
# lookahead: 0 then not 0 and not 10). The kind comes from the same JP metadata patterns and lengths, in the same
# order (_nsn_kind: the general pattern, then the first type whose pattern and length fit). Everything else
# (内線, 携帯 notes, ー as a hyphen, two numbers in a cell, other countries) goes through phone() one by one.
_FAST_SHAPE = r"^ *\+?[0-9 ().\-]*$"
_FAST_NATIONAL = r"^0(?P<nsn>[2-9][0-9]{7,9}|1[1-9][0-9]{6,8})$"
_FAST_INTL = r"^\+810?(?P<nsn>[1-9][0-9]{8,9})$"


def _arrow_fits(pa, pc, nsn, desc):
    """Mask: nsn fully matches the metadata description (pattern, and its lengths when it lists some)."""
    pattern, lengths = desc
    ok = pc.match_substring_regex(nsn, f"^(?:{pattern.pattern})$")
    if lengths:
        ok = pc.and_(ok, pc.is_in(pc.utf8_length(nsn), value_set=pa.array(sorted(lengths), pa.int32())))
    return ok


def phones(values) -> np.ndarray:
    """phone() over many values at once (an object array), equal to [phone(v) for v in values]: the 127,000
    distinct phones of a 100,000-row sheet in 0.2 s instead of 0.8 s. Values are str; see _FAST_SHAPE above for
    which ones are read in bulk."""
    import pyarrow as pa
    import pyarrow.compute as pc
    values = np.asarray(values, dtype=object)
    if not len(values):
        return np.empty(0, object)
    t = pc.utf8_normalize(pa.array(values, pa.string()), "NFKC")  # spaces: only ASCII ones pass _FAST_SHAPE
    fast = pc.and_(pc.match_substring_regex(t, _FAST_SHAPE), pc.less_equal(pc.utf8_length(t), TEXT_MAX))
    digits = t
    for sep in " ().-":  # literal replacements: faster than one regex
        digits = pc.replace_substring(digits, sep, "")
    nat = pc.struct_field(pc.extract_regex(digits, _FAST_NATIONAL), [0])
    intl = pc.struct_field(pc.extract_regex(digits, _FAST_INTL), [0])
    nsn = pc.coalesce(nat, intl)
    read = pc.and_(fast, pc.is_valid(nsn))
    nsn = pc.fill_null(nsn, "")
    ok = _arrow_fits(pa, pc, nsn, _GENERAL)
    known = [_arrow_fits(pa, pc, nsn, desc) for desc in _DESCS]  # _nsn_kind is "" exactly when no type fits
    valid = pc.and_(ok, functools.reduce(pc.or_, known))
    out = pc.if_else(valid, pc.binary_join_element_wise("0", nsn, ""), "").to_numpy(zero_copy_only=False)
    out = out.astype(object)
    for k in np.flatnonzero(~read.to_numpy(zero_copy_only=False)):
        out[k] = phone(values[k])
    return out


def phone_kind(s) -> str:
    """'mobile' (070/080/090/060), 'fixed' (landline) or '' (not a phone, or toll-free / IP phone / pager)."""
    k = _phone_parse(s)[1]
    return k if k in ("mobile", "fixed") else ""


# --- postcode, e-mail --------------------------------------------------------------------------------------------
_POST_SEP = re.compile(r"[\s\-‐‑‒–—―−ー〒]+")


def postcode(s) -> str:
    """A postcode as 7 digits ('1540001' from '〒154-0001', '１５４ー０００１'); '' otherwise."""
    t = _POST_SEP.sub("", nfkc(s))
    return t if len(t) == 7 and t.isascii() and t.isdigit() else ""


_POST_FAST = "^[0-9 \\-‐‑‒–—―−ー〒]*$"  # only ASCII spaces: NFKC's strip and the separators then agree


def postcodes(values) -> np.ndarray:
    """postcode() over many values at once (an object array), equal to [postcode(v) for v in values]: the usual
    shapes (digits, hyphens, spaces, 〒) with pyarrow's kernels over the whole column, the rest one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc
    values = np.asarray(values, dtype=object)
    if not len(values):
        return np.empty(0, object)
    t = pc.utf8_normalize(pa.array(values, pa.string()), "NFKC")
    fast = pc.and_(pc.match_substring_regex(t, _POST_FAST), pc.less_equal(pc.utf8_length(t), TEXT_MAX))
    d = pc.replace_substring_regex(t, "[ \\-‐‑‒–—―−ー〒]", "")
    out = pc.if_else(pc.equal(pc.utf8_length(d), 7), d, "").to_numpy(zero_copy_only=False).astype(object)
    for k in np.flatnonzero(~fast.to_numpy(zero_copy_only=False)):
        out[k] = postcode(values[k])
    return out


def email(s) -> str:
    """An e-mail address: NFKC, trimmed, lower-cased ('Sakura@Example.JP ' → 'sakura@example.jp')."""
    return nfkc(s).lower()


# --- address -----------------------------------------------------------------------------------------------------
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県",
    "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県",
    "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県",
    "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)
_BARE = {p if p == "北海道" else p[:-1]: p for p in PREFECTURES}  # 東京 → 東京都
# Cities named like their prefecture (県庁所在地 and 栃木/山梨/沖縄市): 静岡市… tells the prefecture.
_CAPITAL_NAMED = {"青森", "秋田", "山形", "福島", "栃木", "千葉", "新潟", "富山", "福井", "山梨", "長野", "岐阜", "静岡",
                  "京都", "大阪", "奈良", "和歌山", "鳥取", "岡山", "広島", "山口", "徳島", "高知", "福岡", "佐賀", "長崎",
                  "熊本", "大分", "宮崎", "鹿児島", "沖縄"}
_PREF_NAMES = frozenset([*PREFECTURES, *_BARE])


class Address(NamedTuple):
    prefecture: str   # '東京都', or '' when neither the address nor the prefecture column says
    city_rest: str    # municipality and street, canonical: '世田谷区桜1-2-3'
    building: str     # building and room, canonical: 'サクラハイツ101'
    key: str          # prefecture + city_rest (+ '#' + building): equal keys = same address


_KNUM = "〇一二三四五六七八九十百千"
_KDIGIT = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_KUNIT = {"十": 10, "百": 100, "千": 1000}
_DASH_BETWEEN = re.compile(f"(?<=[\\d{_KNUM}])\\s*[{re.escape(_DASHES)}ー]\\s*(?=[\\d{_KNUM}])")
# kanji numerals only where they are block numbers: before 丁目/番地/番/号, or after '1番' '2-' …
# 丁 without 目 (堺市: 南花田口町2丁3-10) only between block numbers: 八丁堀, 丁田町 are town names
_KNUM_BEFORE = re.compile(f"[{_KNUM}]+(?=丁目|丁[\\d{_KNUM}]|番地|番(?![町丁])|号|の[\\d{_KNUM}]|-"
                          f"|階(?![\u3400-\u9fff]))")  # 二階 (a floor), not 二階堂 (a town)
_KNUM_AFTER = re.compile(f"(?:(?<=\\d丁目)|(?<=\\d丁)|(?<=\\d番地)|(?<=\\d番)|(?<=\\d-)|(?<=\\dの))[{_KNUM}]+"
                         f"(?![\u3400-\u9fff])")
_BLOCK = re.compile(r"(?<=\d)(?:丁目の?|丁(?=\d)|番地?の?(?![町丁])|の(?=\d))")  # 1丁目2番地の3 → 1-2-3
_GOU = re.compile(r"(?<=\d)号(?![室館棟])")
_GOU_THEN = re.compile(r"(?<=\d)号(?=\d)")  # 15号2階, 3号101: what follows 号 is building or room, not more street
_ROOM_AFTER = re.compile(r"(?<=\d)-(\d+)号室")  # 1-2-3-101号室: the room is building, not block
_MULTI_HYPHEN = re.compile(r"-{2,}")
_TRAILING_HYPHEN = re.compile(r"(?<=\d)-+(?!\d)")  # 1丁目 → 1- → 1
_GA = re.compile("(?<=[\u3400-\u9fff\u3041-\u30ff])[ヶケヵが](?=[\u3400-\u9fff])")  # 霞ヶ関 霞が関 霞ケ関
_NO = re.compile("(?<=[\u3400-\u9fff])[のノ](?=[\u3400-\u9fff])")                   # 丸の内 丸ノ内
_DASH_CHARS = frozenset(_DASHES + "ー")
_KNUM_CHARS = frozenset(_KNUM)
_GA_NO_CHARS = frozenset("ヶケヵがのノ")
_ANY_SPACE = re.compile(r"\s")
_SPACE_NOT_AFTER_DIGIT = re.compile(r"(?<!\d)\s+|(?<=\d)\s+(?=[\-丁番号の])")
_CHAIN = re.compile(r"\d+(?:-\d+)*")
_NOT_END = set("条線丁番号地区町村市郡")  # 北1条西2丁目: a number followed by these is part of the street
_SMALL_KE = str.maketrans("ヵヶ", "カケ")
_ROOM = re.compile(r"(?<=\d)(?:号室|号)$")


def _kanji_int(t: str) -> int:
    if not any(c in _KUNIT for c in t):
        return int("".join(str(_KDIGIT[c]) for c in t))  # 一〇三 → 103
    total = cur = 0
    for c in t:
        if c in _KUNIT:
            total += (cur or 1) * _KUNIT[c]
            cur = 0
        else:
            cur = cur * 10 + _KDIGIT[c]
    return total + cur


def _kdigits(m: re.Match) -> str:
    return str(_kanji_int(m.group(0)))


def _blocks(t: str) -> str:
    """丁目/番地/番/号/の between block numbers → '-'; repeated until stable (0-番 → 0番 → 0)."""
    for _ in range(4):
        before = t
        if "丁" in t or "番" in t or "の" in t:
            t = _BLOCK.sub("-", t)
        if "号" in t:
            t = _GOU.sub("", _GOU_THEN.sub(" ", t))
            if "号室" in t:
                t = _ROOM_AFTER.sub(r" \1", t)
        if "-" in t:
            if "--" in t:
                t = _MULTI_HYPHEN.sub("-", t)
            t = _TRAILING_HYPHEN.sub("", t)
        if t == before or not ("丁" in t or "番" in t or "の" in t or "号" in t):
            break  # nothing left that another pass could change
    return t


def _building(t: str) -> str:
    if not t:
        return ""
    t = _SPACES.sub("", t).casefold()
    t = _DASH_BETWEEN.sub("-", t).strip("-,、，。")
    t = _ROOM.sub("", t)
    if "f" in t:
        t = _FLOOR_F.sub("階", t)  # 2F == 2階
    return _compose(itaiji(t))


def _prefecture(s) -> str:
    """A prefecture name with its suffix ('東京' → '東京都'); '' when it is not one of the 47."""
    t = _SPACES.sub("", nfkc(s))
    return t if t in PREFECTURES else _BARE.get(t, "")


prefecture = _prefecture


def _split_prefecture(t: str) -> tuple[str, str]:
    found = next((t[:n] for n in (4, 3, 2) if t[:n] in _PREF_NAMES), "")
    if not found:
        return "", t
    rest = t[len(found):]
    if found in PREFECTURES:
        return found, rest
    # bare name (東京, 神奈川): only when clearly a prefecture, not the start of a municipality (大阪狭山市)
    if rest[:1].isspace():
        return _BARE[found], rest
    if rest[:1] == "市" and found in _CAPITAL_NAMED:
        return _BARE[found], t
    if found == "東京":
        return "東京都", rest
    return "", t


def _street_numbers(t: str, cs: set | None = None) -> str:
    """Spaces, 大字, dashes, kanji numerals and 丁目/番地/号 → hyphens, in that order; `cs` = the characters
    of `t` when the caller already has them."""
    cs = set(t) if cs is None else cs  # characters present at the start: no step below adds these guards' ones
    if not t.isprintable():  # tabs, line breaks (Alt+Enter in a cell): spaces like any other
        t = _ANY_SPACE.sub(" ", t)
    if " " in t:  # spaces only matter after a block number (1-2-3 101: the room); elsewhere they are noise
        t = _SPACE_NOT_AFTER_DIGIT.sub("", t)
    if "大字" in t:
        t = t.replace("大字", "")
    if not cs.isdisjoint(_DASH_CHARS):
        t = _DASH_BETWEEN.sub("-", t)
    if not cs.isdisjoint(_KNUM_CHARS):
        for _ in range(3):  # 一丁目二番三号: each pass converts numerals next to ones already converted
            t2 = _KNUM_AFTER.sub(_kdigits, _KNUM_BEFORE.sub(_kdigits, t))
            if t2 == t:
                break
            t = t2
    # The guards skip patterns that cannot match: 100,000 addresses must fold in about a second.
    t = _blocks(t)
    if not cs.isdisjoint(_DASH_CHARS):  # 1号ー2: the dash meets a digit only once 号 is gone
        t2 = _DASH_BETWEEN.sub("-", t)
        if t2 != t:
            t = _blocks(t2)
    return t


_MUNICIPALITIES = Path(__file__).with_name("data") / "municipalities.txt"


def _fold_place(t: str) -> str:
    return _NO.sub("ノ", _GA.sub("ケ", t)).translate(_SMALL_KE)


@cache
def _municipality_table() -> tuple[dict[str, str], int]:
    """Municipality name (folded as streets are) → its prefecture, '' when the name is in more than one
    prefecture; and the longest name's length."""
    out: dict[str, str] = {}
    for line in _MUNICIPALITIES.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        pref, name = line.split("\t")
        name = _fold_place(itaiji(nfkc(name)))
        out[name] = pref if out.get(name, pref) == pref else ""
    return out, max(map(len, out), default=0)


def infer_prefecture(street: str) -> str:
    """The prefecture of an address written from its municipality on (江東区豊洲…, 七尾市…, 横浜市港北区…), by the
    longest municipality name it starts with; '' when none, or when that name is in several prefectures."""
    table, longest = _municipality_table()
    for n in range(min(longest, len(street) - 1), 1, -1):
        pref = table.get(street[:n])
        if pref is not None:
            return pref
    return ""


_FLOOR_F = re.compile(r"(?<=\d)f(?![a-z])")
_FLOOR = re.compile(r"-(\d+)(?=(?:階|f|F)(?![\u3400-\u9fff]))")  # 1-10-15-2階: the floor is building, not street


def _split_street(t: str, pref: str, cs: set) -> tuple[str, str, str]:
    """(prefecture, street, building part of the address text) of a folded address: every rule here treats all
    digits alike (see `_address_core`)."""
    if "階" in t or "F" in t or "f" in t:
        t = _FLOOR.sub(r" \1", t, count=1)
    street, bldg = t, ""
    for m in _CHAIN.finditer(t):
        nxt = t[m.end():m.end() + 1]
        if nxt and nxt in _NOT_END:
            continue
        street, bldg = t[:m.end()], t[m.end():]
        break
    street = "".join(street.split())
    if not unicodedata.is_normalized("NFKC", street):
        street = _compose(street)  # a lone ゛ (NFKC: space + combining mark) meets its kana once spaces go
        cs = cs | set(street)      # か+゛ became が
    if not cs.isdisjoint(_GA_NO_CHARS):
        street = _fold_place(street)
    if not pref:
        pref = infer_prefecture(street)
    return pref, street, _building(bldg)


def _with_prefecture(t: str, pref_col: str) -> tuple[str, str]:
    pref, t = _split_prefecture(t)
    pref = pref_col or pref
    if pref and t.startswith(pref):
        t = t[len(pref):]
    return pref, t


@cache
def _prefecture_column(prefecture: str) -> str:
    return _prefecture(prefecture) if prefecture else ""


def _address_parts(t: str, pref_col: str) -> tuple[str, str, str]:
    """(prefecture, street, building part) of an NFKC'd address; `pref_col` the prefecture column, folded."""
    cs = set(t)  # one pass over the characters; the guards below test this set instead of rescanning
    if not cs.isdisjoint(_ITAIJI_CHARS):
        t = itaiji(t)  # first: 々 expanded before numerals are read, 﨑 → 崎 before anything matches
        cs = set(t)
    pref, t = _with_prefecture(t, pref_col)
    return _split_street(_street_numbers(t, cs), pref, cs)


# shape → (prefecture, street, its count of masked digits, building part): street and building as format
# templates ('世田谷区桜{}-{}{}-{}'), so putting the digits back is one str.format
_ADDR_SHAPES: dict[tuple[str, str], tuple[str, str, int, str] | None] = {}


def _template(folded: str) -> str:
    return folded.replace("{", "{{").replace("}", "}}").replace(_MASKED, "{}")


def _address_core(t: str, pref_col: str) -> tuple[str, str, str]:
    """`_address_parts`, worked out once per *shape*, as `address_text` does: no rule of the address folding
    looks at which digit a digit is (\\d, isdigit; kanji numerals become digits, never the reverse; no
    municipality name holds a digit), so 世田谷区桜1-12-3 and 世田谷区桜4-5-67 fold alike once their ASCII digits are
    masked (世田谷区桜٠-٠٠-٠), and the digits are put back in order. 100,000 customers hold about 80,000 distinct
    addresses but a few thousand shapes."""
    digits = _ASCII_DIGIT.findall(t)
    if not digits:
        return _address_parts(t, pref_col)
    shape = t.translate(_MASK)
    if shape.count(_MASKED) != len(digits):  # the text had ٠ of its own: no shortcut (nor a cached shape: 0٠
        return _address_parts(t, pref_col)   # would read the template of 00 and have one digit for two slots)
    key = (shape, pref_col)
    got = _ADDR_SHAPES.get(key, False)
    if got is False:
        got = None
        pref, street, bldg = _address_parts(shape, pref_col)
        n = street.count(_MASKED)
        if _MASKED not in pref and n + bldg.count(_MASKED) == len(digits):  # else a rule dropped a digit
            got = (pref, _template(street), n, _template(bldg))
        if len(_ADDR_SHAPES) >= 50_000:
            _ADDR_SHAPES.clear()
        _ADDR_SHAPES[key] = got
    if got is None:
        return _address_parts(t, pref_col)
    pref, street, n, bldg = got
    return pref, street.format(*digits[:n]), bldg.format(*digits[n:])


def address(s, prefecture: str = "", building: str = "") -> Address:
    """Split and canonicalise an address: 一丁目二番三号 == 1丁目2番3号 == 1-2-3 == １－２－３.

    `prefecture`/`building` are the separate columns when the sheet has them."""
    pref_col = (_prefecture_column(prefecture) if isinstance(prefecture, str)
                else _prefecture(prefecture) if prefecture else "")
    pref, street, bldg = _address_core(nfkc(s), pref_col)
    # the building column is merged here, with its real digits: ハイツ101 in ハイツ102 is not the same room
    extra = _building(nfkc(building)) if building else ""
    if extra and extra not in bldg:
        bldg = extra if bldg in extra else bldg + extra
    key = pref + street + ("#" + bldg if bldg else "")
    return Address(pref, street, bldg, key)


def address_text(s) -> str:
    """A whole address as one flat canonical string for substring search: the folding of `address` (widths,
    異体字, kanji numerals, 丁目/番地/号 → hyphens, ケ/ノ) without splitting off prefecture or building.

    Every rule here treats all digits alike, so the work is done once per *shape*: the ASCII digits are masked
    (世田谷区桜1-12-3 → 世田谷区桜٠-٠٠-٠), the shape is folded (cached) and the digits are put back in order.
    Customers of one town share a handful of shapes."""
    t = nfkc(s)
    digits = _ASCII_DIGIT.findall(t)
    if not digits:
        return _address_text(t)
    shape = t.translate(_MASK)
    if shape.count(_MASKED) != len(digits):  # the text had ٠ of its own: no shortcut
        return _address_text(t)
    folded = _SHAPES.get(shape)
    if folded is None:
        folded = _address_text(shape)
        if len(_SHAPES) >= 50_000:
            _SHAPES.clear()
        _SHAPES[shape] = folded
    parts = folded.split(_MASKED)
    if len(parts) != len(digits) + 1:  # a rule dropped or added a digit: never seen, but then no shortcut
        return _address_text(t)
    out = [parts[0]]
    for d, p in zip(digits, parts[1:]):
        out.append(d)
        out.append(p)
    return "".join(out)


_ASCII_DIGIT = re.compile(r"[0-9]")
_MASKED = "\u0660"  # ARABIC-INDIC DIGIT ZERO: a digit to every rule (\d, isdigit), never typed in Japan
_MASK = str.maketrans("0123456789", _MASKED * 10)
_SHAPES: dict[str, str] = {}


def _address_text(t: str) -> str:
    cs = set(t)
    if not cs.isdisjoint(_ITAIJI_CHARS):
        t = itaiji(t)
        cs = set(t)
    t = "".join(_street_numbers(t, cs).split()).casefold()
    if not unicodedata.is_normalized("NFKC", t):
        t = _compose(t)  # casefold first: ß → ss can meet a combining mark that NFKC then composes
        cs = cs | set(t)
    if not cs.isdisjoint(_GA_NO_CHARS):
        t = _NO.sub("ノ", _GA.sub("ケ", t)).translate(_SMALL_KE)
    return t


# --- many values at once -----------------------------------------------------------------------------------------

def series(values, func: Callable = None, **kw) -> pd.Series:
    """`func` over a Series (or list), each distinct value computed once; the result keeps the index."""
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    func = func or name
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    done = [func(u, **kw) for u in uniques]
    blank = func(None, **kw)
    if codes.size == 0:
        return pd.Series([], index=s.index, dtype=object if isinstance(blank, tuple) else "str")
    table = np.empty(len(done) + 1, dtype=object)
    table[:-1] = done
    table[-1] = blank
    out = table[codes]  # code -1 (NA) picks the last slot
    if isinstance(blank, tuple):
        return pd.Series(out, index=s.index, dtype=object)
    return pd.Series(out, index=s.index, dtype="str")


def address_frame(addresses, prefectures=None, buildings=None) -> pd.DataFrame:
    """`address` over columns: DataFrame with prefecture, city_rest, building, key (index kept)."""
    a = addresses if isinstance(addresses, pd.Series) else pd.Series(list(addresses), dtype=object)
    if len(a) == 0:
        return pd.DataFrame({f: pd.Series([], dtype="str") for f in Address._fields}, index=a.index)
    cols = address_columns(a, prefectures, buildings)
    return pd.DataFrame(dict(zip(Address._fields, cols)), index=a.index).astype("str")


def _texts(v, n: int) -> np.ndarray:
    if v is None:
        return np.full(n, "", dtype=object)
    vals = v.to_numpy(dtype=object) if isinstance(v, pd.Series) else list(v)
    out = np.empty(n, dtype=object)
    out[:] = [x if type(x) is str else _text(x) for x in vals]
    return out


def address_columns(addresses, prefectures=None, buildings=None) -> list[np.ndarray]:
    """`address_frame` as four object arrays (prefecture, city_rest, building, key), for callers that compare
    them in numpy (dedupe): no pandas string columns built and read back. Each distinct (address, prefecture,
    building) triple is folded once."""
    n = len(addresses)
    cols = [_texts(addresses, n), _texts(prefectures, n), _texts(buildings, n)]
    if n == 0:
        return [np.empty(0, dtype=object) for _ in Address._fields]
    codes = pd.factorize(cols[0])[0]
    for c in cols[1:]:  # one integer code per distinct triple, pair by pair (no overflow however many rows)
        k, u = pd.factorize(c)
        codes = pd.factorize(codes.astype(np.int64) * len(u) + k)[0]
    first = np.empty(codes.max() + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)  # the first row of each distinct triple
    done = [address(x, y, z) for x, y, z in zip(cols[0][first], cols[1][first], cols[2][first])]
    out = []
    for field in zip(*done):
        arr = np.empty(len(done), dtype=object)
        arr[:] = field
        out.append(arr[codes])
    return out
