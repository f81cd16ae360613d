"""A Japanese customer list with known duplicates, typed the way shop staff type them — the dedupe benchmark.

    python benchmarks/jp_dedupe_data.py --people 8000 --out jp.csv

`make(people, seed)` returns (customers, truth): customers in our schema's English keys (customer_id, name, kana,
birth_date, postcode, prefecture, address, building, phone, mobile, email), truth = person_id per customer_id.

Duplicates carry every variant the issue lists: 髙橋/高橋 and other 異体字, ｻﾄｳ/さとう/サトウ, phones in any format
(full-width, brackets, +81, no hyphens, mobile typed into 電話番号), 1丁目2番3号 / 1-2-3 / 一丁目二番三号 / full width,
a building dropped, postcodes with and without 〒 and hyphen, an old e-mail, a married surname (new family name,
reading and address; same given name, birth date and mobile). Hard negatives: families at one address sharing the
landline (different given names), strangers with the same name and reading, 伊藤/伊東-type pairs (same reading,
different kanji) in the same town.

`make(..., hard=True)` is the harder customer sheet of issue #17: families sharing one e-mail address (and the
landline and address), twins (one birth date, address and often e-mail; own given names and mobiles), people who
moved house, kana slips, 様 after a name, addresses without the prefecture or without the city, family and given
names swapped, and a 性別 column.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

# family names with reading; the list is in rough order of frequency (Zipf weights below)
FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
          ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
          ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
          ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
          ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
          ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"), ("小川", "オガワ"),
          ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"),
          ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
          ("伊東", "イトウ"), ("加東", "カトウ"), ("斉藤", "サイトウ"), ("浜田", "ハマダ"), ("広瀬", "ヒロセ"),
          ("沢田", "サワダ"), ("桜井", "サクライ"), ("島田", "シマダ"), ("宮崎", "ミヤザキ"), ("渡部", "ワタナベ"),
          ("河野", "コウノ"), ("高田", "タカダ"), ("大野", "オオノ"), ("小野", "オノ"), ("菅原", "スガワラ"),
          ("服部", "ハットリ"), ("野口", "ノグチ"), ("松田", "マツダ"), ("工藤", "クドウ"), ("太田", "オオタ")]
# 異体字 a clerk may type instead (the folding table of xlcrm.normalize must undo these)
ITAIJI = {"高橋": ["髙橋"], "渡辺": ["渡邊", "渡邉"], "山崎": ["山﨑"], "斎藤": ["齋藤"], "浜田": ["濱田"],
          "広瀬": ["廣瀬"], "沢田": ["澤田"], "桜井": ["櫻井"], "島田": ["嶋田"], "宮崎": ["宮﨑"], "高田": ["髙田"]}
MALE = [("太郎", "タロウ"), ("一郎", "イチロウ"), ("健", "ケン"), ("翔", "ショウ"), ("大輔", "ダイスケ"),
        ("誠", "マコト"), ("拓也", "タクヤ"), ("直樹", "ナオキ"), ("浩", "ヒロシ"), ("隆", "タカシ"),
        ("剛", "ツヨシ"), ("学", "マナブ"), ("修", "オサム"), ("蓮", "レン"), ("悠真", "ユウマ"),
        ("大翔", "ヒロト"), ("陽太", "ヨウタ"), ("健太", "ケンタ"), ("亮", "リョウ"), ("和也", "カズヤ"),
        ("達也", "タツヤ"), ("哲也", "テツヤ"), ("雄一", "ユウイチ"), ("正人", "マサト"), ("博", "ヒロシ"),
        ("茂", "シゲル"), ("勇", "イサム"), ("進", "ススム"), ("実", "ミノル"), ("清", "キヨシ"),
        ("昭", "アキラ"), ("光", "ヒカル"), ("裕太", "ユウタ"), ("俊介", "シュンスケ"), ("陸", "リク")]
FEMALE = [("花子", "ハナコ"), ("陽子", "ヨウコ"), ("恵子", "ケイコ"), ("美咲", "ミサキ"), ("さくら", "サクラ"),
          ("由美", "ユミ"), ("久美子", "クミコ"), ("真由美", "マユミ"), ("智子", "トモコ"), ("裕子", "ユウコ"),
          ("直美", "ナオミ"), ("明美", "アケミ"), ("幸子", "サチコ"), ("愛", "アイ"), ("結衣", "ユイ"),
          ("陽菜", "ヒナ"), ("葵", "アオイ"), ("凛", "リン"), ("美穂", "ミホ"), ("香織", "カオリ"),
          ("麻衣", "マイ"), ("千尋", "チヒロ"), ("彩", "アヤ"), ("舞", "マイ"), ("優子", "ユウコ"),
          ("典子", "ノリコ"), ("和子", "カズコ"), ("節子", "セツコ"), ("洋子", "ヨウコ"), ("京子", "キョウコ"),
          ("純子", "ジュンコ"), ("綾乃", "アヤノ"), ("七海", "ナナミ"), ("杏", "アン"), ("琴音", "コトネ")]
PLACES = [("東京都", "世田谷区", "桜新町"), ("東京都", "杉並区", "阿佐谷南"), ("東京都", "練馬区", "石神井町"),
          ("神奈川県", "横浜市港北区", "日吉"), ("神奈川県", "川崎市中原区", "小杉町"), ("埼玉県", "さいたま市浦和区", "岸町"),
          ("千葉県", "船橋市", "本町"), ("大阪府", "大阪市北区", "梅田"), ("大阪府", "豊中市", "新千里東町"),
          ("愛知県", "名古屋市千種区", "覚王山通"), ("福岡県", "福岡市中央区", "大名"), ("北海道", "札幌市中央区", "南一条西"),
          ("宮城県", "仙台市青葉区", "一番町"), ("京都府", "京都市左京区", "下鴨"), ("兵庫県", "神戸市東灘区", "住吉本町"),
          ("広島県", "広島市中区", "紙屋町"), ("静岡県", "静岡市葵区", "呉服町"), ("新潟県", "新潟市中央区", "古町通")]
BUILDINGS = ["コーポ", "メゾン", "ハイツ", "レジデンス", "パークハウス", "グランドール", "サンライズ", "エクセル"]
DOMAINS = ["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "icloud.com", "outlook.jp", "nifty.com"]
ROMAJI = {"ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o", "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke",
          "コ": "ko", "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so", "タ": "ta", "チ": "chi", "ツ": "tsu",
          "テ": "te", "ト": "to", "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no", "ハ": "ha", "ヒ": "hi",
          "フ": "fu", "ヘ": "he", "ホ": "ho", "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo", "ヤ": "ya",
          "ユ": "yu", "ヨ": "yo", "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro", "ワ": "wa", "ン": "n",
          "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go", "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze",
          "ゾ": "zo", "ダ": "da", "デ": "de", "ド": "do", "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
          "ッ": "", "ョ": "yo", "ュ": "yu", "ャ": "ya"}
KANJI_DIGITS = "〇一二三四五六七八九"
_HALF = dict(zip("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワンッャュョー",
                 "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝｯｬｭｮｰ"))
_DAKU = dict(zip("ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポ", "カキクケコサシスセソタチツテトハヒフヘホハヒフヘホ"))


def romaji(kana: str) -> str:
    return "".join(ROMAJI.get(c, "") for c in kana)


def half_kana(s: str) -> str:
    out = []
    for c in s:
        if c in _DAKU:
            base = _DAKU[c]
            out.append(_HALF.get(base, base) + ("ﾟ" if c in "パピプペポ" else "ﾞ"))
        else:
            out.append(_HALF.get(c, c))
    return "".join(out)


def hiragana(s: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)


def kanji_num(n: int) -> str:
    return "".join(KANJI_DIGITS[int(d)] for d in str(n)) if n < 10 else ("十" if n == 10 else str(n))


def full_width(s: str) -> str:
    return s.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))


def _landline(rng) -> str:
    """A 10-digit fixed-line number in 03 (Tokyo) or 06 (Osaka), both with 2-digit area codes; a subscriber number
    starting 2–9, as real ones do (phonenumbers rejects 03-0…, and so would staff)."""
    return f"0{3 if int(rng.integers(3, 7)) < 5 else 6}{int(rng.integers(2 * 10**7, 10**8))}"


def _mobile(rng) -> str:
    """070/080/090 and 8 digits, the first not 0 (090-0… is not allocated: phonenumbers rejects it)."""
    return f"0{rng.choice([70, 80, 90])}{int(rng.integers(10**7, 10**8))}"


def _phone_fmt(rng, digits: str) -> str:
    a, b, c = (digits[:3], digits[3:7], digits[7:]) if digits.startswith("0") and digits[1] in "789" and \
        digits[2] == "0" else (digits[:2], digits[2:6], digits[6:])
    k = rng.integers(0, 6)
    return [f"{a}-{b}-{c}", digits, full_width(f"{a}-{b}-{c}"), f"({a}){b}-{c}", f"+81 {a[1:]}-{b}-{c}",
            f"{a} {b} {c}"][k]


def _address_fmt(rng, town: str, c1: int, c2: int, c3: int) -> str:
    k = rng.integers(0, 5)
    return [f"{town}{c1}丁目{c2}番{c3}号", f"{town}{c1}-{c2}-{c3}", f"{town}{kanji_num(c1)}丁目{c2}番地{c3}号",
            f"{town}{full_width(f'{c1}-{c2}-{c3}')}", f"{town}{c1}丁目{c2}-{c3}"][k]


def make(people: int = 8000, seed: int = 0, dup_rate: float = 0.25, hard: bool = False
         ) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    fam_w = 1 / np.arange(1, len(FAMILY) + 1) ** 0.7
    fam_w /= fam_w.sum()
    persons = []

    def new_person(pid, *, family=None, address=None, landline=None, email_domain=None, given=None, dob=None,
                   place=None, email=None, female=None):
        drawn = bool(rng.integers(0, 2))
        if female is None:  # the hard sheet has 性別: there a given name fits the sex
            female = given in FEMALE if (hard and given is not None) else drawn
        fam = family or FAMILY[rng.choice(len(FAMILY), p=fam_w)]
        giv = given or (FEMALE if female else MALE)[rng.integers(0, 35)]
        if dob is None:
            dob = pd.Timestamp("1940-01-01") + pd.Timedelta(days=int(rng.integers(0, 365 * 65)))
        if place is None:
            place = PLACES[rng.integers(0, len(PLACES))]
        if address is None:
            c = (int(rng.integers(1, 10)), int(rng.integers(1, 30)), int(rng.integers(1, 25)))
            bldg = f"{BUILDINGS[rng.integers(0, len(BUILDINGS))]}{place[2][:1]}{int(rng.integers(101, 1200))}" \
                if rng.random() < 0.4 else ""
            postcode = f"{int(rng.integers(1000000, 9999999)):07d}"
            address = (place, c, bldg, postcode)
        mobile = _mobile(rng) if rng.random() < 0.85 else ""
        if landline is None and rng.random() < 0.45:
            landline = _landline(rng)
        user = f"{romaji(giv[1])}.{romaji(fam[1])}{int(rng.integers(1, 999))}"
        if email is None:
            email = f"{user}@{DOMAINS[rng.integers(0, len(DOMAINS))]}" if rng.random() < 0.7 else ""
        p = dict(pid=pid, fam=fam, giv=giv, dob=dob, address=address, mobile=mobile, landline=landline or "",
                 email=email, female=female)
        persons.append(p)
        return p

    pid = 0
    while len(persons) < people:
        r = rng.random()
        if r < 0.06:   # a family at one address: shared landline, own given names and birth dates
            head = new_person(pid, landline=_landline(rng))
            pid += 1
            taken = {head["giv"][0]}
            # on the hard sheet most families also share one e-mail address (the head's)
            shared_mail = head["email"] if hard and head["email"] and rng.random() < 0.7 else None
            for _ in range(int(rng.integers(1, 4))):
                pool = [g for g in MALE + FEMALE if g[0] not in taken]  # no two of a family share a given name
                giv = pool[rng.integers(0, len(pool))]
                taken.add(giv[0])
                new_person(pid, family=head["fam"], address=head["address"], landline=head["landline"],
                           place=head["address"][0], given=giv, email=shared_mail)
                pid += 1
        elif r < 0.09:  # strangers with the same name and reading
            a = new_person(pid)
            new_person(pid + 1, family=a["fam"], given=a["giv"])
            pid += 2
        elif r < 0.11:  # same reading, different kanji, same town: 伊藤/伊東, 加藤/加東, 斎藤/斉藤, 渡辺/渡部
            pair = [("伊藤", "イトウ"), ("伊東", "イトウ")] if rng.random() < 0.4 else \
                [("加藤", "カトウ"), ("加東", "カトウ")] if rng.random() < 0.4 else \
                [("斎藤", "サイトウ"), ("斉藤", "サイトウ")] if rng.random() < 0.5 else [("渡辺", "ワタナベ"), ("渡部", "ワタナベ")]
            a = new_person(pid, family=pair[0])
            new_person(pid + 1, family=pair[1], given=a["giv"], place=a["address"][0])
            pid += 2
        elif hard and r < 0.135:  # twins: one birth date, address, landline and often e-mail; own names, mobiles
            a = new_person(pid, landline=_landline(rng) if rng.random() < 0.6 else None)
            pool = [g for g in MALE + FEMALE if g[0] != a["giv"][0] and g[1] != a["giv"][1]]
            new_person(pid + 1, family=a["fam"], address=a["address"], landline=a["landline"],
                       place=a["address"][0], given=pool[rng.integers(0, len(pool))], dob=a["dob"],
                       email=a["email"] if a["email"] and rng.random() < 0.6 else None)
            pid += 2
        else:
            new_person(pid)
            pid += 1

    rows = []
    for p in persons:
        copies = 1
        if rng.random() < dup_rate:
            copies += 1 + int(rng.random() < 0.2)
        married = bool(p["female"] and copies > 1 and rng.random() < 0.25)
        moved = bool(hard and copies > 1 and not married and rng.random() < 0.2)
        for k in range(copies):
            rows.append(_record(rng, p, variant=k > 0, married=married and k == copies - 1, fam_w=fam_w,
                                moved=moved and k == copies - 1, hard=hard))
    df = pd.DataFrame(rows)
    df = df.sample(frac=1, random_state=seed).reset_index(drop=True)
    df.insert(0, "customer_id", [f"C{i + 1:06d}" for i in range(len(df))])
    truth = pd.Series(df.pop("person_id").to_numpy(), index=df["customer_id"])
    return df, truth


def _record(rng, p, *, variant: bool, married: bool, fam_w, moved: bool = False, hard: bool = False) -> dict:
    fam, giv = p["fam"], p["giv"]
    place, (c1, c2, c3), bldg, postcode = p["address"]
    mobile, landline, email, dob = p["mobile"], p["landline"], p["email"], p["dob"]
    if married:  # new family name and reading, moved house; the given name, birth date and mobile stay
        fam = FAMILY[rng.choice(len(FAMILY), p=fam_w)]
        place = PLACES[rng.integers(0, len(PLACES))]
        c1, c2, c3 = int(rng.integers(1, 10)), int(rng.integers(1, 30)), int(rng.integers(1, 25))
        bldg, postcode, landline = "", f"{int(rng.integers(1000000, 9999999)):07d}", ""
        if not mobile:
            mobile = _mobile(rng)
        if email and rng.random() < 0.5:
            email = email.split("@")[0] + "@" + DOMAINS[rng.integers(0, len(DOMAINS))]
    if moved:  # moved house: new address, postcode and landline; name, birth date, mobile and e-mail stay
        place = PLACES[rng.integers(0, len(PLACES))]
        c1, c2, c3 = int(rng.integers(1, 10)), int(rng.integers(1, 30)), int(rng.integers(1, 25))
        bldg, postcode = "", f"{int(rng.integers(1000000, 9999999)):07d}"
        landline = _landline(rng) if landline else ""
    fam_written = fam[0]
    if variant and fam[0] in ITAIJI and rng.random() < 0.6:
        fam_written = ITAIJI[fam[0]][rng.integers(0, len(ITAIJI[fam[0]]))]
    sep = ["", " ", "　"][rng.integers(0, 3)] if variant else " "
    name = f"{fam_written}{sep}{giv[0]}"
    kana = f"{fam[1]} {giv[1]}"
    if variant and hard:
        if rng.random() < 0.08:  # family and given name swapped, the way a form in Latin order is read
            name, kana = f"{giv[0]} {fam_written}", f"{giv[1]} {fam[1]}"
        if rng.random() < 0.1:
            name += "様"
        if rng.random() < 0.1:  # a kana slip: one character of the reading dropped or doubled
            k = int(rng.integers(0, len(kana)))
            if kana[k] != " ":
                kana = kana[:k] + kana[k + 1:] if rng.random() < 0.5 else kana[:k] + kana[k] + kana[k:]
    if variant:
        k = rng.integers(0, 5)
        kana = [kana, hiragana(kana), half_kana(kana), kana.replace(" ", ""), ""][k]
    phone_col, mobile_col = (_phone_fmt(rng, landline) if landline else ""), (_phone_fmt(rng, mobile) if mobile else "")
    if variant:
        if rng.random() < 0.15 and mobile_col:  # the mobile typed into 電話番号
            phone_col, mobile_col = mobile_col, ""
        if rng.random() < 0.15:
            phone_col = ""
        if rng.random() < 0.25 and email:  # an old e-mail address
            email = f"{romaji(giv[1])}{int(rng.integers(10, 99))}@{DOMAINS[rng.integers(0, len(DOMAINS))]}"
        elif rng.random() < 0.15:
            email = email.upper()
        if rng.random() < 0.1:
            email = ""
        if rng.random() < 0.12:
            dob = pd.NaT
    address = _address_fmt(rng, place[2], c1, c2, c3) if variant else f"{place[2]}{c1}丁目{c2}番{c3}号"
    pref = place[0]
    city = place[1]
    r = rng.random() if variant else 1.0
    if r < 0.2:  # prefecture typed into the address cell, 都道府県 left blank
        address, pref = pref + city + address, ""
    elif hard and r < 0.35:  # the address starts at the city or ward, 都道府県 left blank
        address, pref = city + address, ""
    elif hard and r < 0.45:  # the city left out: 都道府県 and the town only
        pass
    else:
        address = city + address
    if variant and rng.random() < 0.3:
        bldg = ""
    pc = postcode
    if variant:
        pc = [f"{postcode[:3]}-{postcode[3:]}", postcode, f"〒{postcode[:3]}-{postcode[3:]}",
              full_width(f"{postcode[:3]}-{postcode[3:]}")][rng.integers(0, 4)]
    else:
        pc = f"{postcode[:3]}-{postcode[3:]}"
    out = dict(person_id=p["pid"], name=name, kana=kana,
                birth_date="" if pd.isna(dob) else dob.strftime("%Y/%m/%d"),
                postcode=pc, prefecture=pref, address=address, building=bldg, phone=phone_col, mobile=mobile_col,
                email=email)
    if hard:  # 性別 in the forms staff type it, sometimes blank
        out["gender"] = ["", *(("女", "女性", "F") if p["female"] else ("男", "男性", "M"))][
            int(rng.integers(0, 4)) if variant else 1 + int(rng.integers(0, 3))]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hard", action="store_true", help="the harder sheet of issue #17 (households, twins, …)")
    a = ap.parse_args()
    df, truth = make(a.people, a.seed, hard=a.hard)
    df.assign(person_id=truth.to_numpy()).to_csv(a.out, index=False)
    print(f"{len(df)} records of {truth.nunique()} people -> {a.out}")


if __name__ == "__main__":
    main()
