"""Parse the workbook's VBA with a VBA grammar, so a syntax slip fails the build instead of Excel's first open.

Excel compiles the source-only VBA project when it opens the book (there is no p-code), and a module that does not
parse breaks every button. Nothing here has Excel, so the modules are parsed with `antlr4-vba` (a generated ANTLR
parser for the grammar of MS-VBAL; install it with the `build` or `test` extra). Two steps, as the VBA compiler
does them:

1. Conditional compilation: `#Const` / `#If` / `#ElseIf` / `#Else` / `#End If` are parsed with the package's
   `vba_cc` grammar and evaluated for one platform; directive lines and inactive branches become blank lines (so
   error line numbers stay those of the module). The package has the grammar but no evaluator; the one below is a
   few dozen lines over its parse tree.
2. The remaining text is parsed with the `vba` grammar. Class and document modules (ThisWorkbook, SheetN) get the
   `VERSION 1.0 CLASS` header of an exported .cls first, as the grammar expects.

Each module is checked for 64-bit Windows, 32-bit Windows and Mac, because Excel compiles only the branches of its
own platform: a slip in a `#If Mac Then` branch would otherwise surface only on a Mac.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

# The constants VBA predefines (MS-VBAL 3.4.1.1), per platform the workbook supports. Mac Office 2016+ is VBA7.
PLATFORMS: dict[str, dict[str, object]] = {
    "Win64": {"VBA6": True, "VBA7": True, "WIN16": False, "WIN32": True, "WIN64": True, "MAC": False},
    "Win32": {"VBA6": True, "VBA7": True, "WIN16": False, "WIN32": True, "WIN64": False, "MAC": False},
    "Mac": {"VBA6": True, "VBA7": True, "WIN16": False, "WIN32": False, "WIN64": False, "MAC": True,
            "MAC_OFFICE_VERSION": 16},
}
# SHA-256 of texts that parsed without error in this process: the Python ANTLR runtime needed 366 s of CPU
# (measured) for the first parse of the workbook's 11 modules on 3 platforms, so a second check of the same text
# (--check after a build, each platform's identical branches) is skipped.
_PARSED: set[str] = set()
CLASS_HEADER = "VERSION 1.0 CLASS\r\nBEGIN\r\n  MultiUse = -1  'True\r\nEND\r\n"


@dataclass(frozen=True)
class SyntaxProblem:
    module: str
    platform: str
    line: int
    column: int
    what: str

    def __str__(self) -> str:
        return f"VBA module {self.module} ({self.platform}) line {self.line}:{self.column}: {self.what}"


def _listener(sink: list):
    from antlr4.error.ErrorListener import ErrorListener

    class Collect(ErrorListener):
        def syntaxError(self, recognizer, offending, line, column, msg, e):  # noqa: N802 — ANTLR's name
            sink.append((line, column, msg))
    return Collect()


def _parse(text: str, lexer_cls, parser_cls):
    """(parse tree, [(line, column, message)]) with ANTLR's console printing replaced by a list.

    ANTLR's usual two stages: SLL prediction first (about half the time of full LL on this grammar), and only if
    that reports an error the full LL parse, whose errors are the ones reported."""
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.atn.PredictionMode import PredictionMode
    errors: list = []
    lexer = lexer_cls(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_listener(errors))
    tokens = CommonTokenStream(lexer)
    parser = parser_cls(tokens)
    parser.removeErrorListeners()
    parser._interp.predictionMode = PredictionMode.SLL
    tree = parser.startRule()
    if parser.getNumberOfSyntaxErrors() == 0:
        return tree, errors
    tokens.seek(0)
    parser = parser_cls(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(_listener(errors))
    return parser.startRule(), errors


# --- conditional compilation --------------------------------------------------------------------------------------

class _Unsupported(Exception):
    pass


def _literal(text: str):
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    up = text.upper()
    if up in ("TRUE", "FALSE"):
        return up == "TRUE"
    if up in ("EMPTY", "NOTHING", "NULL"):
        return None
    try:
        return int(text.rstrip("%&^"))
    except ValueError:
        try:
            return float(text.rstrip("!#@"))
        except ValueError as e:
            raise _Unsupported(f"literal {text}") from e


def _coerce(a, b):
    """Empty (an undefined constant) compares as "" against text and as 0 against numbers, as in VBA."""
    if a is None:
        a = "" if isinstance(b, str) else 0
    if b is None:
        b = "" if isinstance(a, str) else 0
    return a, b


def _evaluate(ctx, consts: dict):
    from antlr4_vba.vba_ccParser import vba_ccParser as P
    if isinstance(ctx, P.ParenthesizedExpressionContext):
        return _evaluate(ctx.ccExpression(), consts)
    if isinstance(ctx, (P.LiteralExpressContext, P.LiteralExpressionContext)):
        return _literal(ctx.getText())
    if isinstance(ctx, P.NotOperatorExpressionContext):
        v = _evaluate(ctx.ccExpression(), consts)
        return (not v) if isinstance(v, bool) else ~int(v or 0)
    if isinstance(ctx, P.UnaryMinusExpressionContext):
        return -_evaluate(ctx.ccExpression(), consts)
    if isinstance(ctx, (P.BooleanExpressionContext, P.RelationExpressionContext, P.ConcatExpressionContext,
                        P.ArithmeticExpressionContext)):
        a, b = (_evaluate(c, consts) for c in ctx.ccExpression())
        op = ctx.getChild(1).getText().upper()
        if isinstance(ctx, P.ConcatExpressionContext):
            return f"{'' if a is None else a}{'' if b is None else b}"
        a, b = _coerce(a, b)
        ops = {"AND": lambda: bool(a) and bool(b), "OR": lambda: bool(a) or bool(b), "XOR": lambda: bool(a) != bool(b),
               "EQV": lambda: bool(a) == bool(b), "IMP": lambda: (not a) or bool(b),
               "=": lambda: a == b, "<>": lambda: a != b, "<": lambda: a < b, ">": lambda: a > b,
               "<=": lambda: a <= b, "=<": lambda: a <= b, ">=": lambda: a >= b, "=>": lambda: a >= b,
               "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}
        if op not in ops:
            raise _Unsupported(f"operator {op}")
        return ops[op]()
    if ctx.getChildCount() == 1 and not isinstance(ctx, P.IndexExpressionContext):  # a name, or a keyword as a name
        child = ctx.getChild(0)
        if hasattr(child, "getChildCount") and child.getChildCount() and not isinstance(child, P.NameContext):
            if isinstance(child, P.CcExpressionContext):
                return _evaluate(child, consts)
        return consts.get(ctx.getText().upper())
    raise _Unsupported(ctx.getText())


def _first_line(ctx) -> int:
    """The line a block or directive starts on (its first token is the newline ending the line before)."""
    tok = ctx.start
    return tok.line + tok.text.count("\n") if not tok.text.strip() else tok.line  # newlines may come several


def preprocess(text: str, platform: str = "Win64") -> tuple[str, list[tuple[int, int, str]]]:
    """The module as the VBA compiler sees it on `platform`: directive lines and inactive branches blanked.
    Returns (text, errors of the conditional-compilation parse)."""
    from antlr4_vba.vba_ccLexer import vba_ccLexer
    from antlr4_vba.vba_ccParser import vba_ccParser as P
    tree, errors = _parse(text, vba_ccLexer, P)
    if errors:
        return text, errors
    consts = dict(PLATFORMS[platform])
    blank: set[int] = set()

    def drop(ctx) -> None:
        blank.update(range(_first_line(ctx), ctx.stop.line + 1))

    def walk(ctx, active: bool) -> None:
        for child in ctx.getChildren():
            if isinstance(child, P.CcConstContext):
                drop(child)
                if active:
                    consts[child.ccVarLhs().getText().upper()] = _evaluate(child.ccExpression(), consts)
            elif isinstance(child, P.CcIfBlockContext):
                taken = not active
                branches = [(child.ccIf(), child.ccBlock())]
                branches += [(b.ccElseif(), b.ccBlock()) for b in child.ccElseifBlock()]
                for directive, block in branches:
                    drop(directive)
                    go = not taken and bool(_evaluate(directive.ccExpression(), consts))
                    taken = taken or go
                    if block is not None:
                        walk(block, go) if go else drop(block)
                if child.ccElseBlock() is not None:
                    drop(child.ccElseBlock().ccElse())
                    block = child.ccElseBlock().ccBlock()
                    if block is not None:
                        walk(block, not taken) if not taken else drop(block)
                drop(child.ccEndif())
            elif isinstance(child, (P.CcBlockContext, P.ConditionalModuleBodyContext)):
                walk(child, active)

    try:
        walk(tree, True)
    except _Unsupported as e:
        return text, [(0, 0, f"conditional compilation not understood: {e}")]
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    sep = "\r\n" if "\r\n" in text else "\n"
    return sep.join("" if i + 1 in blank else line for i, line in enumerate(lines)), []


# --- the whole module ---------------------------------------------------------------------------------------------

# Module attributes a VBA project stores that the grammar's class header does not know: kept as
# comment lines after the other attributes, so every later line keeps its number.
_UNKNOWN_ATTRIBUTES = ("Attribute VB_Base ", "Attribute VB_TemplateDerived ", "Attribute VB_Customizable ",
                       "Attribute VB_Description ")


def export_text(source: str, kind: str) -> str:
    """The module as the grammar expects it: a class or document module with its .cls export header."""
    if kind not in ("class", "document"):
        return source
    lines = source.split("\r\n")
    n = next((i for i, line in enumerate(lines) if not line.startswith("Attribute ")), len(lines))
    head = [line for line in lines[:n] if not line.startswith(_UNKNOWN_ATTRIBUTES)]
    head += ["' " + line for line in lines[:n] if line.startswith(_UNKNOWN_ATTRIBUTES)]
    return CLASS_HEADER + "\r\n".join(head + lines[n:])


def module_problems(name: str, source: str, kind: str = "standard",
                    platforms=tuple(PLATFORMS)) -> list[SyntaxProblem]:
    """Every syntax error of one module on each platform (empty: it parses)."""
    from antlr4_vba.vbaLexer import vbaLexer
    from antlr4_vba.vbaParser import vbaParser
    text = export_text(source, kind)
    offset = CLASS_HEADER.count("\r\n") if text.startswith(CLASS_HEADER) else 0
    problems: list[SyntaxProblem] = []
    for platform in platforms:
        visible, errors = preprocess(text, platform)
        if not errors:
            key = hashlib.sha256(visible.encode("utf-8")).hexdigest()
            if key in _PARSED:  # the same text parsed without error already (another platform, an earlier call)
                continue
            _, errors = _parse(visible, vbaLexer, vbaParser)
            if not errors:
                _PARSED.add(key)
        problems += [SyntaxProblem(name, platform, max(line - offset, 0), col, msg) for line, col, msg in errors]
    return problems


def project_problems(modules) -> list[SyntaxProblem]:
    """Syntax errors of every module of a project (`xlcrm.build.ovba.Module`s or (name, source, kind) tuples)."""
    problems: list[SyntaxProblem] = []
    for m in modules:
        name, source, kind = (m.name, m.source, m.kind) if hasattr(m, "name") else m
        problems += module_problems(name, source, kind)
    return problems


def available() -> bool:
    """True if the parser is installed (the `build` / `test` extras)."""
    import importlib.util
    return importlib.util.find_spec("antlr4_vba") is not None
