"""What an informer keeps of each object: by default without ``managedFields`` (as
kube-scheduler's and kube-controller-manager's informers) and with its short strings shared
by every object holding them (interned), and nothing of an object its
transform leaves out (neither kept nor told), from the list as from the watch. The plain fake
client of the shared informers' tests stands in for the apiserver."""

from __future__ import annotations

from actors.api.objects import Object
from actors.client.client import WatchEvent
from actors.client.informer import Informer
from tests.unit.actors.client.test_sharedinformer import FakeClient, pod, seen


def managed(name: str, revision: str = "1") -> Object:
    obj = pod(name, revision)
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update"}]
    return obj


def test_objects_are_kept_and_told_without_their_managed_fields() -> None:
    client = FakeClient([managed("a")])
    told: list[WatchEvent] = []
    informer = Informer(client, "pods", told.append).start()  # type: ignore[arg-type]
    client.watches[0].on_event(WatchEvent("MODIFIED", managed("a", "2"), watch_id="w"))
    assert seen(told) == [("ADDED", "a"), ("MODIFIED", "a")]
    assert all("managedFields" not in e.object["metadata"] for e in told)
    assert told[1].watch_id == "w"
    kept = informer.get("a", "default")
    assert kept is not None and kept["metadata"] == {"name": "a", "namespace": "default",
                                                     "resourceVersion": "2"}


def test_an_object_the_transform_leaves_out_is_neither_kept_nor_told() -> None:
    client = FakeClient([pod("a"), pod("skip")])
    told: list[WatchEvent] = []
    informer = Informer(client, "pods", told.append,  # type: ignore[arg-type]
                        transform=lambda o: None if o["metadata"]["name"] == "skip" else o)
    informer.start()
    client.watches[0].on_event(WatchEvent("MODIFIED", pod("skip", "2")))
    client.watches[0].on_event(WatchEvent("DELETED", pod("skip", "3")))
    client.watches[0].on_event(WatchEvent("ADDED", pod("b")))
    assert seen(told) == [("ADDED", "a"), ("ADDED", "b")]
    assert sorted(o["metadata"]["name"] for o in informer.items()) == ["a", "b"]


def test_without_a_transform_the_managed_fields_stay() -> None:
    client = FakeClient([managed("a")])
    informer = Informer(client, "pods", lambda e: None,  # type: ignore[arg-type]
                        transform=lambda o: o).start()
    assert "managedFields" in informer.items()[0]["metadata"]


def test_kept_objects_share_their_short_strings() -> None:
    def with_image(name: str) -> Object:
        obj = pod(name)
        long = f"{'x' * 65}{len(name) - 1}"  # built at run time: one string per pod
        obj["spec"] = {"image": "".join(["busybox:", "1.35"]), "note": long,
                       "nodeName": name}  # not equal: not shared whole (actors.client.sharing)
        return obj

    client = FakeClient([with_image("a"), with_image("b")])
    informer = Informer(client, "pods", lambda e: None).start()  # type: ignore[arg-type]
    first, second = (o["spec"] for o in informer.items())
    assert first["image"] is second["image"]
    assert first["note"] == second["note"] and first["note"] is not second["note"]


def with_spec(name: str, revision: str, **spec: object) -> Object:
    obj = managed(name, revision)
    obj["spec"] = {"containers": [{"name": "c", "image": "busybox:1.35"}], **spec}
    return obj


def test_a_modified_object_keeps_the_parts_it_did_not_change_from_the_state_before() -> None:
    client = FakeClient([with_spec("a", "1", priority=0)])
    told: list[WatchEvent] = []
    informer = Informer(client, "pods", told.append).start()  # type: ignore[arg-type]
    client.watches[0].on_event(WatchEvent("MODIFIED", with_spec("a", "2", priority=0,
                                                                nodeName="n1")))
    before, after = (event.object for event in told)
    assert after == {"kind": "Pod", "metadata": {"name": "a", "namespace": "default",
                                                 "resourceVersion": "2"},
                     "spec": {"containers": [{"name": "c", "image": "busybox:1.35"}],
                              "priority": 0, "nodeName": "n1"}}
    assert after["spec"]["containers"] is before["spec"]["containers"]
    assert after["metadata"] is not before["metadata"] and before["metadata"][
        "resourceVersion"] == "1"  # the state before is left as it was
    assert informer.get("a", "default") is after

