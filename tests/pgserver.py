"""A throw-away PostgreSQL cluster for the tests of the database store (#16): a real server, started from the
PostgreSQL binaries on this machine (`.ci/run` installs Debian's `postgresql` package when they are missing).

    server = PgServer.launch()       # initdb in a temp dir, then pg_ctl start; raises PgUnavailable without binaries
    url = server.create_database("d1")          # postgresql://xlcrm_admin:…@127.0.0.1:PORT/d1
    server.create_role("clerk", "pw", login=True)
    server.stop(); server.start()    # the server going away mid-job, and coming back on the same port
    server.close()                   # stop and remove the directory

The cluster listens only on 127.0.0.1 (a free port picked at start), its unix socket sits inside its own temp
directory, every login needs a password (scram-sha-256) and durability is off (fsync=off): data are thrown away.
initdb and postgres refuse to run as root: as root, they run as the `postgres` OS user (Debian's package makes it),
or as a system user `xlcrm_pg` made on the spot, through `runuser`.
"""
from __future__ import annotations

import atexit
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ADMIN = "xlcrm_admin"
FALLBACK_OS_USER = "xlcrm_pg"
# durability off and a small footprint: a test cluster, two of them at once under pytest-xdist -n 2
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'16MB'",
    "max_connections": "40",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl, postgres) on this machine."""


def find_bindir() -> Path:
    """The directory of initdb, pg_ctl and postgres: initdb's on PATH, else the newest /usr/lib/postgresql/*/bin."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)   # Debian links only some of them into PATH

    def version(p: Path):
        return [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for d in candidates:
        if all(os.access(d / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    raise PgUnavailable(
        "PostgreSQL server binaries not found (initdb, pg_ctl, postgres: neither on PATH nor in "
        "/usr/lib/postgresql/*/bin). Install them: apt-get install postgresql (.ci/run does it).")


def _os_user() -> str | None:
    """The OS user to run the server as: None when not root; as root, `postgres` or a system user made for it."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_OS_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
                   check=True, capture_output=True)
    return FALLBACK_OS_USER


def _temp_parent(os_user: str | None) -> str:
    """Where the cluster's directory goes: the usual temp dir, unless the server's OS user could not reach it
    (root's TMPDIR in a private home) or a unix socket path in it would pass the kernel's ~107-byte limit."""
    parent = Path(tempfile.gettempdir()).resolve()
    reachable = os_user is None or all(p.stat().st_mode & 0o001 for p in (parent, *parent.parents))
    return str(parent) if reachable and len(str(parent)) <= 60 else "/tmp"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One throw-away cluster. Make it with PgServer.launch()."""

    def __init__(self, bindir: Path, root: Path, os_user: str | None, password: str):
        self.bindir = bindir
        self.root = root                      # temp dir: data/, sock/, server.log
        self.datadir = root / "data"
        self.sockdir = root / "sock"
        self.logfile = root / "server.log"
        self.os_user = os_user
        self.admin = ADMIN
        self.password = password
        self.port: int | None = None
        self.startup_seconds: float | None = None     # initdb + start, measured by launch()
        self._closed = False

    # -- making and running ------------------------------------------------------------------------------------
    @classmethod
    def launch(cls, bindir: Path | None = None) -> "PgServer":
        """initdb a new cluster in a temp dir and start it. Raises PgUnavailable without the binaries."""
        t0 = time.perf_counter()
        bindir = bindir or find_bindir()
        os_user = _os_user()
        root = Path(tempfile.mkdtemp(prefix="xlcrm-pg-", dir=_temp_parent(os_user)))
        server = cls(bindir, root, os_user, secrets.token_urlsafe(24))
        try:
            server._initdb()
            server.start()
        except BaseException:
            server.close()
            raise
        server.startup_seconds = time.perf_counter() - t0
        atexit.register(server.close)        # a cluster never outlives the process that made it, closed or not
        return server

    def _run(self, *args, check=True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *map(str, args[1:])]
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        # no PG* variables of the caller's (PGHOST, PGPORT…) reach the tools; cwd the cluster's own directory
        # (the caller's may be unreadable to the server's OS user)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        proc = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True)
        if check and proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
                               f"{self._log_tail()}")
        return proc

    def _log_tail(self) -> str:
        try:
            return "\nserver log:\n" + "\n".join(self.logfile.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def _initdb(self) -> None:
        self.sockdir.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self.os_user:
            u = pwd.getpwnam(self.os_user)
            for p in (self.root, self.sockdir, pwfile):
                os.chown(p, u.pw_uid, u.pw_gid)
        try:
            self._run("initdb", "-D", self.datadir, "-U", self.admin, f"--pwfile={pwfile}",
                      "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
        finally:
            pwfile.unlink(missing_ok=True)
        settings = dict(SETTINGS, unix_socket_directories=f"'{self.sockdir}'")
        with open(self.datadir / "postgresql.conf", "a") as f:
            f.write("\n# tests/pgserver.py\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", self.datadir, check=False).returncode == 0

    def start(self) -> None:
        """Start the server (again): on the same port as before, or on a free one the first time."""
        if self.running:
            return
        tries = 1 if self.port else 5        # a free port may be taken by someone else before the server binds it
        for attempt in range(tries):
            port = self.port or _free_port()
            proc = self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.datadir, "-l", self.logfile,
                             "-o", f"-p {port}", check=False)
            if proc.returncode == 0:
                self.port = port
                return
            if attempt == tries - 1:
                raise RuntimeError(f"pg_ctl start failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
                                   f"{self._log_tail()}")

    def stop(self) -> None:
        """Fast shutdown: open sessions are cut (the server going away mid-job)."""
        if self.running:
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", self.datadir)

    def close(self) -> None:
        """Stop the server (immediately) and remove its directory. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.datadir.exists() and self.running:
                self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.datadir, check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- addresses and SQL ---------------------------------------------------------------------------------------
    def url(self, user: str | None = None, password: str | None = None, db: str | None = None) -> str:
        """postgresql://user:password@127.0.0.1:PORT/db; by default the superuser and the `postgres` database."""
        if user is None:
            user, password = self.admin, self.password if password is None else password
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{quote(db or 'postgres', safe='')}"

    @property
    def admin_url(self) -> str:
        return self.url()

    def _admin(self, db: str | None = None):
        import psycopg
        return psycopg.connect(self.url(db=db), autocommit=True, connect_timeout=10)

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name (owned by the superuser); its URL as the superuser."""
        from psycopg import sql
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(db=name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS name, cutting its sessions."""
        from psycopg import sql
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def create_role(self, name: str, password: str, *, login: bool = True) -> None:
        """CREATE ROLE name with that password and no other right (not superuser, no CREATEDB/CREATEROLE)."""
        from psycopg import sql
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                sql.Identifier(name), sql.SQL("LOGIN" if login else "NOLOGIN"), sql.Literal(password)))

