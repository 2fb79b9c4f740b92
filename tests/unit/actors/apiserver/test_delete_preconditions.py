"""A delete's preconditions cannot race a write: the object is removed only at the revision
they were checked against, so a write in between makes the delete read and check again
(``Verbs._delete`` over a store that moves on once, between the read and the removal)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from actors.api.resources import lookup
from actors.api.users import UserInfo
from actors.apiserver.options import PreconditionFailed, parse_options
from actors.apiserver.requests import Request
from actors.apiserver.verbs import Verbs
from bus.envelope import Envelope
from bus.errors import Conflict
from bus.subjects import Subjects


def version(rv: int, uid: str = "u1") -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d", "uid": uid,
                                             "resourceVersion": str(rv)}}


class Racing(Verbs):
    """A store whose object is rewritten (as ``then``) right after the delete first read it."""

    def __init__(self, then: dict[str, Any]) -> None:
        self.stored, self.then, self.removed = version(7), then, False

    def _get(self, request: Request) -> Any:
        read, self.stored = self.stored, self.then  # a write lands after this read
        return read

    def _admit(self, *args: Any) -> Generator[Any, Any, None]:
        yield from ()

    def _store_write(self, request: Request, op: str, obj: Any, expected: int | None = None
                     ) -> Generator[Any, Any, Any]:
        yield from ()
        if expected is not None and expected != int(self.stored["metadata"]["resourceVersion"]):
            raise Conflict("the object has been modified")
        self.removed = True
        return self.stored

    def _release(self, *args: Any) -> None:
        pass

    def _released(self, *args: Any) -> Generator[Any, Any, None]:  # a Service's addresses
        yield from ()

    def _commit(self, request: Request, stored: Any, removed: bool = False) -> Any:
        return stored


def delete(verbs: Racing, **preconditions: str) -> Any:
    request = Request("delete", lookup("", "configmaps"), subresource=None, namespace="d",
                      name="c", user=UserInfo("alice"), envelope=Envelope(),
                      options=parse_options({"preconditions": preconditions},
                                            Subjects("kubeactor")))
    steps = verbs._delete(request)
    try:
        while True:
            next(steps)
    except StopIteration as done:
        return done.value


def test_a_write_between_the_check_and_the_removal_makes_the_delete_check_again():
    racing = Racing(then=version(8, uid="u2"))  # deleted and made again meanwhile
    with pytest.raises(PreconditionFailed, match="UID in precondition: u1, UID in object "
                                                 "meta: u2"):
        delete(racing, uid="u1")
    assert not racing.removed


def test_a_write_that_keeps_the_preconditions_true_lets_the_delete_go_on():
    racing = Racing(then=version(8))
    assert delete(racing, uid="u1")["metadata"]["resourceVersion"] == "8"
    assert racing.removed
