"""The CRM ribbon: customUI XML, its VBA callback, and the Python dispatcher behind every button."""
from __future__ import annotations

import re
import sys
import types
import zipfile
from xml.etree import ElementTree as ET

import openpyxl
import pytest

from xlcrm import jobs, ribbon
from xlcrm.build import SRC, build_workbook, customui_xml, ovba
from xlcrm.jobs import JobResult
from xlcrm.messages import BadInput, Problem

NS = "http://schemas.microsoft.com/office/2006/01/customui"
TAGS = {"search": "検索", "tidy": "データ整形", "print_list": "印刷用一覧", "view": "表示を更新", "dedupe": "重複チェック", "merge": "統合", "undo_merge": "統合を元に戻す", "rfm": "RFM分析",
        "lapse": "離脱判定", "followup": "フォローリスト更新", "record_contact": "対応を記録",
        "dashboard": "ダッシュボード更新", "journey": "顧客ジャーニー", "survey": "満足度", "referrals": "紹介",
        "pipeline": "商談", "steps": "ステップ状況", "undo": "取り消し", "doctor": "環境チェック",
        "settings": "設定を開く"}


@pytest.fixture(scope="module")
def ui():
    return ET.fromstring(customui_xml())


def _buttons(ui):
    return ui.findall(f".//{{{NS}}}button")


# --- customUI -----------------------------------------------------------------------------------------------------

def test_customui_is_the_2006_namespace_with_one_crm_tab(ui):
    assert ui.tag == f"{{{NS}}}customUI"
    tabs = ui.findall(f"{{{NS}}}ribbon/{{{NS}}}tabs/{{{NS}}}tab")
    assert [t.get("label") for t in tabs] == ["CRM"]
    assert [g.get("label") for g in tabs[0].findall(f"{{{NS}}}group")] == ["検索", "データ", "名寄せ", "分析",
                                                                          "顧客の声・紹介・商談", "フォロー", "設定"]


def test_a_button_for_every_job_with_label_icon_and_tips(ui):
    buttons = _buttons(ui)
    assert {b.get("tag"): b.get("label") for b in buttons} == TAGS
    for b in buttons:
        assert b.get("onAction") == "XlcrmRibbon.CrmAction"
        assert b.get("imageMso") and b.get("size") in ("large", "normal")
        for attr in ("label", "screentip", "supertip"):
            assert 0 < len(b.get(attr)) <= 1024, (b.get("id"), attr)  # customUI ST_String limit
        assert re.search(r"[^\x00-\x7f]", b.get("label") + b.get("supertip")), b.get("id")  # Japanese text


def test_ids_unique_and_valid(ui):
    ids = [e.get("id") for e in ui.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids))
    for i in ids:  # ST_UniqueID: an NCName of at most 1024 characters
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]{0,1023}", i), i
    allowed = {"id", "tag", "label", "size", "imageMso", "onAction", "screentip", "supertip", "keytip"}
    for e in ui.iter():
        assert set(e.attrib) <= allowed, (e.tag, set(e.attrib) - allowed)


def test_labels_read_from_the_xml(ui):
    assert ribbon.labels() == TAGS


# --- the callbacks Excel has to resolve, read back out of the built workbook with oletools ---------------------------

CUSTOMUI_RELS = ("http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",   # customUI.xml
                 "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility")   # customUI14.xml
# a procedure or Declare'd external, on one logical line (continuations joined); group 1 Public/Private/Friend
_PROC = re.compile(r"^[ \t]*(?:(Public|Private|Friend)[ \t]+)?(?:Static[ \t]+)?(?:Declare[ \t]+(?:PtrSafe[ \t]+)?)?"
                   r"(Sub|Function|Property[ \t]+(?:Get|Let|Set))[ \t]+(\w+)[ \t]*(?:Lib[ \t]+\"[^\"]*\"[ \t]*)?"
                   r"(?:Alias[ \t]+\"[^\"]*\"[ \t]*)?\(([^)]*)\)", re.I)


def vba_of_book(path) -> dict[str, tuple[str, str]]:
    """module name -> (bas or cls, source), as oletools' olevba extracts them from the workbook."""
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path))
    try:
        return {name.rsplit(".", 1)[0]: (name.rsplit(".", 1)[1], code)
                for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def procedures(source: str) -> list[tuple[str, str, str, str]]:
    """(visibility, kind, name, parameters) of every procedure in a module; a standard module's procedures
    without Private are Public."""
    logical = re.sub(r" _\r?\n", " ", source)
    out = []
    for line in logical.splitlines():
        m = _PROC.match(line)
        if m:
            out.append(((m.group(1) or "Public").capitalize(), re.sub(r"\s+", " ", m.group(2)).capitalize(),
                        m.group(3), re.sub(r"\s+", " ", m.group(4).strip())))
    return out


def ribbon_callbacks(path) -> list[tuple[str, str, str]]:
    """(part, attribute, value) of every callback attribute (on*, get*) in every customUI part of the package."""
    with zipfile.ZipFile(path) as z:
        rels = ET.fromstring(z.read("_rels/.rels"))
        parts = [r.get("Target").lstrip("/") for r in rels if r.get("Type") in CUSTOMUI_RELS]
        out = []
        for part in parts:
            for e in ET.fromstring(z.read(part)).iter():
                out += [(part, k, v) for k, v in e.attrib.items() if re.match(r"(on|get)[A-Z]", k)]
    return out


def ribbon_problems(path) -> list[str]:
    """Why Excel could not run a ribbon callback of the workbook at `path` (empty: every one resolves)."""
    vba = vba_of_book(path)
    procs = {name: procedures(code) for name, (_, code) in vba.items()}
    problems = [f"procedure {p[2]} in module {m} has the name of module {p[2]}"
                for m, ps in procs.items() for p in ps if p[2].lower() in {n.lower() for n in vba}]
    callbacks = ribbon_callbacks(path)
    if not callbacks:
        problems.append("no ribbon callbacks found")
    for part, attr, value in callbacks:
        if attr != "onAction":
            problems.append(f"{part}: {attr}={value!r}: only onAction callbacks are checked here")
            continue
        module, _, proc = value.rpartition(".")
        if not module or module not in vba or vba[module][0] != "bas":
            problems.append(f"{part}: onAction={value!r} does not name a standard module as Module.Procedure")
            continue
        mine = [p for p in procs[module] if p[2].lower() == proc.lower()]
        if mine != [("Public", "Sub", proc, "control As IRibbonControl")]:
            problems.append(f"{part}: onAction={value!r}: {module} has {mine}, not one Public Sub "
                            f"{proc}(control As IRibbonControl)")
        others = [m for m, ps in procs.items() if m != module and any(p[2].lower() == proc.lower() for p in ps)]
        if others:
            problems.append(f"{part}: onAction={value!r}: {proc} is also a procedure of {others}")
    return problems


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    return build_workbook(tmp_path_factory.mktemp("ribbon") / "CRM.xlsm")


def test_every_onaction_resolves_to_one_public_ribbon_sub_in_the_named_module(built_book):
    callbacks = ribbon_callbacks(built_book)
    assert {v for _, _, v in callbacks} == {"XlcrmRibbon.CrmAction"} and len(callbacks) == len(TAGS)
    assert ribbon_problems(built_book) == []
    vba = vba_of_book(built_book)
    # every module of the book was read, ours, xlwings' and the document modules
    assert {"XlcrmRibbon", "xlwings", "xlwings_udfs", "Dictionary", "ThisWorkbook"} <= set(vba)
    assert len([p for _, (_, code) in vba.items() for p in procedures(code)]) > 80  # the reader finds xlwings' too
    # the callback dispatches by tag into xlcrm.ribbon.run
    assert "RunPython \"import xlcrm.ribbon as r; r.run('\" & control.Tag & \"')\"" in vba["XlcrmRibbon"][1]


def test_the_check_catches_a_callback_named_like_its_module(built_book, tmp_path):
    """What the workbook shipped with before: Sub XlcrmRibbon in module XlcrmRibbon, onAction="XlcrmRibbon"
    (Excel: マクロ 'XlcrmRibbon' を実行できません)."""
    from xlcrm.build import PROJECT_ID, vba_modules
    mods = [ovba.Module(m.name, m.source.replace("Public Sub CrmAction(", "Sub XlcrmRibbon("), m.kind)
            for m in vba_modules(6)]
    with zipfile.ZipFile(built_book) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/vbaProject.bin"] = ovba.vba_project(mods, PROJECT_ID)
    parts["customUI/customUI.xml"] = parts["customUI/customUI.xml"].replace(b'"XlcrmRibbon.CrmAction"', b'"XlcrmRibbon"')
    old = tmp_path / "old.xlsm"
    with zipfile.ZipFile(old, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    problems = ribbon_problems(old)
    assert "procedure XlcrmRibbon in module XlcrmRibbon has the name of module XlcrmRibbon" in problems
    assert sum("does not name a standard module as Module.Procedure" in p for p in problems) == len(TAGS)


def test_the_check_catches_a_private_or_mistyped_callback_and_a_twin(built_book, tmp_path):
    from xlcrm.build import PROJECT_ID, vba_modules

    def book_with(replace_in_ribbon, extra_in_udfs=""):
        mods = []
        for m in vba_modules(6):
            src = m.source
            if m.name == "XlcrmRibbon":
                src = src.replace("Public Sub CrmAction(control As IRibbonControl)", replace_in_ribbon)
            if m.name == "xlwings_udfs":
                src += extra_in_udfs
            mods.append(ovba.Module(m.name, src, m.kind))
        with zipfile.ZipFile(built_book) as z:
            parts = {i.filename: z.read(i) for i in z.infolist()}
        parts["xl/vbaProject.bin"] = ovba.vba_project(mods, PROJECT_ID)
        path = tmp_path / f"b{len(list(tmp_path.iterdir()))}.xlsm"
        with zipfile.ZipFile(path, "w") as z:
            for name, data in parts.items():
                z.writestr(name, data)
        return path
    assert any("not one Public Sub" in p for p in ribbon_problems(book_with("Private Sub CrmAction(control As IRibbonControl)")))
    assert any("not one Public Sub" in p for p in ribbon_problems(book_with("Public Sub CrmAction(ctl As Object)")))
    assert any("is also a procedure of ['xlwings_udfs']" in p
               for p in ribbon_problems(book_with("Public Sub CrmAction(control As IRibbonControl)",
                                                  "Sub CrmAction()\r\nEnd Sub\r\n")))


def test_every_registered_job_has_a_ribbon_button():
    assert set(jobs.JOBS) <= set(TAGS), set(jobs.JOBS) - set(TAGS)


# --- dispatch -----------------------------------------------------------------------------------------------------

class FakeApp:
    """The three things of an xlwings App the dispatcher uses."""

    def __init__(self):
        self.history: list[tuple] = []
        self.alerts: list[dict] = []
        self._screen = True
        self._status = False

    @property
    def screen_updating(self):
        return self._screen

    @screen_updating.setter
    def screen_updating(self, v):
        self._screen = v
        self.history.append(("screen", v))

    @property
    def status_bar(self):
        return self._status

    @status_bar.setter
    def status_bar(self, v):
        self._status = v
        self.history.append(("status", v))

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append({"prompt": prompt, "title": title, "mode": mode})
        return "ok"


@pytest.fixture
def job_module(monkeypatch):
    """A job module registered under the tag 'rfm', whose behaviour each test sets."""
    mod = types.ModuleType("xlcrm_fake_jobs")
    seen = {}

    def job(book, settings, **options):
        seen["screen"] = seen["app"].screen_updating
        seen["status"] = seen["app"].status_bar
        return mod.behaviour(book, settings)
    mod.job, mod.seen = job, seen
    monkeypatch.setitem(sys.modules, "xlcrm_fake_jobs", mod)
    monkeypatch.setitem(jobs.JOBS, "rfm", "xlcrm_fake_jobs:job")
    return mod


def _write_scores(book, settings):
    import pandas as pd
    book.write_table("RFM", pd.DataFrame({"顧客ID": ["C1", "C2"], "ランク": ["A", "B"]}))
    book.journal("rfm", "RFMを更新 2件", "RFM refreshed for 2 customers")
    return JobResult("RFMを更新しました(2件)", "RFM refreshed (2 customers)", {"customers": 2})


def test_job_runs_with_screen_off_and_progress_then_reports(book_path, job_module):
    app = FakeApp()
    job_module.seen["app"] = app
    job_module.behaviour = _write_scores
    result = ribbon.dispatch("rfm", book_path, app, lang="ja")
    assert result.counts == {"customers": 2}
    assert job_module.seen["screen"] is False
    assert job_module.seen["status"] == "xlcrm: 「RFM分析」設定を読み込んでいます…"   # the step before the job
    assert app.alerts == [{"prompt": "RFMを更新しました(2件)", "title": "xlcrm: RFM分析", "mode": "info"}]
    assert app.screen_updating is True and app.status_bar is False
    wb = openpyxl.load_workbook(book_path)  # the job's write was saved and journaled
    assert "RFM" in wb.sheetnames and "変更履歴" in wb.sheetnames


def test_bad_input_is_a_message_box_and_nothing_is_written(book_path, job_module):
    before = book_path.read_bytes()
    app = FakeApp()
    job_module.seen["app"] = app

    def bad(book, settings):
        raise BadInput([Problem("注文", 7, "金額", "bad_amount", cell="D7")])
    job_module.behaviour = bad
    assert ribbon.dispatch("rfm", book_path, app, lang="ja") is None
    [alert] = app.alerts
    assert alert["mode"] == "critical"
    assert "シート「注文」7行目 列「金額」(D7)" in alert["prompt"] and "Traceback" not in alert["prompt"]
    assert app.screen_updating is True and app.status_bar is False
    assert book_path.read_bytes() == before


def test_unexpected_error_names_the_log_not_a_traceback(book_path, job_module, tmp_path, monkeypatch):
    monkeypatch.setattr(ribbon, "LOG_FILE", tmp_path / "ribbon.log")
    import logging
    monkeypatch.setattr(logging.getLogger("xlcrm.ribbon"), "handlers", [])
    app = FakeApp()
    job_module.seen["app"] = app

    def broken(book, settings):
        return 1 / 0
    job_module.behaviour = broken
    ribbon.dispatch("rfm", book_path, app, lang="en")
    [alert] = app.alerts
    assert "ZeroDivisionError" in alert["prompt"] and str(tmp_path / "ribbon.log") in alert["prompt"]
    assert "Traceback" not in alert["prompt"] and "line " not in alert["prompt"]
    log = (tmp_path / "ribbon.log").read_text(encoding="utf-8")
    assert "ZeroDivisionError" in log and "in broken" in log  # where it failed, for support
    assert "division by zero" not in log  # an exception's message may quote a customer's cell: never logged
    assert (tmp_path / "ribbon.log").stat().st_mode & 0o077 == 0  # only this user can read it
    assert app.history[-2:] == [("screen", True), ("status", False)]


def test_a_tag_without_a_job_says_so(book_path, monkeypatch):
    monkeypatch.delitem(jobs.JOBS, "lapse", raising=False)
    app = FakeApp()
    ribbon.dispatch("lapse", book_path, app, lang="ja")
    assert "「離脱判定」はこのバージョンのxlcrmにはまだありません" in app.alerts[0]["prompt"]
    assert app.alerts[0]["mode"] == "critical"


def test_undo_restores_the_last_change(book_path, job_module, monkeypatch):
    monkeypatch.delitem(jobs.JOBS, "undo", raising=False)
    app = FakeApp()
    job_module.seen["app"] = app
    job_module.behaviour = _write_scores
    ribbon.dispatch("undo", book_path, app, lang="ja")
    assert app.alerts[-1]["prompt"] == "取り消せる変更はありません。"
    ribbon.dispatch("rfm", book_path, app, lang="ja")
    assert "RFM" in openpyxl.load_workbook(book_path).sheetnames
    ribbon.dispatch("undo", book_path, app, lang="ja")
    assert app.alerts[-1]["prompt"].startswith("変更 ") and app.alerts[-1]["mode"] == "info"
    ws = openpyxl.load_workbook(book_path)["RFM"]
    assert [c.value for c in ws[2]][:2] != ["C1", "A"]  # the written rows are gone


def test_settings_button_shows_the_settings_sheet():
    activated = []
    sheet = types.SimpleNamespace(activate=lambda: activated.append(True))
    book = types.SimpleNamespace(sheets={"設定": sheet}, fullname="C:\\CRM.xlsm")
    app = FakeApp()
    ribbon.dispatch("settings", book, app, lang="ja")
    assert activated == [True] and app.alerts == []


def test_doctor_button_reports_in_a_message_box(tmp_path, monkeypatch):
    import functools

    from xlcrm import doctor
    monkeypatch.setattr(doctor, "check", functools.partial(doctor.check, platform="win32", exists=lambda p: False))
    path = build_workbook(tmp_path / "CRM.xlsm")
    conf = [["Interpreter_Win", "C:\\nowhere\\python.exe"], ["UDF Modules", "xlcrm.udfs"]]
    sheet = types.SimpleNamespace(used_range=types.SimpleNamespace(last_cell=types.SimpleNamespace(row=2)),
                                  range=lambda a, b: types.SimpleNamespace(
                                      options=lambda **k: types.SimpleNamespace(value=conf)))
    book = types.SimpleNamespace(sheets={"xlwings.conf": sheet}, fullname=str(path))
    app = FakeApp()
    app.path = "C:\\Program Files\\WindowsApps\\Microsoft.Office.Desktop.Excel_16\\Office16"
    ribbon.dispatch("doctor", book, app, lang="ja")
    prompt = app.alerts[0]["prompt"]
    assert "xlwings 0.37.8" in prompt
    assert "Python が見つかりません: C:\\nowhere\\python.exe" in prompt
    assert "Microsoft Store 版のOffice" in prompt
    assert app.alerts[0]["title"] == "xlcrm: 環境チェック"


def test_source_module_is_ascii_and_crlf_safe():
    # VBA modules are stored in the project's code page (1252): keep Japanese text in Python, not in VBA
    for p in list(SRC.glob("*.bas")) + list(SRC.glob("*.cls")):
        p.read_bytes().decode("ascii")


def test_messages_follow_the_language_set_on_the_settings_sheet(tmp_path, job_module):
    path = build_workbook(tmp_path / "CRM.xlsm")
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb["設定"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "言語")
    ws.cell(row, 2).value = "en"
    wb.save(path)
    app = FakeApp()
    job_module.seen["app"] = app
    job_module.behaviour = _write_scores
    ribbon.dispatch("rfm", path, app)
    assert app.alerts[-1]["prompt"] == "RFM refreshed (2 customers)"
    assert job_module.seen["status"] == "xlcrm: 'RFM分析' Reading 設定..."


def test_the_status_bar_shows_each_step_of_the_job(book_path, job_module):
    app = FakeApp()
    job_module.seen["app"] = app

    def read_then_write(book, settings):
        book.read("customers")
        book.read("orders")
        return _write_scores(book, settings)
    job_module.behaviour = read_then_write
    ribbon.dispatch("rfm", book_path, app, lang="ja")
    steps = [v for k, v in app.history if k == "status" and v]
    assert steps[0] == "xlcrm: 「RFM分析」を実行中…"
    assert steps[1:] == ["xlcrm: 「RFM分析」設定を読み込んでいます…", "xlcrm: 「RFM分析」顧客を読み込んでいます…", "xlcrm: 「RFM分析」注文を読み込んでいます…",
                         "xlcrm: 「RFM分析」RFMに書き込んでいます…", f"xlcrm: 「RFM分析」{book_path.name}を保存しています…"]
    assert app.status_bar is False


def test_a_failure_before_any_message_box_is_a_short_message_on_stderr(tmp_path, monkeypatch, capsys):
    """xlwings' RunPython shows what Python wrote to stderr when it exits non-zero: that must be our message and
    the log's path, not a traceback, e.g. when the calling workbook cannot be found."""
    import logging

    import xlwings as xw
    monkeypatch.setattr(ribbon, "LOG_FILE", tmp_path / "logs" / "ribbon.log")
    monkeypatch.setattr(logging.getLogger("xlcrm.ribbon"), "handlers", [])
    monkeypatch.setenv("XLCRM_LANG", "ja")

    def no_caller():
        raise RuntimeError("顧客 山田太郎 090-1234-5678")  # a message that could quote a cell
    monkeypatch.setattr(xw.Book, "caller", staticmethod(no_caller))
    with pytest.raises(SystemExit) as exit_:
        ribbon.run("rfm")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("予期しないエラーが発生しました: RuntimeError\n")
    assert f"詳しい記録: {tmp_path / 'logs' / 'ribbon.log'}(サポートに送ってください)" in err
    assert "Traceback" not in err and "山田" not in err
    log = (tmp_path / "logs" / "ribbon.log").read_text(encoding="utf-8")
    assert "ribbon job rfm failed: RuntimeError" in log and "in no_caller" in log and "山田" not in log


def test_the_log_is_per_user_under_localappdata(monkeypatch):
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\staff\AppData\Local")
    assert str(ribbon._log_dir()).replace("/", "\\") == r"C:\Users\staff\AppData\Local\xlcrm\logs"
    assert ribbon.LOG_FILE.name == "ribbon.log" and ribbon.LOG_FILE.parent.parts[-2:] == ("xlcrm", "logs")


def test_an_unwritable_log_folder_falls_back_to_the_temp_folder(book_path, job_module, tmp_path, monkeypatch):
    import logging
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(ribbon, "LOG_FILE", blocker / "logs" / "ribbon.log")  # a folder under a file
    monkeypatch.setattr(ribbon.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(logging.getLogger("xlcrm.ribbon"), "handlers", [])
    app = FakeApp()
    job_module.seen["app"] = app
    job_module.behaviour = lambda book, settings: 1 / 0
    ribbon.dispatch("rfm", book_path, app, lang="ja")
    assert str(tmp_path / "xlcrm-ribbon.log") in app.alerts[0]["prompt"]
    assert "ZeroDivisionError" in (tmp_path / "xlcrm-ribbon.log").read_text(encoding="utf-8")


def test_the_vba_guard_texts_are_generated_from_the_catalogue():
    """XlcrmRibbon's Japanese/English messages come from messages.py as UTF-16 hex (the module is code page 1252);
    decoding the generated module gives back every vba_ text in both languages."""
    from xlcrm.build import ribbon_module_source
    from xlcrm.messages import CATALOGUE
    src = ribbon_module_source()
    src.encode("ascii")
    texts = {}
    for m in re.finditer(r'Case "((?:ja|en):vba_\w+|\w+)"\r\n((?:\s+codes = [^\r\n]*\r\n)+)', src):
        hexed = "".join(re.findall(r'"([0-9A-F]*)"', m.group(2)))
        texts[m.group(1)] = bytes.fromhex(hexed).decode("utf-16-be")
    keys = [k for k in CATALOGUE if k.startswith("vba_")]
    assert len(keys) >= 10
    for k in keys:
        assert (texts[f"ja:{k}"], texts[f"en:{k}"]) == CATALOGUE[k]
        for lang_text in CATALOGUE[k]:  # VBA fills in only these
            assert set(re.findall(r"\{(\w+)\}", lang_text)) <= {"python", "version", "log", "book"}, k
    assert texts["settings_sheet"] == "設定" and texts["settings_lang"] == "言語"
    assert texts["doctor_label"] == "環境チェック"
    assert "Python が見つかりません" in texts["ja:vba_no_python"]
    # the guard runs before RunPython for every job, and the doctor button does not go through it first
    assert "If PythonReady() Then RunPython" in src
    assert re.search(r'If control\.Tag = "doctor" Then\r\n\s+CrmDoctor', src)
