"""Cost of one RBAC decision (``Authorizer.allowed``) over a realistic policy.

    .venv/bin/python benchmarks/authorize.py [--namespaces N] [--calls C]

Builds the bootstrap policy plus, per namespace, a Role and two RoleBindings (one to the Role,
one to the ``edit`` ClusterRole) for a user of its own, then times allowed and denied decisions
for an admin, a component, a namespaced user and a user bound nowhere. The baseline, measured
in the same run, is the first decision after a policy change (nothing compiled yet); the table
gives microseconds per call, and the last line is JSON with the ratios.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from actors.apiserver.authn import AUTHENTICATED, UserInfo
from actors.apiserver.rbac import RBAC_GROUP, Attributes, Authorizer, bootstrap_policy


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


def per_call_us(call: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6


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
    print(f"{'decision':28} {'cold us':>10} {'warm us':>10} {'ratio':>8}")
    for label, attrs in cases.items():

        def cold(attrs: Attributes = attrs) -> object:
            authorizer.observe({"kind": "Role", "metadata": {"name": "churn",
                                                             "namespace": "x"}, "rules": []})
            return authorizer.allowed(attrs)

        cold_us = per_call_us(cold, max(args.calls // 20, 50))
        warm_us = per_call_us(lambda attrs=attrs: authorizer.allowed(attrs), args.calls)
        results[label] = {"cold_us": round(cold_us, 2), "warm_us": round(warm_us, 2),
                          "speedup": round(cold_us / warm_us, 1)}
        print(f"{label:28} {cold_us:10.2f} {warm_us:10.2f} {cold_us / warm_us:8.1f}")
    print(json.dumps({"namespaces": args.namespaces, "cases": results}))


if __name__ == "__main__":
    main()
