"""Writes tests/unit/actors/apiserver/http/data/protobuf_bodies.json: for each kubectl
``create`` generator, the protobuf body real kubectl sends (read from its ``-v=9`` log) and
the object it prints with ``--dry-run=client -o json``, which test_protobuf.py compares.

Usage: python scripts/capture_protobuf_bodies.py KUBECONFIG > \
    tests/unit/actors/apiserver/http/data/protobuf_bodies.json

KUBECONFIG is a running kubeactor's (``kubeactor up``'s DATA_DIR/kubeconfig): the commands
really create their objects there, in namespace ``capture``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KUBECTL = str(Path(sys.executable).parent / "kubectl")
COMMANDS = [
    ["namespace", "capture-ns"],
    ["deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=80"],
    ["deployment", "zero", "--image=busybox:1.35", "--replicas=0", "--", "sleep", "3600"],
    ["configmap", "settings", "--from-literal=greeting=hello", "--from-literal=empty="],
    ["secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=blank="],
    ["secret", "tls", "cert", "--cert=/tmp/tls.crt", "--key=/tmp/tls.key"],  # Ed25519: short
    ["serviceaccount", "robot"],
    ["role", "reader", "--verb=get,list,watch", "--resource=pods,deployments.apps",
     "--resource-name=web"],
    ["rolebinding", "readers", "--role=reader", "--user=alice", "--group=devs",
     "--serviceaccount=capture:robot"],
    ["clusterrole", "health", "--verb=get", "--non-resource-url=/healthz"],
    ["clusterrole", "aggregate", "--aggregation-rule=team=a"],
    ["clusterrolebinding", "healthy", "--clusterrole=health", "--user=bob"],
    ["quota", "small", "--hard=cpu=1,memory=1G,pods=2", "--scopes=BestEffort"],
    ["priorityclass", "high", "--value=1000", "--description=important",
     "--preemption-policy=Never"],
    ["poddisruptionbudget", "web-pdb", "--selector=app=web", "--min-available=50%"],
]


def kubectl(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "-n", "capture", *args],
                          capture_output=True, text=True)


def body_sent(log: str) -> str:
    """The hex of the request body in kubectl's ``-v=9`` log."""
    lines = log.splitlines()
    start = next(at for at, line in enumerate(lines) if '"Request Body" body=<' in line)
    found = []
    for line in lines[start + 1:]:
        if line.strip() == ">":
            break
        if "[truncated" in line:
            raise SystemExit("kubectl's log cut the body short: use smaller objects")
        found.append("".join(line.split("|")[0].split()[1:]))
    return "".join(found)


def main() -> None:
    kubeconfig = sys.argv[1]
    subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "create", "namespace", "capture"],
                   capture_output=True)
    captured = {}
    for command in COMMANDS:
        printed = kubectl(kubeconfig, "create", "--dry-run=client", "-o", "json", *command)
        sent = kubectl(kubeconfig, "create", "-v=9", *command)
        if printed.returncode or '"Request Body" body=<' not in sent.stderr:
            print(f"skipped {command}: {printed.stderr.strip()}", file=sys.stderr)
            continue
        captured[" ".join(command)] = {"protobuf": body_sent(sent.stderr),
                                       "json": json.loads(printed.stdout)}
    json.dump(captured, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
