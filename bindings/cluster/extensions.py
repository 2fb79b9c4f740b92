"""What ``Cluster.start_scheduler`` and ``Cluster.start_admission`` hand back: a scheduler or an
admission actor started beside the cluster's own components, each on a connection of its own
identity (a client certificate of the cluster CA; no bearer token travels on the bus), to stop
on its own or with the cluster.

Neighbours: ``bindings.cluster.launcher`` (starts them), ``actors.scheduler`` and
``actors.admission_actor`` (what runs), ``actors.ext`` (the plugin and actor API).

Which thread: any; :meth:`Started.stop` blocks until the actor has stopped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pykka

from bus import Connection

STOP_SECONDS = 30.0
"""How long :meth:`Started.stop` waits for the actor to finish what it is doing."""


@dataclass
class Started:
    """A scheduler or admission actor started on a running cluster."""

    name: str
    ref: pykka.ActorRef[Any]
    connection: Connection
    subject: str = ""
    """An admission actor's: what its AdmissionRegistration's ``spec.subject`` must say
    (``<its user>.<name>``); empty for a scheduler."""

    def stop(self) -> None:
        """Stop the actor and close its connection; idempotent (the cluster's stop does it
        too)."""
        with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
            self.ref.stop(timeout=STOP_SECONDS)
        self.connection.close()
