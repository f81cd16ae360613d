"""Every VBA module of the built workbook parses under a VBA grammar (antlr4-vba), on each platform's branches of
its #If blocks; a slip such as a missing End Sub fails the check and `xlcrm build-workbook`. No Excel needed."""
from __future__ import annotations

import sys
import threading
import time
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcrm import build, cli
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
    started = time.process_time()
    problems = vbasyntax.project_problems(book_modules)  # texts another test or build parsed come from the cache
    print(f"checked {len(names)} modules x {len(vbasyntax.PLATFORMS)} platforms in "
          f"{time.process_time() - started:.1f} s CPU")
    assert problems == []


def test_the_built_workbook_holds_the_modules_the_build_checks(book_modules):
    """`xlcrm build-workbook` checks the sources it is about to embed; they are the texts in the built workbook, so
    the build and the test above check (and parse, or find in the cache) the same texts."""
    built = {n: vbasyntax.export_text(s, "class" if k == "class" else "standard") for n, s, k in book_modules}
    sources = {m.name: vbasyntax.export_text(m.source, m.kind) for m in build.vba_modules(6)}
    assert built == sources


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


# --- conditional compilation sees the directive lines only ----------------------------------------------------------

def outline(tree) -> list[tuple[int, str, int, str]]:
    """(depth, directive, line, expression) of every directive of a vba_cc parse tree, in order: all that the
    evaluation reads."""
    from antlr4_vba.vba_ccParser import vba_ccParser as P
    kinds = {P.CcConstContext: "#Const", P.CcIfContext: "#If", P.CcElseifContext: "#ElseIf",
             P.CcElseContext: "#Else", P.CcEndifContext: "#End If"}
    out = []

    def walk(ctx, depth):
        for child in ctx.getChildren():
            kind = kinds.get(type(child))
            if kind:
                expr = child.ccExpression().getText() if hasattr(child, "ccExpression") else ""
                out.append((depth, kind, vbasyntax._directive_line(child), expr))
            elif hasattr(child, "getChildren"):
                walk(child, depth + isinstance(child, P.CcIfBlockContext))
    walk(tree, 0)
    return out


LINES = st.sampled_from([
    "#If Mac Then", "#If Win64 And VBA7 Then ' 64-bit", "#ElseIf Win32 Then", "#Else", "#End If", "#EndIf",
    "  #If Not Mac Then", "    #Else", "#Const Debugging = 1", "#If Debugging = 1 Then", "#IfX Then",
    "Sub A()", "    x = 1", "End Sub", "' a comment with #If in it", "", "    ", '    s = "#If"',
    "Dim d As Date: d = #1/2/2003#", "x = 1 _", "    + 2", "#",
    'Private Declare PtrSafe Function F Lib "k" () As Long',
])


FILLER = st.lists(st.sampled_from(["    x = 1", "", "    ", "' #If in a comment", 'MsgBox "#Else"', "x = 1 _"]),
                  max_size=2)
IF_BLOCKS = st.recursive(
    FILLER,
    lambda inner: st.builds(
        lambda head, block, elses, last, tail: [head, *block, *[x for e in elses for x in e], *last, "#End If",
                                                *tail],
        st.sampled_from(["#If Mac Then", "  #If Win64 Then ' 64", "#If Debugging = 1 Then"]), inner,
        st.lists(st.builds(lambda block: ["#ElseIf VBA7 Then", *block], inner), max_size=2),
        st.one_of(st.just([]), st.builds(lambda block: ["#Else", *block], inner)), FILLER),
    max_leaves=6)
MODULES = st.one_of(st.lists(LINES, max_size=14),  # mostly not valid
                    st.builds(lambda c, b: c + b, st.lists(st.just("#Const Debugging = 1"), max_size=1), IF_BLOCKS))


@settings(max_examples=200, deadline=None)
@given(MODULES, st.sampled_from(["\r\n", "\n"]), st.booleans())
def test_directives_only_keeps_validity_and_directive_structure(body, sep, trailing):
    """The shortcut in vbasyntax.directives_only against the grammar on the whole text: the same verdict, and when
    valid, the same directives at the same lines and nesting."""
    from antlr4_vba.vba_ccLexer import vba_ccLexer
    from antlr4_vba.vba_ccParser import vba_ccParser
    text = sep.join(['Attribute VB_Name = "M"', *body]) + (sep if trailing else "")
    reduced, lex_errors = vbasyntax.directives_only(text)
    full_tree, full_errors = vbasyntax._parse(text, vba_ccLexer, vba_ccParser)
    if lex_errors:
        assert full_errors  # and _cc_tree reports the whole text's errors
        return
    assert reduced.count("\n") == text.count("\n")
    tree, errors = vbasyntax._parse(reduced, vba_ccLexer, vba_ccParser)
    assert bool(errors) == bool(full_errors)
    if not errors:
        assert outline(tree) == outline(full_tree)


def test_conditional_compilation_error_is_reported_from_the_whole_text():
    broken = MODULE.replace('    MsgBox "ok"\r\n', '    #If Mac Then\r\n        x = 1\r\n')  # no #End If
    problems = vbasyntax.module_problems("Broken", broken)
    assert {p.platform for p in problems} == set(vbasyntax.PLATFORMS) and problems[0].line > 0


# --- the parse cache ---------------------------------------------------------------------------------------------

def _recorded(monkeypatch, name: str, arg: int) -> list:
    """Calls of vbasyntax.`name` go through, each recording its argument number `arg` in the list returned."""
    seen: list = []
    real = getattr(vbasyntax, name)

    def recording(*args):
        seen.append(args[arg])
        return real(*args)
    monkeypatch.setattr(vbasyntax, name, recording)
    return seen


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh disk cache, an empty in-process one, and a count of the texts the VBA grammar parses."""
    monkeypatch.setenv(vbasyntax.CACHE_ENV, str(tmp_path / "vba"))
    monkeypatch.setattr(vbasyntax, "_PARSED", set())
    parsed = _recorded(monkeypatch, "_parse_text", 0)   # the texts
    return tmp_path / "vba", parsed


def test_a_text_that_parsed_is_not_parsed_again_by_another_process(cache):
    root, parsed = cache
    assert vbasyntax.module_problems("Broken", MODULE) == []
    assert len(parsed) == 1  # no #If: the three platforms see one text
    assert (root / f"{vbasyntax._key(MODULE)}.ok").exists()
    vbasyntax._PARSED.clear()  # what a new process knows
    assert vbasyntax.module_problems("Broken", MODULE) == []
    assert len(parsed) == 1


def test_a_text_with_a_syntax_error_is_parsed_and_fails_every_time(cache):
    root, parsed = cache
    broken = MODULE.replace("End Sub\r\n", "")
    for _ in range(2):
        vbasyntax._PARSED.clear()
        assert vbasyntax.module_problems("Broken", broken)
    assert len(parsed) == 2 and not (root / f"{vbasyntax._key(broken)}.ok").exists()


def test_each_distinct_text_of_a_project_is_parsed_once(cache):
    _, parsed = cache
    mac = MODULE.replace('    MsgBox "ok"\r\n', '    #If Mac Then\r\n        x = 2\r\n    #End If\r\n')
    assert vbasyntax.project_problems([("A", MODULE, "standard"), ("B", mac, "standard"),
                                       ("C", MODULE, "standard")]) == []
    # MODULE (A and C, every platform), B on Windows (its #If lines blank), B on the Mac
    assert len(parsed) == len(set(parsed)) == 3 and MODULE in parsed


def test_a_new_grammar_or_checker_does_not_read_old_results(cache, monkeypatch):
    _, parsed = cache
    assert vbasyntax.module_problems("Broken", MODULE) == []
    vbasyntax._PARSED.clear()
    monkeypatch.setattr(vbasyntax, "_fingerprint", lambda: b"antlr4-vba 0.0.68")
    assert vbasyntax.module_problems("Broken", MODULE) == []
    assert len(parsed) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX flock")
def test_a_text_another_process_is_parsing_is_waited_for_and_read_from_the_cache(cache):
    root, parsed = cache
    key = vbasyntax._key(vbasyntax.preprocess(MODULE, "Win64")[0])
    store = vbasyntax._DiskCache(root)
    done: list = []
    with store.lock(key) as held:  # the other process
        assert held
        worker = threading.Thread(target=lambda: done.append(vbasyntax.module_problems("Broken", MODULE)))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not parsed  # waiting, not parsing
        store.put(key)  # the other process's parse succeeded
    worker.join(30)
    assert done == [[]] and not parsed


# --- a procedure at a time ---------------------------------------------------------------------------------------

PROCS = ["Sub A()\r\n    x = 1\r\nEnd Sub",
         "Private Function F(ByVal n As Long) As Long\r\n    F = n * 2\r\nEnd Function",
         "Public Property Get P() As Long\r\n    P = 1\r\nEnd Property", "Friend Static Sub S()\r\nEnd Sub"]


def test_procedures_the_platforms_share_are_parsed_once(cache, monkeypatch):
    _, parsed = cache
    pieces = _recorded(monkeypatch, "_parse_tokens", 1)  # the grammar rules
    mac = "Sub M()\r\n#If Mac Then\r\n    x = 1\r\n#Else\r\n    x = 2\r\n#End If\r\nEnd Sub"
    module = "\r\n".join(['Attribute VB_Name = "M"', "Option Explicit", *PROCS[:3], mac, PROCS[3], ""])
    assert vbasyntax.module_problems("M", module) == []
    assert len(parsed) == 2  # Win64 and Win32 see one text, the Mac another
    # the first text: declarations, then 5 procedures; the second: only its own branch of Sub M
    assert pieces == ["startRule"] + ["proceduralModuleCode"] * 5 + ["proceduralModuleCode"]


def test_a_slip_in_one_procedure_of_many_is_reported_at_its_line(cache):
    broken = PROCS[1].replace("    F = n * 2", "    If n Then\r\n        F = n * 2")  # no End If
    module = "\r\n".join(['Attribute VB_Name = "M"', "Option Explicit", PROCS[0], broken, *PROCS[2:], ""])
    problems = vbasyntax.module_problems("M", module)
    assert problems and {p.platform for p in problems} == set(vbasyntax.PLATFORMS)
    assert 6 <= problems[0].line <= 9  # in Function F (lines 6-9), as the whole module's parse reports it


FRAGMENTS = st.sampled_from([
    *PROCS, "Sub B()\r\n    If x Then\r\nEnd Sub", "Sub C()", "End Sub", "Function G(\r\nEnd Function",
    "  Sub Indented()\r\n  End Sub", "Option Explicit", "Private y As Long", "Public Const K = 1", "' a comment", "",
    "    ", "REM remark", 'Attribute A.VB_Description = "d"', "Dim a, b",
    'Private Declare PtrSafe Function GetTickCount Lib "kernel32" () As Long',
    "Sub D(): x = 1: End Sub", "Sub E() _\r\n    \r\nEnd Sub", "Sub F()\r\n    x = 1 _\r\n      + 2\r\nEnd Sub",
])


@settings(max_examples=120, deadline=None)
@given(st.booleans(), st.lists(FRAGMENTS, max_size=8), st.sampled_from(["", "\r\n", "\r\n\r\n", "\r\n  "]))
def test_a_module_that_parses_in_pieces_parses_whole(is_class, body, tail):
    """The shortcut in vbasyntax._parses_in_pieces against the grammar on the whole text: no module it accepts is
    one the whole parse rejects (a module it does not accept is parsed whole)."""
    from antlr4_vba.vbaLexer import vbaLexer
    from antlr4_vba.vbaParser import vbaParser
    head = [vbasyntax.CLASS_HEADER + 'Attribute VB_Name = "C"'] if is_class else ['Attribute VB_Name = "M"']
    text = "\r\n".join([*head, *body]) + tail
    if vbasyntax._parses_in_pieces(text, vbasyntax._DiskCache(None)):
        assert vbasyntax._parse(text, vbaLexer, vbaParser)[1] == []
