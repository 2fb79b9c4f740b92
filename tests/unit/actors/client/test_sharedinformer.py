"""Shared informers: one list and one watch per resource for every handler of one client; a
late handler hears the current state first; the last handler out stops the watch. A plain
fake client stands in for the apiserver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.api.objects import Object
from actors.client.client import WatchEvent
from actors.client.sharedinformer import SharedInformers


class FakeWatch:
    def __init__(self, on_event: Callable[[WatchEvent], None]) -> None:
        self.on_event, self.stopped = on_event, False

    def stop(self) -> None:
        self.stopped = True


class FakeClient:
    """Lists what it holds; records the watches it was asked for."""

    def __init__(self, items: list[Object]) -> None:
        self.items, self.lists, self.watches = items, 0, []

    def list(self, resource: str, namespace: str | None = None, **options: Any) -> Object:
        self.lists += 1
        return {"items": list(self.items), "metadata": {"resourceVersion": "7"}}

    def watch(self, resource: str, on_event: Callable[[WatchEvent], None],
              **options: Any) -> FakeWatch:
        self.watches.append(FakeWatch(on_event))
        return self.watches[-1]


def pod(name: str, revision: str = "1") -> Object:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                        "resourceVersion": revision}}


def seen(events: list[WatchEvent]) -> list[tuple[str, str]]:
    return [(event.type, event.object["metadata"]["name"]) for event in events]


def test_handlers_share_one_watch_and_a_late_one_hears_the_state_first() -> None:
    client = FakeClient([pod("a")])
    informers = SharedInformers(client)  # type: ignore[arg-type]
    first: list[WatchEvent] = []
    second: list[WatchEvent] = []
    informers.add("pods", first.append)
    client.watches[0].on_event(WatchEvent("ADDED", pod("b")))
    informers.add("pods", second.append)
    client.watches[0].on_event(WatchEvent("MODIFIED", pod("a", "9")))
    assert (client.lists, len(client.watches), len(informers)) == (1, 1, 1)
    assert seen(first) == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a")]
    assert sorted(seen(second)[:2]) == [("ADDED", "a"), ("ADDED", "b")]
    assert seen(second)[2:] == [("MODIFIED", "a")]


def test_the_last_handler_out_stops_the_watch() -> None:
    client = FakeClient([])
    informers = SharedInformers(client)  # type: ignore[arg-type]
    first: list[WatchEvent] = []
    second: list[WatchEvent] = []
    informers.add("pods", first.append)
    informers.add("pods", second.append)
    informers.remove("pods", first.append)
    client.watches[0].on_event(WatchEvent("ADDED", pod("a")))
    assert (first, seen(second), client.watches[0].stopped) == ([], [("ADDED", "a")], False)
    informers.remove("pods", second.append)
    assert client.watches[0].stopped and len(informers) == 0
    informers.add("pods", first.append)  # a new start lists and watches again
    assert (client.lists, len(client.watches)) == (2, 2)
