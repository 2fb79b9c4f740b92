"""kubeactor's message bus: NATS subjects, msgpack envelopes, and the actor bridge.

This package imports no actor and no binding. Its public surface is ``__all__`` below; the
loop thread itself is ``bus.loop`` and the error tree ``bus.errors``.
"""

from bus.actor import BusActor
from bus.config import BusConfig
from bus.connection import Connection, Incoming
from bus.envelope import VERSION, Envelope, decode, encode, new_id
from bus.server import NatsServer, NatsServerMissing
from bus.subjects import ApiSubject, Subjects

__all__ = [
    "VERSION",
    "ApiSubject",
    "BusActor",
    "BusConfig",
    "Connection",
    "Envelope",
    "Incoming",
    "NatsServer",
    "NatsServerMissing",
    "Subjects",
    "decode",
    "encode",
    "new_id",
]
