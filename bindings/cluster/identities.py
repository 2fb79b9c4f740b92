"""Who the components of a cluster are: the control plane's identities (user, groups), the
NATS users they connect as, a node's identity, and the credentials kept for them in the data
dir: the static tokens (``tokens.csv``), a new node's kubeconfig and that of an agent of
simulated nodes.

Neighbours: ``bindings.cluster.launcher`` (gives each component its identity),
``bindings.cluster.pki`` (the CA that signs their certificates), ``bindings.cluster.bususers``
(their NATS passwords), ``bus.permissions`` (what each NATS user may do),
``bindings.cli.daemons`` (``node-kubeconfig``, ``agent``).
"""

from __future__ import annotations

import csv
import dataclasses
import secrets
from pathlib import Path

from actors.api import certificates, certs, faultplans
from bindings import kubeconfig
from bindings.cluster import bususers
from bindings.cluster.config import ClusterError
from bindings.cluster.pki import Pki, ensure_pki, private_file
from bus.errors import translated
from bus.permissions import ADMIN as BUS_ADMIN
from bus.permissions import APISERVER as BUS_APISERVER
from bus.permissions import NODE_SIM
from bus.permissions import STORE as BUS_STORE
from bus.subjects import Subjects

ADMIN = ("admin", "system:masters")
SCHEDULER = ("system:kube-scheduler", "")
CONTROLLER_MANAGER = ("system:kube-controller-manager", "")
CSR_SIGNER = ("system:controller:certificate-controller", "")
HTTPS_FRONT = (certificates.FRONT, "")
"""The HTTPS listener on the bus: it may forward its clients' credentials, nothing more
(``actors.apiserver.authn.Forwarding``); RBAC grants it nothing."""
FAULT_INJECTOR = (faultplans.INJECTOR, "")
"""The control plane's fault injector: follows FaultPlans, deletes expired ones."""
CONTROL_PLANE_USERS = (BUS_ADMIN, BUS_APISERVER, BUS_STORE, SCHEDULER[0], CONTROLLER_MANAGER[0],
                       CSR_SIGNER[0], HTTPS_FRONT[0], FAULT_INJECTOR[0], NODE_SIM)
"""The NATS users of a control plane's components (a NATS of your own, ``--nats``, needs
them all, with the passwords of ``pki/nats-users.json``, and the auth callout of
``pki/nats-issuer.nk``: ``bus.permissions.authorization``)."""


def node_identity(name: str, simulated: bool = False) -> tuple[str, str]:
    """The user and groups of node ``name``'s kubelet; a simulated node's is also in group
    ``system:node-sim``, whose connection it shares (``busauth.owners``)."""
    return f"system:node:{name}", "system:nodes,system:node-sim" if simulated else "system:nodes"


def sim_node_names(count: int, prefix: str = "node-", first: int = 1) -> tuple[str, ...]:
    """The names of ``count`` simulated nodes: ``<prefix><first>``, ``<prefix><first+1>``...
    (``up``'s are ``node-1`` ... ``node-N``; its agents take consecutive slices)."""
    return tuple(f"{prefix}{index}" for index in range(first, first + count))


def sim_kubeconfig(data_dir: Path, names: tuple[str, ...]) -> dict[str, kubeconfig.KubeConfig]:
    """The kubeconfig contexts of an agent of the simulated nodes ``names``, joining the
    cluster kept in ``data_dir``: its own first (the NATS user ``system:node-sim`` and its
    password, whose one connection carries every node's requests, and a certificate of that
    user, which lists the nodes' pods), then one per node named for it (a new certificate of
    ``system:node:<name>`` in ``system:nodes`` and ``system:node-sim``). Needs the CA's key and
    the NATS passwords: run it where the control plane runs."""
    admin, pki = _control_plane(data_dir, names)
    data = data_dir.expanduser().resolve()
    password = bususers.ensure_users(data / "pki" / bususers.FILE, ()).get(NODE_SIM)
    if password is None:
        raise ClusterError(f"the cluster in {data} has no NATS user {NODE_SIM}: restart its "
                           "control plane with this version")

    def context(identity: tuple[str, str]) -> kubeconfig.KubeConfig:
        key, cert = pki.issue(*identity)
        return dataclasses.replace(
            admin, token=None, user=identity[0], client_cert=certs.cert_pem(cert),
            client_key=certs.key_pem(key), nats_user=NODE_SIM, nats_password=password)

    with translated(ClusterError):
        return {NODE_SIM: context((NODE_SIM, "")), **{
            name: context(node_identity(name, simulated=True)) for name in names}}


def _control_plane(data_dir: Path, names: tuple[str, ...]) -> tuple[kubeconfig.KubeConfig, Pki]:
    """The admin's kubeconfig and the CA of the cluster kept in ``data_dir``, once the node
    ``names`` are shown to be valid; ClusterError saying what is missing."""
    data = data_dir.expanduser().resolve()
    try:
        admin = kubeconfig.load(data / "kubeconfig")
    except kubeconfig.KubeConfigError:
        raise ClusterError(f"no cluster has started in {data}: give the --data-dir of "
                           "`kubeactor up` or `kubeactor server`") from None
    for name in names:
        try:
            Subjects(admin.prefix).node_calls(name)
        except ValueError as error:
            raise ClusterError(f"node name {name!r} is invalid: {error}") from None
    if not (data / "pki" / "ca.key").exists():
        raise ClusterError(f"the cluster CA is not in {data / 'pki'}: run this where its "
                           "first control plane runs")
    with translated(ClusterError):
        return admin, ensure_pki(data / "pki")


def node_kubeconfig(data_dir: Path, node: str) -> kubeconfig.KubeConfig:
    """A kubeconfig for the kubelet of ``node`` joining the cluster kept in ``data_dir`` (its
    control plane's): a new certificate of the cluster CA (``system:node:<node>`` in
    ``system:nodes``), which is also its NATS identity (the auth callout admits it as node
    ``<node>``). Needs the CA's key: run it where the control plane runs."""
    admin, pki = _control_plane(data_dir, (node,))
    user, groups = node_identity(node)
    with translated(ClusterError):
        key, cert = pki.issue(user, groups)
    return kubeconfig.KubeConfig(
        server=admin.server, prefix=admin.prefix, token=None, user=user,
        client_cert=certs.cert_pem(cert), client_key=certs.key_pem(key), ca=admin.ca,
        nats_ca=admin.nats_ca, https=admin.https)


def ensure_tokens(path: Path, identities: list[tuple[str, str]]) -> dict[str, str]:
    """The token of each identity (user name -> token), adding missing ones to the file."""
    tokens: dict[str, str] = {}
    rows: list[list[str]] = []
    if path.exists():
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
        tokens = {row[1]: row[0] for row in rows}
    missing = [(user, groups) for user, groups in identities if user not in tokens]
    if path.exists() and not missing:
        return tokens  # unchanged (perhaps another apiserver's file): not rewritten
    for user, groups in missing:
        tokens[user] = secrets.token_hex(16)
        rows.append([tokens[user], user, user, groups])
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_file(path) as handle:
        csv.writer(handle).writerows(rows)
    return tokens
