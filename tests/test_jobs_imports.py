"""The rooms of xlcrm/jobs: no engine inside them, no import circle between them, imports at the top unless the
line says why (start-up time)."""
from __future__ import annotations

import ast
from pathlib import Path

import xlcrm.jobs

JOBS_DIR = Path(xlcrm.jobs.__file__).parent
ENGINES = ("openpyxl", "xlwings", "python_calamine")


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(JOBS_DIR.glob("*.py"))}


def _imports(tree: ast.Module):
    """(module name as written, level, names, node) of every import, at the top or inside functions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, 0, [], node
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level, [a.name for a in node.names], node


def _sibling_edges(name: str, tree: ast.Module) -> set[str]:
    """The xlcrm.jobs modules `name` imports (from . import x, from .x import y)."""
    out = set()
    siblings = {p.stem for p in JOBS_DIR.glob("*.py")}
    for mod, level, names, _ in _imports(tree):
        if level == 1:
            if mod:
                out.add(mod.split(".")[0])
            else:
                out |= {n for n in names if n in siblings}
        elif mod.startswith("xlcrm.jobs."):
            out.add(mod.split(".")[2])
    return out - {"__init__", name}


def test_no_job_module_reaches_an_engine():
    bad = []
    for name, tree in _modules().items():
        for mod, level, _, node in _imports(tree):
            if level == 0 and mod.split(".")[0] in ENGINES:
                bad.append(f"{name}.py:{node.lineno} imports {mod}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("wb", "xw", "_wb", "_ws"):
                bad.append(f"{name}.py:{node.lineno} touches .{node.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr" and \
                    getattr(node.args[0], "id", None) == "book":
                bad.append(f"{name}.py:{node.lineno} asks hasattr (use book.capabilities())")
    assert not bad, bad


def test_no_import_circle_between_job_modules():
    graph = {name: _sibling_edges(name, tree) for name, tree in _modules().items()}
    state: dict[str, int] = {}

    def visit(n, path):
        if state.get(n) == 1:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(n):] + [n]))
        if state.get(n) == 2:
            return
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            visit(m, path + [n])
        state[n] = 2
    for n in graph:
        visit(n, [])
    assert graph["followup"] >= {"common", "steps", "referrals", "surveys"}   # the graph is really read


def test_imports_inside_functions_say_why():
    """An import inside a function hides the real graph; it stays only with its reason (start-up time) on the
    line, the line above, or a comment block it belongs to."""
    bad = []
    for p in sorted(JOBS_DIR.glob("*.py")):
        lines = p.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                    continue
                here = lines[node.lineno - 1]
                above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                if "#" not in here and not above.startswith("#") and not _under_module_note(lines, node):
                    bad.append(f"{p.name}:{node.lineno}: {here.strip()}")
    assert not bad, bad


def _under_module_note(lines: list[str], node) -> bool:
    """rfm.py explains its lazy imports once, at the top (pyarrow, schema/pandas, the book layer)."""
    text = "\n".join(lines[:60])
    what = ast.unparse(node)
    return "Imported where used, for start-up time" in text and any(
        m in what for m in ("pyarrow", "schema", "csvio", "open_book"))


# What each command must not load, as a user runs it (#12: each job ≤ 1.5 s as a whole process, `contact` ≤ 1 s).
# statsmodels takes 1.2–1.6 s to import, scipy.stats 1 s, scipy.optimize 0.5 s, scipy.sparse.csgraph 0.35 s,
# scipy.special 0.25 s, matplotlib.pyplot seconds; xlcrm.smallstats and numpy do what these jobs needed of them.
HEAVY = ("statsmodels", "scipy.stats", "scipy.optimize", "matplotlib", "sklearn")
LIGHT_JOBS = ("contact", "rfm", "lapse", "followup", "journey", "steps", "pipeline", "referrals", "dedupe")
_RUN_ALL = r"""
import json, shutil, sys
from pathlib import Path
from xlcrm.cli import main
src, CUSTOMER, out = Path(sys.argv[1]), sys.argv[2], {}
for job in sys.argv[3:]:
    book = src.with_name(f"{job}.xlsm")
    shutil.copyfile(src, book)
    before = set(sys.modules)
    args = (["contact", str(book), "--customer", CUSTOMER, "--type", "フォロー", "--summary", "x"] if job == "contact"
            else ["run", job, str(book), "--as-of", "2025-08-01"])
    rc = main(args)
    out[job] = [rc, sorted(m for m in set(sys.modules) - before)]
print(json.dumps(out))
"""


def test_the_light_jobs_load_no_heavy_library(demo_book, tmp_path):
    """Every job but the dashboard and the survey, in one process, one after the other: what each one imported.
    `contact` first, so nothing a job loads hides what contact would load; the duplicate check and the survey,
    which need some of it, last."""
    import json
    import shutil
    import subprocess
    import sys
    from xlcrm.book import open_book
    src = tmp_path / "demo.xlsm"
    shutil.copyfile(demo_book, src)
    with open_book(src) as b:
        customer = b.read("customers")["customer_id"].iloc[0]
    r = subprocess.run([sys.executable, "-c", _RUN_ALL, str(src), customer, *LIGHT_JOBS, "survey"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.splitlines()[-1])
    assert all(rc == 0 for rc, _ in got.values()), got
    loaded = {job: [m for m in mods if m.split(".")[0] in ("statsmodels", "matplotlib", "sklearn", "scipy")]
              for job, (_, mods) in got.items()}
    bad = {job: [m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY)] for job, mods in loaded.items()}
    assert not any(bad.values()), bad
    assert not any(loaded[j] for j in LIGHT_JOBS), loaded   # not even scipy's lighter parts
    # phonenumbers and xlcrm.normalize (0.06–0.1 s): the duplicate check folds phone numbers, no other job here does
    folding = {job: [m for m in mods if m.split(".")[0] == "phonenumbers" or m == "xlcrm.normalize"]
               for job, (_, mods) in got.items()}
    assert not any(folding[j] for j in LIGHT_JOBS if j != "dedupe") and folding["dedupe"], folding
    assert loaded["survey"], "the survey's test of low scores ran (scipy.special's hypergeometric functions)"
