"""pods/exec over WebSocket: the bus exec's body from the query, its answer as channel messages."""

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


def test_an_exec_is_a_create_whether_its_websocket_comes_as_get_or_post():
    for method in ("GET", "POST"):
        call = route(method, "/api/v1/namespaces/default/pods/demo/exec", {})
        assert (call.verb, call.subresource, call.name) == ("create", "exec", "demo")


def test_the_query_becomes_the_bus_exec_and_input_is_refused():
    assert channels.execution(["ls", "/"], QUERY) == {"command": ["ls", "/"], "container": "c"}
    with pytest.raises(BadRequest, match="at least 1 command"):
        channels.execution([], QUERY)
    for unserved in ("stdin", "tty"):
        with pytest.raises(BadRequest, match=f"{unserved} is not served"):
            channels.execution(["sh"], {unserved: "true"})


def test_the_answer_is_its_output_on_the_channels_asked_then_its_status():
    answer = {"exitCode": 3, "stdout": "out\n", "stderr": "err\n"}
    *output, status = channels.messages(answer, QUERY)
    assert output == [b"\x01out\n", b"\x02err\n"]
    assert status[0] == channels.STATUS
    assert json.loads(status[1:]) == {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code: exit status 3",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert channels.messages(answer, {"stdout": "true"})[0] == b"\x01out\n"
    assert channels.messages({"exitCode": 0, "stdout": ""}, QUERY) == [
        b'\x03{"metadata":{},"status":"Success"}']


def test_an_exec_refused_is_told_on_the_status_channel():
    refused = channels.failure(Forbidden("pods \"demo\" is forbidden"))
    assert json.loads(refused[1:])["reason"] == "Forbidden"
