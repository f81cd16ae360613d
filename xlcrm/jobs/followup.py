"""Jobs of the follow-up domain: refresh the フォローリスト (optionally as a campaign with a control group),
record a contact, show a customer's card (顧客カルテ), and report a campaign's effect."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import campaign as cp
from .. import contacts as ct
from .. import followup as fu
from .. import messages, schema
from ..book.base import col_letter
from ..messages import BadInput, Problem
from . import JobResult, steps
from .common import (COUNT, DATE, DATETIME, ENABLED, WHOLE, dress_keys, read_editable, read_table, scores,
                     write_table)
from .io import _text_headers, sheet_values
from .orders import read_orders
from .referrals import check as check_referrals
from .surveys import scale_of

MAX_ROW = 1_048_576       # an Excel sheet's last row
FOLLOW_SHEET = fu.FOLLOW_TABLE.ja
RULES_SHEET = fu.RULES_TABLE.ja
CARD_SHEET = "顧客カルテ"
CAMPAIGN_SHEET = cp.CAMPAIGNS_TABLE.ja
MEMBERS_SHEET = cp.MEMBERS_TABLE.ja
RESULT_SHEET = "キャンペーン結果"


def _now() -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.now().replace(microsecond=0))


def _lang(settings) -> str:
    return settings.lang


# widths of the フォローリスト's columns (characters); a column staff made wider stays so
LIST_WIDTHS = {"customer_id": 10, "name": 14, "reason": 40, "action": 36, "coupon": 14, "channel": 8, "priority": 7,
               "due": 11, "staff": 12, "status": 9, "memo": 30, "created": 16, "follow_id": 26, "rule": 22,
               "campaign_id": 14, "contact_ref": 10}
PRINTED = ("customer_id", "name", "reason", "action", "coupon", "channel", "priority", "due", "staff", "status", "memo")


def decorate_list(book, loc, headers: dict, staff=()) -> None:
    """Drop-downs of 状態 (未着手/対応中/完了/不要) and 担当者 (設定's 担当者一覧), dates and numbers formatted, widths
    that fit (room for the result memo), overdue open rows tinted red, and printing landscape on A4 with the header
    row on every page — as far as the engine can. `headers`: column key -> the header written.

    The drop-downs and the tint are replaced, not added, on every refresh, so they never pile up.
    """
    if loc is None or loc.rows == 0:
        return
    caps = book.capabilities()
    names = [str(h) for h in loc.headers]
    status_h, due_h = headers.get("status", "状態"), headers.get("due", "期限")
    if status_h not in names or due_h not in names:
        return
    sc = col_letter(loc.first_col + names.index(status_h))
    dc = col_letter(loc.first_col + names.index(due_h))
    first, last = loc.header_row + 1, loc.header_row + loc.rows
    h = lambda k: headers.get(k, fu.FOLLOW_TABLE.header(k))  # noqa: E731
    lists = {h("status"): fu.STATUSES}
    if staff:
        lists[h("staff")] = list(staff)
    book.dress_table(loc.name, number_formats={h("due"): DATE, h("created"): DATETIME, h("priority"): WHOLE},
                     widths={h(k): w for k, w in LIST_WIDTHS.items()}, lists=lists, header=True)   # printed on Monday morning
    # printed: the columns staff work with (顧客ID … 結果メモ), not the ids and time stamps at the right, so the page
    # stays readable; one contiguous range, as Excel and LibreOffice both print it on the same pages
    work = [names.index(h(k)) for k in PRINTED if h(k) in names]
    if work and "page_setup" in caps:
        book.page_setup(loc.sheet, landscape=True, fit_width=True, paper="A4",
                        title_rows=(loc.header_row, loc.header_row),
                        print_area=f"{col_letter(loc.first_col)}{loc.header_row}:"
                                   f"{col_letter(loc.first_col + max(work))}{last}")
    if "conditional_formats" in caps:
        overdue = f'AND(OR(${sc}{first}="未着手",${sc}{first}="対応中"),${dc}{first}<>"",${dc}{first}<TODAY())'
        end = col_letter(loc.first_col + len(names) - 1)
        book.add_formula_highlight(loc.sheet, f"{col_letter(loc.first_col)}{first}:{end}{last}", overdue, "FCE4E4",
                                   match=('"未着手"', "TODAY()"))


def staff_drop_downs(book, staff) -> None:
    """担当者 on 顧客 and 対応履歴 as a drop-down of 設定's 担当者一覧, down to the sheet's last row (rows staff add
    later too); nothing when the list is empty. The columns are staff's: only the drop-down is set."""
    if not staff or "validations" not in book.capabilities():
        return
    for t in (schema.CUSTOMERS, schema.CONTACTS):
        loc = book.locate(t.ja)
        if loc is None:
            continue
        heads = schema.header_map([str(h) for h in loc.headers if h is not None], t)
        h = next((h for h, k in heads.items() if k == "staff"), None)
        if h is None:
            continue
        letter = col_letter(loc.first_col + [str(x) for x in loc.headers].index(h))
        book.add_list_validation(loc.sheet, f"{letter}{loc.header_row + 1}:{letter}{MAX_ROW}", list(staff))


def read_rules(book, lang: str = "ja") -> tuple[dict, bool]:
    """Rules from the ルール sheet (the default sheet, its ルールID in `lang`, when missing; created=True)."""
    return read_editable(book, fu.RULES_TABLE, lambda: fu.default_rules(lang), fu.parse_rules)


RULE_WIDTHS = {"rule": 11, "enabled": 6, "name": 26, "params": 28, "channels": 18, "priority": 7, "due_days": 9,
               "action": 40, "note": 50}


def dress_rules(book) -> None:
    """The ルール sheet: 有効 as a ○/× drop-down, widths that fit, printed landscape with its header."""
    raw = book.read_raw(RULES_SHEET)
    if raw is None:
        return
    headers = {k: h for h, k in schema.header_map(list(raw.columns), fu.RULES_TABLE).items()}
    book.dress_table(RULES_SHEET, lists={headers.get("enabled", "有効"): ENABLED},
                     number_formats={headers.get(k, fu.RULES_TABLE.header(k)): WHOLE for k in ("priority", "due_days")},
                     widths={headers.get(k, fu.RULES_TABLE.header(k)): w for k, w in RULE_WIDTHS.items()},
                     header=True)


def add_missing_rules(book, lang: str = "ja") -> list[str]:
    """Append the default row of every rule the ルール sheet lacks (a book made before the rule existed), so staff
    see and can tune what runs anyway; staff's rows and columns stay as they are. Returns the rule ids added."""
    raw = book.read_raw(RULES_SHEET)
    if raw is None:
        return []
    have = {fu.rule_from_sheet(x) for x in schema.conform(raw, fu.RULES_TABLE, sheet=RULES_SHEET)["rule"]}
    new = fu.default_rules()
    new = new[~new["rule"].isin(have)]
    if not len(new):
        return []
    added = list(new["rule"])
    new["rule"] = [fu.rule_key(r, lang) for r in new["rule"]]
    new["enabled"] = new["enabled"].map(lambda v: "○" if v else "×")
    headers = schema.header_map(raw.columns, fu.RULES_TABLE)          # typed header -> key (staff's own: itself)
    rows = pd.DataFrame({h: new[k].to_numpy() if k in new.columns else [None] * len(new) for h, k in headers.items()})
    id_header = next(h for h, k in headers.items() if k == "rule")
    book.write_table(RULES_SHEET, pd.concat([raw, rows], ignore_index=True), key=id_header)
    return added


def append_contacts(book, new: pd.DataFrame) -> None:
    """Add rows to 対応履歴 keeping everything already there (and staff's own columns)."""
    if not len(new):
        return
    t = schema.CONTACTS
    loc = book.locate(t.ja)
    headers = {} if loc is None else {k: h for h, k in schema.header_map(
        [h for h in loc.headers if h not in (None, "")], t).items()}
    add = sheet_values(new, t, headers).reset_index(drop=True)
    book.append_rows(t.ja, add, text_columns=_text_headers(t, add.columns))


def running_controls(members: pd.DataFrame | None, campaigns: pd.DataFrame | None, as_of) -> set:
    """Customers held out by a campaign whose measuring window is still open: no follow-up may reach them."""
    if members is None or campaigns is None or not len(members):
        return set()
    end = campaigns.set_index("campaign_id")
    end = pd.to_datetime(end["start"]) + pd.to_timedelta(end["window_days"].fillna(30), unit="D")
    live = set(end.index[end.gt(pd.Timestamp(as_of)).to_numpy()])
    m = members[members["campaign_id"].isin(live) & members["group"].eq(cp.CONTROL)]
    return set(m["customer_id"])


# --- jobs ------------------------------------------------------------------------------------------------------

def followup(book, settings, *, as_of=None, now=None, campaign: str | None = None, rules=None) -> JobResult:
    """Refresh the フォローリスト; with `campaign`, generate the rules `rules` (comma-separated ids) as a campaign."""
    lang = _lang(settings)
    as_of = settings.as_of_date(as_of)
    now = pd.Timestamp(now) if now is not None else _now()
    got = read_orders(book, as_of)
    customers, orders = got.customers, got.orders
    contacts = book.read("contacts", required=False)
    rule_set, created = read_rules(book, lang)
    added = [] if created else add_missing_rules(book, lang)
    if "referral" in rule_set and rule_set["referral"].enabled:   # its rows name referrers: 紹介者ID must be sound
        check_referrals(book, customers)
    existing = read_table(book, fu.FOLLOW_TABLE)
    campaigns = read_table(book, cp.CAMPAIGNS_TABLE)
    members = read_table(book, cp.MEMBERS_TABLE)
    scored, lap = scores(settings, orders, as_of)
    only = None
    if campaign:
        only = tuple(fu.rule_from_sheet(r) for r in (rules or "").replace("、", ",").split(",") if r.strip()) or None
        if campaigns is not None and campaign in set(campaigns["campaign_id"]):
            raise BadInput([Problem(CAMPAIGN_SHEET, None, "キャンペーンID", "fu_campaign_exists",
                                    campaign=campaign)], key="fu_campaign_exists", campaign=campaign)
        for r in only or ():
            if r not in rule_set:
                raise BadInput([Problem(RULES_SHEET, None, "ルールID", "fu_unknown_rule",
                                        rules=" / ".join(fu.rule_key(k, lang) for k in rule_set))])
        if only:  # a campaign may use a rule that is switched off for the everyday list
            rule_set = {k: (fu.Rule(**{**v.__dict__, "enabled": True}) if k in only else v)
                        for k, v in rule_set.items()}
    held_out = running_controls(members, campaigns, as_of)
    gen = fu.candidates(customers, orders, contacts, scored, lap, rule_set, as_of, only=only,
                        exclude_customers=held_out, lang=lang, survey_scale=scale_of(settings))
    counts = {"skipped_optout": sum(gen.attrs.get("skipped_optout", {}).values())}
    notes = None
    if not campaign:   # step chains run on the everyday list; a campaign generates only its rules
        chains, _ = steps.read_steps(book)
        srows, cover, notes = steps.step_rows(chains, customers, orders, existing, as_of, now, held_out=held_out,
                                        control_pct=steps.control_pct(settings), lang=lang, **steps.options(settings))
        # a chain replaces the rules it overlaps (お礼, F2 / prospect) for the customers it covers
        drop = [rid in cover and cid in cover[rid] for rid, cid in zip(gen["rule"], gen["customer_id"])]
        gen = pd.concat([gen[~pd.Series(drop, index=gen.index, dtype=bool)].assign(coupon=""), srows],
                        ignore_index=True)
        counts.update(step_rows=len(srows), step_held_out=srows.attrs["held_out"],
                      chains={f"step:{k}": k for k in chains})
        counts["skipped_optout"] += srows.attrs.get("skipped_optout", 0)
    if campaign:
        if not len(gen):
            raise BadInput([], key="fu_campaign_empty")
        seed = settings.campaign_seed
        seed = cp.seed_for(campaign) if seed is None else int(seed)
        pct = float(settings.control_pct)
        groups = cp.split(gen["customer_id"], pct, seed)
        control = set(groups.loc[groups["group"].eq(cp.CONTROL), "customer_id"])
        treated_rows = gen[~gen["customer_id"].isin(control)]
        new_members = groups.merge(treated_rows[["customer_id", "follow_id"]].drop_duplicates("customer_id"),
                                   on="customer_id", how="left").fillna({"follow_id": ""})
        new_members.insert(0, "campaign_id", campaign)
        members = pd.concat([members, new_members], ignore_index=True) if members is not None else new_members
        row = pd.DataFrame([{"campaign_id": campaign, "rules": ",".join(fu.rule_key(r, lang)
                                                                        for r in sorted(set(gen["rule"]))),
                             "start": as_of, "window_days": float(settings.campaign_days),
                             "control_pct": pct, "seed": float(seed), "treated": float(len(groups) - len(control)),
                             "control": float(len(control)), "created": now}])
        campaigns = pd.concat([campaigns, row], ignore_index=True) if campaigns is not None else row
        lst, c = fu.refresh(existing, treated_rows, now, staff_list=settings.staff, rules=rule_set,
                            campaign_id=campaign, held_out=control | held_out, scope=only or tuple(rule_set),
                            lang=lang)
        counts.update(c, treated=len(groups) - len(control), control=len(control), seed=seed)
    else:
        lst, c = fu.refresh(existing, gen, now, staff_list=settings.staff, rules=rule_set,
                            held_out=held_out, notes=notes, lang=lang)
        counts.update(c)
    names = {k: v.name for k, v in rule_set.items()}
    names.update({r: messages.text("st_rule_name", lang, chain=c) for r, c in counts.pop("chains", {}).items()})
    new_contacts, lst = fu.completed_contacts(lst, contacts, now, rule_names=names, lang=lang)
    counts["recorded"] = len(new_contacts)
    counts["open"] = int(lst["status"].isin(fu.OPEN).sum())
    if existing is not None:
        headers = dict(existing.attrs.get("headers", {}))
        if headers.get("follow_id") == "follow_id":   # an English-headed list: a column added since (クーポン) too
            headers.update({c.key: c.key for c in fu.FOLLOW_TABLE.columns if c.key not in headers})
        lst.attrs["headers"] = headers
    hl = settings.header_lang
    shown = fu.list_to_sheet(lst, names, lang)
    shown.attrs = lst.attrs
    loc = write_table(book, shown, fu.FOLLOW_TABLE, key="follow_id", header_lang=hl)
    written = loc.headers if loc is not None else []
    decorate_list(book, loc, {k: next((h for h in written if schema.header_map([h], fu.FOLLOW_TABLE).get(h) == k),
                                      fu.FOLLOW_TABLE.header(k)) for k in fu.FOLLOW_TABLE.keys},
                  staff=settings.staff)
    dress_rules(book)
    steps.dress_steps(book)
    staff_drop_downs(book, settings.staff)
    append_contacts(book, new_contacts)
    if campaign:
        write_table(book, campaigns, cp.CAMPAIGNS_TABLE, header_lang=hl)
        members = members.assign(follow_id=[fu.id_to_sheet(x, lang) if x else x for x in members["follow_id"]])
        write_table(book, members.reset_index(drop=True), cp.MEMBERS_TABLE, header_lang=hl)
        dress_keys(book, cp.CAMPAIGNS_TABLE, number_formats={"start": DATE, "created": DATETIME, "window_days": WHOLE,
                                                             "control_pct": "0.0", "seed": WHOLE, "treated": COUNT,
                                                             "control": COUNT},
                   widths={"campaign_id": 14, "rules": 20, "start": 11, "created": 16, "seed": 12})
        dress_keys(book, cp.MEMBERS_TABLE, widths={"campaign_id": 14, "customer_id": 10, "group": 8, "follow_id": 26})
    ja = messages.text("fu_done", "ja", **counts)
    en = messages.text("fu_done", "en", **counts)
    if "step_rows" in counts:
        ja += messages.text("st_fu_done", "ja", rows=counts["step_rows"])
        en += messages.text("st_fu_done", "en", rows=counts["step_rows"])
        if counts["step_held_out"]:
            ja += messages.text("st_fu_held_out", "ja", n=counts["step_held_out"])
            en += messages.text("st_fu_held_out", "en", n=counts["step_held_out"])
    if campaign:
        ja += "\n" + messages.text("fu_campaign_done", "ja", campaign=campaign, **counts)
        en += "\n" + messages.text("fu_campaign_done", "en", campaign=campaign, **counts)
    if added:
        names = "、".join(rule_set[r].name for r in added)
        ja += messages.text("fu_rules_added", "ja", n=len(added), names=names)
        en += messages.text("fu_rules_added", "en", n=len(added), names=", ".join(added))
    ja, en = got.dates.add_to(ja, en)
    book.journal("followup", ja, en)
    return JobResult(ja, en, {**counts, **got.dates.counts(), "rules_added": added})


def campaign_report(book, settings, *, campaign: str, as_of=None) -> JobResult:
    """Contacted vs control for one campaign: purchase rate and revenue per customer, with intervals.

    Written to the キャンペーン結果 sheet (replaced each time) and returned as the summary.
    """
    lang = _lang(settings)
    as_of = settings.as_of_date(as_of)
    campaigns = read_table(book, cp.CAMPAIGNS_TABLE)
    members = read_table(book, cp.MEMBERS_TABLE)
    if campaigns is None or campaign not in set(campaigns["campaign_id"]) or members is None:
        raise BadInput([], key="fu_campaign_unknown", campaign=campaign)
    c = campaigns.set_index("campaign_id").loc[campaign]
    orders = read_orders(book).orders
    m = members[members["campaign_id"].eq(campaign)]
    window = int(c["window_days"]) if not pd.isna(c["window_days"]) else int(settings.campaign_days)
    out = cp.outcomes(m, orders, c["start"], window)
    res = cp.compare(out, seed=int(c["seed"]) if not pd.isna(c["seed"]) else 0)
    table = cp.report_table(res, lang)
    end = pd.Timestamp(c["start"]) + pd.Timedelta(days=window)
    interim = as_of < end
    head_ja = (f"キャンペーン {campaign}: 開始 {pd.Timestamp(c['start']):%Y-%m-%d}、測定 {window}日間"
               f"(〜{end - pd.Timedelta(days=1):%Y-%m-%d})" + ("、途中経過" if interim else ""))
    head_en = (f"Campaign {campaign}: start {pd.Timestamp(c['start']):%Y-%m-%d}, {window}-day window"
               + (", interim" if interim else ""))
    rows = [[head_ja if lang == "ja" else head_en], list(table.columns)] + table.astype(str).values.tolist()
    book.write_range(RESULT_SHEET, "A1", rows, clear=(40, 8))
    book.journal("campaign_report", head_ja, head_en)
    counts = {"result": res, "interim": interim}
    return JobResult(head_ja + "\n" + cp.report_table(res, "ja").to_string(index=False),
                     head_en + "\n" + cp.report_table(res, "en").to_string(index=False), counts)


# --- contacts and the customer card -----------------------------------------------------------------------------

# 顧客カルテ layout: A/B = the card (B2 = 顧客ID), D/E = a small form to record a new contact, timeline below.
CARD_ID_ROW = 2
FORM = {"type": 2, "summary": 3, "staff": 4, "channel": 5, "status": 6}   # row of each form field, value in E
FORM_LABELS = {"ja": ("種別", "内容", "担当者", "チャネル", "状態"), "en": ("Type", "Summary", "Staff", "Channel", "Status")}
TIMELINE_ROW = 22
CARD_ROWS = 19   # rows 2..20 hold the card items


def _card_cells(book) -> dict:
    """Cells the staff typed on 顧客カルテ: the customer id and the form fields ("" when blank)."""
    raw = book.read_raw(CARD_SHEET)
    if raw is None:
        return {}
    cols = list(raw.columns)
    out = {}

    def cell(row, idx):
        if row in raw.index and idx < len(cols):
            return schema.parse_text(raw.at[row, cols[idx]])
        return ""
    out["customer"] = cell(CARD_ID_ROW, 1)
    for k, r in FORM.items():
        out[k] = cell(r, 4)
    return out


def customer_card(book, settings, *, customer: str | None = None, as_of=None) -> JobResult:
    """Fill 顧客カルテ for one customer (B2 of the sheet when not given): the card, the entry form, the timeline."""
    lang = _lang(settings)
    cid = customer or _card_cells(book).get("customer", "")
    if not cid:
        raise BadInput([Problem(CARD_SHEET, CARD_ID_ROW, "B", "ct_no_customer", cell="B2")])
    as_of = settings.as_of_date(as_of)
    got = read_orders(book)
    customers, orders = got.customers, got.orders
    contacts = book.read("contacts", required=False)
    follow = read_table(book, fu.FOLLOW_TABLE)
    # scored against everyone: quintile scores of one customer alone would mean nothing
    scored, lap = scores(settings, orders, as_of) if len(orders) else (None, None)
    items = ct.card(cid, customers, scored, lap, lang=lang, contacts=contacts)
    tl = ct.timeline(cid, orders, contacts, followups=follow, lang=lang)
    en = lang == "en"
    block = [["項目" if not en else "Item", "内容" if not en else "Value", None,
              "新しい対応を記録" if not en else "Record a contact", "入力欄" if not en else "Input"]]
    form_vals = {k: "" for k in FORM}
    for i in range(CARD_ROWS):
        label, value = items[i] if i < len(items) else (None, None)
        row = [label, value, None, None, None]
        for j, (k, r) in enumerate(FORM.items()):
            if r == i + 2:
                row[3], row[4] = FORM_LABELS[lang][j], form_vals[k]
        block.append(row)
    book.write_range(CARD_SHEET, "A1", block, clear=(CARD_ROWS + 1, len(ct.TIMELINE_COLUMNS)))
    headers = ct.TIMELINE_HEADERS[lang]
    rows = [["履歴(新しい順)" if not en else "Timeline (newest first)"], headers]
    for r in tl.itertuples(index=False):
        rows.append([r.date.to_pydatetime() if not pd.isna(r.date) else None, r.kind, r.detail,
                     None if pd.isna(r.amount) else float(r.amount), r.channel, r.staff, r.status, r.ref])
    old = book.read_raw(CARD_SHEET)
    height = max(len(rows), (len(old) + 2 - TIMELINE_ROW + 1) if old is not None else 0) + 1
    book.write_range(CARD_SHEET, f"A{TIMELINE_ROW}", rows, clear=(max(height, len(rows)), len(headers)))
    _style_card(book, len(tl))
    ja_msg = messages.text("ct_card_done", "ja", n=len(tl))
    en_msg = messages.text("ct_card_done", "en", n=len(tl))
    return JobResult(ja_msg, en_msg, {"customer": cid, "timeline": len(tl)})


CARD_WIDTHS = {"A": 17, "B": 26, "C": 40, "D": 18, "E": 30, "F": 10, "G": 10, "H": 26}


def _style_card(book, n_timeline: int) -> None:
    """Widths that fit both the card and the timeline below it, bold headings, amounts, landscape print, and the
    form's input cells tinted."""
    heads = ["A1", "B1", "D1", "E1", f"A{TIMELINE_ROW}"] + [f"{col_letter(c)}{TIMELINE_ROW + 1}" for c in range(1, 9)]
    amounts = {f"D{TIMELINE_ROW + 2}:D{TIMELINE_ROW + 1 + n_timeline}": "#,##0"} if n_timeline else {}
    book.format_sheet(CARD_SHEET, number_formats=amounts, bold=heads, title=None, widths=CARD_WIDTHS)
    if "fills" in book.capabilities():
        book.fill(CARD_SHEET, f"E{min(FORM.values())}:E{max(FORM.values())}", "FFF2CC", border="BFBFBF")


def record_contact(book, settings, *, customer: str | None = None, type: str | None = None,
                   summary: str | None = None, staff: str = "", channel: str = "", status: str = "",
                   at=None) -> JobResult:
    """Record a contact in 対応履歴. Without arguments (the ribbon button) it takes the customer from
    顧客カルテ!B2 and the fields from the form beside it, then clears the form and refreshes the card."""
    from_form = customer is None and type is None and summary is None
    if from_form:
        cells = _card_cells(book)
        customer = cells.get("customer", "")
        type, summary = cells.get("type", ""), cells.get("summary", "")
        staff, channel, status = cells.get("staff", ""), cells.get("channel", ""), cells.get("status", "")
    if not customer:
        raise BadInput([Problem(CARD_SHEET, CARD_ID_ROW, "B", "ct_no_customer", cell="B2")])
    # a contact needs its customer to exist and a new 対応ID: a cell typed wrong elsewhere does not stop it
    book.prefetch("customers", "contacts")
    customers = book.read("customers", columns=("customer_id",))
    contacts = book.read("contacts", required=False, columns=("contact_id",))
    row = ct.new_contact(customers, contacts, customer, type=type or "その他", summary=summary or "",
                         at=pd.Timestamp(at) if at is not None else _now(), staff=staff or "",
                         channel=channel or "", status=status or "")
    append_contacts(book, row)
    cid = row["contact_id"].iloc[0]
    ja = messages.text("ct_recorded", "ja", contact_id=cid)
    en = messages.text("ct_recorded", "en", contact_id=cid)
    book.journal("record_contact", ja, en)
    if from_form or _card_cells(book).get("customer") == customer:  # the card on screen shows the new row
        customer_card(book, settings, customer=customer)
    return JobResult(ja, en, {"contact_id": cid, "customer": customer})
