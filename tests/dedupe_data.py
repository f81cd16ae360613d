"""Test data for dedupe and merge: a small customer list with the cases a clerk meets, over a background of
generated customers (benchmarks/jp_dedupe_data.py) so the EM has a population to learn from."""
from __future__ import annotations

import datetime as dt
import os
import sys

import openpyxl
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))

import jp_dedupe_data  # noqa: E402

COLUMNS = ["customer_id", "name", "kana", "birth_date", "postcode", "prefecture", "address", "building", "phone",
           "mobile", "email"]
HEADERS_JA = ["顧客ID", "氏名", "フリガナ", "生年月日", "郵便番号", "都道府県", "住所", "建物名", "電話番号", "携帯電話", "メール"]

CASES = [
    # one person typed twice: 髙橋/高橋, ｶﾅ/かな, phone formats, 1丁目2番3号 / 1-2-3
    ["T0001", "髙橋 一郎", "ﾀｶﾊｼ ｲﾁﾛｳ", "1980/01/02", "〒154-0001", "東京都", "世田谷区池尻1丁目2番3号", "", "03-3411-0001",
     "090-1234-5678", "ichiro@example.jp"],
    ["T0002", "高橋一郎", "たかはし いちろう", "1980-01-02", "1540001", "", "東京都世田谷区池尻１－２－３", "", "",
     "０９０１２３４５６７８", "Ichiro@Example.jp"],
    # a family at one address sharing the landline: different given names, different birth dates
    ["T0003", "山田 太郎", "ヤマダ タロウ", "1950/05/05", "530-0001", "大阪府", "大阪市北区梅田3丁目4番5号", "", "06-6345-0002",
     "", ""],
    ["T0004", "山田 花子", "ヤマダ ハナコ", "1953/08/08", "530-0001", "大阪府", "大阪市北区梅田3-4-5", "", "06-6345-0002",
     "", ""],
    # same reading, different kanji, different people: 伊藤 / 伊東
    ["T0005", "伊藤 誠", "イトウ マコト", "1970/03/03", "460-0001", "愛知県", "名古屋市中区三の丸1丁目1番1号", "", "",
     "080-1111-2222", "makoto.ito@example.jp"],
    ["T0006", "伊東 誠", "イトウ マコト", "1988/11/30", "460-0002", "愛知県", "名古屋市中区丸の内2丁目2番2号", "", "",
     "080-3333-4444", "m.ito@example.net"],
    # married: new family name and address; same given name, birth date and mobile
    ["T0007", "佐藤 美咲", "サトウ ミサキ", "1990/07/07", "060-0001", "北海道", "札幌市中央区北一条西1丁目1番1号", "", "",
     "070-5555-6666", "misaki@example.jp"],
    ["T0008", "鈴木 美咲", "スズキ ミサキ", "1990/07/07", "812-0011", "福岡県", "福岡市博多区博多駅前1-1-1", "", "",
     "07055556666", "misaki.suzuki@example.com"],
    # mother and daughter: one reading (ヨウコ), other kanji, one address and landline, one family e-mail
    ["T0009", "田中 洋子", "タナカ ヨウコ", "1950/02/02", "980-0811", "宮城県", "仙台市青葉区一番町2丁目3番4号", "",
     "022-222-3333", "", "tanaka.family@example.jp"],
    ["T0010", "田中 陽子", "タナカ ヨウコ", "1978/09/09", "980-0811", "宮城県", "仙台市青葉区一番町2-3-4", "",
     "022-222-3333", "080-9999-0000", "tanaka.family@example.jp"],
]


# issue #17: families sharing one e-mail, twins, moved house, 様, swapped names, kana slips, no prefecture; 性別 last
HARD_CASES = [
    # twins: one birth date, address and e-mail; other given names and mobiles
    ["H0001", "林 真由美", "ハヤシ マユミ", "1995/04/01", "135-0061", "東京都", "江東区豊洲1-2-27", "", "",
     "090-2000-0001", "hayashi.home@example.jp", "女"],
    ["H0002", "林 麻衣", "ハヤシ マイ", "1995/04/01", "135-0061", "東京都", "江東区豊洲1丁目2番27号", "", "",
     "090-2000-0002", "hayashi.home@example.jp", "女"],
    # twins of other sex sharing birth date, address, landline and e-mail
    ["H0003", "丸山 純子", "マルヤマ ジュンコ", "1988/10/10", "926-0000", "石川県", "七尾市藤橋町亥45-1", "", "0767-52-0000",
     "", "maruyama@example.jp", "女性"],
    ["H0004", "丸山 翔太", "マルヤマ ショウタ", "1988/10/10", "926-0000", "", "石川県七尾市藤橋町亥45-1", "", "0767-52-0000",
     "", "maruyama@example.jp", "男性"],
    # one person: moved house (new address and landline), 様 after the name, family and given name swapped
    ["H0005", "小川 直樹", "オガワ ナオキ", "1970/12/24", "141-0021", "東京都", "品川区上大崎1-10-15 2階", "",
     "03-3400-1111", "080-7000-1234", "naoki1224@example.jp", "男"],
    ["H0006", "直樹 小川様", "ナオキ オガワ", "1970/12/24", "590-0000", "大阪府", "堺市堺区南花田口町2丁3-10", "",
     "072-200-2222", "08070001234", "", "M"],
    # one person: a kana slip and the address without its prefecture
    ["H0007", "大野 恵子", "オオノ ケイコ", "1962/06/15", "135-0061", "東京都", "江東区豊洲3-3-3", "", "",
     "070-3000-4444", "", "F"],
    ["H0008", "大野 恵子", "オオノ ケコ", "1962/06/15", "", "", "江東区豊洲三丁目3番3号", "", "", "07030004444", "", ""],
]


def frame(background: int = 300, seed: int = 1, hard: bool = False) -> pd.DataFrame:
    """Customers (English keys) with the CASES first and generated customers after them; hard: the HARD_CASES
    too, and a 性別 (gender) column (blank for the others)."""
    bg, _truth = jp_dedupe_data.make(background, seed)
    bg = bg.assign(customer_id=[f"B{i:05d}" for i in range(len(bg))])
    cases = pd.DataFrame(CASES, columns=COLUMNS)
    out = pd.concat([cases, bg[COLUMNS]], ignore_index=True)
    if hard:
        out = pd.concat([pd.DataFrame(HARD_CASES, columns=[*COLUMNS, "gender"]), out.assign(gender="")],
                        ignore_index=True)
    return out


def make_book(path, background: int = 300, orders: bool = True, hard: bool = False):
    """A workbook with 顧客 (Japanese headers and a staff column), 注文 and 対応履歴; hard: with HARD_CASES
    and 性別."""
    df = frame(background, hard=hard)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    ws.append(HEADERS_JA + (["性別"] if hard else []) + ["登録日", "備考", "スタッフメモ"])
    for k, r in enumerate(df.itertuples(index=False)):
        note = {"T0001": "電話は夕方", "T0002": "旧住所あり"}.get(r.customer_id, None)
        reg = dt.datetime(2020, 1, 1) + dt.timedelta(days=k)
        ws.append([*r, reg, note, "要フォロー" if r.customer_id == "T0002" else None])
    o = wb.create_sheet("注文")
    o.append(["注文ID", "顧客ID", "注文日", "金額", "商品"])
    if orders:
        o.append(["O1", "T0001", dt.datetime(2024, 1, 5), 3980, "青汁"])
        o.append(["O2", "T0002", dt.datetime(2024, 2, 5), 3980, "青汁"])
        o.append(["O3", "T0002", dt.datetime(2024, 3, 5), 12800, "化粧水"])
        o.append(["O4", "T0003", dt.datetime(2024, 3, 6), 5000, "青汁"])
    c = wb.create_sheet("対応履歴")
    c.append(["対応ID", "顧客ID", "日時", "種別", "内容"])
    c.append(["K1", "T0001", dt.datetime(2024, 3, 2, 10, 30), "問い合わせ", "配送日の確認"])
    wb.save(path)
    return path
