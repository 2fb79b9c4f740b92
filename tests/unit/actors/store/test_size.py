"""What a key and its object count against the store's quota (``size_of``)."""

from actors.store import size_of


def test_an_object_counts_its_compact_json_bytes_and_its_key():
    assert size_of("/k", {"a": [1, True, None]}) == len("/k") + len('{"a":[1,true,null]}')
    assert size_of("/k", None) == 0


def test_text_beyond_ascii_counts_its_utf8_bytes_as_stored_not_its_escapes():
    assert size_of("/k/é", {"a": "é€"}) == len("/k/é".encode()) + len('{"a":"é€"}'.encode())


def test_a_value_that_is_not_json_is_still_measured():
    assert size_of("/k", {"a": {1, 2}}) == len("/k") + len('{"a":"{1, 2}"}')
