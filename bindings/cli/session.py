"""What every command of the ``kubeactor`` CLI shares while it runs: the :class:`Session`
(a connection and a client built from the kubeconfig, that asks for ``fieldValidation:
Strict`` as kubectl does, and fails fast when the bus is gone: ``CLIENT_RECONNECT_WINDOW``),
kubectl's words for a server's error and warnings (:func:`print_error`, :func:`print_warning`),
and the flag that Ctrl-C or SIGTERM raises (:class:`StopFlag`).

Neighbours: ``bindings.kubeconfig`` (the file a session reads), ``actors.client.client`` (the
client it holds), ``bus`` (its connection); the verb modules (``objects``, ``pods``,
``workloads``, ``auth``, ``daemons``, ``tracing``) use these, ``bindings.cli.main`` opens and
closes the session around a command.

Which thread: the main thread; :class:`StopFlag`'s handler runs there too, between bytecodes.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from actors.client.client import Client
from bindings import kubeconfig
from bus.config import CLIENT_RECONNECT_WINDOW
from bus.connection import Connection
from bus.errors import ApiError, BusError, ConnectionLost, Invalid, Unauthorized, Unreachable

POLL = 0.2
"""Seconds between two looks of a waiting command at its signals and its connection."""


class Session:
    """A connection and client built from the kubeconfig, closed at the end of a command."""

    def __init__(self, args: argparse.Namespace, name: str = "cli") -> None:
        path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
        self.config = kubeconfig.load(path)
        self.namespace = getattr(args, "namespace", None) or self.config.namespace
        bus = replace(self.config.bus(), reconnect_window=CLIENT_RECONNECT_WINDOW)
        self.connection = Connection(bus, name).connect()
        self.client = Client(self.connection, self.config.credentials(),
                             field_validation="Strict", warn=print_warning)

    def close(self) -> None:
        self.connection.close()

    def check(self) -> None:
        """Raise ConnectionLost once the connection is lost for good (past its reconnect
        window): a command that waits on the bus (a watch, a followed log) calls it as it
        waits, to stop and say so rather than wait for ever."""
        if self.connection.lost is not None:
            raise ConnectionLost(self.connection.lost)

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """``event.wait(timeout)``, cut short by a lost connection (ConnectionLost)."""
        deadline = time.monotonic() + timeout
        while not event.wait(min(POLL, max(0.0, deadline - time.monotonic()))):
            self.check()
            if time.monotonic() >= deadline:
                return False
        return True


def print_warning(warning: str) -> None:
    """Print a warning the server sent with its reply, as kubectl does."""
    print(f"Warning: {warning}", file=sys.stderr)


def print_error(error: ApiError | BusError) -> None:
    """Print a server error as kubectl does; a server that cannot be reached at all (the bus
    connection failed or is lost) as kubectl prints a connection's failure."""
    if isinstance(error, BusError | Unreachable):
        print(f"Unable to connect to the server: {error}", file=sys.stderr)
        # the lost connection's tasks, cut short, are destroyed at exit: asyncio's reports of
        # them would follow the one line that said why
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    elif isinstance(error, Invalid):
        print(f"The {error.message}", file=sys.stderr)
    elif isinstance(error, Unauthorized):
        print("error: You must be logged in to the server (Unauthorized)", file=sys.stderr)
    else:
        print(f"Error from server ({error.reason}): {error.message}", file=sys.stderr)


class StopFlag:
    """Set by SIGINT or SIGTERM. The handler only flips a bool: taking a lock there (as
    ``threading.Event.set`` does) deadlocks when a second signal lands inside the first."""

    def __init__(self) -> None:
        self.raised = False
        self.signum = 0
        """The signal that came (0: none yet)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._raise)

    def _raise(self, signum: int, _: object) -> None:
        self.raised = True
        self.signum = signum

    def is_set(self) -> bool:
        return self.raised

    def wait(self) -> None:
        """Block until a signal came (the main thread wakes for signals within POLL s)."""
        while not self.raised:
            time.sleep(POLL)


def stop_on_signals() -> StopFlag:
    return StopFlag()
