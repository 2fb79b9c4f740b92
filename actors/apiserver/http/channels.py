"""``pods/exec`` and ``pods/attach`` over WebSocket: Kubernetes' channel protocol
(``v5.channel.k8s.io``, and ``v4.channel.k8s.io`` which it extends), as kubectl 1.30+ speaks it.

Each message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the status (a JSON
``Status`` once the command is over: ``Success``, or ``Failure`` with reason
``NonZeroExitCode`` and the code as the cause ``ExitCode``, from which kubectl exits with that
code), 4 a terminal's size (``{"Width", "Height"}``), 255 (v5) the close of a stream (its one
byte: which; kubectl closes stdin, 0, at the end of its input). The command's query
(``command``, ``container``, ``stdin``, ``tty``; an attach's without ``command``) becomes the
body of the bus's exec stream; a
client's message becomes what the front answers the kubelet's call for input with; the
kubelet's output becomes messages on the channels the query asked for (``stdout``,
``stderr``). Clients send binary messages (kubectl) or text ones (the Python client).

Pure: unit-tested in tests/unit/actors/apiserver/http/test_channels.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from actors.api.objects import Object
from actors.client import streams
from bus.errors import ApiError, BadRequest

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
"""The subprotocols served, the preferred first."""
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
"""The channels (the first byte of a message)."""
_FALSE = ("", "0", "false", "False")


def execution(commands: list[str], query: Mapping[str, str]) -> Object:
    """The body of the bus's exec for the ``command`` words and the query; BadRequest when
    there is no command."""
    if not commands:
        raise BadRequest("you must specify at least 1 command")
    return {"command": list(commands), **attachment(query)}


def attachment(query: Mapping[str, str]) -> Object:
    """The body of the bus's attach for the query (its container, ``stdin``, ``tty``)."""
    body: Object = {"stdin": _asked(query, "stdin"), "tty": _asked(query, "tty")}
    if query.get("container"):
        body["container"] = query["container"]
    return body


def given(message: bytes) -> Object | None:
    """What a client's message gives the command, as the answer to the kubelet's call for
    input: ``{"stdin": bytes}``, ``{"resize": {"width", "height"}}``, ``{"close": true}``
    (stdin closed); None for anything else (ignored: an empty message, another channel, a
    size that is not one: ``streams.terminal_size``)."""
    channel, data = (message[0], message[1:]) if message else (None, b"")
    if channel == STDIN and data:
        return {"stdin": data}
    if channel == CLOSE and data[:1] == bytes([STDIN]):
        return {"close": True}
    if channel != RESIZE:
        return None
    try:
        size = json.loads(data)
        resize = streams.terminal_size({"width": size["Width"], "height": size["Height"]})
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return None if resize is None else {"resize": resize}


def output(channel: int, data: bytes, query: Mapping[str, str]) -> bytes | None:
    """The message of the command's output on ``channel`` (1 stdout, 2 stderr); None when
    the query did not ask for that stream."""
    asked = _asked(query, {STDOUT: "stdout", STDERR: "stderr"}.get(channel, ""))
    return bytes([channel]) + data if asked else None


def _asked(query: Mapping[str, str], name: str) -> bool:
    return bool(name) and query.get(name, "") not in _FALSE


def status(exit_code: int) -> bytes:
    """The status message of a command that exited with ``exit_code``."""
    if exit_code == 0:
        return _status({"metadata": {}, "status": "Success"})
    return _status({
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": f"command terminated with non-zero exit code: exit status {exit_code}",
        "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}})


def failure(error: ApiError) -> bytes:
    """The status message of an exec that did not run (``error``'s Status)."""
    return _status(error.to_status())


def _status(body: Object) -> bytes:
    return bytes([STATUS]) + json.dumps(body, separators=(",", ":")).encode()
