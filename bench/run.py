#!/usr/bin/env python3
"""readygate's side-by-side benchmark against the tools it replaces.

    python3 bench/run.py            # the full run (a few minutes); prints Markdown tables
    python3 bench/run.py --quick    # every figure once, small sizes (what CI runs)

Tools, each at its default settings: readygate (the static release build), wait-for-it from
Debian (bash), wait-for-it from PyPI (Python), wait-for-them from crates.io (Rust; `cargo install`
into bench/.build), the usual shell retry loops around `pg_isready` and `redis-cli ping`, and any
peer given as `--peer NAME=PATH` to a binary built outside this repository (docker-compose-wait:
`--peer docker-compose-wait=PATH`). Runs are interleaved (A B C A B C ...) so that drift on a noisy machine hits
every tool alike; each figure reports the median and the min-max range, and the ratio of
readygate's median to the best other tool's.

Measurements come from two small C programs (bench/launch.c, bench/mark.c): the launcher forks the
tool and reads its CPU time and peak RSS from wait4(2), so the Python driver's own memory never
enters a figure; the marker is the "application" and records the moment it starts.

Needs: cargo with the x86_64-unknown-linux-musl target, a C compiler, Debian's wait-for-it and
tcpdump, a running Docker Engine (the late-name figure),
postgresql and redis-server packages (and for the per-protocol figures mariadb-server,
rabbitmq-server, memcached, nats-server, mosquitto, and test.sh's target/test-venv for gRPC), python3-venv (PyPI's wait-for-it is installed into
bench/.venv), and root for the PID-1 (unshare) figure. A missing tool is reported, not fatal.
"""

import argparse
import calendar
import itertools
import json
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "bench" / ".build"
VENV = ROOT / "bench" / ".venv"
PASSWORD = "bench-pw"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def now_ns():
    return time.monotonic_ns()


# ---------------------------------------------------------------------------------------------
# Set-up: build readygate and the C helpers, find or install the other tools.


class Setup:
    def __init__(self, others=(), peers=()):
        self.others = list(others)
        self.peers = dict(peers)
        BUILD.mkdir(parents=True, exist_ok=True)
        log("building readygate (static, release)")
        run(["cargo", "build", "--release", "--locked", "--target", "x86_64-unknown-linux-musl"], cwd=ROOT)
        self.readygate = ROOT / "target/x86_64-unknown-linux-musl/release/readygate"
        cc = shutil.which("musl-gcc") or "cc"
        self.launch = BUILD / "launch"
        self.mark = BUILD / "mark"
        self.floor = BUILD / "floor"
        run(["cc", "-O2", "-o", str(self.launch), str(ROOT / "bench/launch.c")])
        run(["cc", "-O2", "-o", str(self.floor), str(ROOT / "bench/floor.c")])
        run([cc, "-O2", "-static", "-o", str(self.mark), str(ROOT / "bench/mark.c")])
        self.wfi_deb = shutil.which("wait-for-it")
        self.wfi_pypi = self._pypi_wait_for_it()
        self.wft = self._wait_for_them()
        self.pg_bin = self._pg_bin()
        self.redis = shutil.which("redis-server") and shutil.which("redis-cli")
        self.root = os.geteuid() == 0 and shutil.which("unshare")
        for name, ok in [("wait-for-it (Debian)", self.wfi_deb), ("wait-for-it (PyPI)", self.wfi_pypi),
                         ("wait-for-them (crates.io)", self.wft), ("PostgreSQL", self.pg_bin), ("Redis", self.redis), ("root + unshare", self.root)]:
            if not ok:
                log(f"MISSING: {name}; its rows are left out")

    def _pypi_wait_for_it(self):
        exe = VENV / "bin" / "wait-for-it"
        if exe.exists():
            return str(exe)
        try:
            run([sys.executable, "-m", "venv", str(VENV)])
            run([str(VENV / "bin" / "pip"), "install", "-q", "wait-for-it==2.3.0"])
            return str(exe)
        except (subprocess.CalledProcessError, OSError) as e:
            log(f"cannot install wait-for-it from PyPI: {e}")
            return None

    def _wait_for_them(self):
        exe = BUILD / "peers" / "bin" / "wait-for-them"
        if exe.exists():
            return str(exe)
        try:
            log("installing wait-for-them from crates.io (once)")
            run(["cargo", "install", "--quiet", "--root", str(BUILD / "peers"), "wait-for-them@0.5.1"])
            return str(exe)
        except (subprocess.CalledProcessError, OSError) as e:
            log(f"cannot install wait-for-them: {e}")
            return None

    def _pg_bin(self):
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (d / "initdb").exists():
                return d
        return None


# ---------------------------------------------------------------------------------------------
# Servers: TCP listeners, a PostgreSQL cluster, a Redis server.


class Listeners:
    """TCP listeners on loopback that accept and close, all served by one thread."""

    def __init__(self, count=1, ports=None):
        self.sel = selectors.DefaultSelector()
        self.socks = []
        for i in range(count):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", ports[i] if ports else 0))
            s.listen(1024)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
            self.socks.append(s)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            for key, _ in self.sel.select(timeout=0.05):
                try:
                    conn, _ = key.fileobj.accept()
                    conn.close()
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.thread.join()
        for s in self.socks:
            self.sel.unregister(s)
            s.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Postgres:
    def __init__(self, bin_dir):
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="readygate-bench-pg"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.sock.mkdir()
        self.logfile = self.dir / "log"
        self.port = free_port()
        if os.geteuid() == 0:
            run(["chown", "-R", "postgres:postgres", str(self.dir)])
        self._as_pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.sock}'\n"
                    "fsync = off\nlog_line_prefix = '%m '\nlog_timezone = 'UTC'\n")
        with open(self.data / "pg_hba.conf", "w") as f:
            f.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        self.start(wait=True)
        self._as_pg("psql", "-h", str(self.sock), "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-qc",
                    f"CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'")

    def _as_pg(self, prog, *args):
        cmd = [str(self.bin / prog), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return run(cmd)

    def start(self, wait):
        self._as_pg("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w" if wait else "-W", "start")

    def stop(self):
        self._as_pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def ready_lines(self):
        if not self.logfile.exists():
            return []
        return [l for l in self.logfile.read_text().splitlines() if "ready to accept connections" in l]

    def ready_realtime_ns(self, after_count, limit=30):
        """Wall-clock time of the first 'ready to accept connections' line after the first
        `after_count` (waits for it to be written)."""
        end = time.time() + limit
        while len(lines := self.ready_lines()) <= after_count:
            if time.time() > end:
                raise RuntimeError("PostgreSQL never became ready")
            time.sleep(0.01)
        date, clock = lines[after_count].split()[:2]  # 2026-11-26 04:00:00.123 UTC
        whole, frac = clock.split(".")
        secs = calendar.timegm(time.strptime(f"{date} {whole}", "%Y-%m-%d %H:%M:%S"))
        return secs * 1_000_000_000 + int(frac.ljust(9, "0"))

    def close(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="readygate-bench-redis")
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--dir", self.dir, "--maxclients", "2000"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_port(port, limit=10):
    end = time.time() + limit
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"port {port} never opened")


# ---------------------------------------------------------------------------------------------
# Tools: how each one waits for a target and then runs the command.


def tools(s, kind):
    """The tools for a kind of target ('tcp', 'pg', 'redis'): name -> argv builder(port, timeout_s)."""
    mark = str(s.mark)
    rg = str(s.readygate)
    out = {}
    if kind == "tcp":
        out["readygate"] = lambda p, t: [rg, "-t", f"{t}s", f"tcp://127.0.0.1:{p}", "--", mark]
        # Other builds of readygate given with --readygate NAME=PATH (e.g. an older commit), measured
        # in the same interleaved runs.
        for label, path in s.others:
            out[f"readygate ({label})"] = lambda p, t, b=path: [b, "-t", f"{t}s", f"tcp://127.0.0.1:{p}", "--", mark]
        if s.wfi_deb:
            out["wait-for-it (Debian)"] = lambda p, t: [s.wfi_deb, f"127.0.0.1:{p}", "-t", str(t), "--strict", "--", mark]
        if s.wfi_pypi:
            out["wait-for-it (PyPI)"] = lambda p, t: [s.wfi_pypi, "-s", f"127.0.0.1:{p}", "-t", str(t), "--", mark]
        if s.wft:
            out["wait-for-them"] = lambda p, t: [s.wft, "-t", str(int(t * 1000)), f"127.0.0.1:{p}", "--", mark]
        # docker-compose-wait reads its settings from the environment and replaces itself with
        # WAIT_COMMAND: an (argv, env) pair.
        if "docker-compose-wait" in s.peers:
            dcw = s.peers["docker-compose-wait"]
            out["docker-compose-wait"] = lambda p, t: ([dcw], {"WAIT_HOSTS": f"127.0.0.1:{p}", "WAIT_TIMEOUT": str(int(t)),
                                                             "WAIT_COMMAND": mark})
    if kind == "pg" and s.pg_bin:
        isready = str(s.pg_bin / "pg_isready")
        out["readygate postgres (ping)"] = lambda p, t: [rg, "-t", f"{t}s", f"postgres://127.0.0.1:{p}", "--", mark]
        out["pg_isready loop"] = lambda p, t: ["sh", "-c", f'until {isready} -q -h 127.0.0.1 -p "$0"; do sleep 1; done; exec "$@"', str(p), mark]
    if kind == "redis" and s.redis:
        out["readygate redis"] = lambda p, t: [rg, "-t", f"{t}s", f"redis://127.0.0.1:{p}", "--", mark]
        out["redis-cli loop"] = lambda p, t: ["sh", "-c", 'until [ "$(redis-cli -h 127.0.0.1 -p "$0" ping 2>/dev/null)" = PONG ]; do sleep 1; done; exec "$@"', str(p), mark]
    return out


class Launch:
    """One run of a tool under the launcher."""

    def __init__(self, s, argv, env=None, pid1=False, nofile=None):
        # A tool configured through its environment comes as (argv, env).
        if isinstance(argv, tuple):
            argv, extra = argv
            env = {**(env or {}), **extra}
        self.dir = Path(tempfile.mkdtemp(prefix="readygate-bench-run", dir=BUILD))
        self.out = self.dir / "launch.json"
        self.markfile = self.dir / "mark"
        if pid1:
            argv = ["unshare", "--pid", "--fork", "--mount-proc", *argv]
        e = dict(os.environ, MARK_FILE=str(self.markfile), **(env or {}))
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.proc = subprocess.Popen([str(s.launch), str(self.out), *argv], env=e, preexec_fn=limit,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, limit=30):
        self.proc.wait(timeout=limit)
        result = json.loads(self.out.read_text())
        marks = self.markfile.read_text().split() if self.markfile.exists() else []
        result["mark_mono_ns"] = int(marks[0]) if marks else None
        result["mark_real_ns"] = int(marks[1]) if marks else None
        shutil.rmtree(self.dir, ignore_errors=True)
        return result

    def descendant(self, depth):
        """The PID `depth` generations below the launcher (1 = the tool, 2 = under unshare)."""
        pid = self.proc.pid
        for _ in range(depth):
            end = time.time() + 5
            while True:
                kids = []
                for task in Path(f"/proc/{pid}/task").glob("*/children"):
                    kids += task.read_text().split()
                if kids:
                    pid = int(kids[0])
                    break
                if time.time() > end:
                    raise RuntimeError("no child process")
                time.sleep(0.002)
        return pid


# ---------------------------------------------------------------------------------------------
# The figures.


class Results:
    def __init__(self):
        self.tables = []
        self.raw = {}

    def add(self, title, unit, rows, lower_is_better=True, note=""):
        """rows: {tool: [values]} (None values are runs that did not finish)."""
        self.raw[title] = rows
        self.tables.append((title, unit, rows, note))

    def markdown(self):
        out = []
        for title, unit, rows, note in self.tables:
            out.append(f"\n### {title}\n")
            if note:
                out.append(f"{note}\n")
            out.append(f"| tool | median ({unit}) | min–max ({unit}) | runs |")
            out.append("|---|---:|---:|---:|")
            medians = {}
            for tool, values in rows.items():
                vals = [v for v in values if v is not None]
                if not vals:
                    out.append(f"| {tool} | n/a | n/a | {len(values)} |")
                    continue
                med = statistics.median(vals)
                medians[tool] = med
                out.append(f"| {tool} | {fmt(med)} | {fmt(min(vals))}–{fmt(max(vals))} | {len(vals)} |")
            # readygate at its defaults against the tools; baselines, floors and variants are context.
            context = ("baseline", "floor", "--interval")
            ours = {t: m for t, m in medians.items() if t.startswith("readygate") and not any(c in t for c in context)}
            others = {t: m for t, m in medians.items() if not t.startswith("readygate") and not any(c in t for c in context)}
            if ours and others:
                best_tool, best = min(others.items(), key=lambda kv: kv[1])
                our_tool, our = min(ours.items(), key=lambda kv: kv[1])
                ratio = our / best if best else float("inf")
                out.append(f"\nreadygate / best other ({best_tool}): **{ratio:.3g}×**")
        return "\n".join(out)


def fmt(v):
    if isinstance(v, float) and v != int(v):
        return f"{v:.2f}" if v < 100 else f"{v:.0f}"
    return str(int(v))


def interleave(rounds, names):
    for r in range(rounds):
        for name in names:
            yield r, name


def fig_overhead(s, res, rounds):
    """Dependency already up: time from launch to the command running, CPU, peak RSS."""
    listeners = Listeners(1)
    pg = Postgres(s.pg_bin) if s.pg_bin else None
    redis = Redis() if s.redis else None
    cases = {"direct exec (baseline)": lambda: [str(s.mark)]}
    for kind, port in [("tcp", listeners.ports[0]), ("pg", pg and pg.port), ("redis", redis and redis.port)]:
        if port:
            for name, argv in tools(s, kind).items():
                cases[name] = (lambda a=argv, p=port: a(p, 15))
    wall, cpu, rss = ({n: [] for n in cases} for _ in range(3))
    for _, name in interleave(rounds, list(cases)):
        r = Launch(s, cases[name]()).wait()
        if r["status"] != 0 or r["mark_mono_ns"] is None:
            log(f"overhead: {name} failed: {r}")
            continue
        wall[name].append((r["mark_mono_ns"] - r["start_ns"]) / 1e6)
        cpu[name].append(r["cpu_us"] / 1000)
        rss[name].append(r["maxrss_kb"] / 1024)
    listeners.close()
    if pg:
        pg.close()
    if redis:
        redis.close()
    res.add("Overhead, dependency already up: start → command running", "ms", wall)
    res.add("Overhead: CPU time (user+system, whole process tree)", "ms", cpu)
    res.add("Overhead: peak RSS", "MiB", rss)


def fig_detection(s, res, rounds, delay):
    """The port opens at a random moment in `delay` (lo, hi) s after the tool starts: listener
    ready → command running. Random, not fixed: a fixed delay locks a once-a-second poller to one
    phase (always just after, or just before, its next look)."""
    names = list(tools(s, "tcp"))
    lat = {n: [] for n in names}
    for _, name in interleave(rounds, names):
        port = free_port()
        launch = Launch(s, tools(s, "tcp")[name](port, 30))
        time.sleep(random.uniform(*delay))
        listeners = Listeners(1, ports=[port])
        opened = now_ns()
        r = launch.wait(limit=40)
        listeners.close()
        lat[name].append((r["mark_mono_ns"] - opened) / 1e6 if r["mark_mono_ns"] else None)
    res.add(f"Detection latency: port opens {delay[0]:g}–{delay[1]:g} s after start (random) → command running (defaults)",
            "ms", lat)


def fig_waiting(s, res, rounds, seconds):
    """CPU and peak RSS while waiting `seconds` on a closed port: each tool times out itself; the
    shell loops, which cannot, get SIGTERM from the launcher (their finished checks included)."""
    cases = {}
    stop = {"LAUNCH_TERM_AFTER_MS": str(int(seconds * 1000))}
    for kind in ("tcp", "pg", "redis"):
        for name, argv in tools(s, kind).items():
            if "readygate" in name and kind != "tcp":
                continue
            if "loop" in name:
                cases[name] = (lambda a=argv: (a(free_port(), seconds), stop))
            else:
                cases[name] = (lambda a=argv: a(free_port(), seconds))
    # What the waiting costs depend on: the retry interval, and the kernel's own cost per attempt.
    rg = str(s.readygate)
    cases["readygate --interval 200ms"] = lambda: [rg, "-q", "-t", f"{seconds}s", "--interval", "200ms", f"tcp://127.0.0.1:{free_port()}"]
    cases["floor: minimal C loop, one refused connect per 50 ms"] = lambda: [str(s.floor), str(free_port()), "50", str(seconds)]
    cpu, rss = ({n: [] for n in cases} for _ in range(2))
    for _, name in interleave(rounds, list(cases)):
        r = Launch(s, cases[name]()).wait(limit=seconds + 20)
        cpu[name].append(r["cpu_us"] / 1000)
        rss[name].append(r["maxrss_kb"] / 1024)
    res.add(f"Waiting on a closed port for {seconds:g} s: CPU time", "ms", cpu)
    res.add(f"Waiting on a closed port for {seconds:g} s: peak RSS", "MiB", rss)


def fig_sigterm(s, res, rounds, cap):
    """SIGTERM to the tool while it waits as PID 1 of a PID namespace: signal → exit."""
    if not s.root:
        return
    cases = {}
    for kind in ("tcp", "pg", "redis"):
        for name, argv in tools(s, kind).items():
            if "readygate" in name and kind != "tcp":
                continue
            cases[name] = argv
    took = {n: [] for n in cases}
    for _, name in interleave(rounds, list(cases)):
        launch = Launch(s, cases[name](free_port(), 60), pid1=True)
        pid1 = launch.descendant(2)
        time.sleep(0.5)
        sent = now_ns()
        os.kill(pid1, signal.SIGTERM)
        try:
            r = launch.wait(limit=cap)
            took[name].append((r["end_ns"] - sent) / 1e6)
        except subprocess.TimeoutExpired:
            os.kill(pid1, signal.SIGKILL)
            launch.wait()
            took[name].append(None)
    res.add("SIGTERM while waiting as PID 1 (`unshare --pid --fork`): signal → exit", "ms", took,
            note=f"n/a: ignored SIGTERM; still waiting after {cap:g} s (then SIGKILLed).")


def fig_postgres(s, res, rounds, delay):
    """PostgreSQL started `delay` s after the tool: 'ready to accept connections' → command."""
    if not s.pg_bin:
        return
    pg = Postgres(s.pg_bin)
    pg.stop()
    rg = str(s.readygate)
    mark = str(s.mark)
    cases = dict(tools(s, "pg"))
    cases["readygate postgres (login)"] = lambda p, t: [rg, "-t", f"{t}s", f"postgres://app:{PASSWORD}@127.0.0.1:{p}/postgres", "--", mark]
    if s.wfi_deb:
        cases["wait-for-it (Debian), TCP only"] = tools(s, "tcp")["wait-for-it (Debian)"]
    lat = {n: [] for n in cases}
    for _, name in interleave(rounds, list(cases)):
        before = len(pg.ready_lines())
        launch = Launch(s, cases[name](pg.port, 60))
        time.sleep(random.uniform(*delay))
        pg.start(wait=False)
        r = launch.wait(limit=60)
        ready = pg.ready_realtime_ns(before)
        lat[name].append((r["mark_real_ns"] - ready) / 1e6 if r["mark_real_ns"] else None)
        pg.stop()
    pg.close()
    res.add("PostgreSQL: server ready to accept connections → command running", "ms", lat,
            note="Negative: the command started before PostgreSQL could accept a query (a TCP check is not enough).")


# ---------------------------------------------------------------------------------------------
# #migrated: the cost of one check against a project of 500 migration files (10 apps of 50) and a
# database that records all 500: start → exit of `readygate --check`, which reads every file,
# logs in and reads django_migrations. Beside it, the login alone, and what users run today:
# Django's own `manage.py migrate --check` (test.sh's target/migrate-venv, if present).

MIGRATION_FILE = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("{app}", "{prev}"),
    ]

    operations = [
        migrations.RunSQL("SELECT 1", reverse_sql="SELECT 1"),
    ]
"""


def _migrated_project(root, apps=10, per_app=50):
    rows = []
    for a in range(apps):
        app = f"app{a:02d}"
        m = root / app / "migrations"
        m.mkdir(parents=True)
        (root / app / "__init__.py").write_text("")
        (root / app / "models.py").write_text("")
        (m / "__init__.py").write_text("")
        prev = None
        for n in range(per_app):
            name = f"{n + 1:04d}_step"
            text = MIGRATION_FILE.format(app=app, prev=prev) if prev else MIGRATION_FILE.replace(
                '        ("{app}", "{prev}"),\n', "")
            (m / f"{name}.py").write_text(text)
            rows.append((app, name))
            prev = name
    (root / "settings.py").write_text(
        "SECRET_KEY = 'bench'\nUSE_TZ = True\n"
        f"INSTALLED_APPS = {[f'app{a:02d}' for a in range(apps)]!r}\n"
        "import os\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'postgres',"
        " 'USER': 'app', 'PASSWORD': os.environ['PW'], 'HOST': '127.0.0.1', 'PORT': os.environ['PORT']}}\n")
    (root / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n")
    return rows


def fig_migrated(s, res, rounds):
    if not s.pg_bin:
        return
    pg = Postgres(s.pg_bin)
    root = Path(tempfile.mkdtemp(prefix="readygate-bench-migrated"))
    rows = _migrated_project(root)
    values = ",".join(f"('{a}','{n}',now())" for a, n in rows)
    pg._as_pg("psql", "-h", str(pg.sock), "-p", str(pg.port), "-U", "postgres", "-d", "postgres", "-qc",
              "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255), name varchar(255), "
              f"applied timestamptz); INSERT INTO django_migrations (app, name, applied) VALUES {values}; "
              "GRANT SELECT ON django_migrations TO app")
    rg = str(s.readygate)
    url = f"postgres://app:{PASSWORD}@127.0.0.1:{pg.port}/postgres"
    cases = {
        "readygate --check #migrated (500 files, 500 rows)": [rg, "--check", f"{url}#migrated={root}"],
        "readygate --check, login only (baseline)": [rg, "--check", url],
    }
    python = ROOT / "target" / "migrate-venv" / "bin" / "python"
    if python.exists():
        cases["manage.py migrate --check (Django)"] = [str(python), str(root / "manage.py"), "migrate", "--check",
                                                       "--skip-checks"]
    else:
        log("migrated: no target/migrate-venv (./test.sh makes it): Django's own check not measured")
    wall = {n: [] for n in cases}
    rss = {n: [] for n in cases}
    here = os.getcwd()
    os.chdir(root)  # manage.py's settings module is found from the working directory
    try:
        for _, name in interleave(rounds, list(cases)):
            r = Launch(s, cases[name], env={"PW": PASSWORD, "PORT": str(pg.port)}).wait(limit=60)
            ok = r["status"] == 0
            if not ok:
                log(f"migrated: {name} exited {r['status']}")
            wall[name].append((r["end_ns"] - r["start_ns"]) / 1e6 if ok else None)
            rss[name].append(r["maxrss_kb"] / 1024 if ok else None)
    finally:
        os.chdir(here)
    pg.close()
    shutil.rmtree(root, ignore_errors=True)
    res.add("#migrated: one check, 500 migration files and 500 recorded (start → exit)", "ms", wall,
            note="The whole check: read every file, log in, read django_migrations, judge.")
    res.add("#migrated: one check, peak RSS", "MiB", rss)


# ---------------------------------------------------------------------------------------------
# --watch: what watching costs after the start. CPU of the supervisor while it watches 10 TCP
# targets at the default pace (2 s) for `minutes`; and a soak: RSS sampled every 10 s for
# `soak_minutes` while one of 10 targets flaps (down 6 s, up 6 s: lost and back every 12 s with
# --lost-after 3s), --serve answering a /readyz and a /metrics each second.

def _proc_cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def _proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fig_watch(s, res, minutes, soak_minutes):
    rg = str(s.readygate)
    listeners = Listeners(count=10)
    targets = [f"127.0.0.1:{p}" for p in listeners.ports]
    proc = subprocess.Popen([rg, "-q", "--watch", *targets, "--", "sleep", "100000"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    start = _proc_cpu_ms(proc.pid)
    time.sleep(minutes * 60)
    used = _proc_cpu_ms(proc.pid) - start
    proc.terminate()
    proc.wait()
    listeners.close()
    res.add(f"--watch: CPU of the supervisor watching 10 TCP targets every 2 s for {minutes:g} min", "ms",
            {"readygate --watch": [used]},
            note=f"{used / (minutes * 60):.2f} ms of CPU a second; {used / (minutes * 30 * 10):.3f} ms per attempt.")

    flapping_port = free_port()
    steady = Listeners(count=9)
    port = free_port()
    targets = [f"127.0.0.1:{p}" for p in steady.ports] + [f"127.0.0.1:{flapping_port}"]
    flap = Listeners(count=1, ports=[flapping_port])
    proc = subprocess.Popen([rg, "-q", "--watch", "--lost-after", "3s", "--watch-interval", "500ms",
                             "--serve", f"127.0.0.1:{port}", *targets, "--", "sleep", "100000"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    samples = []
    end = time.time() + soak_minutes * 60
    next_flip = time.time() + 6
    next_sample = time.time()
    while time.time() < end:
        now = time.time()
        if now >= next_flip:
            if flap:
                flap.close()
                flap = None
            else:
                flap = Listeners(count=1, ports=[flapping_port])
            next_flip = now + 6
        if now >= next_sample:
            samples.append(_proc_rss_kib(proc.pid) / 1024)
            next_sample = now + 10
        for path in ("/readyz", "/metrics"):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                    c.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
                    while c.recv(65536):
                        pass
            except OSError:
                pass
        time.sleep(1)
    proc.terminate()
    proc.wait()
    steady.close()
    if flap:
        flap.close()
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    res.add(f"--watch soak: RSS over {soak_minutes:g} min, one of 10 targets flapping, /readyz and /metrics each second",
            "MiB", {"first third": first, "last third": last},
            note=f"{len(samples)} samples every 10 s; max {max(samples):.2f} MiB, last {samples[-1]:.2f} MiB.")


# ---------------------------------------------------------------------------------------------
# The other protocols: a real server started after the tool; "ready" is the moment the server's own
# log says it serves (the line's appearance, watched every millisecond from here), or for a server
# that says nothing (memcached), the moment its port first accepts.

def _spawn_group(argv, log, env=None, **kw):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env=env, **kw)


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class Broker:
    """A server of one protocol, started and stopped per round, in its own directory."""

    def __init__(self, name, port, argv, env=None, prepare=None, after=None, ready=None):
        self.name, self.port, self.argv, self.env = name, port, argv, env
        # When the server says it serves (wall-clock ns), if it says so more precisely than its
        # port opening; else the port's first accepted connection.
        self.ready = ready
        self.dir = Path(tempfile.mkdtemp(prefix=f"readygate-bench-{name}"))
        os.chmod(self.dir, 0o755)
        self.after = after
        if prepare:
            prepare(self)
        self.proc = None

    def start(self):
        self.proc = _spawn_group(self.argv(self), self.dir / "log", env=self.env)

    def stop(self):
        if self.proc:
            _kill_group(self.proc)
            self.proc = None
        if self.after:
            self.after(self)
        # The next round must not find this server still listening (a process that left the
        # group, or one still closing): wait until the port refuses.
        end = time.time() + 30
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                return
        raise RuntimeError(f"{self.name} still listens on {self.port} after being stopped")

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _open_time_ns(port, limit=60):
    end = time.time() + limit
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
            return time.time_ns()
        except OSError:
            time.sleep(0.001)
    raise RuntimeError(f"port {port} never opened")


def said(pattern, limit=90):
    """A Broker's `ready`: when its log first holds `pattern` (wall-clock ns, ±1 ms)."""
    def ready(b):
        end = time.time() + limit
        # Only what was appended since the last look is read (plus a pattern's length of overlap).
        seen = ""
        with open(b.dir / "log", errors="replace") as f:
            while time.time() < end:
                seen = seen[-len(pattern):] + f.read()
                if pattern in seen:
                    return time.time_ns()
                time.sleep(0.001)
        raise RuntimeError(f"{b.name} never said {pattern!r}")
    return ready


def brokers():
    """(broker, readygate URL, the usual shell loop's check) for each server installed here."""
    out = []
    root = os.geteuid() == 0
    if shutil.which("mariadbd") and shutil.which("mariadb-install-db"):
        port = free_port()

        def prepare(b):
            run(["mariadb-install-db", "--no-defaults", f"--datadir={b.dir}/data", "--skip-test-db",
                 "--auth-root-authentication-method=normal", *(["--user=mysql"] if root else [])])
        argv = lambda b: ["mariadbd", "--no-defaults", f"--datadir={b.dir}/data", f"--port={b.port}",
                          "--bind-address=127.0.0.1", f"--socket={b.dir}/data/s.sock", f"--pid-file={b.dir}/data/pid",
                          "--skip-log-bin", "--innodb-buffer-pool-size=16M", *(["--user=mysql"] if root else [])]
        out.append((Broker("mariadb", port, argv, prepare=prepare, ready=said("ready for connections")), f"mysql://127.0.0.1:{port}",
                    f"mariadb-admin --no-defaults -h127.0.0.1 -P{port} --connect-timeout=1 ping"))
    if Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
        port, epmd = free_port(), free_port()
        d = Path(tempfile.mkdtemp(prefix="readygate-bench-rabbit"))
        env = dict(os.environ, HOME=str(d), RABBITMQ_NODENAME=f"rgbench{port}@localhost", RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                   RABBITMQ_NODE_PORT=str(port), RABBITMQ_DIST_PORT=str(free_port()), ERL_EPMD_PORT=str(epmd),
                   RABBITMQ_MNESIA_BASE=f"{d}/mnesia", RABBITMQ_LOG_BASE=f"{d}/log",
                   RABBITMQ_ENABLED_PLUGINS_FILE=f"{d}/plugins", RABBITMQ_CONFIG_FILE=f"{d}/rabbitmq")
        def after(b, node=f"rgbench{port}"):
            # The Erlang VM leaves rabbitmq-server's process group: kill it by its node name.
            subprocess.run(["pkill", "-KILL", "-f", node], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if shutil.which("epmd"):
                subprocess.run(["epmd", "-port", str(epmd), "-kill"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # No line of its console marks readiness: "completed with N plugins" comes ~50 ms after
        # the broker already opens vhosts. Its AMQP port opens last in its boot: "ready" is that.
        out.append((Broker("rabbitmq", port, lambda b: ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env, after=after),
                    f"amqp://127.0.0.1:{port}//", None))
    if shutil.which("memcached"):
        port = free_port()
        out.append((Broker("memcached", port, lambda b: ["memcached", "-l", "127.0.0.1", "-p", str(b.port), "-U", "0",
                                                          *(["-u", "nobody"] if root else [])]),
                    f"memcached://127.0.0.1:{port}", None))
    if shutil.which("nats-server"):
        port = free_port()
        out.append((Broker("nats", port, lambda b: ["nats-server", "-a", "127.0.0.1", "-p", str(b.port)],
                           ready=said("Server is ready")),
                    f"nats://127.0.0.1:{port}", None))
    venv_python = ROOT / "target" / "test-venv" / "bin" / "python"
    if venv_python.exists():
        port = free_port()
        script = ROOT / "tests" / "support" / "grpc_health_server.py"
        def served(b):
            end = time.time() + 60
            while time.time() < end:
                for line in (b.dir / "log").read_text().splitlines():
                    if line.startswith("listening "):
                        return int(line.split()[1])
                time.sleep(0.005)
            raise RuntimeError("the gRPC server never served")
        out.append((Broker("grpc", port, lambda b: [str(venv_python), "-u", str(script), str(b.port)], ready=served),
                    f"grpc://127.0.0.1:{port}", None))
    if shutil.which("mosquitto"):
        port = free_port()

        def conf(b):
            (b.dir / "conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n")
        out.append((Broker("mosquitto", port, lambda b: ["mosquitto", "-c", str(b.dir / "conf")], prepare=conf,
                           ready=said(" running")),
                    f"mqtt://127.0.0.1:{port}", None))
    return out


def fig_protocols(s, res, rounds, delay):
    """Each protocol: server port open → command running, readygate beside the usual shell loop
    (the server's own client where one is light, else a bash /dev/tcp loop), both `sleep 1`."""
    rg, mark = str(s.readygate), str(s.mark)
    every = brokers()
    try:
        for broker, url, check in every:
            _fig_protocol(s, res, rounds, delay, rg, mark, broker, url, check)
    finally:
        for broker, _, _ in every:
            broker.close()


def _fig_protocol(s, res, rounds, delay, rg, mark, broker, url, check):
    if check is None:
        check = f'(exec 3<>/dev/tcp/127.0.0.1/{broker.port}) 2>/dev/null'
        loop_name = "bash /dev/tcp loop"
    else:
        loop_name = f"{check.split()[0]} loop"
    cases = {
        f"readygate {url.split(':')[0]}": [rg, "-t", "90s", url, "--", mark],
        loop_name: ["bash", "-c", f'until {check} >/dev/null 2>&1; do sleep 1; done; exec "$@"', "loop", mark],
    }
    lat = {n: [] for n in cases}
    for _, name in interleave(rounds, list(cases)):
        launch = Launch(s, cases[name])
        time.sleep(random.uniform(*delay))
        broker.start()
        try:
            opened = broker.ready(broker) if broker.ready else _open_time_ns(broker.port)
            r = launch.wait(limit=90)
        finally:
            broker.stop()
        lat[name].append((r["mark_real_ns"] - opened) / 1e6 if r["mark_real_ns"] else None)
    what = "ready (its own log line)" if broker.ready else "port open (no log line marks readiness)"
    res.add(f"{broker.name}: {what} → command running", "ms", lat,
            note="" if broker.ready else "Upper bound: the server may need a moment after its port opens; both tools wait for that too.")


# ---------------------------------------------------------------------------------------------
# A name that does not resolve yet, on the real Docker Engine: the app's container starts first and
# its dependency's container 1–3 s later, on a user network (Docker's embedded DNS), as in compose.


class Docker:
    """A FROM scratch image of the static binaries and a user network, both named for this run."""

    def __init__(self, s):
        self.tag = f"readygate-bench:{os.getpid()}"
        self.net = f"readygate-bench-{os.getpid()}"
        ctx = Path(tempfile.mkdtemp(prefix="readygate-bench-image", dir=BUILD))
        cc = shutil.which("musl-gcc") or "cc"
        run([cc, "-O2", "-static", "-o", str(ctx / "listen"), str(ROOT / "bench/listen.c")])
        shutil.copy(s.readygate, ctx / "readygate")
        shutil.copy(s.mark, ctx / "mark")
        files = ["readygate", "mark", "listen"]
        if "docker-compose-wait" in s.peers:
            shutil.copy(s.peers["docker-compose-wait"], ctx / "docker-compose-wait")
            files.append("docker-compose-wait")
        (ctx / "Dockerfile").write_text("FROM scratch\n" + "".join(f"COPY {f} /{f}\n" for f in files))
        run(["docker", "build", "-q", "-t", self.tag, str(ctx)])
        shutil.rmtree(ctx, ignore_errors=True)
        run(["docker", "network", "create", self.net])

    def close(self):
        subprocess.run(["docker", "network", "rm", self.net], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["docker", "rmi", "-f", self.tag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _count_queries(pid):
    """Captures the DNS queries the container's processes send to Docker's embedded resolver
    (127.0.0.11), with tcpdump inside the container's network namespace. Docker redirects them to
    another port, so they are counted as packets, not decoded: a lookup asks A and AAAA, two
    packets."""
    if not shutil.which("tcpdump") or not shutil.which("nsenter"):
        return None
    return subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", "tcpdump", "-i", "lo", "-n", "-l", "-q",
                             "udp and dst host 127.0.0.11"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def fig_late_name(s, res, rounds, delay):
    if not (shutil.which("docker") and subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                                                      stderr=subprocess.DEVNULL).returncode == 0):
        log("MISSING: a running Docker Engine; the late-name figure is left out")
        return
    d = Docker(s)
    out = Path(tempfile.mkdtemp(prefix="readygate-bench-late", dir=BUILD))
    def gate(*flags):
        return lambda dep: ["-e", "MARK_FILE=/out/mark", d.tag, "/readygate", "-v", *flags, "-t", "30s",
                            f"tcp://{dep}:7000", "--", "/mark"]
    # --arp: ARP requests of the gate's own while the kernel's entry is incomplete (CAP_NET_RAW,
    # which Docker grants by default).
    cases = {"readygate": gate(), "readygate --arp": gate("--arp")}
    if "docker-compose-wait" in s.peers:
        cases["docker-compose-wait"] = lambda dep: ["-e", "MARK_FILE=/out/mark", "-e", f"WAIT_HOSTS={dep}:7000",
                                                    "-e", "WAIT_TIMEOUT=30", "-e", "WAIT_COMMAND=/mark", d.tag,
                                                    "/docker-compose-wait"]
    lat = {n: [] for n in cases}
    def per_second(n):
        return f"{n}: lookups per second while the name is missing"
    rate = {per_second(n): [] for n in cases}
    try:
        for r, name in interleave(rounds, list(cases)):
            dep = f"rgb-dep-{os.getpid()}-{r}-" + re.sub(r"[^a-z0-9]+", "-", name).strip("-")
            mark = out / "mark"
            mark.unlink(missing_ok=True)
            app = run(["docker", "run", "-d", "--network", d.net, "-v", f"{out}:/out", *cases[name](dep)]).stdout.strip()
            pid = run(["docker", "inspect", "-f", "{{.State.Pid}}", app]).stdout.strip()
            counter = _count_queries(pid)
            counted_from = time.monotonic()
            time.sleep(random.uniform(*delay))
            counted = time.monotonic() - counted_from
            if counter:
                counter.terminate()
                lookups = sum(1 for line in counter.communicate()[0].splitlines() if "UDP" in line) / 2
            run(["docker", "run", "-d", "--network", d.net, "--name", dep, d.tag, "/listen", "7000"])
            run(["docker", "wait", app])
            logs = run(["docker", "logs", dep]).stdout
            listening = int(next(l.split()[1] for l in logs.splitlines() if l.startswith("listening ")))
            marks = mark.read_text().split() if mark.exists() else []
            lat[name].append((int(marks[1]) - listening) / 1e6 if marks else None)
            if counter:
                rate[per_second(name)].append(lookups / counted)
            subprocess.run(["docker", "rm", "-f", app, dep], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        d.close()
        shutil.rmtree(out, ignore_errors=True)
    res.add(f"Late name on Docker: the dependency's container starts {delay[0]:g}–{delay[1]:g} s after the app's "
            "(random) → its process listens → command running", "ms", lat,
            note="Docker's embedded DNS on a user network; the name does not exist until the dependency's container is created.")
    if any(rate.values()):
        res.add("Late name on Docker: lookups per second sent to the embedded resolver while the name is missing",
                "lookups/s", rate, note="Counted with tcpdump in the app container's network namespace (UDP packets "
                "to 127.0.0.11, two per lookup: A and AAAA).")


SCALE_QUICK = [1, 100]
SCALE_FULL = [1, 100, 1000, 10000]
# More targets than descriptors: the gate must take turns, not fail with EMFILE.
SCARCE = (5000, 1024)


def fig_scale(s, res, rounds, sizes, redis_targets):
    wall, cpu, rss = {}, {}, {}

    def measure(name, targets, nofile=None):
        wall[name], cpu[name], rss[name] = [], [], []
        for _ in range(rounds):
            # As arguments: one environment string may not exceed 128 KiB (MAX_ARG_STRLEN).
            r = Launch(s, [str(s.readygate), "-q", *targets, "--", str(s.mark)], nofile=nofile).wait(limit=60)
            if r["status"] == 0 and r["mark_mono_ns"]:
                wall[name].append((r["mark_mono_ns"] - r["start_ns"]) / 1e6)
                cpu[name].append(r["cpu_us"] / 1000)
                rss[name].append(r["maxrss_kb"] / 1024)
            else:
                log(f"scale: {name} failed: {r}")
                wall[name].append(None)

    for n in sizes:
        listeners = Listeners(n)
        measure(f"readygate, {n:,} TCP target{'s' if n > 1 else ''}", [f"tcp://127.0.0.1:{p}" for p in listeners.ports])
        listeners.close()
    if max(sizes) >= SCARCE[0]:
        n, nofile = SCARCE
        listeners = Listeners(n)
        measure(f"readygate, {n:,} TCP targets under ulimit -n {nofile}", [f"tcp://127.0.0.1:{p}" for p in listeners.ports],
                nofile=nofile)
        listeners.close()
    if s.redis and redis_targets:
        redis = Redis()
        measure(f"readygate, {redis_targets} Redis targets (one server)",
                [f"redis://127.0.0.1:{redis.port}/{i % 16}" for i in range(redis_targets)])
        redis.close()
    res.add("Scale: start → all targets ready and the command running", "ms", wall)
    res.add("Scale: CPU time", "ms", cpu)
    res.add("Scale: peak RSS", "MiB", rss)


class Silent:
    """A listener that accepts every connection and never says a word (held until close)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def forget(self):
        """Closes the connections held so far (a run's, once it has ended)."""
        held, self.held = self.held, []
        for c in held:
            c.close()

    def close(self):
        self.sock.close()
        self.forget()


# The kinds whose memory is measured, as target URLs on a port (each target its own path or
# database where the kind has one, so no two are the same).
MEMORY_KINDS = {
    "TCP": "tcp://127.0.0.1:{p}",
    "HTTP": "http://127.0.0.1:{p}/{i}",
    "HTTPS": "https://127.0.0.1:{p}/{i}",
    "PostgreSQL": "postgres://127.0.0.1:{p}/db{i}",
    "MySQL": "mysql://127.0.0.1:{p}/db{i}",
    "Redis": "redis://127.0.0.1:{p}/{d}",
}


def fig_memory(s, res, rounds, n):
    """Memory per target and per attempt in flight, and the deadline at n silent targets.

    Idle: n targets on a refused port (each attempt ends at once; between attempts a target only
    waits), peak RSS minus one target's, over n. In flight: the same n targets against servers
    that accept and stay silent, so every attempt stays open until the deadline; its peak RSS minus
    the idle run's, over n. Four silent listeners share the targets, so that no accept queue (4,096
    at most) overflows and every attempt is past its connect. Deadline: n silent targets of mixed
    kinds under ulimit -n 1024, -t 3: how long after its deadline the gate ended the wait (its own
    clock, which starts once the targets are read) and exited (from the launch)."""
    closed = [free_port()]
    silents = [Silent() for _ in range(4)]
    quiet_ports = [x.port for x in silents]
    idle, flight, total = {}, {}, {}

    def targets(kind, ports, count):
        return [MEMORY_KINDS[kind].format(p=ports[i % len(ports)], i=i, d=i % 16) for i in range(count)]

    def peak(argv):
        r = Launch(s, [str(s.readygate), "-q", "-t", "3", "--attempt-timeout", "5s", *argv]).wait(limit=60)
        return r["maxrss_kb"]

    for kind in MEMORY_KINDS:
        idle[kind] = []
        # A TCP target is ready as soon as a silent server accepts: it has no attempt in flight.
        if kind != "TCP":
            flight[kind], total[kind] = [], []
        for _ in range(rounds):
            one = peak(targets(kind, closed, 1))
            refused = peak(targets(kind, closed, n))
            idle[kind].append((refused - one) / n)
            if kind != "TCP":
                quiet = peak(targets(kind, quiet_ports, n))
                for x in silents:
                    x.forget()
                flight[kind].append((quiet - refused) / n)
                total[kind].append(quiet / 1024)
    late = {"launch to exit": [], "the gate's own clock (JSON elapsed_ms)": []}
    mixed = [MEMORY_KINDS[k].format(p=quiet_ports[i % 4], i=i, d=i % 16)
             for i, k in zip(range(n), itertools.cycle(MEMORY_KINDS))]
    for _ in range(rounds):
        # Not under the launcher: the gate's own clock is in its stderr, which the launcher drops.
        began = time.monotonic()
        r = subprocess.run([str(s.readygate), "-q", "--log-format", "json", "-t", "3", "--attempt-timeout", "1s",
                            *mixed], capture_output=True, text=True, timeout=60,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)))
        late["launch to exit"].append((time.monotonic() - began) * 1000 - 3000)
        said = [json.loads(line) for line in r.stderr.splitlines() if '"event":"timeout"' in line]
        late["the gate's own clock (JSON elapsed_ms)"].append(said[-1]["elapsed_ms"] - 3000 if said else None)
        for x in silents:
            x.forget()
    for x in silents:
        x.close()
    res.add(f"Memory: idle, per target ({n:,} targets on a refused port)", "KiB", idle)
    res.add(f"Memory: per attempt in flight ({n:,} targets against silent servers)", "KiB", flight)
    res.add(f"Memory: peak RSS of {n:,} targets against silent servers", "MiB", total)
    res.add(f"Deadline: {n:,} silent targets of mixed kinds under ulimit -n 1024, -t 3: past the deadline",
            "ms", late)


def fig_engine(s, res, rounds):
    """The engine's own event against a polling loop: a container's health check passes 1.5-2.5 s
    after it starts (random); from the engine's `health_status: healthy` event (docker events'
    TimeNano) to the command running, for `readygate docker://NAME#healthy` and for the loop users
    write today (`docker inspect` every second, and every 0.1 s)."""
    busybox = shutil.which("busybox")
    if not (busybox and shutil.which("docker") and subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                                                                   stderr=subprocess.DEVNULL).returncode == 0):
        log("MISSING: a running Docker Engine and busybox (busybox-static); the engine figure is left out")
        return
    image = f"readygate-bench-bb:{os.getpid()}"
    ctx = Path(tempfile.mkdtemp(prefix="readygate-bench-engine", dir=BUILD))
    shutil.copy(busybox, ctx / "busybox")
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
    run(["docker", "build", "-q", "-t", image, str(ctx)])
    mark = ctx / "mark"
    stamp = f"date +%s%N > {mark}"
    loop = "until [ \"$(docker inspect -f '{{{{.State.Health.Status}}}}' {name} 2>/dev/null)\" = healthy ]; do sleep {every}; done; " + stamp
    cases = {
        "readygate docker://NAME#healthy": lambda name: [str(s.readygate), "-q", "-t", "60", f"docker://{name}#healthy",
                                                         "--", "sh", "-c", stamp],
        "docker inspect every 1 s": lambda name: ["sh", "-c", loop.format(name=name, every=1)],
        "docker inspect every 0.1 s": lambda name: ["sh", "-c", loop.format(name=name, every=0.1)],
    }
    lat = {n: [] for n in cases}
    try:
        for r, case in interleave(rounds, list(cases)):
            name = f"rgb-engine-{os.getpid()}-{r}-{len(lat[case])}-{abs(hash(case)) % 1000}"
            mark.unlink(missing_ok=True)
            events = subprocess.Popen(["docker", "events", "--filter", f"container={name}", "--filter",
                                       "event=health_status", "--format", "{{.TimeNano}} {{.Action}}"],
                                      stdout=subprocess.PIPE, text=True)
            time.sleep(0.3)
            waiter = subprocess.Popen(cases[case](name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ready_after = random.uniform(1.5, 2.5)
            run(["docker", "run", "-d", "--name", name, "--health-cmd", "test -f /ok", "--health-interval", "100ms",
                 "--health-start-period", "0s", image, "sh", "-c", f"sleep {ready_after:.2f}; touch /ok; exec sleep 100"])
            healthy = None
            for line in events.stdout:
                t, _, action = line.strip().partition(" ")
                if action.endswith("healthy") and "unhealthy" not in action:
                    healthy = int(t)
                    break
            events.terminate()
            events.wait()
            waiter.wait(timeout=60)
            ran = int(mark.read_text().split()[0]) if mark.exists() else None
            lat[case].append((ran - healthy) / 1e6 if ran and healthy else None)
            subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        subprocess.run(["docker", "rmi", "-f", image], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(ctx, ignore_errors=True)
    res.add("Engine targets: a container's health check passes → command running, from the engine's "
            "health_status: healthy event", "ms", lat,
            note="readygate listens to the engine's event stream; the loops are what users write today.")


def fig_sizes(s, res):
    sizes = {"readygate (static, everything built in)": [s.readygate.stat().st_size / 1048576]}
    if s.wfi_deb:
        bash = Path(shutil.which("bash")).stat().st_size
        sizes["wait-for-it (Debian): script + bash"] = [(Path(s.wfi_deb).stat().st_size + bash) / 1048576]
    if s.pg_bin:
        libpq = max(Path("/usr/lib/x86_64-linux-gnu").glob("libpq.so.5*"), key=lambda p: p.stat().st_size, default=None)
        total = (s.pg_bin / "pg_isready").stat().st_size + (libpq.stat().st_size if libpq else 0)
        sizes["pg_isready + libpq (not counting libc, libssl, …)"] = [total / 1048576]
    if s.redis:
        sizes["redis-cli"] = [Path(shutil.which("redis-cli")).stat().st_size / 1048576]
    res.add("Binary size", "MiB", sizes, note="readygate needs nothing else; the others need a shell, an interpreter or shared libraries.")


# How to drive a peer given with --peer: the kinds of target it can wait for.
PEERS = ("docker-compose-wait",)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every figure once with small sizes (seconds)")
    ap.add_argument("--setup", action="store_true",
                    help="only build and install what the figures need (the static binary, the C helpers, the peers), then exit")
    ap.add_argument("--json", type=Path, help="also write the raw numbers here")
    ap.add_argument("--svg", type=Path, help="also draw the chart of this run here (bench/chart.py)")
    ap.add_argument("--readygate", action="append", default=[], metavar="NAME=PATH",
                    help="also measure this build of readygate (repeatable), e.g. an older commit's")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH",
                    help="also measure this peer, built by hand outside the repository; known NAMEs: "
                         + ", ".join(PEERS))
    ap.add_argument("--watch-minutes", type=float, default=10, help="the --watch CPU figure's length (default 10)")
    ap.add_argument("--soak-minutes", type=float, default=30, help="the --watch soak's length (default 30)")
    ap.add_argument("--only", choices=["overhead", "waiting", "protocols", "late-name", "scale", "migrated", "watch", "memory", "engine"],
                    help="run just this figure")
    args = ap.parse_args()

    def binaries(specs, option, known=None):
        out = []
        for spec in specs:
            name, sep, path = spec.partition("=")
            if not sep or not Path(path).is_file():
                ap.error(f"{option} takes NAME=PATH to an existing binary, not {spec!r}")
            if known is not None and name not in known:
                ap.error(f"{option}: no recipe to drive {name!r}; known: {', '.join(known)}")
            out.append((name, str(Path(path).resolve())))
        return out
    others = binaries(args.readygate, "--readygate")
    peers = binaries(args.peer, "--peer", PEERS)
    # 10,000 targets need 10,000 listeners here and 10,000 sockets in the gate.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 32768
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, want)), hard))

    s = Setup(others, peers)
    if args.setup:
        return
    res = Results()
    q = args.quick
    if args.only == "overhead":
        fig_overhead(s, res, rounds=2 if q else 21)
    elif args.only == "waiting":
        fig_waiting(s, res, rounds=1 if q else 5, seconds=1 if q else 3)
    elif args.only == "protocols":
        fig_protocols(s, res, rounds=1 if q else 7, delay=(0.2, 0.4) if q else (1.0, 2.0))
    elif args.only == "late-name":
        fig_late_name(s, res, rounds=1 if q else 11, delay=(0.5, 1.0) if q else (1.0, 3.0))
    elif args.only == "scale":
        fig_scale(s, res, rounds=1 if q else 5, sizes=SCALE_QUICK if q else SCALE_FULL, redis_targets=20 if q else 100)
    elif args.only == "migrated":
        fig_migrated(s, res, rounds=1 if q else 11)
    elif args.only == "memory":
        fig_memory(s, res, rounds=1 if q else 3, n=200 if q else 10000)
    elif args.only == "engine":
        fig_engine(s, res, rounds=1 if q else 7)
    elif args.only == "watch":
        fig_watch(s, res, minutes=0.1 if q else args.watch_minutes, soak_minutes=0.5 if q else args.soak_minutes)
    if args.only:
        print(res.markdown())
        write(args, res)
        return
    log("overhead");   fig_overhead(s, res, rounds=2 if q else 21)
    log("detection");  fig_detection(s, res, rounds=1 if q else 21, delay=(0.2, 0.4) if q else (1.0, 2.0))
    log("waiting");    fig_waiting(s, res, rounds=1 if q else 5, seconds=1 if q else 3)
    log("SIGTERM");    fig_sigterm(s, res, rounds=1 if q else 5, cap=0.5 if q else 5)
    log("PostgreSQL"); fig_postgres(s, res, rounds=1 if q else 7, delay=(0.2, 0.4) if q else (1.0, 2.0))
    log("migrated");   fig_migrated(s, res, rounds=1 if q else 11)
    log("watch");      fig_watch(s, res, minutes=0.1 if q else args.watch_minutes, soak_minutes=0.5 if q else args.soak_minutes)
    log("protocols");  fig_protocols(s, res, rounds=1 if q else 7, delay=(0.2, 0.4) if q else (1.0, 2.0))
    log("late name");  fig_late_name(s, res, rounds=1 if q else 11, delay=(0.5, 1.0) if q else (1.0, 3.0))
    log("scale");      fig_scale(s, res, rounds=1 if q else 5, sizes=SCALE_QUICK if q else SCALE_FULL, redis_targets=20 if q else 100)
    log("memory");     fig_memory(s, res, rounds=1 if q else 3, n=200 if q else 10000)
    log("engine");     fig_engine(s, res, rounds=1 if q else 7)
    fig_sizes(s, res)

    print(f"## readygate benchmark ({'quick' if q else 'full'} run)\n\n{machine()}. Medians with min–max; runs interleaved.")
    print(res.markdown())
    write(args, res)


def machine():
    cpu = os.cpu_count()
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown CPU")
    return f"Machine: {cpu} cores ({model}), Linux {os.uname().release}, shared and noisy; {time.strftime('%Y-%m-%d')}"


def write(args, res):
    """The raw numbers (JSON) and the chart drawn from exactly those numbers."""
    data = {"machine": {"summary": machine()}, "tables": res.raw}
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
    if args.svg:
        import chart
        args.svg.write_text(chart.render(data))


if __name__ == "__main__":
    main()
