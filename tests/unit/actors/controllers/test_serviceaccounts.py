"""What the default-account and root CA controllers do for a namespace
(actors/controllers/serviceaccounts.py), as a pure decision."""

from __future__ import annotations

from actors.api import serviceaccounts
from actors.controllers.serviceaccounts import RootCAPublisher, to_do

LIVE = {"metadata": {"name": "team"}}
TERMINATING = {"metadata": {"name": "team", "deletionTimestamp": "2027-01-01T00:00:00Z"}}
WANTED = serviceaccounts.root_ca_configmap("team", "PEM")


def never(live: dict, wanted: dict) -> bool:
    return False


def test_a_live_namespace_gets_its_object_made_and_put_back():
    assert to_do(LIVE, None, WANTED, never) == "create"
    assert to_do(LIVE, WANTED, WANTED, never) is None
    stale = {**WANTED, "data": {"ca.crt": "OLD"}}
    assert to_do(LIVE, stale, WANTED, lambda live, wanted: live["data"] != wanted["data"]) \
        == "update"


def test_a_namespace_gone_or_being_deleted_gets_nothing():
    assert to_do(None, None, WANTED, never) is None
    assert to_do(TERMINATING, None, WANTED, never) is None


def test_the_root_ca_publisher_puts_back_only_a_changed_ca():
    differs = RootCAPublisher.differs
    assert differs(None, {**WANTED, "data": {"ca.crt": "OLD"}}, WANTED)  # type: ignore[arg-type]
    assert not differs(None, {**WANTED, "metadata": {"labels": {"x": "y"}}},  # type: ignore[arg-type]
                       WANTED)
