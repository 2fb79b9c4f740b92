"""kubectl's JSONPath templates, for ``get -o jsonpath=...`` and ``-o custom-columns=...``.

A template is text with actions in braces: ``{.metadata.name}``, ``{.items[*].status.phase}``,
``{range .items[*]}{.metadata.name}{"\\n"}{end}``, filters ``[?(@.type=="Ready")]``, recursive
descent ``..name``, indexes and slices ``[0]``, ``[-1]``, ``[1:3]``, quoted keys ``['a.b']``
and escaped dots ``labels.app\\.kubernetes\\.io/name``. As in kubectl's ``get``, a missing key
yields nothing rather than an error; several results are joined by spaces; maps and lists print
as JSON.

Pure functions; neighbours: ``bindings.cli.printers`` (which calls :func:`render`),
``actors.api.columns`` (a custom resource's columns are JSONPaths).
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import Any

from actors.api.objects import Object
from bus.errors import UsageError


class JsonPathError(UsageError):
    """The template cannot be parsed; the message says where."""


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Path:
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Range:
    path: Path
    body: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    """``field``, ``all`` (``[*]`` or ``.*``), ``index``, ``slice``, ``filter`` or ``descend``."""
    key: Any = None
    """The field name, the index, (start, stop) of a slice, or a filter (path, op, value)."""


Node = Text | Path | Range

_ACTION = re.compile(r"\{((?:[^{}\"']|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')*)\}")
_FILTER = re.compile(r"^\?\(\s*@((?:\.[^\s=!<>]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


def parse(template: str) -> tuple[Node, ...]:
    """The template's nodes; JsonPathError when it is malformed."""
    nodes: list[Node] = []
    stack: list[tuple[Path, list[Node]]] = []
    position = 0
    for match in _ACTION.finditer(template):
        if template[position:match.start()]:
            _check_braces(template[position:match.start()], template)
            (stack[-1][1] if stack else nodes).append(Text(template[position:match.start()]))
        position = match.end()
        action = match.group(1).strip()
        target = stack[-1][1] if stack else nodes
        if action == "end":
            if not stack:
                raise JsonPathError(f"not in range, nothing to end in template {template!r}")
            path, body = stack.pop()
            (stack[-1][1] if stack else nodes).append(Range(path, tuple(body)))
        elif action.startswith("range "):
            stack.append((_path(action[len("range "):].strip()), []))
        elif action[:1] in ("\"", "'"):
            target.append(Text(_literal(action)))
        else:
            target.append(_path(action))
    if template[position:]:
        _check_braces(template[position:], template)
        nodes.append(Text(template[position:]))
    if stack:
        raise JsonPathError(f"unclosed range in template {template!r}")
    return tuple(nodes)


def _check_braces(text: str, template: str) -> None:
    if "{" in text or "}" in text:
        raise JsonPathError(f"unclosed action in template {template!r}")


def _literal(action: str) -> str:
    if len(action) < 2 or action[-1] != action[0]:
        raise JsonPathError(f"unterminated string {action}")
    if action[0] == "'":
        return action[1:-1]
    try:
        return str(json.loads(action))
    except json.JSONDecodeError:
        raise JsonPathError(f"bad string {action}") from None


def _path(text: str) -> Path:
    """``.a.b[0]``, ``$.a``, ``..name``, ``@.x`` (also without the leading dot, as kubectl)."""
    text = text.removeprefix("$").removeprefix("@")
    if text and text[0] not in ".[":
        text = "." + text
    steps: list[Step] = []
    i = 0
    while i < len(text):
        if text.startswith("..", i):
            steps.append(Step("descend"))
            i += 1
        elif text[i] == ".":
            name, i = _name(text, i + 1)
            if name:
                steps.append(Step("all") if name == "*" else Step("field", name))
        elif text[i] == "[":
            end = _bracket_end(text, i)
            steps.append(_bracket(text[i + 1:end]))
            i = end + 1
        else:
            raise JsonPathError(f"unrecognized character in action: {text[i]!r} in {text!r}")
    return Path(tuple(steps))


def _name(text: str, i: int) -> tuple[str, int]:
    """A field name from ``text[i:]`` up to the next unescaped dot or bracket."""
    out = []
    while i < len(text) and text[i] not in ".[":
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def _bracket_end(text: str, start: int) -> int:
    quote, depth = "", 0
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i
    raise JsonPathError(f"unterminated array in {text!r}")


def _bracket(inner: str) -> Step:
    inner = inner.strip()
    if inner == "*":
        return Step("all")
    if inner[:1] in ("\"", "'"):
        return Step("field", _literal(inner))
    if inner.startswith("?"):
        match = _FILTER.match(inner)
        if match is None:
            raise JsonPathError(f"unsupported filter [{inner}]")
        where, op, value = match.groups()
        return Step("filter", (_path(where or ""), op, _value(value) if op else None))
    if ":" in inner:
        start, _, stop = inner.partition(":")
        return Step("slice", (_int(start) if start.strip() else None,
                              _int(stop) if stop.strip() else None))
    return Step("index", _int(inner))


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise JsonPathError(f"array index {text!r} is not a number") from None


def _value(text: str) -> Any:
    if text[:1] in ("\"", "'"):
        return _literal(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# -- evaluation ---------------------------------------------------------------------------------


def find(path: Path, data: Any) -> list[Any]:
    """Every value ``path`` reaches in ``data`` (missing keys reach nothing)."""
    current = [data]
    for step in path.steps:
        current = [found for value in current for found in _apply(step, value)]
    return current


def _apply(step: Step, value: Any) -> list[Any]:
    if step.kind == "field":
        return [value[step.key]] if isinstance(value, dict) and step.key in value else []
    if step.kind == "all":
        return list(value.values()) if isinstance(value, dict) else (
            list(value) if isinstance(value, list) else [])
    if step.kind == "descend":
        return list(_descendants(value))
    if not isinstance(value, list):
        return []
    if step.kind == "index":
        return [value[step.key]] if -len(value) <= step.key < len(value) else []
    if step.kind == "slice":
        return value[step.key[0]:step.key[1]]
    where, op, wanted = step.key
    return [item for item in value if _matches(find(where, item), op, wanted)]


def _descendants(value: Any) -> Any:
    yield value
    children = value.values() if isinstance(value, dict) else (
        value if isinstance(value, list) else ())
    for child in children:
        yield from _descendants(child)


_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
            "<=": operator.le, ">=": operator.ge}


def _matches(found: list[Any], op: str | None, wanted: Any) -> bool:
    if op is None:
        return bool(found)
    for value in found:
        try:
            if _COMPARE[op](value, wanted):
                return True
        except TypeError:  # a number compared with a string: not a match
            continue
    return False


def text_of(value: Any) -> str:
    """How kubectl prints one value: strings bare, booleans lower case, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def execute(nodes: tuple[Node, ...], data: Any) -> str:
    out = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(node.value)
        elif isinstance(node, Path):
            out.append(" ".join(text_of(value) for value in find(node, data)))
        else:
            out.extend(execute(node.body, item) for value in find(node.path, data)
                       for item in (value if isinstance(value, list) else [value]))
    return "".join(out)


def render(template: str, data: Any) -> str:
    """``data`` printed through ``template``."""
    return execute(parse(template), data)


def parse_path(where: str) -> Path:
    """One column's path, with or without braces: ``.status.phase``, ``{.spec.size}``."""
    return _path(where.strip().removeprefix("{").removesuffix("}"))


def columns(spec: str, items: list[Object]) -> str:
    """``-o custom-columns=NAME:.metadata.name,PHASE:.status.phase``: one row per object,
    ``<none>`` where a path finds nothing."""
    heads, paths = [], []
    for column in spec.split(","):
        head, colon, where = column.partition(":")
        if not colon or not head:
            raise JsonPathError(f"custom-columns format invalid: expected NAME:PATH, got "
                                f"{column!r}")
        heads.append(head)
        paths.append(parse_path(where))
    rows = [heads] + [[",".join(text_of(v) for v in find(path, obj)) or "<none>"
                       for path in paths] for obj in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(heads))]
    return "\n".join("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                                ).rstrip() for row in rows)
