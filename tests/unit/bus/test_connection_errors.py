"""How loudly a connection reports what nats-py tells its error callback: the loss of the
server (end of stream, a reset) is said once, by the disconnection, never as a warning of its
own (a CLI printed "Connection reset by peer" before "Unable to connect to the server")."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
import pytest

from bus import BusConfig
from bus.connection import Connection


def _connected() -> Connection:
    connection = Connection(BusConfig(url="nats://127.0.0.1:4222"), "cli")
    connection._nc = object()  # type: ignore[assignment]  # as once connected
    return connection


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   BrokenPipeError(32, "Broken pipe"),
                                   nats.errors.UnexpectedEOF()])
def test_the_loss_of_the_server_is_no_warning(caplog, error: Exception):
    with caplog.at_level(logging.DEBUG, logger="bus.connection"):
        asyncio.run(_connected()._on_error(error))
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_another_error_is_a_warning(caplog):
    with caplog.at_level(logging.DEBUG, logger="bus.connection"):
        asyncio.run(_connected()._on_error(nats.errors.Error("slow consumer")))
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
