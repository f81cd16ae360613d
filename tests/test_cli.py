"""The `xlcrm` command as a user runs it: exit codes and messages in both languages."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pandas as pd

from xlcrm.book import open_book
from xlcrm.cli import main


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_locked_book_exits_3_and_is_untouched(book_path, capsys):
    book_path.with_name("~$" + book_path.name).write_text("x")
    before = sha(book_path)
    assert main(["--lang", "en", "undo", str(book_path)]) == 3
    assert "open elsewhere" in capsys.readouterr().err
    assert sha(book_path) == before


def test_undo_from_the_command_line(book_path, capsys):
    with open_book(book_path) as b:
        b.update_columns("customers", pd.DataFrame({"customer_id": ["C0001"], "区分": ["見込み"]}), key="customer_id")
        b.journal("test", "区分を変更", "kind changed")
        b.save()
    assert main(["undo", str(book_path)]) == 0
    assert "取り消しました" in capsys.readouterr().out
    with open_book(book_path) as b:
        assert b.read("customers").loc[2, "kind"] == "顧客"
    assert main(["--lang", "en", "undo", str(book_path)]) == 0  # the undo itself is undoable: redo
    assert "undone" in capsys.readouterr().out


def test_missing_book_is_a_clear_error(tmp_path, capsys):
    assert main(["--lang", "ja", "undo", str(tmp_path / "nai.xlsm")]) == 2   # bad input: the user names another
    assert "見つかりません" in capsys.readouterr().err


def test_console_script_runs_as_a_process(book_path):
    r = subprocess.run([sys.executable, "-m", "xlcrm.cli", "--lang", "en", "undo", str(book_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Nothing to undo" in r.stdout


def test_the_program_leaves_its_objects_to_the_os_and_main_does_not(book_path):
    """`xlcrm` (console script and `python -m xlcrm.cli`) freezes the collector before the process ends, so the exit
    does not walk every object (#12); `main`, which tests and the ribbon call many times in one process, does not."""
    import tomllib
    from pathlib import Path
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"]["xlcrm"] == "xlcrm.cli:console"
    code = ("import gc, sys; from xlcrm import cli\n"
            "rc = cli.{}(['--lang', 'en', 'undo', sys.argv[1]])\n"
            "print(rc, gc.get_freeze_count() > 0)")
    for func, frozen in (("console", "True"), ("main", "False")):
        r = subprocess.run([sys.executable, "-c", code.format(func), str(book_path)], capture_output=True, text=True)
        assert r.stdout.split()[-2:] == ["0", frozen] and "Nothing to undo" in r.stdout, (func, r.stdout, r.stderr)


def test_run_a_ribbon_job_headless(book_path, capsys):
    assert main(["run", "rfm", str(book_path), "--as-of", "2024-06-30"]) == 0
    assert "RFM" in capsys.readouterr().out
    with open_book(book_path) as b:
        journal = b.read_raw("変更履歴")
    assert journal["処理"].tolist() == ["RFM分析"]
    assert main(["run", "nosuchjob", str(book_path)]) == 2


def test_an_unexpected_error_shows_no_traceback_or_cell_text(book_path, capsys, monkeypatch):
    import xlcrm.jobs.io as io

    def boom(*a, **k):
        raise ValueError("山田太郎 090-1234-5678")  # a library error quoting a cell
    monkeypatch.setattr(io, "undo", boom)
    monkeypatch.delenv("XLCRM_DEBUG", raising=False)
    assert main(["--lang", "en", "undo", str(book_path)]) == 1
    err = capsys.readouterr().err
    assert "ValueError" in err and "山田" not in err and "Traceback" not in err


def test_demo_keeps_no_backup_of_the_book_it_just_made(tmp_path):
    from xlcrm.jobs.demo import run_demo
    out = tmp_path / "d.xlsm"
    lines = list(run_demo(out, customers=60, seed=1, as_of=pd.Timestamp("2026-11-23")))
    assert lines[-1] == "完了しました。"
    with open_book(out) as b:
        assert len(b.read("customers")) >= 60 and len(b.read("orders")) > 0
