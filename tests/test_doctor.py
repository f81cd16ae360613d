"""`xlcrm doctor` and `xlcrm set-interpreter`, with the user's machine injected (platform, files, PATH)."""
from __future__ import annotations

import zipfile

import pytest

from xlcrm import doctor
from xlcrm.build import build_workbook
from xlcrm.cli import main

STORE_ALIAS = r"C:\Users\aoki\AppData\Local\Microsoft\WindowsApps\python.exe"


@pytest.fixture
def book(tmp_path):
    return build_workbook(tmp_path / "CRM.xlsm")


def keys(findings, level=None):
    return [f.key for f in findings if level is None or f.level == level]


def test_fresh_workbook_on_a_good_windows_machine(book):
    f = doctor.check(book, platform="win32", which=lambda n: r"C:\Python311\python.exe")
    assert keys(f, "error") == [] and keys(f, "warn") == []
    assert "dr_xlwings_ok" in keys(f)
    assert doctor.report(f, "ja").startswith("問題は見つかりませんでした。")
    assert doctor.exit_code(f) == 0


def test_interpreter_under_localappdata_is_expanded_as_xlwings_does(book, monkeypatch):
    # setup.ps1 writes %LOCALAPPDATA%\xlcrm\venv\... so one workbook serves every user name
    conf = [["Interpreter_Win", r"%LOCALAPPDATA%\xlcrm\venv\Scripts\python.exe"], ["UDF Modules", "xlcrm.udfs"]]
    venv = r"C:\Users\山田\AppData\Local\xlcrm\venv\Scripts\python.exe"
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\山田\AppData\Local")
    f = doctor.check(book, conf, platform="win32", exists=lambda p: p == venv,
                     probe=lambda p: {"xlwings": "0.37.8", "xlcrm": p == venv})
    assert keys(f, "error") == [] and "dr_interpreter_ok" in keys(f)
    assert venv in doctor.report(f, "en")
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\sato\AppData\Local")   # a PC where setup.bat has not run
    f = doctor.check(book, conf, platform="win32", exists=lambda p: p == venv)
    assert keys(f, "error") == ["dr_interpreter_missing"]
    assert r"C:\Users\sato\AppData\Local\xlcrm\venv\Scripts\python.exe" in doctor.report(f, "en")


def test_interpreter_path_that_does_not_exist(book):
    conf = [["Interpreter_Win", r"C:\Python39\python.exe"], ["UDF Modules", "xlcrm.udfs"]]
    f = doctor.check(book, conf, platform="win32", exists=lambda p: False)
    assert keys(f, "error") == ["dr_interpreter_missing"]
    text = doctor.report(f, "ja")
    assert r"C:\Python39\python.exe" in text and "xlcrm set-interpreter" in text
    assert "does not exist" in doctor.report(f, "en")
    assert doctor.exit_code(f) == 1


def test_python_on_path_is_the_store_alias(book):
    f = doctor.check(book, platform="win32", which=lambda n: STORE_ALIAS)
    assert keys(f, "error") == ["dr_store_python"]
    assert "python.org" in doctor.report(f, "ja")


def test_no_python_on_path(book):
    f = doctor.check(book, platform="win32", which=lambda n: None)
    assert keys(f, "error") == ["dr_interpreter_path"]


def test_store_office(book):
    f = doctor.check(book, platform="win32", which=lambda n: r"C:\Python311\python.exe",
                     excel_path=r"C:\Program Files\WindowsApps\Microsoft.Office.Desktop.Excel_16.0\Office16")
    assert keys(f, "warn") == ["dr_store_office"]


def test_xlwings_version_differs_from_the_workbooks_vba(book):
    f = doctor.check(book, platform="win32", which=lambda n: r"C:\Python311\python.exe", expected_version="0.30.10")
    [e] = [x for x in f if x.level == "error"]
    assert e.key == "dr_xlwings_mismatch"
    assert "pip install xlwings==0.30.10" in doctor.report(f, "ja")


def test_version_is_read_from_the_embedded_vba(book, tmp_path):
    assert doctor.vba_xlwings_version(book) == "0.37.8"
    xlsx = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(book) as zi, zipfile.ZipFile(xlsx, "w") as zo:
        for i in zi.infolist():
            if i.filename != "xl/vbaProject.bin":
                zo.writestr(i, zi.read(i))
    assert doctor.vba_xlwings_version(xlsx) is None
    assert "dr_no_vba" in keys(doctor.check(xlsx, platform="linux"), "error")


def test_the_interpreter_named_in_conf_is_probed(book):
    seen = []

    def probe(python):
        seen.append(python)
        return {"xlwings": "0.37.8", "xlcrm": False}
    conf = [["Interpreter_Win", r"C:\Py\python.exe"]]
    import sys
    f = doctor.check(book, conf, platform=sys.platform if sys.platform == "win32" else "win32",
                     exists=lambda p: True, probe=probe)
    if sys.platform == "win32":
        assert seen == [r"C:\Py\python.exe"] and "dr_xlcrm_missing" in keys(f, "error")
    else:  # a Windows path cannot be run from here: the checks use this Python
        assert seen == [] and "dr_xlcrm_missing" not in keys(f)


def test_workbook_opened_from_onedrive_url():
    url = "https://contoso-my.sharepoint.com/personal/aoki/Documents/CRM.xlsm"
    f = doctor.check(url, [["Interpreter_Win", "python"]], platform="win32",
                     which=lambda n: r"C:\Python311\python.exe")
    assert keys(f, "warn") == ["dr_url"]
    assert "同期フォルダ" in doctor.report(f, "ja")


def test_blank_row_in_xlwings_conf(book):
    conf = [["Interpreter_Win", "python"], [None, None], ["UDF Modules", "xlcrm.udfs"], [None, None]]
    f = doctor.check(book, conf, platform="win32", which=lambda n: r"C:\Python311\python.exe")
    [e] = [x for x in f if x.level == "error"]
    assert e.key == "dr_conf_blank" and e.kw == {"row": 2, "keys": "UDF Modules"}
    assert "2 行目が空行" in doctor.report(f, "ja")


def test_blank_row_hides_the_interpreter(book):
    conf = [["UDF Modules", "xlcrm.udfs"], [None, None], ["Interpreter_Win", r"C:\Py\python.exe"]]
    f = doctor.check(book, conf, platform="win32", which=lambda n: None, exists=lambda p: True)
    assert set(keys(f, "error")) == {"dr_conf_blank", "dr_interpreter_path"}  # xlwings falls back to 'python'


def test_wrong_udf_module(book):
    f = doctor.check(book, [["UDF Modules", "udfs"]], platform="win32", which=lambda n: "C:\\py\\python.exe")
    assert keys(f, "warn") == ["dr_udf_modules"]


def test_macos_says_udfs_are_windows_only(book):
    conf = [["Interpreter_Win", "python"], ["Interpreter_Mac", "/usr/local/bin/python3"]]
    f = doctor.check(book, conf, platform="darwin", exists=lambda p: p == "/usr/local/bin/python3")
    assert "dr_mac" in keys(f, "info") and keys(f, "error") == []
    text = doctor.report(f, "ja")
    assert "xlwings runpython install" in text and "Windows版Excelだけ" in text


def test_a_plain_workbook_without_conf_sheet_or_vba(book_path):
    assert doctor.read_conf(book_path) is None
    f = doctor.check(book_path, platform="win32", which=lambda n: r"C:\Python311\python.exe")
    assert keys(f, "warn") == ["dr_no_conf"] and keys(f, "error") == ["dr_no_vba"]
    assert "xlwings.conf シートがありません" in doctor.report(f, "ja")


def test_set_interpreter_writes_the_conf_sheet(book):
    msg = doctor.set_interpreter(book, r"C:\Python311\python.exe", "win32")
    assert "Interpreter_Win" in msg
    conf = doctor.read_conf(book)
    assert conf[0] == ["Interpreter_Win", r"C:\Python311\python.exe"]
    doctor.set_interpreter(book, "/opt/homebrew/bin/python3", "darwin")
    conf = doctor.read_conf(book)
    assert conf[1] == ["Interpreter_Mac", "/opt/homebrew/bin/python3"]
    f = doctor.check(book, platform="win32", exists=lambda p: p == r"C:\Python311\python.exe")
    assert keys(f, "error") == [] and "dr_interpreter_ok" in keys(f)
    with zipfile.ZipFile(book) as z:  # still a macro workbook with its ribbon
        assert "customUI/customUI.xml" in z.namelist() and "xl/vbaProject.bin" in z.namelist()


def test_cli_doctor_and_set_interpreter(book, capsys):
    assert main(["set-interpreter", str(book), "--python", r"C:\Py\python.exe"]) == 0
    assert "Interpreter_Win" in capsys.readouterr().out
    code = main(["--lang", "en", "doctor", str(book)])
    out = capsys.readouterr().out
    assert "xlwings 0.37.8" in out and code == 0


def test_cli_build_workbook_check(tmp_path, capsys):
    out = tmp_path / "wb" / "CRM.xlsm"
    assert main(["build-workbook", "--out", str(out)]) == 0
    assert main(["build-workbook", "--out", str(out), "--check"]) == 0
    doctor.set_interpreter(out, r"C:\Py\python.exe", "win32")
    assert main(["build-workbook", "--out", str(out), "--check"]) == 1
    assert "xlcrm build-workbook" in capsys.readouterr().out
