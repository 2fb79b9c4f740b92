"""Cost of one RBAC decision (``Authorizer.allowed``) over a realistic policy.

    .venv/bin/python benchmarks/authorize.py [--namespaces N] [--calls C]

Builds the bootstrap policy plus, per namespace, a Role and two RoleBindings (one to the Role,
one to the ``edit`` ClusterRole) for a user of its own, then times allowed and denied decisions
for an admin, a component, a namespaced user and a user bound nowhere. The baseline, measured
in the same run, is the first decision after a policy change (nothing compiled, bindings not
indexed yet); then the first decision of an identity once another one has indexed the new
policy (what every kubelet but the first pays after a change); then decisions once compiled.
The table gives microseconds per call, and the last line is JSON with the ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from collections.abc import Callable

from actors.api.users import UserInfo
from actors.apiserver.authn import AUTHENTICATED
from actors.apiserver.bootstrappolicy import bootstrap_policy
from actors.apiserver.rbac import RBAC_GROUP, Attributes, Authorizer


def policy(authorizer: Authorizer, namespaces: int) -> None:
    for obj in bootstrap_policy():
        authorizer.observe(obj)
    for i in range(namespaces):
        ns = f"team-{i}"
        meta = {"namespace": ns}
        authorizer.observe({"kind": "Role", "metadata": {"name": "reader", **meta}, "rules": [
            {"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}]})
        for name, kind, role in (("read", "Role", "reader"), ("edit", "ClusterRole", "edit")):
            authorizer.observe({
                "kind": "RoleBinding", "metadata": {"name": name, **meta},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": kind, "name": role},
                "subjects": [{"kind": "User", "name": f"user-{i}"}]})


def per_call_us(call: Callable[[], object], calls: int,
                before: Callable[[], object] = lambda: None) -> float:
    """Microseconds per ``call``, ``before`` each (untimed)."""
    total = 0.0
    for _ in range(calls):
        before()
        started = time.perf_counter()
        call()
        total += time.perf_counter() - started
    return total / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    authorizer = Authorizer()
    policy(authorizer, args.namespaces)
    middle = args.namespaces // 2
    cases = {
        "admin create pods": Attributes(UserInfo("admin", groups=("system:masters",
                                                                  AUTHENTICATED)),
                                        "create", "", "pods", None, "default"),
        "node update pods/status": Attributes(
            UserInfo("system:node:n1", groups=("system:nodes", AUTHENTICATED)),
            "update", "", "pods", "status", "default", "web"),
        "user list pods (own ns)": Attributes(UserInfo(f"user-{middle}", groups=(AUTHENTICATED,)),
                                              "list", "", "pods", None, f"team-{middle}"),
        "user delete pods (denied)": Attributes(UserInfo(f"user-{middle}",
                                                         groups=(AUTHENTICATED,)),
                                                "delete", "", "nodes", None, None, "n1"),
        "nobody get pods (denied)": Attributes(UserInfo("nobody", groups=(AUTHENTICATED,)),
                                               "get", "", "pods", None, "default", "x"),
    }
    results = {}
    other = UserInfo("someone-else", groups=(AUTHENTICATED,))
    print(f"{'decision':28} {'cold us':>9} {'indexed us':>11} {'warm us':>9} {'ratio':>7}")
    for label, attrs in cases.items():

        def change() -> None:
            authorizer.observe({"kind": "Role", "metadata": {"name": "churn",
                                                             "namespace": "x"}, "rules": []})

        def change_then_other(attrs: Attributes = attrs) -> None:
            change()
            authorizer.allowed(dataclasses.replace(attrs, user=other))

        decide = functools.partial(authorizer.allowed, attrs)
        rounds = max(args.calls // 20, 50)
        cold_us = per_call_us(decide, rounds, change)
        indexed_us = per_call_us(decide, rounds, change_then_other)
        warm_us = per_call_us(decide, args.calls)
        results[label] = {"cold_us": round(cold_us, 2), "indexed_us": round(indexed_us, 2),
                          "warm_us": round(warm_us, 2), "speedup": round(cold_us / warm_us, 1)}
        print(f"{label:28} {cold_us:9.2f} {indexed_us:11.2f} {warm_us:9.2f} "
              f"{cold_us / warm_us:7.1f}")
    print(json.dumps({"namespaces": args.namespaces, "cases": results}))


if __name__ == "__main__":
    main()
