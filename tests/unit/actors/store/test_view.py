"""The store's state as held (packed) and read (decoded, the last used kept so)."""

import datetime

from actors.store import view as views
from actors.store.history import History, HistoryWindow, StoreEvent
from actors.store.view import StoreView


def pod(name: str, image: str = "busybox") -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": image}]}}


def test_an_object_is_held_as_its_compact_json_and_read_back_equal():
    view = StoreView(0, {})
    view.apply("/pods/a", pod("a"), 1)
    assert view.packed("/pods/a") == (b'{"kind":"Pod","metadata":{"name":"a","labels":{"app":'
                                      b'"x"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}')
    assert view.get("/pods/a") == pod("a")
    assert StoreView(0, {"/pods/b": pod("b")}).packed("/pods/b") == views.pack(pod("b"))


def test_a_read_after_a_newer_write_sees_the_newer_object():
    view = StoreView(0, {"/pods/a": pod("a")})
    assert view.get("/pods/a") is view.get("/pods/a")  # kept decoded once read
    view.apply("/pods/a", pod("a", image="nginx"), 2)
    assert view.get("/pods/a")["spec"]["containers"][0]["image"] == "nginx"
    view.apply("/pods/a", None, 3)
    assert view.get("/pods/a") is None


def test_only_the_last_used_objects_stay_decoded():
    view = StoreView(0, {f"/pods/{i}": pod(str(i)) for i in range(views.DECODED_KEPT + 1)})
    first = view.get("/pods/0")
    for i in range(1, views.DECODED_KEPT + 1):
        view.get(f"/pods/{i}")
    again = view.get("/pods/0")
    assert again == first and again is not first


def test_what_json_would_not_give_back_the_same_is_held_as_itself():
    for value in (2**70, datetime.datetime(2026, 12, 7), {1: "a"}):
        obj = {"metadata": {"name": "a"}, "value": value}
        view = StoreView(0, {"/things/a": obj})
        assert view.packed("/things/a") is obj and view.get("/things/a") is obj


def test_a_page_decodes_what_it_lists_in_key_order():
    view = StoreView(4, {"/pods/b": pod("b"), "/pods/a": pod("a"), "/nodes/n": {}})
    items, revision, last = view.page("/pods/", limit=1)
    assert (items, revision, last) == ([pod("a")], 4, "/pods/a")


def test_the_history_gives_back_past_versions_decoded_and_undoes_later_ones():
    view, history = StoreView(0, {}), History(HistoryWindow(), 0, lambda: 0.0)
    for revision, image in ((1, "v1"), (2, "v2")):
        held = view.packed("/pods/a")
        old = view.get("/pods/a")
        packed = view.apply("/pods/a", pod("a", image), revision)
        assert packed is not None
        event = StoreEvent("MODIFIED" if old else "ADDED", "/pods/a", object=pod("a", image),
                           old=old, revision=revision)
        history.add(event, packed, held)
    (event,) = history.since(1, 2, view.load)
    assert event.old == pod("a", "v1") and event.object == pod("a", "v2")
    state = history.state_at(1, view.state()[0], 2)
    assert view.load("/pods/a", state["/pods/a"]) == pod("a", "v1")
