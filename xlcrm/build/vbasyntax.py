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

The Python ANTLR runtime is slow (minutes of CPU for the workbook's modules), so:

- the conditional-compilation parse sees only the directive lines: every other line is one the `vba_cc` grammar
  accepts whatever it holds (`logicalLine`) and lets be left out (`directives_only`); the lexer still reads the
  whole module, and any error sends the whole module through the grammar unchanged for its messages;
- each distinct text the compiler would see (after conditional compilation) is parsed once per project check, a
  procedure at a time (`_parses_in_pieces`): ANTLR's LL fallback then re-predicts one procedure, not the module,
  and the procedures the platforms share parse once;
- a text or procedure that parsed without error is recorded on disk (`cache_dir()`), keyed by a SHA-256 of its
  text (tokens), the grammar (the generated parser and lexer files, the package and runtime versions) and this
  file. Only what parsed is recorded: a text with a syntax error is parsed, and fails, every time (its errors come
  from the whole text's parse). Processes that check at once (test workers, a build beside the tests) share the
  work through a lock file per text and per procedure.

Measured on the workbook's 11 modules x 3 platforms (one process, CPU): 290 s before these steps, 49 s with an
empty cache, 3.4 s with a full one.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The constants VBA predefines (MS-VBAL 3.4.1.1), per platform the workbook supports. Mac Office 2016+ is VBA7.
PLATFORMS: dict[str, dict[str, object]] = {
    "Win64": {"VBA6": True, "VBA7": True, "WIN16": False, "WIN32": True, "WIN64": True, "MAC": False},
    "Win32": {"VBA6": True, "VBA7": True, "WIN16": False, "WIN32": True, "WIN64": False, "MAC": False},
    "Mac": {"VBA6": True, "VBA7": True, "WIN16": False, "WIN32": False, "WIN64": False, "MAC": True,
            "MAC_OFFICE_VERSION": 16},
}
# Cache keys (see `_key`) of texts that parsed without error in this process; the disk cache holds the same keys
# across processes.
_PARSED: set[str] = set()
CACHE_ENV = "XLCRM_VBA_CACHE"  # a directory for the parse cache; empty: no disk cache
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


def _token_stream(text: str, lexer_cls, errors: list):
    """The text's tokens (a CommonTokenStream) from `lexer_cls`, lexing errors into `errors`, not the console."""
    from antlr4 import CommonTokenStream, InputStream
    lexer = lexer_cls(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_listener(errors))
    return CommonTokenStream(lexer)


def _parse(text: str, lexer_cls, parser_cls):
    """(parse tree, [(line, column, message)]) with ANTLR's console printing replaced by a list.

    ANTLR's usual two stages: SLL prediction first (about half the time of full LL on this grammar), and only if
    that reports an error the full LL parse, whose errors are the ones reported."""
    from antlr4.atn.PredictionMode import PredictionMode
    errors: list = []
    tokens = _token_stream(text, lexer_cls, errors)
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


def _directive_line(ctx) -> int:
    """The line of a directive: that of its keyword (#If, #Else, ...), after the newlines it starts with."""
    from antlr4.tree.Tree import TerminalNode
    from antlr4_vba.vba_ccParser import vba_ccParser as P
    for child in ctx.getChildren():
        if isinstance(child, TerminalNode) and child.symbol.type != P.NEWLINE:
            return child.symbol.line
    raise _Unsupported(ctx.getText())


# What the vba_cc grammar's logicalLine may not start with: a line starting otherwise is a logicalLine whatever
# follows on it. #End If may be either, so its lines are kept too.
def _directive_tokens() -> frozenset[int]:
    from antlr4_vba.vba_ccLexer import vba_ccLexer as L
    return frozenset((L.CONST, L.IF, L.ELSEIF, L.ELSE, L.ENDIF))


def directives_only(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """`text` for the conditional-compilation grammar with only its directive lines, and the lexer's errors on the
    whole text.

    The vba_cc lexer reads the whole text. A line (the tokens between two NEWLINE tokens) whose first token is not a
    directive is a `logicalLine` in any parse, whatever follows on it, and the grammar lets a block of them be
    left out wherever it stands (`ccIf ccBlock? ...`, and the module body is satisfied by a bare newline), so such
    lines are emptied; the first line (the module header) is kept. The directive structure, and so what is
    valid, is unchanged, and the line numbers too (no token but NEWLINE holds a line break): the grammar's
    full-context prediction, which took 55 s of CPU for xlwings.bas on ordinary lines, sees its directives only.
    tests/test_vba_syntax.py checks the verdict and the directives' places against the whole text's parse."""
    from antlr4 import Token
    from antlr4_vba.vba_ccLexer import vba_ccLexer
    errors: list = []
    stream = _token_stream(text, vba_ccLexer, errors)
    stream.fill()
    directive = _directive_tokens()
    out: list[str] = []
    start, first, header = 0, None, True
    for tok in stream.tokens:
        if tok.type in (vba_ccLexer.NEWLINE, Token.EOF):
            end = tok.start if tok.type == vba_ccLexer.NEWLINE else len(text)
            if header or first in directive:
                out.append(text[start:end])
            if tok.type == vba_ccLexer.NEWLINE:
                out.append(tok.text)
                start = tok.stop + 1
            header, first = False, None
        elif first is None and tok.channel == Token.DEFAULT_CHANNEL:
            first = tok.type
    return "".join(out), errors


@lru_cache(maxsize=64)
def _cc_tree(text: str):
    """(the conditional-compilation parse tree of `text`, errors), parsed once per text in this process (each
    platform evaluates the same tree). Any error, the lexer's or the parser's, comes from the whole text."""
    from antlr4_vba.vba_ccLexer import vba_ccLexer
    from antlr4_vba.vba_ccParser import vba_ccParser
    reduced, errors = directives_only(text)
    if not errors:
        tree, errors = _parse(reduced, vba_ccLexer, vba_ccParser)
        if not errors:
            return tree, []
    return _parse(text, vba_ccLexer, vba_ccParser)


def preprocess(text: str, platform: str = "Win64") -> tuple[str, list[tuple[int, int, str]]]:
    """The module as the VBA compiler sees it on `platform`: directive lines and inactive branches blanked.
    Returns (text, errors of the conditional-compilation parse)."""
    from antlr4_vba.vba_ccParser import vba_ccParser as P
    tree, errors = _cc_tree(text)
    if errors:
        return text, errors
    consts = dict(PLATFORMS[platform])
    blank: set[int] = set()

    def walk(ctx) -> None:
        """Evaluate the directives of an active block; an inactive branch is every line between its directive and
        the next one of its #If block."""
        for child in ctx.getChildren():
            if isinstance(child, P.CcConstContext):
                blank.add(_directive_line(child))
                consts[child.ccVarLhs().getText().upper()] = _evaluate(child.ccExpression(), consts)
            elif isinstance(child, P.CcIfBlockContext):
                branches = [(child.ccIf(), child.ccBlock())]
                branches += [(b.ccElseif(), b.ccBlock()) for b in child.ccElseifBlock()]
                if child.ccElseBlock() is not None:
                    branches.append((child.ccElseBlock().ccElse(), child.ccElseBlock().ccBlock()))
                lines = [_directive_line(d) for d, _ in branches] + [_directive_line(child.ccEndif())]
                blank.update(lines)
                taken = False
                for i, (directive, block) in enumerate(branches):
                    go = not taken and (isinstance(directive, P.CcElseContext)
                                        or bool(_evaluate(directive.ccExpression(), consts)))
                    taken = taken or go
                    if not go:
                        blank.update(range(lines[i] + 1, lines[i + 1]))
                    elif block is not None:
                        walk(block)
            elif isinstance(child, (P.CcBlockContext, P.ConditionalModuleBodyContext)):
                walk(child)

    try:
        walk(tree)
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


# --- the VBA grammar, a procedure at a time -----------------------------------------------------------------------

def _procedure_starts(tokens) -> list[int]:
    """Indexes of the tokens that begin a line with a procedure declaration, at its first column:
    [Public | Private | Friend] [Static] Sub | Function | Property."""
    from antlr4_vba.vbaLexer import vbaLexer as L
    optional = ((L.PUBLIC, L.PRIVATE, L.FRIEND), (L.STATIC,))
    starts = []
    for i in range(1, len(tokens)):
        if tokens[i - 1].type != L.NEWLINE:
            continue
        k = i
        for kinds in optional:
            if tokens[k].type in kinds and k + 2 < len(tokens) and tokens[k + 1].type == L.WS:
                k += 2
        if tokens[k].type in (L.SUB, L.FUNCTION, L.PROPERTY):
            starts.append(i)
    return starts


def _parse_tokens(tokens, rule: str):
    """The parse tree of `rule` over `tokens` then EOF (SLL, then LL if SLL fails), or None unless the rule took
    every token without an error."""
    from antlr4 import CommonTokenStream, Token
    from antlr4.atn.PredictionMode import PredictionMode
    from antlr4.ListTokenSource import ListTokenSource
    from antlr4_vba.vbaParser import vbaParser
    for mode in (PredictionMode.SLL, PredictionMode.LL):
        parser = vbaParser(CommonTokenStream(ListTokenSource([t.clone() for t in tokens])))
        parser.removeErrorListeners()
        parser._interp.predictionMode = mode
        tree = getattr(parser, rule)()
        if parser.getNumberOfSyntaxErrors() == 0 and parser._input.LA(1) == Token.EOF:
            return tree
    return None


def _piece_key(rule: str, tokens) -> str:
    """Cache key of a run of tokens parsed by `rule`: the parse depends on the tokens' types and texts only."""
    body = "\0".join(f"{t.type}:{t.text}" for t in tokens)
    return hashlib.sha256(_fingerprint() + f"{rule}\0{body}".encode("utf-8")).hexdigest()


def _code_section(tree):
    """(the code section of a parsed module, the rule that parses more of it)."""
    module = tree.module()
    if module.proceduralModule() is not None:
        return module.proceduralModule().proceduralModuleBody().proceduralModuleCode(), "proceduralModuleCode"
    return module.classModule().classModuleBody().classModuleCode(), "classModuleCode"


def _parses_in_pieces(text: str, cache) -> bool:
    """True if `text` parses under the VBA grammar, checked a procedure at a time; False: not shown (it may or may
    not parse).

    When SLL prediction fails somewhere, ANTLR's LL parse re-predicts the whole module: 21 s of CPU for xlwings.bas,
    against 0.2-0.8 s for SLL. So the text is lexed once and its tokens are cut before each line that starts with a
    procedure declaration. The first piece (header and declarations) must parse as a module (`startRule`), each
    later piece as a code section (`proceduralModuleCode` or `classModuleCode`, both `(element endOfLine*)*`),
    taking all its tokens. Every piece but the last ends with its NEWLINE token, so the `endOfLine*` that ends the
    first piece's parse (the module's tail) joins its last code element, or in a standard module without one the
    `endOfLine*` the grammar allows between declarations and code; a class module has no such place, so there the
    first piece runs to the second procedure and must hold a code element. The pieces' code elements in order then
    make the whole module's code section: the text parses. A piece that parsed is recorded like a whole text, so the
    procedures that Win64, Win32 and Mac share parse once. tests/test_vba_syntax.py checks the verdict against
    the whole text's parse.
    """
    from antlr4 import Token
    from antlr4_vba.vbaLexer import vbaLexer
    errors: list = []
    stream = _token_stream(text, vbaLexer, errors)
    stream.fill()
    tokens = [t for t in stream.tokens if t.type != Token.EOF]
    starts = _procedure_starts(tokens)
    if errors or not starts:
        return False
    rule = _first_piece(tokens[:starts[0]], cache, class_ok=False)
    if rule is None and len(starts) > 1:  # a class module: its first procedure joins the first piece
        rule, starts = _first_piece(tokens[:starts[1]], cache, class_ok=True), starts[1:]
    if rule is None:
        return False

    def parses(key: str, piece) -> bool:
        if key in _PARSED or cache.has(key):
            return True
        if _parse_tokens(piece, rule) is None:
            return False
        _PARSED.add(key)
        cache.put(key)
        return True

    busy = []  # pieces another process is parsing: they come last, from the cache if it succeeded
    for a, b in zip(starts, [*starts[1:], len(tokens)]):
        key = _piece_key(rule, tokens[a:b])
        if key in _PARSED or cache.has(key):
            continue
        with cache.lock(key, wait=False) as held:
            if not held:
                busy.append((key, tokens[a:b]))
            elif not parses(key, tokens[a:b]):
                return False
    for key, piece in busy:
        with cache.lock(key):
            if not parses(key, piece):
                return False
    return True


def _first_piece(piece, cache, class_ok: bool) -> str | None:
    """The rule of the code section if `piece` parses as a module (`startRule`) that later pieces can continue: a
    standard module, or a class module with a code element if `class_ok`."""
    keys = {r: _piece_key(f"startRule {r} {class_ok}", piece) for r in ("proceduralModuleCode", "classModuleCode")}
    known = next((r for r, k in keys.items() if k in _PARSED or cache.has(k)), None)
    if known:
        return known
    tree = _parse_tokens(piece, "startRule")
    if tree is None:
        return None
    code, rule = _code_section(tree)
    if rule == "classModuleCode" and not (class_ok and code.getChildCount()):
        return None
    _PARSED.add(keys[rule])
    cache.put(keys[rule])
    return rule


def cache_dir() -> Path | None:
    """Where texts that parsed without error are recorded: $XLCRM_VBA_CACHE if set (empty: nowhere), else the
    user's cache directory (%LOCALAPPDATA%, ~/Library/Caches, $XDG_CACHE_HOME or ~/.cache) / xlcrm / vba."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return Path(env) if env else None
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "xlcrm" / "vba"


@lru_cache(maxsize=1)
def _fingerprint() -> bytes:
    """What a parse result depends on besides the text: the generated grammar files, the package and runtime
    versions, and this file (the way it parses)."""
    import importlib.metadata

    import antlr4_vba
    h = hashlib.sha256(b"xlcrm vba parse cache 1\0")
    for dist in ("antlr4-vba", "antlr4-python3-runtime"):
        try:
            h.update(f"{dist}={importlib.metadata.version(dist)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{dist}=?\0".encode())
    package = Path(antlr4_vba.__file__).parent
    for name in ("vbaLexer.py", "vbaParser.py"):
        h.update(hashlib.sha256((package / name).read_bytes()).digest())
    h.update(hashlib.sha256(Path(__file__).read_bytes()).digest())
    return h.digest()


def _key(visible: str) -> str:
    return hashlib.sha256(_fingerprint() + visible.encode("utf-8")).hexdigest()


class _DiskCache:
    """One empty file `<key>.ok` per text that parsed without error, written atomically; `<key>.lock` serialises
    the processes that would parse the same text at once (POSIX only; elsewhere both parse)."""

    def __init__(self, root: Path | None):
        self.root = root
        if root is not None:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError:
                self.root = None  # an unwritable cache is no cache

    def has(self, key: str) -> bool:
        return self.root is not None and (self.root / f"{key}.ok").exists()

    def put(self, key: str) -> None:
        if self.root is None:
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f"{key}.", suffix=".tmp")
            os.close(fd)
            os.replace(tmp, self.root / f"{key}.ok")
        except OSError:
            pass

    @contextlib.contextmanager
    def lock(self, key: str, wait: bool = True):
        """Yields True with the text's lock held (or with no locking available), False if another process holds it
        and `wait` is false."""
        try:
            import fcntl
        except ImportError:
            fcntl = None
        if self.root is None or fcntl is None:
            yield True
            return
        try:
            f = open(self.root / f"{key}.lock", "a")
        except OSError:
            yield True
            return
        with f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                locked = True
            except BlockingIOError:
                locked = None
            except OSError:  # a file system without locks
                locked = False
            if locked is None:
                yield False
                return
            try:
                yield True
            finally:
                if locked:
                    fcntl.flock(f, fcntl.LOCK_UN)


def _parse_text(text: str, cache) -> list:
    """Errors of a text after conditional compilation under the VBA grammar (empty: it parses). A text that does not
    parse in pieces is parsed whole, for its errors (or because the cuts did not suit it)."""
    from antlr4_vba.vbaLexer import vbaLexer
    from antlr4_vba.vbaParser import vbaParser
    if _parses_in_pieces(text, cache):
        return []
    return _parse(text, vbaLexer, vbaParser)[1]


def _parse_texts(texts: dict[str, str]) -> dict[str, list]:
    """{key: errors} for {key: text after conditional compilation}, each text parsed at most once: not at all if
    this process or the disk cache has it as parsed without error. A text another process is parsing is left for
    last, and then read from the cache once that process is done (or parsed here if it failed there)."""
    cache = _DiskCache(cache_dir())
    results: dict[str, list] = {}

    def check(key: str) -> None:
        if key in _PARSED or cache.has(key):
            _PARSED.add(key)
            results[key] = []
            return
        errors = _parse_text(texts[key], cache)
        results[key] = errors
        if not errors:
            _PARSED.add(key)
            cache.put(key)

    busy = []
    for key in sorted(texts, key=lambda k: -len(texts[k])):  # the longest first: they take most of the time
        if key in _PARSED or cache.has(key):
            _PARSED.add(key)
            results[key] = []
            continue
        with cache.lock(key, wait=False) as held:
            if held:
                check(key)
            else:
                busy.append(key)
    for key in busy:
        with cache.lock(key):
            check(key)
    return results


def _check(modules, platforms) -> list[SyntaxProblem]:
    """Syntax errors of (name, source, kind) modules, in module and platform order; each distinct text parsed once."""
    found: list[tuple[str, str, int, list | str]] = []  # (module, platform, line offset, cc errors or text key)
    texts: dict[str, str] = {}
    for name, source, kind in modules:
        text = export_text(source, kind)
        offset = CLASS_HEADER.count("\r\n") if text.startswith(CLASS_HEADER) else 0
        for platform in platforms:
            visible, errors = preprocess(text, platform)
            if errors:
                found.append((name, platform, offset, errors))
            else:
                key = _key(visible)
                texts[key] = visible
                found.append((name, platform, offset, key))
    parsed = _parse_texts(texts)
    return [SyntaxProblem(name, platform, max(line - offset, 0), col, msg)
            for name, platform, offset, what in found
            for line, col, msg in (parsed[what] if isinstance(what, str) else what)]


def module_problems(name: str, source: str, kind: str = "standard",
                    platforms=tuple(PLATFORMS)) -> list[SyntaxProblem]:
    """Every syntax error of one module on each platform (empty: it parses)."""
    return _check([(name, source, kind)], platforms)


def project_problems(modules) -> list[SyntaxProblem]:
    """Syntax errors of every module of a project (`xlcrm.build.ovba.Module`s or (name, source, kind) tuples)."""
    return _check([(m.name, m.source, m.kind) if hasattr(m, "name") else m for m in modules], tuple(PLATFORMS))


def available() -> bool:
    """True if the parser is installed (the `build` / `test` extras)."""
    import importlib.util
    return importlib.util.find_spec("antlr4_vba") is not None
