"""The health endpoints, as kube-apiserver answers them: ``/livez``, ``/readyz``, ``/healthz``.

Each endpoint runs its :data:`Check`\\ s (a name and a function returning None when healthy,
else why not). All pass: 200 ``ok`` (``?verbose``: one ``[+]<name> ok`` line each, then
``<endpoint> check passed``). One fails: 500 with every line, the failed ones ``[-]<name>
failed: reason withheld`` (the reason goes only to ``?verbose``, as kube-apiserver keeps
details from anonymous callers), then ``<endpoint> check failed``. ``/readyz/<name>`` runs
one check: 200 ``ok`` or 500 ``internal server error: <reason>``; an unknown name is 404;
``?exclude=<name>`` (repeatable) leaves checks out.

Pure functions of the checks' answers. Neighbours: ``bindings.https.front`` (serves them),
``bindings.cluster.monitoring`` (the checks: store, bus, apiserver workers).

Which thread: the caller's (the HTTPS front runs them on an executor thread: a check may
wait a moment for the store).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

Check = tuple[str, Callable[[], str | None]]
ENDPOINTS = ("/livez", "/readyz", "/healthz")


def is_health(path: str) -> bool:
    return path in ENDPOINTS or path.startswith(tuple(f"{e}/" for e in ENDPOINTS))


def answer(path: str, checks: Sequence[Check], verbose: bool = False,
           exclude: Collection[str] = ()) -> tuple[int, str]:
    """The status code and text body of a health ``path`` over ``checks``."""
    endpoint, _, single = path.lstrip("/").partition("/")
    if single:
        found = [check for name, check in checks if name == single]
        if not found:
            return 404, f"no such health check: {single}\n"
        reason = found[0]()
        return (200, "ok") if reason is None else (500, f"internal server error: {reason}\n")
    results = [(name, check()) for name, check in checks if name not in exclude]
    failed = any(reason is not None for _, reason in results)
    if not failed and not verbose:
        return 200, "ok"
    lines = [f"[+]{name} ok" if reason is None else
             f"[-]{name} failed: {reason if verbose else 'reason withheld'}"
             for name, reason in results]
    lines.append(f"{endpoint} check {'failed' if failed else 'passed'}")
    return (500 if failed else 200), "\n".join(lines) + "\n"
