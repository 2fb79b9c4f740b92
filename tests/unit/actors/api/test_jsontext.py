"""The JSON the store's rows and the audit log hold (``actors.api.jsontext``)."""

from __future__ import annotations

import json

import pytest

from actors.api import jsontext


def test_what_json_reads_back_is_what_was_written_utf8_as_it_is():
    value = {"metadata": {"name": "café"}, "data": {"k": "v\n"}, "n": [1, 2.5, None, True]}
    written = jsontext.dumps(value)
    assert b"caf\xc3\xa9" in written and b" " not in written  # compact, UTF-8 unescaped
    assert json.loads(written) == value


def test_what_orjson_refuses_json_still_writes():
    written = jsontext.dumps({"big": 2**70, 3: "int key"})
    assert json.loads(written) == {"big": 2**70, "3": "int key"}


def test_what_is_not_json_is_refused_with_a_type_error():
    with pytest.raises(TypeError):
        jsontext.dumps({"a": object()})


def test_ascii_escapes_what_a_text_reader_would_split_a_line_at():
    value = {"message": "a\u2028b\x85c\u00e9", "n": 2**70}
    for written in (jsontext.dumps(value, ascii=True), jsontext.dumps({"m": "\u2028"}, True)):
        assert written.isascii() and len(written.decode().splitlines()) == 1
    assert json.loads(jsontext.dumps(value, ascii=True)) == value
    assert jsontext.dumps({"a": "b"}, ascii=True) == b'{"a":"b"}'
