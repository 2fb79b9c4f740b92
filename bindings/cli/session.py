"""What every command of the ``kubeactor`` CLI shares while it runs: the :class:`Session`
(a connection and a client built from the kubeconfig, that asks for ``fieldValidation:
Strict`` as kubectl does), kubectl's words for a server's error and warnings
(:func:`print_error`, :func:`print_warning`), and the flag that Ctrl-C or SIGTERM raises
(:class:`StopFlag`).

Neighbours: ``bindings.kubeconfig`` (the file a session reads), ``actors.client.client`` (the
client it holds), ``bus`` (its connection); the verb modules (``objects``, ``pods``,
``workloads``, ``auth``, ``daemons``, ``tracing``) use these, ``bindings.cli.main`` opens and
closes the session around a command.

Which thread: the main thread; :class:`StopFlag`'s handler runs there too, between bytecodes.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from actors.client.client import Client
from bindings import kubeconfig
from bus import Connection
from bus.errors import ApiError, Invalid, Unauthorized


class Session:
    """A connection and client built from the kubeconfig, closed at the end of a command."""

    def __init__(self, args: argparse.Namespace, name: str = "cli") -> None:
        path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
        self.config = kubeconfig.load(path)
        self.namespace = getattr(args, "namespace", None) or self.config.namespace
        self.connection = Connection(self.config.bus(), name).connect()
        self.client = Client(self.connection, self.config.credentials(),
                             field_validation="Strict", warn=print_warning)

    def close(self) -> None:
        self.connection.close()


def print_warning(warning: str) -> None:
    """Print a warning the server sent with its reply, as kubectl does."""
    print(f"Warning: {warning}", file=sys.stderr)


def print_error(error: ApiError) -> None:
    """Print a server error as kubectl does."""
    if isinstance(error, Invalid):
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
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._raise)

    def _raise(self, *_: object) -> None:
        self.raised = True

    def is_set(self) -> bool:
        return self.raised

    def wait(self) -> None:
        """Block until a signal came (the main thread wakes for signals within 0.2 s)."""
        while not self.raised:
            time.sleep(0.2)


def stop_on_signals() -> StopFlag:
    return StopFlag()
