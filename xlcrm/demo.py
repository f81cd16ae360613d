"""Synthetic demo data for a 単品リピート通販 shop: customers, orders and contact history, typed the way office
staff type them.

`make_demo()` returns raw tables (Japanese headers from `xlcrm.schema`, values as they would sit in cells, not
yet parsed): dates as ISO or slash text, datetimes, 和暦 and Excel serials; amounts as numbers and as '¥12,800',
'12800円', full-width digits; phones and postcodes in every format seen in real sheets; names with 異体字; kana in
katakana, hiragana or half-width. So the demo exercises `schema.conform` and everything after it.

Planted for 名寄せ (dedupe): about 4% of customer rows are a second (rarely third) record of a person already in
the table, with width / kana / 異体字 / phone / address variants, an old e-mail, or a married surname (same given
name, birth date and mobile). Planted traps that are *not* duplicates: households (same address and landline,
different given name), same-name strangers, and 伊藤/伊東 pairs (same reading, different people).
`demo_truth()` lists these pairs so tests and benchmarks can score dedupe.

Everything is drawn from one `numpy.random.Generator`: the same seed (and as-of date) gives identical frames.
The draws are in bulk; the per-row Python that remains only formats strings (100,000 customers take ~2 s).
"""
from __future__ import annotations

import datetime as dt
import unicodedata

import numpy as np
import pandas as pd

from .schema import CONTACTS, CUSTOMERS, ORDERS

# --- the shop's world ------------------------------------------------------------------------------------------

# (surname, katakana, romaji, relative frequency, 異体字 forms staff also type)
SURNAMES = (
    ("佐藤", "サトウ", "sato", 19, ()), ("鈴木", "スズキ", "suzuki", 18, ()),
    ("高橋", "タカハシ", "takahashi", 14, ("髙橋",)), ("田中", "タナカ", "tanaka", 13, ()),
    ("伊藤", "イトウ", "ito", 11, ()), ("渡辺", "ワタナベ", "watanabe", 11, ("渡邊", "渡邉")),
    ("山本", "ヤマモト", "yamamoto", 11, ()), ("中村", "ナカムラ", "nakamura", 10, ()),
    ("小林", "コバヤシ", "kobayashi", 10, ()), ("加藤", "カトウ", "kato", 9, ()),
    ("吉田", "ヨシダ", "yoshida", 8, ("𠮷田",)), ("山田", "ヤマダ", "yamada", 8, ()),
    ("佐々木", "ササキ", "sasaki", 7, ()), ("山口", "ヤマグチ", "yamaguchi", 7, ()),
    ("松本", "マツモト", "matsumoto", 7, ()), ("井上", "イノウエ", "inoue", 6, ()),
    ("木村", "キムラ", "kimura", 6, ()), ("林", "ハヤシ", "hayashi", 6, ()),
    ("斎藤", "サイトウ", "saito", 6, ("齋藤", "齊藤")), ("清水", "シミズ", "shimizu", 6, ()),
    ("山崎", "ヤマザキ", "yamazaki", 5, ("山﨑",)), ("森", "モリ", "mori", 5, ()),
    ("池田", "イケダ", "ikeda", 5, ()), ("橋本", "ハシモト", "hashimoto", 5, ()),
    ("阿部", "アベ", "abe", 5, ()), ("石川", "イシカワ", "ishikawa", 5, ()),
    ("山下", "ヤマシタ", "yamashita", 4, ()), ("中島", "ナカジマ", "nakajima", 4, ()),
    ("石井", "イシイ", "ishii", 4, ()), ("小川", "オガワ", "ogawa", 4, ()),
    ("前田", "マエダ", "maeda", 4, ()), ("岡田", "オカダ", "okada", 4, ()),
    ("長谷川", "ハセガワ", "hasegawa", 4, ()), ("藤田", "フジタ", "fujita", 4, ()),
    ("後藤", "ゴトウ", "goto", 4, ()), ("近藤", "コンドウ", "kondo", 4, ()),
    ("村上", "ムラカミ", "murakami", 3, ()), ("遠藤", "エンドウ", "endo", 3, ()),
    ("青木", "アオキ", "aoki", 3, ()), ("坂本", "サカモト", "sakamoto", 3, ()),
    ("福田", "フクダ", "fukuda", 3, ()), ("太田", "オオタ", "ota", 3, ()),
    ("西村", "ニシムラ", "nishimura", 3, ()), ("藤井", "フジイ", "fujii", 3, ()),
    ("金子", "カネコ", "kaneko", 3, ()), ("岡本", "オカモト", "okamoto", 3, ()),
    ("藤原", "フジワラ", "fujiwara", 3, ()), ("中野", "ナカノ", "nakano", 3, ()),
    ("三浦", "ミウラ", "miura", 3, ()), ("原田", "ハラダ", "harada", 3, ()),
    ("松田", "マツダ", "matsuda", 3, ()), ("竹内", "タケウチ", "takeuchi", 3, ()),
    ("小野", "オノ", "ono", 3, ()), ("中川", "ナカガワ", "nakagawa", 3, ()),
    ("宮崎", "ミヤザキ", "miyazaki", 2, ("宮﨑",)), ("浜田", "ハマダ", "hamada", 2, ("濱田",)),
    ("沢田", "サワダ", "sawada", 2, ("澤田",)), ("桜井", "サクライ", "sakurai", 2, ("櫻井",)),
    ("広瀬", "ヒロセ", "hirose", 2, ("廣瀬",)), ("島田", "シマダ", "shimada", 2, ("嶋田",)),
    ("伊東", "イトウ", "ito", 2, ()), ("野口", "ノグチ", "noguchi", 2, ()),
    ("菊地", "キクチ", "kikuchi", 2, ()), ("菊池", "キクチ", "kikuchi", 2, ()),
)
# 伊藤 / 伊東: same reading, different families
_ITO, _ITO2 = (next(i for i, s in enumerate(SURNAMES) if s[0] == name) for name in ("伊藤", "伊東"))

FEMALE = (
    ("恵子", "ケイコ", "keiko"), ("洋子", "ヨウコ", "yoko"), ("幸子", "サチコ", "sachiko"), ("京子", "キョウコ", "kyoko"),
    ("裕子", "ユウコ", "yuko"), ("直美", "ナオミ", "naomi"), ("由美子", "ユミコ", "yumiko"), ("真由美", "マユミ", "mayumi"),
    ("久美子", "クミコ", "kumiko"), ("智子", "トモコ", "tomoko"), ("陽子", "ヨウコ", "yoko"), ("明美", "アケミ", "akemi"),
    ("美穂", "ミホ", "miho"), ("美香", "ミカ", "mika"), ("純子", "ジュンコ", "junko"), ("典子", "ノリコ", "noriko"),
    ("美紀", "ミキ", "miki"), ("香織", "カオリ", "kaori"), ("優子", "ユウコ", "yuko"), ("麻衣", "マイ", "mai"),
    ("愛", "アイ", "ai"), ("彩", "アヤ", "aya"), ("美咲", "ミサキ", "misaki"), ("奈々", "ナナ", "nana"),
    ("さくら", "サクラ", "sakura"), ("千尋", "チヒロ", "chihiro"), ("由紀", "ユキ", "yuki"), ("真理子", "マリコ", "mariko"),
    ("和子", "カズコ", "kazuko"), ("敏子", "トシコ", "toshiko"), ("節子", "セツコ", "setsuko"), ("弘子", "ヒロコ", "hiroko"),
    ("礼子", "レイコ", "reiko"), ("佳代", "カヨ", "kayo"), ("聡子", "サトコ", "satoko"), ("理恵", "リエ", "rie"),
    ("沙織", "サオリ", "saori"), ("瞳", "ヒトミ", "hitomi"), ("綾香", "アヤカ", "ayaka"), ("友美", "トモミ", "tomomi"),
    ("里美", "サトミ", "satomi"), ("亜希子", "アキコ", "akiko"), ("恵美", "エミ", "emi"), ("紀子", "ノリコ", "noriko"),
    ("美由紀", "ミユキ", "miyuki"), ("加奈子", "カナコ", "kanako"), ("早苗", "サナエ", "sanae"), ("文子", "フミコ", "fumiko"),
)
MALE = (
    ("誠", "マコト", "makoto"), ("浩", "ヒロシ", "hiroshi"), ("健一", "ケンイチ", "kenichi"), ("隆", "タカシ", "takashi"),
    ("大輔", "ダイスケ", "daisuke"), ("拓也", "タクヤ", "takuya"), ("翔太", "ショウタ", "shota"), ("和夫", "カズオ", "kazuo"),
    ("茂", "シゲル", "shigeru"), ("博", "ヒロシ", "hiroshi"), ("修", "オサム", "osamu"), ("剛", "ツヨシ", "tsuyoshi"),
    ("達也", "タツヤ", "tatsuya"), ("直樹", "ナオキ", "naoki"), ("健太", "ケンタ", "kenta"), ("亮", "リョウ", "ryo"),
    ("勇", "イサム", "isamu"), ("清", "キヨシ", "kiyoshi"), ("正", "タダシ", "tadashi"), ("進", "ススム", "susumu"),
    ("明", "アキラ", "akira"), ("学", "マナブ", "manabu"), ("聡", "サトシ", "satoshi"), ("秀樹", "ヒデキ", "hideki"),
    ("雅之", "マサユキ", "masayuki"), ("康弘", "ヤスヒロ", "yasuhiro"), ("一郎", "イチロウ", "ichiro"), ("和也", "カズヤ", "kazuya"),
    ("俊介", "シュンスケ", "shunsuke"), ("大樹", "ダイキ", "daiki"),
)
GIVEN = FEMALE + MALE
_NF = len(FEMALE)

# (都道府県, 市区町村, 町域, 郵便番号, 市外局番, weight)
PLACES = (
    ("北海道", "札幌市中央区", "北一条西", "0600001", "011", 4), ("北海道", "札幌市北区", "北七条西", "0600807", "011", 3),
    ("北海道", "旭川市", "宮下通", "0700030", "0166", 1), ("北海道", "函館市", "本町", "0400011", "0138", 1),
    ("青森県", "青森市", "新町", "0300801", "017", 1), ("宮城県", "仙台市青葉区", "一番町", "9800811", "022", 3),
    ("東京都", "新宿区", "西新宿", "1600023", "03", 5), ("東京都", "世田谷区", "三軒茶屋", "1540024", "03", 6),
    ("東京都", "練馬区", "豊玉北", "1760012", "03", 4), ("東京都", "八王子市", "旭町", "1920083", "042", 3),
    ("東京都", "江東区", "豊洲", "1350061", "03", 3), ("東京都", "杉並区", "阿佐谷南", "1660004", "03", 4),
    ("神奈川県", "横浜市港北区", "日吉", "2230061", "045", 5), ("神奈川県", "川崎市中原区", "小杉町", "2110063", "044", 4),
    ("神奈川県", "相模原市中央区", "相模原", "2520231", "042", 2), ("埼玉県", "さいたま市浦和区", "高砂", "3300063", "048", 4),
    ("埼玉県", "川口市", "栄町", "3320017", "048", 3), ("千葉県", "千葉市中央区", "富士見", "2600015", "043", 3),
    ("千葉県", "船橋市", "本町", "2730005", "047", 3), ("茨城県", "水戸市", "宮町", "3100015", "029", 2),
    ("栃木県", "宇都宮市", "馬場通り", "3200026", "028", 2), ("群馬県", "高崎市", "八島町", "3700849", "027", 2),
    ("新潟県", "新潟市中央区", "万代", "9500088", "025", 2), ("長野県", "長野市", "南長野", "3800836", "026", 2),
    ("静岡県", "静岡市葵区", "紺屋町", "4200852", "054", 2), ("静岡県", "浜松市中央区", "砂山町", "4300926", "053", 2),
    ("愛知県", "名古屋市中村区", "名駅", "4500002", "052", 4), ("愛知県", "名古屋市千種区", "今池", "4640850", "052", 3),
    ("愛知県", "豊田市", "若宮町", "4710026", "0565", 2), ("岐阜県", "岐阜市", "橋本町", "5008856", "058", 2),
    ("三重県", "津市", "羽所町", "5140009", "059", 1), ("京都府", "京都市右京区", "西院東中水町", "6158005", "075", 3),
    ("大阪府", "大阪市北区", "梅田", "5300001", "06", 5), ("大阪府", "大阪市天王寺区", "上本町", "5430001", "06", 3),
    ("大阪府", "堺市堺区", "中瓦町", "5900028", "072", 3), ("大阪府", "豊中市", "本町", "5600021", "06", 3),
    ("兵庫県", "神戸市中央区", "三宮町", "6500021", "078", 4), ("兵庫県", "西宮市", "高松町", "6638204", "0798", 2),
    ("奈良県", "奈良市", "大宮町", "6308115", "0742", 2), ("広島県", "広島市中区", "紙屋町", "7300031", "082", 3),
    ("岡山県", "岡山市北区", "駅前町", "7000023", "086", 2), ("香川県", "高松市", "丸亀町", "7600029", "087", 1),
    ("愛媛県", "松山市", "大街道", "7900004", "089", 1), ("福岡県", "福岡市博多区", "博多駅前", "8120011", "092", 4),
    ("福岡県", "福岡市中央区", "天神", "8100001", "092", 3), ("福岡県", "北九州市小倉北区", "魚町", "8020006", "093", 2),
    ("熊本県", "熊本市中央区", "下通", "8600807", "096", 2), ("鹿児島県", "鹿児島市", "東千石町", "8920842", "099", 1),
    ("沖縄県", "那覇市", "久茂地", "9000015", "098", 1),
)
BUILDINGS = ("コーポ桜", "グランドメゾン", "サンハイツ", "ライオンズマンション", "パークハウス", "メゾン・ド・フルール",
             "ハイツ緑", "シャトー青葉", "レジデンス南", "ヴィラ若葉", "コスモ台", "ロイヤルハイツ", "ファミール", "ベルメゾン",
             "アーバンコート", "エステート")
STAFF = ("田中 美咲", "山本 健太", "小林 由紀", "中村 直子", "吉田 翔")

# (商品, 通常価格, 初回価格, 定期価格) in yen: supplements and cosmetics
PRODUCTS = (
    ("ビタミンC+ 30日分", 3980, 980, 3480), ("青汁プレミアム", 4980, 1480, 3980), ("コラーゲンドリンク", 6480, 1980, 5480),
    ("グルコサミンEX", 5400, 1200, 4320), ("美容液ルミエール 30ml", 8800, 1980, 7480), ("薬用育毛エッセンス", 12000, 1980, 9800),
    ("酵素ダイエット", 3300, 980, 2980), ("オールインワンゲル", 4400, 1280, 3740),
)
_PRODUCT_W = np.array([5, 4, 3, 3, 3, 2, 2, 3], float)

ORDER_CHANNELS = ("EC", "電話", "店舗", "SNS", "紹介", "LINE")
_ORDER_CHANNEL_W = np.array([55, 15, 5, 6, 4, 15], float)

DOMAINS = ("gmail.com", "yahoo.co.jp", "icloud.com", "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp",
           "i.softbank.jp", "outlook.jp", "hotmail.co.jp", "nifty.com", "ocn.ne.jp", "biglobe.ne.jp")
_DOMAIN_W = np.array([28, 20, 12, 8, 5, 3, 5, 3, 4, 4, 3, 3, 2], float)
_CARRIER_DOMAINS = (3, 4, 6)  # old feature-phone addresses: docomo / ezweb / softbank
_WORDS = ("hana", "sakura", "momo", "happy", "lucky", "sky", "blue", "cherry", "smile", "kirara", "mint", "sora")

NOTES = ("定期便は月末お届け希望", "日中は携帯に連絡", "ギフト包装希望", "代引き希望", "敏感肌とのこと", "電話は夕方以降",
         "家族も購入あり", "住所変更済み", "DM不要と申し出あり", "友人紹介", "サンプル請求から購入", "お得意様",
         "置き配希望", "不在が多い")

CONTACT_TEXT = {
    "問い合わせ": ("資料請求", "サンプル請求", "成分についての質問", "価格の問い合わせ", "定期コースの内容確認",
                "お届け日の確認", "支払方法の確認"),
    "クレーム": ("配送遅延のご指摘", "商品破損", "肌に合わないとのご連絡", "請求金額の相違", "定期の解約方法がわからない",
              "電話がつながらなかった"),
    "フォロー": ("初回購入後のフォローコール", "使用感の確認", "2回目購入のご案内", "定期便のご案内", "休眠前のお声がけ"),
    "DM": ("新商品案内DM送付", "誕生月クーポン送付", "休眠顧客向けDM送付", "定期会員向け会報送付"),
    "その他": ("住所変更の連絡", "支払方法変更", "定期お届け日変更", "解約の申し出", "定期の休止希望"),
    "アンケート": ("購入後アンケート回答", "満足度アンケート回答", "同梱はがきアンケート回答"),
    "レビュー": ("商品レビュー投稿", "ECサイトにレビュー投稿", "口コミ投稿"),
    "商談": ("初回のご相談", "ご提案内容を説明", "見積書を送付", "ご契約・初回注文", "今回は見送りとのこと"),
}
SFA_FLOW = ("問い合わせ", "提案", "見積", "成約", "失注")
CONTACT_CHANNELS = ("電話", "メール", "LINE", "店頭", "郵送", "チャット")

# --- character-level typing habits --------------------------------------------------------------------------------

_FW = str.maketrans("0123456789-", "０１２３４５６７８９－")
_FW_CHOON = str.maketrans("0123456789-", "０１２３４５６７８９ー")  # the long-vowel bar typed as a hyphen
_KANJI_NUM = "〇一二三四五六七八九"


def _half_kana_table() -> dict:
    out = {}
    for code in range(0xFF66, 0xFF9E):
        h = chr(code)
        out.setdefault(unicodedata.normalize("NFKC", h), h)
        for mark in ("ﾞ", "ﾟ"):
            full = unicodedata.normalize("NFKC", h + mark)
            if len(full) == 1:
                out.setdefault(full, h + mark)
    out["　"] = " "
    return out


_HALF = str.maketrans(_half_kana_table())
_HIRA = str.maketrans({chr(c): chr(c - 0x60) for c in range(ord("ァ"), ord("ヶ") + 1)})

_EPOCH = dt.date(1970, 1, 1)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _wareki(d: dt.date, short: bool) -> str:
    for start, name, letter in ((dt.date(2019, 5, 1), "令和", "R"), (dt.date(1989, 1, 8), "平成", "H"),
                                (dt.date(1926, 12, 25), "昭和", "S")):
        if d >= start:
            y = d.year - start.year + 1
            break
    else:
        name, letter, y = "大正", "T", d.year - 1911
    if short:
        return f"{letter}{y}.{d.month}.{d.day}"
    return f"{name}{'元' if y == 1 else y}年{d.month}月{d.day}日"


# date formats as staff type them; index = the code drawn per cell
_DATE_FORMATS = (
    lambda d: d.isoformat(),                                         # 2024-04-01
    lambda d: f"{d.year}/{d.month}/{d.day}",                          # 2024/4/1
    lambda d: d.strftime("%Y/%m/%d"),                                 # 2024/04/01
    lambda d: dt.datetime(d.year, d.month, d.day),                    # a date cell
    lambda d: f"{d.year}年{d.month}月{d.day}日",                        # 2024年4月1日
    lambda d: _wareki(d, False),                                      # 令和6年4月1日
    lambda d: _wareki(d, True),                                       # R6.4.1
    lambda d: (d - _EXCEL_EPOCH).days,                                # 45383 (a serial that lost its format)
    lambda d: f"{d.year}/{d.month}/{d.day}".translate(_FW),           # ２０２４/４/１
)


def _format_dates(days: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Days since 1970 → raw cell values in the format drawn per cell (each distinct day formatted once)."""
    out = np.empty(len(days), dtype=object)
    uniq, inv = np.unique(days, return_inverse=True)
    dates = [_EPOCH + dt.timedelta(days=int(x)) for x in uniq]
    for code in np.unique(codes):
        table = np.empty(len(uniq), dtype=object)
        table[:] = [_DATE_FORMATS[code](d) for d in dates]
        m = codes == code
        out[m] = table[inv[m]]
    return out


def _pick(rng, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _phone_text(digits: str, head: int, fmt: int, mobile: bool = False):
    a, b, c = digits[:head], digits[head:-4], digits[-4:]
    if fmt == 0:
        return f"{a}-{b}-{c}"
    if fmt == 1:
        return digits
    if fmt == 2:
        return f"{a}-{b}-{c}".translate(_FW)
    if fmt == 3:
        return f"{a}({b}){c}" if mobile else f"({a}){b}-{c}"
    if fmt == 4:
        return f"+81 {a[1:]}-{b}-{c}"
    if fmt == 5:
        return f"{a} {b} {c}"
    return int(digits)  # a number cell: Excel ate the leading 0


def _address_text(city: str, town: str, chome: int, ban: int, go: int, fmt: int) -> str:
    if fmt == 0:
        return f"{city}{town}{chome}丁目{ban}番{go}号"
    if fmt == 1:
        return f"{city}{town}{chome}-{ban}-{go}"
    if fmt == 2:
        return f"{city}{town}{_KANJI_NUM[chome]}丁目{ban}-{go}"
    if fmt == 3:
        return f"{city}{town}{chome}丁目{ban}番地{go}"
    if fmt == 4:
        return f"{city}{town}" + f"{chome}-{ban}-{go}".translate(_FW)
    if fmt == 5:
        return f"{city}{town}{_KANJI_NUM[chome]}丁目{ban}番{go}号"
    return f"{city}{town}" + f"{chome}-{ban}-{go}".translate(_FW_CHOON)


def _building_text(b: int, room: int, fmt: int) -> str:
    name = BUILDINGS[b]
    if fmt == 0:
        return f"{name} {room}"
    if fmt == 1:
        return f"{name}{room}号室"
    if fmt == 2:
        return f"{name}　{str(room).translate(_FW)}"
    return f"{name} {room}号"


def _postcode_text(pc: str, fmt: int) -> str:
    h = f"{pc[:3]}-{pc[3:]}"
    return (h, pc, "〒" + h, h.translate(_FW), "〒" + pc)[fmt]


# --- generation ---------------------------------------------------------------------------------------------------

_VARIANTS = ("width", "kana", "itaiji", "phone", "address", "old_email")


def _as_of_day(as_of) -> int:
    d = pd.Timestamp(as_of if as_of is not None else dt.date.today()).normalize()
    return int((d - pd.Timestamp("1970-01-01")).days)


class _Demo:
    """One generated shop. Attributes are numpy arrays over persons (P) or customer rows (R)."""

    def __init__(self, customers: int, seed: int, as_of):
        if customers < 10:
            raise ValueError("customers must be at least 10")
        self.rng = np.random.default_rng(seed)
        # referrals, surveys and sales stages draw from their own streams, so adding them left every other
        # generated value as it was
        self.rng_more = np.random.default_rng([seed, 1])
        self.seed = seed
        self.today = _as_of_day(as_of)
        self.n = customers
        self._persons()
        self._rows()

    # persons: one real human each -------------------------------------------------------------------------------
    def _persons(self):
        rng, n = self.rng, self.n
        self.n_dup = n_dup = max(1, round(n * 0.04))
        P = self.P = n - n_dup
        female = rng.random(P) < 0.78
        sur = _pick(rng, P, [s[3] for s in SURNAMES])
        given = np.where(female, rng.integers(0, _NF, P), _NF + rng.integers(0, len(MALE), P))
        n_var = np.array([len(s[4]) for s in SURNAMES])
        # a person whose registered name uses the 異体字 (髙橋 is how she writes it)
        form = np.where((n_var[sur] > 0) & (rng.random(P) < 0.15), 1 + (rng.random(P) * np.maximum(n_var[sur], 1)).astype(int), 0)
        age_days = (np.clip(rng.normal(52, 13, P), 20, 88) * 365.25).astype(int)
        birth = self.today - age_days
        place = _pick(rng, P, [p[5] for p in PLACES])
        chome, ban, go = rng.integers(1, 10, P), rng.integers(1, 31, P), rng.integers(1, 21, P)
        has_bld = rng.random(P) < 0.35
        bld, room = rng.integers(0, len(BUILDINGS), P), rng.integers(1, 13, P) * 100 + rng.integers(1, 10, P)
        has_land = rng.random(P) < 0.45
        has_mob = (rng.random(P) < 0.85) | ~has_land
        land_local = rng.integers(10**7, 10**8, P)  # local digits, cut to the area code's length below
        mob = np.array(["090", "080", "070"])[_pick(rng, P, [50, 40, 10])]
        mob_num = rng.integers(10**7, 10**8, P)
        has_mail = rng.random(P) < 0.7
        mail_pat, mail_num, mail_dom = rng.integers(0, 5, P), rng.integers(1, 1000, P), _pick(rng, P, _DOMAIN_W)
        prospect = rng.random(P) < 0.2
        # registration: over the last three years, more of it recent (the shop grows)
        reg = self.today - 1 - (rng.beta(1.0, 1.3, P) * 1094).astype(int)

        # planted traps on disjoint people: households, same-name strangers, 伊藤/伊東
        k_house, k_same, k_ito = max(1, round(P * 0.03)), max(1, round(P * 0.005)), max(1, round(P * 0.003))
        perm = rng.permutation(P)
        cut = np.cumsum([0, k_house, k_house, k_same, k_same, k_ito, k_ito])
        ha, hm = perm[cut[0]:cut[1]], perm[cut[1]:cut[2]]
        sa, sm = perm[cut[2]:cut[3]], perm[cut[3]:cut[4]]
        ia, im = perm[cut[4]:cut[5]], perm[cut[5]:cut[6]]
        # household: same surname, address, building and landline; own given name, birth date, mobile
        for a in (sur, form, place, chome, ban, go, has_bld, bld, room, land_local):
            a[hm] = a[ha]
        has_land[hm] = has_land[ha] = True
        male_m = rng.random(len(hm)) < 0.5
        given[hm] = np.where(male_m, _NF + rng.integers(0, len(MALE), len(hm)), rng.integers(0, _NF, len(hm)))
        clash = given[hm] == given[ha]
        given[hm[clash]] = np.where(given[hm[clash]] < _NF, (given[hm[clash]] + 1) % _NF,
                                    _NF + (given[hm[clash]] - _NF + 1) % len(MALE))
        female[hm] = given[hm] < _NF
        share_mail = rng.random(len(hm)) < 0.15  # families often share one address
        for a in (has_mail, mail_pat, mail_num, mail_dom):
            a[hm[share_mail]] = a[ha[share_mail]]
        # same-name strangers: same name and reading, nothing else in common
        sur[sm], form[sm], given[sm], female[sm] = sur[sa], form[sa], given[sa], female[sa]
        # 伊藤 / 伊東 with the same given name: same フリガナ, different people
        sur[ia], sur[im], form[ia], form[im] = _ITO, _ITO2, 0, 0
        given[im], female[im] = given[ia], female[ia]
        self.traps = [(ha, hm, "household"), (sa, sm, "same_name"), (ia, im, "same_kana")]

        self.p = dict(female=female, sur=sur, given=given, form=form, birth=birth, place=place, chome=chome, ban=ban,
                      go=go, has_bld=has_bld, bld=bld, room=room, has_land=has_land, land_local=land_local,
                      has_mob=has_mob, mob=mob, mob_num=mob_num, has_mail=has_mail, mail_pat=mail_pat,
                      mail_num=mail_num, mail_dom=mail_dom, prospect=prospect, reg=reg)

    # rows: persons plus their duplicate records -------------------------------------------------------------------
    def _rows(self):
        rng, P, n_dup = self.rng, self.P, self.n_dup
        n_orig = max(1, round(n_dup * 0.9))
        orig = rng.choice(P, n_orig, replace=False)
        orig = np.concatenate([orig, rng.choice(orig, n_dup - n_orig)])  # a few people entered three times
        row_person = np.concatenate([np.arange(P), orig])
        r = {k: v[row_person].copy() for k, v in self.p.items()}
        R = self.n
        is_dup = np.zeros(R, bool)
        is_dup[P:] = True
        d = np.arange(P, R)

        married = rng.random(n_dup) < 0.1
        n_var = np.array([len(s[4]) for s in SURNAMES])
        variants = np.zeros((R, len(_VARIANTS)), bool)
        k = 1 + _pick(rng, n_dup, [50, 35, 15])
        for j, row in enumerate(d):
            if married[j]:
                continue
            chosen = rng.choice(len(_VARIANTS), k[j], replace=False)
            variants[row, chosen] = True
        itaiji_ok = n_var[r["sur"]] > 0
        no_itaiji = variants[:, 2] & ~itaiji_ok
        variants[no_itaiji, 2], variants[no_itaiji, 0] = False, True
        v = {name: variants[:, i] for i, name in enumerate(_VARIANTS)}
        # 異体字: the other form of the surname than the original record used
        it = v["itaiji"]
        r["form"][it] = np.where(r["form"][it] > 0, 0, 1 + (rng.random(it.sum()) * n_var[r["sur"][it]]).astype(int))
        # an old e-mail address from feature-phone days (or a new one): a different address, same person
        om = v["old_email"]
        r["has_mail"][om] = True
        r["mail_pat"][om] = (r["mail_pat"][om] + 1 + rng.integers(0, 4, om.sum())) % 5
        r["mail_num"][om] = rng.integers(1, 1000, om.sum())
        r["mail_dom"][om] = np.array(_CARRIER_DOMAINS)[rng.integers(0, 3, om.sum())]
        # married: new surname; same given name, birth date and mobile; often a new address and no landline
        mr = np.zeros(R, bool)
        mr[d[married]] = True
        self.old_sur = r["sur"].copy()
        r["sur"][mr] = (r["sur"][mr] + 1 + rng.integers(0, len(SURNAMES) - 1, mr.sum())) % len(SURNAMES)
        r["form"][mr] = 0
        # both records show the mobile and the birth date: the only keys a married duplicate keeps
        all_records = np.isin(row_person, orig[married])
        r["has_mob"][all_records] = True
        self.show_birth = all_records
        moved = mr & (rng.random(R) < 0.6)
        r["place"][moved] = _pick(rng, moved.sum(), [p[5] for p in PLACES])
        for key, lo, hi in (("chome", 1, 10), ("ban", 1, 31), ("go", 1, 21)):
            r[key][moved] = rng.integers(lo, hi, moved.sum())
        r["has_land"][moved] = False
        r["has_mail"][mr] &= rng.random(mr.sum()) < 0.5
        # the second record is made later, often when a prospect finally orders by phone
        r["reg"][is_dup] = np.minimum(r["reg"][is_dup] + rng.integers(20, 700, n_dup), self.today - 1)
        r["prospect"][is_dup] &= rng.random(n_dup) < 0.3
        dup_of = np.full(R, -1)
        dup_of[P:] = orig

        # customer IDs follow registration order, as a shop's numbering does
        order = np.argsort(r["reg"], kind="stable")
        self.r = {k2: a[order] for k2, a in r.items()}
        self.is_dup, self.married, self.show_birth = is_dup[order], mr[order], self.show_birth[order]
        self.variants = {k2: a[order] for k2, a in v.items()}
        self.old_sur = self.old_sur[order]
        self.row_person = row_person[order]
        pos_of_row = np.empty(R, int)
        pos_of_row[order] = np.arange(R)
        self.dup_of_pos = np.where(dup_of[order] >= 0, pos_of_row[np.maximum(dup_of[order], 0)], -1)
        self.pos_of_person = pos_of_row[:P]  # persons are rows 0..P-1 before sorting
        width = max(5, len(str(R)))
        self.ids = np.array([f"C{i:0{width}d}" for i in range(1, R + 1)], dtype=object)

    # truth ----------------------------------------------------------------------------------------------------
    def truth(self) -> pd.DataFrame:
        ids = self.ids
        rows = []
        person_rows: dict[int, list[int]] = {}
        for pos, person in enumerate(self.row_person):
            person_rows.setdefault(int(person), []).append(pos)
        for pos in np.flatnonzero(self.is_dup):
            for other in person_rows[int(self.row_person[pos])]:
                if other != pos and (not self.is_dup[other] or other < pos):
                    # two later records of one person differ from each other by both their variants
                    how = "married" if self.married[pos] or self.married[other] else ",".join(
                        k for k in _VARIANTS if self.variants[k][pos] or self.variants[k][other])
                    a, b = sorted((other, pos))
                    rows.append((ids[a], ids[b], "duplicate", True, how))
        for a, b, rel in self.traps:
            for x, y in zip(self.pos_of_person[a], self.pos_of_person[b]):
                rows.append((ids[x], ids[y], rel, False, ""))
        return pd.DataFrame(rows, columns=["id_a", "id_b", "relation", "same_person", "variants"])

    # customers table -------------------------------------------------------------------------------------------
    def customers(self) -> pd.DataFrame:
        rng, r, R, v = self.rng, self.r, self.n, self.variants
        name_sep = np.array(["　", " ", ""])[_pick(rng, R, [55, 25, 20])]
        kana_fmt = _pick(rng, R, [63, 10, 7, 8, 6, 6])  # full+space, half space, no space, hiragana, half-width, blank
        kana_fmt[v["kana"]] = rng.choice([2, 3, 4], v["kana"].sum())
        gender_fmt = _pick(rng, R, [70, 10, 20])
        birth_blank = (rng.random(R) < 0.35) & ~self.show_birth
        birth_code = _pick(rng, R, [25, 25, 10, 10, 8, 12, 6, 2, 2])
        pc_fmt = _pick(rng, R, [68, 20, 7, 3, 2])
        pc_fmt[v["width"]] = 3
        pref_fmt = _pick(rng, R, [89, 8, 3])  # 都道府県 column, in 住所 instead, short form (東京)
        addr_fmt = _pick(rng, R, [35, 33, 8, 6, 10, 5, 3])
        addr_fmt[v["width"]] = 4
        redo = v["address"]
        addr_fmt[redo] = (addr_fmt[redo] + rng.integers(1, 7, redo.sum())) % 7
        bld_fmt = _pick(rng, R, [45, 35, 10, 10])
        bld_in_addr = rng.random(R) < 0.05
        bld_drop = redo & (rng.random(R) < 0.5)
        ph_fmt_mob = _pick(rng, R, [60, 15, 7, 3, 4, 8, 3])
        ph_fmt_land = _pick(rng, R, [65, 12, 6, 10, 1, 4, 2])
        ph_fmt_mob[v["width"]] = ph_fmt_land[v["width"]] = 2
        pv = v["phone"]
        ph_fmt_mob[pv] = (ph_fmt_mob[pv] + rng.integers(1, 6, pv.sum())) % 6
        ph_fmt_land[pv] = (ph_fmt_land[pv] + rng.integers(1, 6, pv.sum())) % 6
        mob_in_phone = (rng.random(R) < 0.4) | (pv & (rng.random(R) < 0.5))
        mail_case = _pick(rng, R, [94, 3, 3])  # as typed, upper case, stray spaces
        company = rng.random(R) < 0.03
        dm = np.array(["可", "不可", "○", "×", ""], dtype=object)[_pick(rng, R, [45, 8, 15, 4, 28])]
        mail_ok = np.array(["可", "不可", "○", "×", ""], dtype=object)[_pick(rng, R, [50, 10, 10, 3, 27])]
        staff = np.array(STAFF + ("",), dtype=object)[_pick(rng, R, [20, 20, 18, 18, 14, 10])]
        reg_code = _pick(rng, R, [30, 25, 10, 15, 6, 4, 3, 4, 3])
        note = rng.random(R) < 0.12
        note_i = rng.integers(0, len(NOTES), R)
        kind_fmt = _pick(rng, R, [97, 2, 1])

        names, kanas, genders, pcs, prefs, addrs, blds, phones, mobiles, mails, companies, notes, kinds = \
            ([] for _ in range(13))
        for i in range(R):
            s, g = SURNAMES[r["sur"][i]], GIVEN[r["given"][i]]
            sname = s[4][r["form"][i] - 1] if r["form"][i] else s[0]
            names.append(f"{sname}{name_sep[i]}{g[0]}")
            kf = kana_fmt[i]
            kana = f"{s[1]}{'　' if kf == 0 else ' ' if kf == 1 else '' if kf == 2 else '　'}{g[1]}"
            kanas.append("" if kf == 5 else kana.translate(_HIRA) if kf == 3 else kana.translate(_HALF) if kf == 4
                         else kana)
            fem = r["female"][i]
            genders.append(("女" if fem else "男", "女性" if fem else "男性", "")[gender_fmt[i]])
            pl = PLACES[r["place"][i]]
            pcs.append(_postcode_text(pl[3], pc_fmt[i]))
            pref = pl[0] if pref_fmt[i] != 2 or pl[0] == "北海道" else pl[0][:-1]
            addr = _address_text(pl[1], pl[2], r["chome"][i], r["ban"][i], r["go"][i], addr_fmt[i])
            bld = ""
            if r["has_bld"][i] and not bld_drop[i]:
                bld = _building_text(r["bld"][i], r["room"][i], bld_fmt[i])
                if bld_in_addr[i]:
                    addr, bld = f"{addr} {bld}", ""
            if pref_fmt[i] == 1:
                pref, addr = "", pref + addr
            prefs.append(pref)
            addrs.append(addr)
            blds.append(bld)
            mob = f"{r['mob'][i]}{r['mob_num'][i]}" if r["has_mob"][i] else ""
            land, area = "", pl[4]
            if r["has_land"][i]:
                land = area + str(r["land_local"][i])[: 10 - len(area)]
            phone = _phone_text(land, len(area), ph_fmt_land[i]) if land else ""
            mobile = _phone_text(mob, 3, ph_fmt_mob[i], mobile=True) if mob else ""
            if not land and mob and mob_in_phone[i]:
                phone, mobile = mobile, ""
            phones.append(phone)
            mobiles.append(mobile)
            mails.append(self._mail(i, g, s, mail_case[i]) if r["has_mail"][i] else "")
            companies.append(f"株式会社{s[0]}商事" if company[i] else "")
            if self.married[i] and note[i]:
                notes.append(f"旧姓 {SURNAMES[self.old_sur[i]][0]}")
            else:
                notes.append(NOTES[note_i[i]] if note[i] else "")
            kinds.append(("見込み", "見込", "見込み客")[kind_fmt[i]] if r["prospect"][i] else "顧客")
        birth = _format_dates(r["birth"], birth_code)
        birth[birth_blank] = ""
        mail_ok = np.where(np.array(mails) == "", np.where(rng.random(R) < 0.2, "不可", ""), mail_ok)
        cols = {
            "customer_id": self.ids, "kind": kinds, "name": names, "kana": kanas, "gender": genders,
            "birth_date": birth, "postcode": pcs, "prefecture": prefs, "address": addrs, "building": blds,
            "phone": phones, "mobile": mobiles, "email": mails, "company": companies, "dm_ok": dm,
            "mail_ok": mail_ok, "staff": staff, "registered_on": _format_dates(r["reg"], reg_code), "notes": notes,
            "referrer_id": self._referrers(),
        }
        self.staff = staff
        return pd.DataFrame({CUSTOMERS.header(k): pd.Series(val, dtype=object) for k, val in cols.items()})

    def _referrers(self) -> np.ndarray:
        """紹介者ID: about 6% of buyers were referred by a buyer registered earlier (ids of original records)."""
        rng, r, R = self.rng_more, self.r, self.n
        out = np.full(R, "", dtype=object)
        pool = np.flatnonzero(~r["prospect"] & ~self.is_dup)
        referred = pool[rng.random(len(pool)) < 0.06]
        by_reg = pool[np.argsort(r["reg"][pool], kind="stable")]
        regs = r["reg"][by_reg]
        for i in referred:
            earlier = np.searchsorted(regs, r["reg"][i])  # referrers registered before the referred customer
            if earlier:
                out[i] = self.ids[by_reg[rng.integers(0, earlier)]]
        self.referred = out != ""
        return out

    def _mail(self, i: int, g, s, case: int) -> str:
        r = self.r
        pat, num = r["mail_pat"][i], r["mail_num"][i]
        yy = (_EPOCH + dt.timedelta(days=int(r["birth"][i]))).year % 100
        local = (f"{g[2]}.{s[2]}", f"{s[2]}{g[2][0]}{yy:02d}", f"{g[2]}{num}", f"{g[2]}_{s[2]}{num % 100}",
                 f"{_WORDS[num % len(_WORDS)]}{num}")[pat]
        mail = f"{local}@{DOMAINS[r['mail_dom'][i]]}"
        if case == 1:
            return mail.upper() if num % 2 else mail[0].upper() + mail[1:]
        if case == 2:
            return f" {mail}" if num % 2 else mail.replace("@", " @")
        return mail

    # orders ----------------------------------------------------------------------------------------------------
    def orders(self) -> pd.DataFrame:
        rng, r, today = self.rng, self.r, self.today
        buyers = np.flatnonzero(~r["prospect"])
        B = len(buyers)
        seg = _pick(rng, B, [35, 25, 30, 10])  # 0 定期, 1 repeat one-off, 2 one-time, 3 churned
        reg = r["reg"][buyers]
        first = np.minimum(reg + np.where(rng.random(B) < 0.75, 0, rng.integers(1, 60, B)), today)
        seg[(seg == 3) & (first > today - 450)] = 2  # too recent to have churned
        cycle = np.array([30, 60, 45])[_pick(rng, B, [70, 25, 5])]
        cancel_after = np.where(rng.random(B) < 0.3, 10**6, rng.geometric(0.08, B))
        n = np.select(
            [seg == 0, seg == 1, seg == 2],
            [np.minimum((today - first) // cycle + 1, cancel_after), 1 + rng.geometric(0.22, B), np.ones(B, int)],
            rng.integers(2, 6, B))
        n = np.maximum(n, 1)
        product = _pick(rng, B, _PRODUCT_W)
        pref_channel = _pick(rng, B, _ORDER_CHANNEL_W)

        total = int(n.sum())
        owner = np.repeat(np.arange(B), n)
        starts = np.cumsum(n) - n
        j = np.arange(total) - np.repeat(starts, n)
        s = seg[owner]
        gap = np.where(s == 0, cycle[owner] + rng.integers(-3, 4, total),
                       np.where(s == 1, 20 + rng.exponential(70, total), 25 + rng.exponential(40, total))).astype(int)
        gap[j == 0] = 0
        cs = np.cumsum(gap)
        day = first[owner] + cs - np.repeat(cs[starts], n)
        keep = day <= today
        owner, j, s, day = owner[keep], j[keep], s[keep], day[keep]
        m = len(owner)
        prod = product[owner].copy()
        cross = (s == 1) & (j > 0) & (rng.random(m) < 0.12)
        prod[cross] = _pick(rng, cross.sum(), _PRODUCT_W)
        price = np.array([p[1:] for p in PRODUCTS])  # regular, first, subscription
        trial = (j == 0) & np.where(s == 0, True, rng.random(m) < np.where(s == 2, 0.7, 0.5))
        qty = np.where(trial, 1, 1 + _pick(rng, m, [85, 12, 3]))
        unit = np.where(trial, price[prod, 1], np.where(s == 0, price[prod, 2], price[prod, 0]))
        amount = unit * qty
        channel = np.where(rng.random(m) < 0.85, pref_channel[owner], _pick(rng, m, _ORDER_CHANNEL_W))
        sub = s == 0
        # returns (返品): a negative row a week or two later
        ret = rng.random(m) < 0.003
        rday = day[ret] + rng.integers(7, 21, ret.sum())
        rok = rday <= today
        ri = np.flatnonzero(ret)[rok]
        owner = np.concatenate([owner, owner[ri]])
        day = np.concatenate([day, rday[rok]])
        prod = np.concatenate([prod, prod[ri]])
        qty = np.concatenate([qty, -qty[ri]])
        amount = np.concatenate([amount, -amount[ri]])
        channel = np.concatenate([channel, channel[ri]])
        sub = np.concatenate([sub, np.zeros(len(ri), bool)])
        is_ret = np.concatenate([np.zeros(m, bool), np.ones(len(ri), bool)])

        cust_pos = buyers[owner]
        o = np.lexsort((is_ret, cust_pos, day))
        cust_pos, day, prod, qty, amount, channel, sub, is_ret = (
            a[o] for a in (cust_pos, day, prod, qty, amount, channel, sub, is_ret))
        self.first_order = dict(zip(*np.unique(cust_pos, return_index=True)))
        self.order_days, self.order_cust, self.order_ret = day, cust_pos, is_ret
        if hasattr(self, "referred"):
            firsts = np.array(list(self.first_order.values()), dtype=int)
            channel[firsts[self.referred[cust_pos[firsts]]]] = ORDER_CHANNELS.index("紹介")
        M = len(day)
        width = max(6, len(str(M)))
        ids = np.array([f"O{i:0{width}d}" for i in range(1, M + 1)], dtype=object)

        amt = np.empty(M, dtype=object)
        amt[:] = amount.tolist()
        afmt = _pick(rng, M, [80, 6, 4, 4, 2, 2, 2])
        for i in np.flatnonzero(afmt > 0):
            a, f = int(amount[i]), afmt[i]
            if a < 0:
                amt[i] = f"△{-a:,}" if f % 2 else str(a)
            else:
                amt[i] = (None, f"¥{a:,}", f"{a:,}", f"{a}円", str(a).translate(_FW), float(a), f"￥{a:,}")[f]
        q = np.empty(M, dtype=object)
        q[:] = qty.tolist()
        qfmt = _pick(rng, M, [94, 3, 1, 2])
        q[qfmt == 1] = [f"{x}個" for x in qty[qfmt == 1]]
        q[qfmt == 2] = [str(x).translate(_FW) for x in qty[qfmt == 2]]
        q[qfmt == 3] = np.nan
        flag = np.empty(M, dtype=object)
        fl_sub = np.array(["定期", "○", "1", True], dtype=object)[_pick(rng, M, [40, 30, 10, 20])]
        fl_one = np.array(["", "×", "0", False], dtype=object)[_pick(rng, M, [70, 20, 5, 5])]
        flag[:] = np.where(sub, fl_sub, fl_one)
        cols = {
            "order_id": ids, "customer_id": self.ids[cust_pos],
            "order_date": _format_dates(day, _pick(rng, M, [45, 20, 10, 15, 3, 2, 2, 2, 1])),
            "amount": amt, "product": np.array([p[0] for p in PRODUCTS], dtype=object)[prod], "quantity": q,
            "channel": np.array(ORDER_CHANNELS, dtype=object)[channel], "subscription": flag,
        }
        return pd.DataFrame({ORDERS.header(k): pd.Series(val, dtype=object) for k, val in cols.items()})

    def coupons(self) -> pd.Series:
        """クーポン of each order row: half of the second purchases of the last 120 days that came 25–55 days after
        the first carry the F2 coupon of the default step chain (`F2-<顧客ID>`). Own random stream: every other
        value stays as it was."""
        rng = np.random.default_rng([self.seed, 2])
        o = pd.DataFrame({"c": self.order_cust, "d": self.order_days})[~self.order_ret]
        first = o.groupby("c")["d"].transform("min")
        later = o[o["d"] > first]
        second = later.groupby("c")["d"].idxmin()            # the row of each customer's second purchase day
        gap = o.loc[second.to_numpy(), "d"].to_numpy() - first[second.to_numpy()].to_numpy()
        recent = o.loc[second.to_numpy(), "d"].to_numpy() > self.today - 120    # since the chain began
        pick = second.to_numpy()[(gap >= 25) & (gap <= 55) & recent & (rng.random(len(second)) < 0.5)]
        out = np.full(len(self.order_days), "", dtype=object)
        out[pick] = ["F2-" + x for x in self.ids[self.order_cust[pick]]]
        return pd.Series(out, dtype=object)

    # contacts --------------------------------------------------------------------------------------------------
    def contacts(self) -> pd.DataFrame:
        rng, r, today, R = self.rng, self.r, self.today, self.n
        parts = []  # (customer row, day, type)
        fo_cust = np.array(list(self.first_order.keys()), dtype=int)
        fo_day = self.order_days[np.array(list(self.first_order.values()), dtype=int)]
        pick = rng.random(len(fo_cust)) < 0.4
        parts.append((fo_cust[pick], fo_day[pick] + rng.integers(7, 15, pick.sum()), 2))
        comp = rng.random(len(self.order_days)) < 0.02
        parts.append((self.order_cust[comp], self.order_days[comp] + rng.integers(2, 11, comp.sum()), 1))
        pros = np.flatnonzero(r["prospect"] & (rng.random(R) < 0.8))
        parts.append((pros, r["reg"][pros], 0))
        q = np.flatnonzero(~r["prospect"] & (rng.random(R) < 0.2))
        parts.append((q, r["reg"][q] + (rng.random(len(q)) * (today - r["reg"][q])).astype(int), 0))
        dm = np.flatnonzero(rng.random(R) < 0.15)
        parts.append((dm, r["reg"][dm] + (rng.random(len(dm)) * (today - r["reg"][dm])).astype(int), 3))
        other = np.flatnonzero(~r["prospect"] & (rng.random(R) < 0.08))
        parts.append((other, r["reg"][other] + (rng.random(len(other)) * (today - r["reg"][other])).astype(int), 4))
        parts = [(c, d, t, np.full(len(c), np.nan), np.full(len(c), -1)) for c, d, t in parts]
        parts += self._survey_parts() + self._sales_parts()
        cust = np.concatenate([p[0] for p in parts]).astype(int)
        day = np.concatenate([p[1] for p in parts]).astype(int)
        typ = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
        score = np.concatenate([p[3] for p in parts])
        stage = np.concatenate([p[4] for p in parts]).astype(int)
        keep = day <= today
        cust, day, typ, score, stage = cust[keep], day[keep], typ[keep], score[keep], stage[keep]
        C = len(cust)
        minute = rng.integers(9 * 60, 18 * 60, C)
        o = np.lexsort((stage, cust, minute, day))
        cust, day, typ, minute, score, stage = cust[o], day[o], typ[o], minute[o], score[o], stage[o]
        types = list(CONTACT_TEXT)
        age = today - day
        st = np.where(age > 30, np.where(rng.random(C) < 0.97, 2, 1),
                      np.where(age > 14, _pick(rng, C, [5, 20, 75]), _pick(rng, C, [35, 30, 35])))
        st[typ >= 5] = 2  # answers, reviews and sales meetings are records of something done
        st_txt = np.array(["未対応", "対応中", "完了"], dtype=object)[st]
        alt = rng.random(C) < 0.03
        st_txt[alt & (st == 2)] = "済"
        st_txt[alt & (st == 0)] = "未着手"
        ch = np.where(typ == 3, np.where(rng.random(C) < 0.6, 4, 1), _pick(rng, C, [45, 25, 12, 5, 0, 5]))
        staff = np.where(rng.random(C) < 0.7, self.staff[cust],
                         np.array(STAFF, dtype=object)[rng.integers(0, len(STAFF), C)])
        summary_i = rng.integers(0, 100, C)
        at_fmt = _pick(rng, C, [40, 25, 25, 10])
        ats, summaries, type_txt = [], [], []
        for i in range(C):
            d = _EPOCH + dt.timedelta(days=int(day[i]))
            hh, mm = divmod(int(minute[i]), 60)
            f = at_fmt[i]
            ats.append(f"{d.year}/{d.month:02d}/{d.day:02d} {hh:02d}:{mm:02d}" if f == 0 else
                       f"{d.isoformat()} {hh:02d}:{mm:02d}:00" if f == 1 else
                       dt.datetime(d.year, d.month, d.day, hh, mm) if f == 2 else f"{d.year}/{d.month}/{d.day}")
            t = types[typ[i]]
            texts = CONTACT_TEXT[t]
            summaries.append(texts[stage[i]] if t == "商談" else texts[summary_i[i] % len(texts)])
            type_txt.append("問合せ" if t == "問い合わせ" and summary_i[i] < 3 else t)
        width = max(6, len(str(C)))
        cols = {
            "contact_id": np.array([f"R{i:0{width}d}" for i in range(1, C + 1)], dtype=object),
            "customer_id": self.ids[cust], "at": ats,
            "channel": np.array(CONTACT_CHANNELS, dtype=object)[ch], "type": type_txt, "summary": summaries,
            "staff": staff, "status": st_txt,
            "score": np.where(np.isnan(score), "", score.astype(object)),
            "stage": np.array(SFA_FLOW + ("",), dtype=object)[stage],
        }
        cols["score"] = [("" if x == "" else int(x)) for x in cols["score"]]
        return pd.DataFrame({CONTACTS.header(k): pd.Series(val, dtype=object) for k, val in cols.items()})

    def _survey_parts(self) -> list:
        """アンケート (1–5) a week or two after a first order, lower from buyers who did not come back; and
        レビュー (1–5) after some orders."""
        rng, types = self.rng_more, list(CONTACT_TEXT)
        fo_cust = np.array(list(self.first_order.keys()), dtype=int)
        fo_day = self.order_days[np.array(list(self.first_order.values()), dtype=int)]
        n_orders = np.bincount(self.order_cust, minlength=self.n)[fo_cust]
        ask = rng.random(len(fo_cust)) < 0.35
        c, d, once = fo_cust[ask], fo_day[ask] + rng.integers(7, 21, ask.sum()), n_orders[ask] == 1
        happy = rng.choice(5, len(c), p=[0.02, 0.04, 0.14, 0.40, 0.40]) + 1
        unhappy = rng.choice(5, len(c), p=[0.12, 0.18, 0.30, 0.25, 0.15]) + 1
        survey = (c, d, types.index("アンケート"), np.where(once, unhappy, happy).astype(float), np.full(len(c), -1))
        rev = rng.random(len(self.order_days)) < 0.06
        rc, rd = self.order_cust[rev], self.order_days[rev] + rng.integers(3, 11, rev.sum())
        rs = (rng.choice(5, len(rc), p=[0.05, 0.07, 0.15, 0.33, 0.40]) + 1).astype(float)
        review = (rc, rd, types.index("レビュー"), rs, np.full(len(rc), -1))
        return [survey, review]

    def _sales_parts(self) -> list:
        """商談 rows with a 商談段階: most prospects' deals (問い合わせ → 提案 → 見積 → 成約 / 失注 or still open), and
        the deals some buyers went through before their first order (ending 成約 on that day)."""
        rng, r, today, typ = self.rng_more, self.r, self.today, list(CONTACT_TEXT).index("商談")
        cs, ds, ss = [], [], []
        pros = np.flatnonzero(r["prospect"])
        for i in pros[rng.random(len(pros)) < 0.7]:
            day = int(r["reg"][i])
            cs.append(i), ds.append(day), ss.append(0)
            for stage in (1, 2):
                if rng.random() >= 0.6:
                    break
                day += int(rng.integers(5, 21))
                cs.append(i), ds.append(day), ss.append(stage)
            else:
                end = rng.random()
                if end < 0.6:
                    cs.append(i), ds.append(day + int(rng.integers(5, 21))), ss.append(3 if end < 0.2 else 4)
                    continue
            if day < today - 120 and rng.random() < 0.8:   # most deals left open for months were lost
                cs.append(i), ds.append(day + int(rng.integers(30, 90))), ss.append(4)
        for i, pos in self.first_order.items():
            first, reg = int(self.order_days[pos]), int(r["reg"][i])
            if first - reg >= 10 and rng.random() < 0.5:
                cs += [i, i, i]
                ds += [reg, reg + (first - reg) // 2, first]
                ss += [0, 1, 3]
        n = len(cs)
        return [(np.array(cs, dtype=int), np.array(ds, dtype=int), typ, np.full(n, np.nan), np.array(ss, dtype=int))]


def make_demo(customers: int = 1000, seed: int = 0, as_of=None) -> dict[str, pd.DataFrame]:
    """Raw demo tables {"customers", "orders", "contacts"}: Japanese headers, values as staff type them.

    `customers` is the number of customer rows (planted duplicates included); orders run up to `as_of`
    (default: today). Same seed and as-of date → identical frames. Each frame's index is 0..n-1.
    """
    demo = _Demo(customers, seed, as_of)
    out = {"customers": demo.customers()}
    out["orders"] = demo.orders()
    out["orders"][ORDERS.header("coupon")] = demo.coupons()
    out["contacts"] = demo.contacts()
    return out


def demo_truth(customers: int = 1000, seed: int = 0, as_of=None) -> pd.DataFrame:
    """Ground truth for `make_demo(customers, seed, as_of)`: one row per planted pair of customer IDs.

    relation "duplicate" (same_person True; `variants` says how the second record differs: width, kana, itaiji,
    phone, address, old_email, or married) or a trap that is not the same person (same_person False):
    "household" (same address and landline), "same_name" (same 氏名 and フリガナ), "same_kana" (伊藤/伊東).
    Every pair of rows not listed as a duplicate is two different people.
    """
    return _Demo(customers, seed, as_of).truth()
