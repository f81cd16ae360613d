"""A save that dies at any step, a full disk, a read-only folder: the book on disk is the old one or the new one,
it opens, the backup of the old one is there whenever the new one is, and the user gets a sentence, not a trace.

Complements tests/test_crash.py (kills at random moments) with kills at each step of `FileBook.save`.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from corpus import hostile
from corpus.jobs import score
from xlcrm.book import open_book
from xlcrm.cli import main
from xlcrm.messages import XlcrmError

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

# each step: what to patch in the writer so that it dies right there (os._exit: no cleanup, like SIGKILL)
KILLER = textwrap.dedent("""
    import os, shutil, sys
    import pandas as pd
    import xlcrm.book.file as f
    from xlcrm.book import open_book
    path, step = sys.argv[1], sys.argv[2]

    def die(*a, **k):
        os._exit(137)

    def after(fn):
        def g(*a, **k):
            fn(*a, **k)
            die()
        return g

    from xlcrm.book.package import Package
    if step == "temp_half_written":
        real = Package.write
        def half(self, out):
            real(self, out)
            out.flush()
            out.truncate(out.tell() // 2)
            die()
        Package.write = half
    elif step == "temp_written":
        Package.write = after(Package.write)
    elif step == "checked":          # written, opened by calamine, about to be made durable
        f._fsync = die
    elif step == "backup_half_copied":
        real_copy = shutil.copyfileobj
        def half_copy(src, dst, length=0):
            if getattr(src, "name", None) != path:  # zipfile uses it too, while the temp file is written
                return real_copy(src, dst, length)
            dst.write(src.read(2000))
            dst.flush()
            die()
        shutil.copyfileobj = half_copy
    elif step == "backed_up":
        real_backup = f.FileBook._backup
        def b(self, mode):
            real_backup(self, mode)
            die()
        f.FileBook._backup = b
    elif step == "replaced":
        f._fsync_dir = die
    with open_book(path, backups=5) as b:
        b.write_table("メモ", pd.DataFrame({"新": ["新しい版"] * 50}))
        b.journal("crash", "crash", "crash")
        b.save()
    print("finished")
""")

REL14 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"  # the one openpyxl drops
STEPS = ["temp_half_written", "temp_written", "checked", "backup_half_copied", "backed_up", "replaced"]


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_each_step_of_a_save(step, tmp_path):
    import xlwings
    # a macro book with a 2007 ribbon: its parts must come through every step
    template = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    plain = hostile.write_book(tmp_path / "plain.xlsm", hostile.standard(), template=template)
    path = hostile.rewrite_parts(plain, tmp_path / "CRM.xlsm", {
        "_rels/.rels": lambda d: d.replace(b"</Relationships>", f'<Relationship Id="rIdUI" Type="{REL14}" '
                                           f'Target="customUI/customUI14.xml"/></Relationships>'.encode()),
        "customUI/customUI14.xml": b'<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"/>'})
    plain.unlink()
    old = path.read_bytes()
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    r = subprocess.run([sys.executable, str(script), str(path), step], capture_output=True, text=True, env=ENV,
                       timeout=120)
    assert r.returncode == 137, r.stdout + r.stderr[-2000:]
    backups = sorted((tmp_path / "CRM_backup").glob("*.xlsm")) if (tmp_path / "CRM_backup").exists() else []
    now = path.read_bytes()
    with open_book(path) as b:  # opens: not torn, not locked by the dead writer
        memo = b.read_raw("メモ")
        customers = b.read("customers")
    assert len(customers) == 4
    if now == old:
        assert memo is None
    else:
        assert step == "replaced"  # only a kill after the swap leaves the new book...
        assert memo["新"].tolist() == ["新しい版"] * 50
        assert any(p.read_bytes() == old for p in backups)  # ...and then the old one is in the backups
    assert all(p.read_bytes() == old for p in backups)  # never a half-copied "backup"
    # the next save works, and sweeps the dead writer's temp files
    with open_book(path) as b:
        b.write_table("メモ", pd.DataFrame({"次": [1]}))
        b.save()
    leftovers = [p.name for p in [*tmp_path.iterdir(), *(tmp_path / "CRM_backup").iterdir()] if p.name.startswith(".")]
    assert leftovers == []


# --- disk full and read-only folders: a real small filesystem when we may mount one ------------------------------

def _mount_tmpfs(where: Path, size_kb: int) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir(exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)], capture_output=True)
    return r.returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "mnt"
    if not _mount_tmpfs(mnt, 1024):
        pytest.skip("needs root to mount a tmpfs (the ENOSPC test below covers other machines)")
    yield mnt
    _umount(mnt)


def _fill(folder: Path, leave: int) -> None:
    """Fill the filesystem so that about `leave` bytes stay free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "filler.bin", "wb") as f:
        try:
            f.write(b"\0" * max(free - leave, 0))
        except OSError as e:
            assert e.errno == errno.ENOSPC


def test_disk_full_at_every_stage_leaves_the_book_intact(tiny_disk, tmp_path):
    """From no room at all up to room for everything: each save either succeeds or stops with the disk-full
    sentence, the book unchanged, no temp file or half backup left taking the little space there is."""
    src = hostile.baseline(tmp_path / "src.xlsx")
    outcomes = []
    for leave_kb in range(0, 200, 12):
        for p in tiny_disk.iterdir():
            if p.is_dir():
                for q in p.iterdir():
                    q.unlink()
                p.rmdir()
            else:
                p.unlink()
        book = hostile.copy(src, tiny_disk)
        original = book.read_bytes()
        _fill(tiny_disk, leave_kb * 1024)
        try:
            score(book)
            outcomes.append("saved")
            with open_book(book) as b:
                assert "購入回数" in b.read_raw("顧客").columns
            assert any((tiny_disk / "src_backup").iterdir())
        except XlcrmError as e:
            outcomes.append(e.key)
            assert e.key == "disk_full", e.message("en")
            assert "元のファイルはそのままです" in e.message("ja") and "disk space" in e.message("en")
            assert book.read_bytes() == original
            names = sorted(p.name for p in tiny_disk.iterdir())
            assert names in (["filler.bin", book.name], ["filler.bin", book.name, "src_backup"]), names
            if (tiny_disk / "src_backup").exists():
                assert list((tiny_disk / "src_backup").iterdir()) == []
    assert "disk_full" in outcomes and "saved" in outcomes, outcomes


def test_disk_full_anywhere_else(monkeypatch, tmp_path):
    """Without a tmpfs: the temp file's write fails with ENOSPC mid-way."""
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    original = book.read_bytes()
    from xlcrm.book.package import Package
    real = Package.write

    def full(self, out):
        real(self, out)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(Package, "write", full)
    with pytest.raises(XlcrmError) as e:
        score(book)
    assert e.value.key == "disk_full"
    assert book.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [book.name]


def test_read_only_folder(tmp_path, capsys):
    mnt = tmp_path / "ro"
    src = hostile.baseline(tmp_path / "CRM.xlsx")
    if _mount_tmpfs(mnt, 4096):
        try:
            book = hostile.copy(src, mnt)
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            _read_only_checks(book, capsys)
        finally:
            _umount(mnt)
    elif os.geteuid() != 0:
        mnt.mkdir()
        book = hostile.copy(src, mnt)
        mnt.chmod(0o555)
        try:
            _read_only_checks(book, capsys)
        finally:
            mnt.chmod(0o755)
    else:
        pytest.skip("root without mount: permissions do not bind root")


def _read_only_checks(book: Path, capsys):
    original = book.read_bytes()
    with pytest.raises(XlcrmError) as e:
        score(book)
    assert e.value.key == "read_only"
    assert "読み取り専用" in e.value.message("ja") and "read-only" in e.value.message("en")
    assert book.read_bytes() == original


def test_read_only_book_file_is_not_replaced(tmp_path):
    """A book its owner marked read-only is not swapped out from under that mark (even when we could)."""
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    book.chmod(0o444)
    original = book.read_bytes()
    try:
        with pytest.raises(XlcrmError) as e:
            score(book)
        assert e.value.key == "read_only"
        assert book.read_bytes() == original
        assert sorted(p.name for p in tmp_path.iterdir()) == [book.name]
    finally:
        book.chmod(0o644)


def test_cli_says_disk_full_in_both_languages(monkeypatch, tmp_path, capsys):
    book = hostile.baseline(tmp_path / "CRM.xlsx")
    with open_book(book) as b:
        b.update_columns("customers", pd.DataFrame({"customer_id": ["C0001"], "区分": ["見込み"]}), key="customer_id")
        b.journal("t", "t", "t")
        b.save()
    from xlcrm.book.package import Package

    def full(self, out):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(Package, "write", full)
    before = book.read_bytes()
    assert main(["--lang", "ja", "undo", str(book)]) == 1
    assert "ディスクの空き" in capsys.readouterr().err
    assert main(["--lang", "en", "undo", str(book)]) == 1
    assert "disk space" in capsys.readouterr().err
    assert book.read_bytes() == before
