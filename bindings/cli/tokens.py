"""``kubeactor create token NAME``: a service account's token, as ``kubectl create token``.

The token comes from a TokenRequest (``create serviceaccounts/token``) with the audiences
(``--audience``, repeatable; the API's when none), the life (``--duration``, a Go duration:
``10m``, ``1h30m``; the server's default when none) and the object it is bound to
(``--bound-object-kind Pod|Secret --bound-object-name N [--bound-object-uid U]``) asked for; it
is printed alone on stdout.

Neighbours: ``bindings.cli.objects`` (the ``create`` verb, which hands ``create token`` here),
``actors.api.serviceaccounts`` (the request's shape).

Which thread: the main thread.
"""

from __future__ import annotations

import argparse
import re

from actors.api import serviceaccounts
from actors.api.objects import Object
from bindings.cli import parsing
from bindings.cli.session import Session
from bus.errors import UsageError

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def add_options(command: parsing.Parser) -> None:
    """``create token``'s options, on the ``create`` verb's parser."""
    command.add_argument("--audience", action="append", default=[],
                         help="create token: an audience of the token (repeatable)")
    command.add_argument("--duration", help="create token: how long it lasts (10m, 1h)")
    command.add_argument("--bound-object-kind", choices=["Pod", "Secret"],
                         help="create token: the kind of the object it is bound to")
    command.add_argument("--bound-object-name", help="create token: that object's name")
    command.add_argument("--bound-object-uid", help="create token: that object's uid")


def seconds(duration: str) -> int:
    """A Go duration (``1h30m``, ``600s``) in whole seconds; UsageError when it is not one."""
    parts = _DURATION.findall(duration)
    if not parts or "".join(number + unit for number, unit in parts) != duration:
        raise UsageError(f'invalid argument "{duration}" for "--duration" flag: not a duration '
                         "(like 10m, 1h30m)")
    return int(sum(float(number) * _UNITS[unit] for number, unit in parts))


def token_request(args: argparse.Namespace) -> Object:
    """The TokenRequest the options ask for."""
    spec: Object = {}
    if args.audience:
        spec["audiences"] = args.audience
    if args.duration:
        spec["expirationSeconds"] = seconds(args.duration)
    if args.bound_object_kind or args.bound_object_name:
        if not (args.bound_object_kind and args.bound_object_name):
            raise UsageError("--bound-object-kind and --bound-object-name go together")
        spec["boundObjectRef"] = {"kind": args.bound_object_kind, "apiVersion": "v1",
                                  "name": args.bound_object_name,
                                  **({"uid": args.bound_object_uid}
                                     if args.bound_object_uid else {})}
    return {**serviceaccounts.TOKEN_REQUEST, "spec": spec}


def cmd_create_token(args: argparse.Namespace, session: Session) -> int:
    """``create token NAME``: print the token of service account NAME."""
    if not args.name:
        raise UsageError("create token needs the name of a service account: create token NAME")
    answer = session.client.request("create", serviceaccounts.RESOURCE,
                                    namespace=session.namespace, name=args.name,
                                    subresource="token", body=token_request(args))
    print(answer["status"]["token"], flush=True)
    return 0
