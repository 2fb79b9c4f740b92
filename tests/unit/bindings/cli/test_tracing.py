"""What ``kubeactor trace`` keeps of a message: no credential, whatever carries it."""

from __future__ import annotations

import json

import msgpack

from actors.api import serviceaccounts
from bindings.cli import tracepage
from bindings.cli.tracing import PROOF_KEYS, Record, answered, hop, mermaid, render
from bus.envelope import Envelope, encode

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"


def kept(envelope: Envelope) -> bytes:
    record = Record.capture("kubeactor.inbox.admin.x", encode(envelope))
    assert record is not None
    return msgpack.packb(record.message)


def test_a_service_account_token_is_kept_nowhere_in_a_capture():
    answer = serviceaccounts.token_answer("reader", "team", {}, TOKEN, "2027-01-01T00:00:00Z")
    review = {"spec": {"token": TOKEN}}  # as clients send it: no kind
    reviewed = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": TOKEN}, "status": {"authenticated": True}}
    for envelope in (
        Envelope(verb="create", resource="serviceaccounts", subresource="token", body=answer),
        Envelope(verb="create", group="authentication.k8s.io", resource="tokenreviews",
                 body=review, auth={"token": TOKEN}),
        Envelope(status={"code": 201}, body=reviewed),
    ):
        assert TOKEN.encode() not in kept(envelope)
    assert b"expirationTimestamp" in kept(Envelope(body=answer))  # the rest is kept


def test_a_handshake_keeps_its_certificate_and_loses_its_proofs():
    hello = {"cert": b"-----BEGIN CERTIFICATE-----", "eph": b"k" * 32, "ts": 1.0,
             "nonce": b"n" * 16, "sig": b"s" * 64}
    welcome = {"eph": b"k" * 32, "cert": b"pem", "expires": 2.0, "sig": b"s" * 64,
               "ticket": b"t" * 80}
    for body in (hello, welcome):
        record = Record.capture("kubeactor.authn.hello", encode(Envelope(body=body)))
        assert record is not None
        assert set(record.message["body"]) == set(body) - set(PROOF_KEYS)


def test_the_page_inlines_its_messages_so_that_no_body_ends_its_script():
    record = Record.capture("kubeactor.api.core.pods.create", encode(Envelope(
        sender="cli", verb="create", resource="pods", namespace="default", name="web",
        body={"metadata": {"name": "web", "annotations": {"x": "</script><script>alert(1)"}},
              "data": b"\x00\x01"}, auth={"token": TOKEN})))
    assert record is not None
    html = tracepage.page([(hop(record), record.message)], title="<b>run</b>")
    assert html.count("</script>") == 2  # the data's own and the drawing's: nothing injected
    assert "<title>&lt;b&gt;run&lt;/b&gt;</title>" in html and TOKEN not in html
    data = html.split('id="trace-data">', 1)[1].split("</script>", 1)[0]
    [message] = json.loads(data)["messages"]
    assert message["object"] == "pods default/web" and message["label"] == "create pods/web"
    assert message["envelope"]["body"]["data"] == "<2 bytes>"


def test_a_request_shows_the_latency_its_reply_measured():
    request = Envelope(span_id="a1", sender="cli", verb="create", resource="pods")
    reply = request.reply(code=201, sender="apiserver")
    reply.options = {"latencyMs": 4.5}
    hops = answered(hop(record) for record in (
        Record.capture("kubeactor.api.core.pods.create", encode(request)),
        Record.capture("kubeactor.inbox.cli.x", encode(reply))) if record is not None)
    assert [line.latency_ms for line in hops] == [4.5, 4.5]


def test_what_a_sender_wrote_reaches_the_terminal_escaped():
    """Anyone may publish a chaos span (or a request): escape sequences in it would be the
    tracer's terminal's commands (a title, a cleared screen, OSC 52 writing the clipboard)."""
    span = Envelope(sender="fault-injector\x1b]52;c;cm0gLXJmIH4=\x07", target="chaos\r",
                    verb="drop", resource="pods\x1b[2J", name="web\u202egpj.exe",
                    options={"chaos": "plan", "faulted": "create\n12:00:00  admin -> x"})
    record = Record.capture("kubeactor.trace.chaos", encode(span))
    assert record is not None
    line = hop(record)
    text = render(line) + mermaid([line])
    assert not any(c in text for c in "\x1b\x07\r\u202e") and text.count("\n") == 4
    assert "fault-injector\\x1b]52;c;cm0gLXJmIH4=\\x07 -> chaos\\r" in render(line)
    assert "chaos drop create\\n12:00:00  admin -> x pods\\x1b[2J/web\\u202egpj.exe" in render(line)
