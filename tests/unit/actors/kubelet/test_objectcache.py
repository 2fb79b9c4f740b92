"""The kubelet's watched ConfigMaps and Secrets (``actors.kubelet.objectcache``): one list and
watch per object for every pod and node that reads it, no get; stopped with the last pod that
read it; opened again as another reader's node when its opener's pods are gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actors.api.objects import Object
from actors.client.client import WatchEvent
from actors.kubelet.objectcache import ObjectCache
from bus.errors import Forbidden, NotFound
from tests.unit.actors.client.test_sharedinformer import FakeWatch as Watch


class Node:
    """One node's client: lists its objects by name, records the watches; may read only
    the names in ``related`` (as the Node authorizer answers)."""

    def __init__(self, objects: dict[str, Object], related: set[str] | None = None) -> None:
        self.objects, self.related = objects, related
        self.lists: list[str] = []
        self.watches: list[Watch] = []

    def list(self, resource: str, namespace: str | None = None, *, field_selector: str = "",
             **_: Any) -> Object:
        name = field_selector.removeprefix("metadata.name=")
        if self.related is not None and name not in self.related:
            raise Forbidden(f"no relationship found between node 'n' and this object {name}")
        self.lists.append(name)
        found = [self.objects[name]] if name in self.objects else []
        return {"items": found, "metadata": {"resourceVersion": "5"}}

    def watch(self, resource: str, on_event: Callable[[WatchEvent], None],
              **_: Any) -> Watch:
        self.watches.append(Watch(on_event))
        return self.watches[-1]

    def get(self, *_: Any) -> Object:
        raise AssertionError("read by a get: the kubelet watches its objects")


def cm(name: str, value: str = "v") -> Object:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": "default",
                                              "resourceVersion": "1"}, "data": {"k": value}}


def read(cache: ObjectCache, uid: str, node: Node, name: str) -> Object:
    return cache.get(uid, node, "configmaps", name, "default")  # type: ignore[arg-type]


def test_pods_of_many_nodes_share_one_watch_and_see_its_changes_without_a_get():
    one, two = Node({"root-ca": cm("root-ca")}), Node({"root-ca": cm("root-ca")})
    cache = ObjectCache()
    assert read(cache, "p1", one, "root-ca")["data"] == {"k": "v"}
    assert read(cache, "p2", one, "root-ca")["data"] == {"k": "v"}
    assert read(cache, "p3", two, "root-ca")["data"] == {"k": "v"}
    assert (one.lists, len(one.watches), two.lists, two.watches) == (["root-ca"], 1, [], [])
    one.watches[0].on_event(WatchEvent("MODIFIED", cm("root-ca", "rotated")))
    assert read(cache, "p3", two, "root-ca")["data"] == {"k": "rotated"}


def test_a_missing_object_is_not_found_until_its_watch_sees_it_created():
    node = Node({})
    cache = ObjectCache()
    with pytest.raises(NotFound):
        read(cache, "p1", node, "later")
    node.watches[0].on_event(WatchEvent("ADDED", cm("later")))
    assert read(cache, "p1", node, "later")["data"] == {"k": "v"}
    assert node.lists == ["later"]


def test_the_watch_stops_with_the_last_pod_that_read_it():
    node = Node({"a": cm("a")})
    cache = ObjectCache()
    read(cache, "p1", node, "a")
    read(cache, "p2", node, "a")
    cache.release("p1")
    assert (cache.watches(), node.watches[0].stopped) == (1, False)
    cache.release("p2")
    assert (cache.watches(), node.watches[0].stopped) == (0, True)
    read(cache, "p3", node, "a")  # read again: watched again
    assert (node.lists, cache.watches()) == (["a", "a"], 1)


def test_a_refused_watch_is_the_apiservers_error_and_the_next_read_tries_again():
    node = Node({"secret-of-others": cm("secret-of-others")}, related=set())
    cache = ObjectCache()
    with pytest.raises(Forbidden, match="no relationship"):
        read(cache, "p1", node, "secret-of-others")
    assert cache.watches() == 0
    node.related = {"secret-of-others"}
    assert read(cache, "p1", node, "secret-of-others")["data"] == {"k": "v"}


def test_when_the_openers_pods_are_gone_another_readers_node_opens_the_watch_again():
    one, two = Node({"a": cm("a")}), Node({"a": cm("a")})
    cache = ObjectCache()
    read(cache, "p1", one, "a")
    read(cache, "p2", two, "a")
    cache.release("p1")  # node one no longer relates to it: node two watches it now
    assert one.watches[0].stopped and (two.lists, len(two.watches)) == (["a"], 1)
    two.watches[0].on_event(WatchEvent("MODIFIED", cm("a", "new")))
    assert read(cache, "p2", two, "a")["data"] == {"k": "new"}


class Opening:
    """An informer whose start runs ``during`` (another worker's release, the cache's stop)
    while its list is on the wire."""

    def __init__(self, during: Callable[[], None]) -> None:
        self.during, self.stopped = during, False

    def start(self) -> None:
        self.during()

    def get(self, name: str, namespace: str) -> Object:
        return cm(name)

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize("during", ["release", "stop"])
def test_a_watch_whose_readers_left_while_it_opened_is_stopped(during):
    """Its only reader released (or the kubelet stopping) while the watch was still being
    opened: it was left running for good."""
    made: list[Opening] = []

    def informer(client: Any, key: Any) -> Opening:
        made.append(Opening(lambda: cache.release("p1") if during == "release" else cache.stop()))
        return made[-1]

    cache = ObjectCache(informer)  # type: ignore[arg-type]
    read(cache, "p1", Node({}), "root-ca")
    assert made[0].stopped and cache.watches() == 0


def test_a_pod_released_after_its_read_was_refused_leaves_the_next_readers_watch_alone():
    """What a pod read is kept apart (a release looks at that alone); a read refused is kept
    too, though the watch it tried was dropped: another pod's later watch of it is not the
    refused pod's to stop."""
    node = Node({"a": cm("a")}, related=set())
    cache = ObjectCache()
    with pytest.raises(Forbidden):
        read(cache, "p1", node, "a")
    node.related = {"a"}
    read(cache, "p2", node, "a")
    cache.release("p1")
    assert (cache.watches(), node.watches[0].stopped) == (1, False)
    cache.release("p2")
    assert (cache.watches(), node.watches[0].stopped) == (0, True)
