"""The command line's grammar: the parser class (kubectl's whole flags, anywhere between the
words), the flags every command takes, the types of the flags' values, and the words that name
resources (``TYPE[,TYPE] [NAME...]``, ``TYPE/NAME``).

The verb modules build their parsers with these; ``bindings.cli.main`` assembles them into
``parser()``. Neighbours: ``actors.api.resources`` (resource types and their names),
``actors.api.quantity`` (quantities).

Which thread: the main thread, before any connection exists.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from actors.api.quantity import parse_memory
from actors.api.resources import ResourceInfo, in_category, resolve
from bus.errors import BadRequest, UsageError


class Parser(argparse.ArgumentParser):
    """An argument parser that, like kubectl, takes flags only whole (``--verb`` is an unknown
    flag, not ``--verbose``) and anywhere between the words of a command (``get leases -n
    kube-system kube-scheduler``). Its subcommands' parsers are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self._intermixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """A command's own parser (one without subcommands) takes its words intermixed with
        its flags; argparse's intermixed parsing calls back here, hence the guard."""
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def common() -> Parser:
    """The flags every command takes, before or after its verb (the parent of each parser)."""
    flags = Parser(add_help=False)
    flags.add_argument("--kubeconfig", default=argparse.SUPPRESS,
                       help="kubeconfig file (default $KUBEACTOR_CONFIG, ~/.kubeactor/kubeconfig)")
    flags.add_argument("-n", "--namespace", default=argparse.SUPPRESS,
                       help="namespace of the request (default: the context's, else default)")
    flags.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="log what the components do")
    return flags


Verbs: TypeAlias = "argparse._SubParsersAction[Parser]"
"""Where a verb module adds its verbs' parsers (``add_subparsers``' result)."""
Builder: TypeAlias = Callable[[Verbs, Parser], None]
"""A verb's parser-builder: adds the verb's parser (with ``common`` as its parent) to
``verbs``; each verb module keeps them by verb in its ``PARSERS``."""


def seconds(value: str) -> float:
    """A positive number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < seconds < 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and less than a day")
    return seconds


def quantity(value: str) -> str:
    """A Kubernetes quantity (``4``, ``500m``, ``8Gi``), checked."""
    try:
        parse_memory(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


_N = TypeVar("_N", int, float)


def real(low: float, high: float) -> Callable[[str], float]:
    return _ranged(float, "a number", low, high)


def bounded(low: int, high: int) -> Callable[[str], int]:
    return _ranged(int, "a whole number", low, high)


def _ranged(kind: Callable[[str], _N], what: str, low: _N, high: _N) -> Callable[[str], _N]:
    """An argparse type: ``kind`` of the flag's value, between ``low`` and ``high``."""
    def parse(value: str) -> _N:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
        if not low <= number <= high:  # NaN fails too
            low_, high_ = (f"{bound}" if isinstance(bound, int) else f"{bound:g}"
                           for bound in (low, high))
            raise argparse.ArgumentTypeError(f"must be between {low_} and {high_}")
        return number

    return parse


CASCADES = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
            "true": "Background", "false": "Orphan"}
"""kubectl's --cascade values (true and false are its deprecated spellings) -> the delete's
propagationPolicy."""


def cascade(value: str) -> str:
    if value.lower() not in CASCADES:
        raise argparse.ArgumentTypeError(
            f'invalid cascade value ({value}). Must be "background", "foreground", or "orphan"')
    return value.lower()


def duration(value: str) -> float:
    """kubectl's durations: ``90s``, ``5m``, ``1h``, ``1m30s``, or plain seconds."""
    if value.replace(".", "", 1).isdigit():
        return float(value)
    total, number = 0.0, ""
    for char in value:
        if char.isdigit() or char == ".":
            number += char
        elif char in "hms" and number:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
        else:
            raise argparse.ArgumentTypeError(f"invalid duration {value!r} (e.g. 30s, 5m)")
    if number:
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}: missing unit")
    return total


def count(value: str) -> int:
    """A whole number, 0 or more (``--chunk-size``)."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more: {value!r}")
    return int(value)


def boolean(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError("must be true or false")
    return value.lower() == "true"


def split_dash_dash(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    argv = list(argv)
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1:]
    return argv, []


Resolver = Callable[[str], ResourceInfo]
"""What finds the resource a word names: the built-in ones (:func:`resolve`), or a client's
(``Client.info``: the cluster's custom resources too)."""


def resource_and_names(words: list[str], resolver: Resolver = resolve
                       ) -> tuple[ResourceInfo, list[str]]:
    """Like :func:`targets`, for verbs that take one type at a time."""
    found = targets(words, resolver)
    if len(found) != 1:
        raise UsageError("only one resource type may be given here")
    return found[0]


def resource_type(word: str, resolver: Resolver = resolve) -> ResourceInfo:
    try:
        return resolver(word)
    except BadRequest as error:  # kubectl says this itself, it is not the server's answer
        raise UsageError(error.message) from None


def targets(words: list[str], resolver: Resolver = resolve
            ) -> list[tuple[ResourceInfo, list[str]]]:
    """kubectl's ``TYPE[,TYPE...] [NAME...]`` (``all`` is a category) or ``TYPE/NAME...``:
    each type with the names asked of it (none: all of them), in the order given."""
    if "/" in words[0]:
        if any(not word.partition("/")[2] for word in words):
            raise UsageError("arguments in resource/name form must have a single resource and "
                             "name")
        by_type: dict[str, tuple[ResourceInfo, list[str]]] = {}
        for word in words:
            kind, _, name = word.partition("/")
            info = resource_type(kind, resolver)
            by_type.setdefault(info.name, (info, []))[1].append(name)
        return list(by_type.values())
    infos: dict[str, ResourceInfo] = {}
    for word in words[0].split(","):
        for info in in_category(word) or [resource_type(word, resolver)]:
            infos.setdefault(info.name, info)
    return [(info, words[1:]) for info in infos.values()]
