"""Objects as informers keep them: the parts equal to the last kept at their place shared."""

from actors.client.sharing import PLACES, PLACES_BELOW, Shared


def pod(name: str, phase: str = "Running") -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "tolerations": [{"key": "a", "operator": "Exists"}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}}


def test_equal_parts_are_held_once_and_the_objects_stay_equal_to_what_was_given():
    shared = Shared()
    a, b = shared(pod("a")), shared(pod("b"))
    assert (a, b) == (pod("a"), pod("b"))
    assert a["spec"] is b["spec"] and a["status"] is b["status"]
    assert a["metadata"]["labels"] is b["metadata"]["labels"]
    assert a["metadata"] is not b["metadata"]


def test_a_part_that_differs_is_a_copy_of_its_own_and_the_given_object_is_left_alone():
    shared = Shared()
    given = pod("b", phase="Pending")
    a, b = shared(pod("a")), shared(given)
    assert b["status"] == {"phase": "Pending", "conditions": [{"type": "Ready", "status": "True"}]}
    assert b["status"] is not given["status"] and b["status"] is not a["status"]
    assert b["status"]["conditions"] is a["status"]["conditions"]
    assert b["spec"] is a["spec"]


def test_objects_of_different_kinds_are_kept_apart():
    shared = Shared()
    node = {"kind": "Node", "metadata": {"name": "a", "labels": {"app": "x"}}}
    assert shared(node)["metadata"] is not shared(pod("a"))["metadata"]


def test_free_form_keys_past_the_bound_are_copied_and_the_table_stops_growing():
    shared = Shared()
    first = shared({"kind": "Widget", "spec": {"key-0": {"n": 0}}})
    for i in range(1, PLACES_BELOW * 4):
        kept = shared({"kind": "Widget", "spec": {f"key-{i}": {"n": i}}})
        assert kept == {"kind": "Widget", "spec": {f"key-{i}": {"n": i}}}
    spec_places = shared._kinds["Widget"].places["spec"]
    assert len(spec_places) == PLACES_BELOW + 1  # its None entry and the bound's places
    again = shared({"kind": "Widget", "spec": {"key-0": {"n": 0}}})
    assert again["spec"]["key-0"] is first["spec"]["key-0"]  # a place kept still shares


def _places(table: dict) -> int:
    return sum(1 + _places(below) for key, below in table.items() if key is not None)


def test_nested_free_form_keys_do_not_grow_the_table_past_its_bound_however_deep():
    # a user who may create a custom resource (preserve-unknown-fields) writes maps in maps:
    # each place holds at most PLACES_BELOW places, but places below places multiply
    shared = Shared()
    for i in range(PLACES_BELOW):
        for j in range(0, PLACES_BELOW, 8):
            shared({"kind": "Widget", "spec": {f"a-{i}": {f"b-{j}": {f"c-{k}": {}
                                                                     for k in range(8)}}}})
    assert _places(shared._kinds["Widget"].places) <= PLACES
