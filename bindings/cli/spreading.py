"""Spreading ``kubeactor up`` over processes (``--processes``): the command line of each
child process of a ``bindings.cluster.layout`` plan (an agent of simulated nodes, the
scheduler, the controller manager, another apiserver on ``up``'s JetStream store), with
``up``'s own flags that the child's verb takes too.

Neighbours: ``bindings.cli.daemons`` (``up``, which hands the children to
``bindings.cluster.supervising``), ``bindings.cluster.identities`` (an agent's kubeconfig).
Which thread: the main thread, before the children start.
"""

from __future__ import annotations

import argparse
import sys

from bindings import kubeconfig
from bindings.cli import parsing
from bindings.cluster import layout
from bindings.cluster.identities import sim_kubeconfig, sim_node_names
from bindings.cluster.supervising import Child


def children(args: argparse.Namespace, plan: layout.Layout,
             parsers: dict[str, parsing.Builder], nats: str) -> list[Child]:
    """The processes of ``plan`` beside ``up``'s (``args``; its bus at ``nats``), each with
    the flags of ``up`` its verb's parser (of ``parsers``) takes too; an agent's kubeconfig (a
    context per node) is written now, with new certificates."""
    data = args.data_dir.expanduser().resolve()
    found = _apiservers(args, plan, parsers, nats)
    for number, (first, count) in enumerate(plan.agents, 1):
        path = data / "agents" / f"sim-{number}.kubeconfig"
        kubeconfig.write_contexts(path, sim_kubeconfig(data, sim_node_names(count, first=first)))
        found.append(_child(args, parsers, f"agent-{number}", "agent", "--runtime", "sim",
                            "--nodes", str(count), "--first-node", str(first), "--kubeconfig",
                            str(path), "--data-dir", str(data / "agents" / f"sim-{number}")))
    for verb in ("scheduler", "controller-manager"):
        if getattr(plan, verb.replace("-", "_")):
            found.append(_child(args, parsers, verb, verb, "--kubeconfig",
                                str(data / f"{verb}.kubeconfig")))
    return found


def _apiservers(args: argparse.Namespace, plan: layout.Layout,
                parsers: dict[str, parsing.Builder], nats: str) -> list[Child]:
    """The apiserver processes of ``plan`` besides ``up``'s: ``server --apiserver-only`` on
    its store, with its tokens, CA and bus users (``DATA_DIR/tokens.csv``, ``DATA_DIR/pki``),
    each with a data dir of its own (``DATA_DIR/apiservers/N``: its audit log, its
    kubeconfigs) and an HTTPS listener on a free port."""
    data = args.data_dir.expanduser().resolve()
    embedded = () if args.nats else ("--nats-ca", str(data / "pki" / "ca.crt"))
    return [_child(args, parsers, f"apiserver-{number}", "server", "--apiserver-only",
                   "--nats", nats, *embedded, "--tokens", str(data / "tokens.csv"),
                   "--data-dir", str(data / "apiservers" / str(number)),
                   "--https-listen", "127.0.0.1:0")
            for number in range(2, plan.apiservers + 2)]


_NOT_FORWARDED = frozenset(("kubeconfig", "data_dir", "nodes", "node", "runtime", "nats",
                            "node_prefix", "first_node", "help", "metrics_listen",
                            "https_listen", "audit_log"))
"""``up``'s flags that mean something else to a child: given by ``children`` itself, or
``up``'s own (its metrics' and HTTPS API's addresses: a child's would take the same port;
its audit log: each apiserver process writes its own, in its data dir)."""


def _child(args: argparse.Namespace, parsers: dict[str, parsing.Builder], name: str, verb: str,
           *own: str) -> Child:
    """A child running ``kubeactor VERB OWN...`` with every other flag of ``up`` that VERB
    takes, at ``up``'s value (the leader election's periods, the node flags...)."""
    verbs = parsing.Parser().add_subparsers()
    parsers[verb](verbs, parsing.common())
    forwarded = []
    for action in verbs.choices[verb]._actions:
        value = getattr(args, action.dest, None)
        if (action.dest in _NOT_FORWARDED or not action.option_strings or value is None
                or value == action.default):
            continue
        flag = action.option_strings[-1]
        forwarded.append(flag if action.nargs == 0 else f"{flag}={value}")  # a switch
    return Child(name, [sys.executable, "-m", "bindings.cli", verb, *own, *forwarded])
