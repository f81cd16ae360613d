"""Every VBA module of the built workbook parses under a VBA grammar (antlr4-vba), on each platform's branches of
its #If blocks; a slip such as a missing End Sub fails the check and `xlcrm build-workbook`. No Excel needed."""
from __future__ import annotations

import time
import warnings

import pytest

from xlcrm import cli
from xlcrm.build import build_workbook, ovba, vbasyntax

pytest.importorskip("antlr4_vba")


def modules_of_book(path) -> list[tuple[str, str, str]]:
    """(name, source, kind) of every module, read back out of the workbook by oletools; .cls is a class or
    document module (both take the class header when parsed)."""
    from oletools.olevba import VBA_Parser
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = VBA_Parser(str(path))
        try:
            return [(name.rsplit(".", 1)[0], code, "class" if name.endswith(".cls") else "standard")
                    for _, _, name, code in parser.extract_macros()]
        finally:
            parser.close()


@pytest.fixture(scope="module")
def book_modules(tmp_path_factory):
    return modules_of_book(build_workbook(tmp_path_factory.mktemp("syntax") / "CRM.xlsm"))


def test_every_module_of_the_built_workbook_parses(book_modules):
    names = [n for n, _, _ in book_modules]
    assert {"XlcrmRibbon", "xlwings", "xlwings_udfs", "Dictionary", "ThisWorkbook", "Sheet1"} <= set(names)
    assert len(names) == 11  # 4 standard/class modules of ours and xlwings', ThisWorkbook, Sheet1..Sheet6
    vbasyntax._PARSED.clear()  # parse for real, even if another test parsed the same text in this session
    started = time.process_time()
    problems = vbasyntax.project_problems(book_modules)
    print(f"parsed {len(names)} modules x {len(vbasyntax.PLATFORMS)} platforms in "
          f"{time.process_time() - started:.1f} s CPU")
    assert problems == []


def test_xlwings_branches_differ_per_platform(book_modules):
    """The check sees what each Excel compiles: xlwings.bas declares its 64-bit DLL only under Win64."""
    source = dict((n, s) for n, s, _ in book_modules)["xlwings"]
    win64, _ = vbasyntax.preprocess(source, "Win64")
    win32, _ = vbasyntax.preprocess(source, "Win32")
    mac, _ = vbasyntax.preprocess(source, "Mac")
    assert 'Lib "xlwings64-' in win64 and 'Lib "xlwings64-' not in win32
    assert "ExecuteMac PythonCommand" in mac and "ExecuteMac PythonCommand" not in win64
    assert len(win64.split("\r\n")) == len(source.split("\r\n"))  # line numbers are kept
    assert "#If" not in win64 and "#End If" not in mac


MODULE = 'Attribute VB_Name = "Broken"\r\nOption Explicit\r\n\r\nSub Ok()\r\n    MsgBox "ok"\r\nEnd Sub\r\n'


def test_a_correct_module_parses():
    assert vbasyntax.module_problems("Broken", MODULE) == []


def test_a_missing_end_sub_fails():
    broken = MODULE.replace("End Sub\r\n", "") + "\r\nSub Next_()\r\nEnd Sub\r\n"
    problems = vbasyntax.module_problems("Broken", broken)
    assert problems and {p.module for p in problems} == {"Broken"}
    assert "VBA module Broken (Win64) line" in str(problems[0])


def test_a_slip_in_a_mac_only_branch_fails_for_the_mac_only():
    broken = MODULE.replace('    MsgBox "ok"\r\n', '    #If Mac Then\r\n        x = (1\r\n    #Else\r\n        x = 1\r\n'
                                                  '    #End If\r\n')
    problems = vbasyntax.module_problems("Broken", broken)
    assert {p.platform for p in problems} == {"Mac"}
    assert problems[0].line == 6  # the line in the module, directives and other branches counted


def test_a_class_module_with_its_stored_attributes_parses():
    cls = ('Attribute VB_Name = "Thing"\r\nAttribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"\r\n'
           "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
           "Attribute VB_PredeclaredId = False\r\nAttribute VB_Exposed = False\r\n"
           "Attribute VB_TemplateDerived = False\r\nAttribute VB_Customizable = False\r\n"
           "Option Explicit\r\nPrivate mValue As Long\r\nPublic Property Get Value() As Long\r\n"
           "    Value = mValue\r\nEnd Property\r\n")
    assert vbasyntax.module_problems("Thing", cls, "class") == []
    assert vbasyntax.module_problems("Thing", cls.replace("End Property\r\n", ""), "class")


def test_conditional_compilation_constants():
    src = ('Attribute VB_Name = "C"\r\n#Const App = "Microsoft Excel"\r\n#If App = "Microsoft Excel" And Not Mac Then\r\n'
           "Const A = 1\r\n#ElseIf Undefined >= 15 Then\r\nConst A = 2\r\n#Else\r\nConst A = 3\r\n#End If\r\n")
    assert vbasyntax.preprocess(src, "Win64")[0].split("\r\n")[3] == "Const A = 1"
    mac = vbasyntax.preprocess(src, "Mac")[0].split("\r\n")
    assert mac[3] == "" and mac[5] == "" and mac[7] == "Const A = 3"  # Undefined is Empty: 0 >= 15 is False


def test_build_workbook_refuses_vba_that_does_not_parse(tmp_path, monkeypatch, capsys):
    from xlcrm import build
    broken = [ovba.Module("ThisWorkbook", 'Attribute VB_Name = "ThisWorkbook"\r\n', "document"),
              ovba.Module("XlcrmRibbon", MODULE.replace("End Sub\r\n", ""))]
    monkeypatch.setattr(build, "vba_modules", lambda n: broken)
    out = tmp_path / "CRM.xlsm"
    assert cli.main(["--lang", "ja", "build-workbook", "--out", str(out)]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert "ブックのVBAに構文エラーがあります" in err and "VBA module XlcrmRibbon (Win64) line" in err
    assert cli.main(["build-workbook", "--out", str(out), "--check"]) == 1
