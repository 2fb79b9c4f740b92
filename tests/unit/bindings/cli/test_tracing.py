"""What ``kubeactor trace`` keeps of a message: no credential, whatever carries it."""

from __future__ import annotations

import msgpack

from actors.api import serviceaccounts
from bindings.cli.tracing import Record
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
