"""The numbers of a watcher's events (``watching.Watches.push``): one after another for each
watcher, carried in ``opts.seq`` and by each renewal's bookmark; an event too large to go takes
no number (its watcher never hears of it, so it must not look lost)."""

from __future__ import annotations

import pytest

from actors.api.resources import resolve
from actors.api.selectors import matcher
from actors.apiserver.watching import Watcher, Watches
from actors.store import StoreEvent
from bus.envelope import Envelope, encode
from bus.errors import PayloadTooLarge

CONFIGMAPS = resolve("configmaps")


def watcher(watch_id: str) -> Watcher:
    return Watcher(id=watch_id, subject=f"kubeactor.watch.{watch_id}", owner=watch_id,
                   user="u", info=CONFIGMAPS, namespace=None, match=matcher(None),
                   revision=0, expires=float("inf"))


def commit(revision: int, size: int = 1) -> StoreEvent:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v" * size},
           "metadata": {"name": f"c{revision}", "namespace": "default",
                        "resourceVersion": str(revision)}}
    return StoreEvent("ADDED", f"k{revision}", object=obj, old=None, revision=revision)


def test_each_watcher_numbers_its_own_events_and_bookmarks_one_after_another():
    sent: list[tuple[str, Envelope]] = []
    watches = Watches(lambda subject, envelope: sent.append((subject, envelope)), "apiserver")
    one, two = watcher("u.one"), watcher("u.two")
    watches.add(one)
    watches.on_commit(commit(1))
    watches.add(two)
    watches.on_commit(commit(2))
    watches.renew(two, bookmarks=True)  # nothing new for it: no bookmark
    one.revision = 1
    watches.renew(one, bookmarks=True)
    numbers = [(subject.rpartition(".")[2], envelope.body["type"], envelope.options)
               for subject, envelope in sent]
    assert numbers == [("one", "ADDED", {"seq": 1}), ("one", "ADDED", {"seq": 2}),
                       ("two", "ADDED", {"seq": 1}), ("one", "BOOKMARK", {"seq": 3})]
    assert (one.sequence, two.sequence) == (3, 1)


def test_an_event_too_large_to_go_takes_no_number():
    def publish(subject: str, envelope: Envelope) -> None:
        if len(encode(envelope)) > 800:
            raise PayloadTooLarge("over the bus limit")

    watches = Watches(publish, "apiserver")
    watches.add(one := watcher("u.one"))
    watches.on_commit(commit(1))
    watches.on_commit(commit(2, size=1000))
    assert one.sequence == 1
    with pytest.raises(PayloadTooLarge):
        watches.push(one, "ADDED", commit(3, size=1000).object)
    assert one.sequence == 1
