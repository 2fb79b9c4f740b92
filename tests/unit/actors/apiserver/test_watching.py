"""The watch worker's pushes (``watching.Watches``): each commit's object encoded once for all
its watchers."""

from __future__ import annotations

from actors.api.resources import resolve
from actors.api.selectors import matcher
from actors.apiserver.watching import Watcher, Watches
from actors.store import StoreEvent
from bus.envelope import SHARED, Envelope, decode, encode

CONFIGMAPS = resolve("configmaps")
A_CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"},
               "metadata": {"name": "a", "namespace": "default", "resourceVersion": "7"}}


def watcher(watch_id: str, labels: str | None = None) -> Watcher:
    return Watcher(id=watch_id, subject=f"kubeactor.watch.{watch_id}", owner=watch_id,
                   user="u", info=CONFIGMAPS, namespace=None, match=matcher(labels),
                   revision=0, expires=float("inf"))


def test_every_watcher_of_a_commit_gets_the_object_encoded_once_and_decodes_it_whole():
    sent: list[tuple[str, Envelope]] = []
    watches = Watches(lambda subject, envelope: sent.append((subject, envelope)), "apiserver")
    for watch_id in ("u.one", "u.two", "u.three"):
        watches.add(watcher(watch_id))
    watches.on_commit(StoreEvent("ADDED", "k", object=A_CONFIGMAP, old=None, revision=7))
    assert sorted(subject for subject, _ in sent) == [
        "kubeactor.watch.u.one", "kubeactor.watch.u.three", "kubeactor.watch.u.two"]
    assert len({id(envelope.body["object"]) for _, envelope in sent}) == 1  # encoded once
    for _, envelope in sent:
        assert decode(encode(envelope)).body == {"type": "ADDED", "object": A_CONFIGMAP}


def test_the_next_commit_is_encoded_afresh():
    sent: list[Envelope] = []
    watches = Watches(lambda subject, envelope: sent.append(envelope), "apiserver")
    watches.add(watcher("u.one"))
    changed = dict(A_CONFIGMAP, data={"k": "w"}, metadata=dict(A_CONFIGMAP["metadata"],
                                                              resourceVersion="8"))
    watches.on_commit(StoreEvent("ADDED", "k", object=A_CONFIGMAP, old=None, revision=7))
    watches.on_commit(StoreEvent("MODIFIED", "k", object=changed, old=A_CONFIGMAP, revision=8))
    assert [decode(encode(e)).body["object"]["data"] for e in sent] == [{"k": "v"}, {"k": "w"}]


def test_a_reply_of_the_committed_object_carries_the_bytes_its_watch_events_carry():
    sent: list[Envelope] = []
    watches = Watches(lambda subject, envelope: sent.append(envelope), "apiserver")
    watches.add(watcher("u.one"))
    stored = dict(A_CONFIGMAP)
    watches.on_commit(StoreEvent("ADDED", "k", object=stored, old=None, revision=7))
    assert SHARED.find(stored) is sent[0].body["object"]
    reply = Envelope(id="1", verb="create", body=stored, status={"code": 201}, timestamp=1.0)
    assert decode(encode(reply)).body == A_CONFIGMAP
