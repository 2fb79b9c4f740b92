"""pods/exec and pods/attach over WebSocket: the bus exec's body from the query, the framing of
the client's messages and of the command's output and status."""

from __future__ import annotations

import functools
import json

import pytest

from actors.api.discovery import Served
from actors.apiserver.http import channels, routes
from bus.errors import BadRequest, Forbidden

route = functools.partial(routes.route, served=Served())
"""Routes among the built-in resources."""

QUERY = {"container": "c", "stdout": "true", "stderr": "true"}


def test_an_exec_or_attach_is_a_create_whether_its_websocket_comes_as_get_or_post():
    for method in ("GET", "POST"):
        for subresource in ("exec", "attach"):
            call = route(method, f"/api/v1/namespaces/default/pods/demo/{subresource}", {})
            assert (call.verb, call.subresource, call.name) == ("create", subresource, "demo")


def test_the_query_becomes_the_bus_exec_with_its_input_and_terminal():
    assert channels.execution(["ls", "/"], QUERY) == {
        "command": ["ls", "/"], "container": "c", "stdin": False, "tty": False}
    assert channels.execution(["sh"], {"stdin": "true", "tty": "1"}) == {
        "command": ["sh"], "stdin": True, "tty": True}
    with pytest.raises(BadRequest, match="at least 1 command"):
        channels.execution([], QUERY)


def test_an_attachs_query_becomes_the_bus_attach_without_a_command():
    assert channels.attachment({**QUERY, "stdin": "true", "tty": "true"}) == {
        "container": "c", "stdin": True, "tty": True}
    assert channels.attachment({"stdout": "1", "command": "sh"}) == {
        "stdin": False, "tty": False}


@pytest.mark.parametrize(("message", "given"), [
    (b"\x00hello\n", {"stdin": b"hello\n"}),
    (b"\xff\x00", {"close": True}),
    (b'\x04{"Width":120,"Height":40}', {"resize": {"width": 120, "height": 40}}),
    (b"\x00", None), (b"", None), (b"\xff\x01", None), (b"\x01out", None),
    (b"\x04{not json", None), (b'\x04{"Width":"x","Height":1}', None), (b"\x04[]", None),
    (b'\x04{"Width":1e999,"Height":1}', None), (b'\x04{"Width":-1,"Height":1}', None),
    (b'\x04{"Width":65536,"Height":1}', None), (b'\x04{"Width":1e30,"Height":1}', None),
    (b"\x04" + b"[" * 100_000, None)])
def test_a_clients_message_is_input_a_resize_or_the_close_of_stdin(message: bytes,
                                                                   given: object):
    assert channels.given(message) == given


def test_output_goes_on_the_channels_the_query_asked_for():
    assert channels.output(1, b"out", QUERY) == b"\x01out"
    assert channels.output(2, b"err", QUERY) == b"\x02err"
    assert channels.output(2, b"err", {"stdout": "true", "stderr": "false"}) is None
    assert channels.output(7, b"x", QUERY) is None


def test_the_status_says_success_or_the_exit_code_kubectl_exits_with():
    status = channels.status(3)
    assert status[0] == channels.STATUS
    assert json.loads(status[1:]) == {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code: exit status 3",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert channels.status(0) == b'\x03{"metadata":{},"status":"Success"}'


def test_an_exec_refused_is_told_on_the_status_channel():
    refused = channels.failure(Forbidden("pods \"demo\" is forbidden"))
    assert json.loads(refused[1:])["reason"] == "Forbidden"
