"""``pods/exec`` over WebSocket: Kubernetes' channel protocol (``v5.channel.k8s.io``, and
``v4.channel.k8s.io`` which it extends), as kubectl 1.30+ speaks it.

Each binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the status (a JSON
``Status`` once the command is over: ``Success``, or ``Failure`` with reason
``NonZeroExitCode`` and the code as the cause ``ExitCode``, from which kubectl exits with that
code), 4 a terminal's size, 255 (v5) the close of a stream. The exec of the bus is one-shot
(the kubelet answers ``{"exitCode", "stdout", "stderr"}``), so the command's query
(``command``, ``container``, ``stdout``, ``stderr``) becomes its body, and its answer the
messages; ``stdin`` and ``tty`` are refused (nothing is run) until the bus streams an exec.

Pure: unit-tested in tests/unit/actors/apiserver/http/test_channels.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from actors.api.objects import Object
from bus.errors import ApiError, BadRequest

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
"""The subprotocols served, the preferred first."""
STDOUT, STDERR, STATUS = 1, 2, 3
"""The channels written here (the first byte of a message)."""
_FALSE = ("", "0", "false", "False")


def execution(commands: list[str], query: Mapping[str, str]) -> Object:
    """The body of the bus's exec for the ``command`` words and the query; BadRequest when
    there is no command, or stdin or a terminal is asked for (not served yet)."""
    if not commands:
        raise BadRequest("you must specify at least 1 command")
    for unserved in ("stdin", "tty"):
        if query.get(unserved, "") not in _FALSE:
            raise BadRequest(f"{unserved} is not served for pods/exec yet (the command runs "
                             f"once, without input): nothing was run")
    body: Object = {"command": list(commands)}
    if query.get("container"):
        body["container"] = query["container"]
    return body


def messages(answer: Object, query: Mapping[str, str]) -> list[bytes]:
    """The messages of a finished exec: its output on the channels the query asked for
    (``stdout``, ``stderr``), then its status."""
    found = [bytes([channel]) + str(answer.get(name) or "").encode()
             for channel, name in ((STDOUT, "stdout"), (STDERR, "stderr"))
             if query.get(name, "") not in _FALSE and answer.get(name)]
    return [*found, status(int(answer.get("exitCode") or 0))]


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
