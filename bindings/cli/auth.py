"""``kubeactor auth``, ``certificate`` and ``certs``: the verbs about who may do what, and
about users' certificates.

``auth can-i`` asks the apiserver (a SelfSubjectAccessReview, as the user or whom ``--as``
names); ``auth who-can`` computes the answer here from the RBAC objects, as kubectl-who-can
does. ``certificate approve|deny`` decides CertificateSigningRequests through their
``approval`` subresource; ``certs issue`` makes a key here, has it signed through a CSR and
writes a kubeconfig that uses it.

Neighbours: ``actors.apiserver.rbac`` (``grants``), ``actors.api.certificates`` (CSR rules) and
``actors.api.certs`` (keys and certificates), ``bindings.kubeconfig`` (the file written),
``bindings.cli.session``, ``bindings.cli.main`` (dispatch).

Which thread: the main thread; the CSR watch's events arrive on the bus loop thread through a
queue.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from actors.api import certificates, certs
from actors.api.objects import Object
from actors.api.resources import ResourceInfo, resolve
from actors.api.users import UserInfo
from actors.client.client import Client, WatchEvent
from bindings import kubeconfig
from bindings.cli import parsing, printers
from bindings.cli.session import Session, print_error
from bus.errors import ApiError, BadRequest, Conflict, UsageError


def _add_auth(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    auth = verbs.add_parser("auth", parents=[common], help="inspect authorization")
    actions = auth.add_subparsers(dest="auth_action", required=True, metavar="ACTION")
    can_i = actions.add_parser("can-i", parents=[common],
                               help="may I (or --as USER) do VERB on RESOURCE? yes/no, exit 0/1")
    who_can = actions.add_parser("who-can", parents=[common],
                                 help="the subjects, and the bindings, allowed VERB on RESOURCE")
    for action in (can_i, who_can):
        action.add_argument("auth_verb", metavar="VERB")
        action.add_argument("resource", metavar="RESOURCE", help="TYPE or TYPE/SUBRESOURCE")
        action.add_argument("name", nargs="?", metavar="NAME")
    can_i.add_argument("-A", "--all-namespaces", action="store_true")
    can_i.add_argument("--as", dest="as_user", metavar="USER", help="ask for this user")
    can_i.add_argument("--as-group", action="append", default=[], metavar="GROUP",
                       help="with --as: in this group (repeatable)")


def _add_certs(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    certs_ = verbs.add_parser("certs", parents=[common], help="issue user certificates")
    certs_actions = certs_.add_subparsers(dest="certs_action", required=True, metavar="ACTION")
    issue = certs_actions.add_parser(
        "issue", parents=[common],
        help="a key made here, a certificate signed through a CertificateSigningRequest, and a "
             "kubeconfig that uses them")
    issue.add_argument("--user", required=True, help="the user the certificate names (CN)")
    issue.add_argument("--group", action="append", default=[], metavar="GROUP",
                       help="a group the certificate names (O; repeatable)")
    issue.add_argument("--kubeconfig-out", required=True, type=Path, metavar="FILE",
                       help="where to write the new user's kubeconfig (mode 0600)")


def _add_certificate(verbs: parsing.Verbs, common: parsing.Parser) -> None:
    certificate = verbs.add_parser("certificate", parents=[common],
                                   help="approve or deny certificate signing requests")
    certificate.add_argument("decision", choices=["approve", "deny"])
    certificate.add_argument("names", nargs="+", metavar="NAME")


def _asked(args: argparse.Namespace, session: Session) -> Object:
    """``VERB RESOURCE[/SUBRESOURCE] [NAME]`` as a review's resourceAttributes. A resource
    the server does not know is asked about anyway, with kubectl's warning."""
    word, _, subresource = args.resource.partition("/")
    try:
        info: ResourceInfo | None = resolve(word)
    except BadRequest:
        print(f"Warning: the server doesn't have a resource type '{word}'", file=sys.stderr)
        info = None
    namespaced = info is None or info.namespaced
    namespace = "" if getattr(args, "all_namespaces", False) or not namespaced \
        else session.namespace
    return {"verb": args.auth_verb, "group": info.group if info else "",
            "resource": info.name if info else word, "subresource": subresource,
            "namespace": namespace or "", "name": args.name or ""}


def cmd_auth(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``auth can-i`` (a SelfSubjectAccessReview, as the user or whom ``--as`` names) and
    ``auth who-can`` (computed here from the RBAC objects, as kubectl-who-can does)."""
    asked = _asked(args, session)
    if args.auth_action == "can-i":
        if args.as_group and not args.as_user:
            raise UsageError("requesting groups without impersonating a user: add --as USER")
        client = Client(session.connection, session.client.credentials, impersonate=args.as_user,
                        impersonate_groups=tuple(args.as_group)) if args.as_user else \
            session.client
        review = client.request("create", "selfsubjectaccessreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": asked}})
        allowed = bool(review.get("status", {}).get("allowed"))
        print("yes" if allowed else "no")
        return 0 if allowed else 1
    from actors.apiserver import rbac  # loads the apiserver: who-can alone pays

    objects = [obj for resource, namespace in (
        ("clusterroles", None), ("clusterrolebindings", None),
        ("roles", asked["namespace"] or None), ("rolebindings", asked["namespace"] or None))
        for obj in session.client.list(resource, namespace)["items"]]
    found = rbac.grants(objects, rbac.Attributes(UserInfo(""), asked["verb"], group=asked["group"],
                                                 resource=asked["resource"],
                                                 subresource=asked["subresource"] or None,
                                                 namespace=asked["namespace"] or None,
                                                 name=asked["name"] or None))
    what = f"{args.auth_verb} {args.resource}"
    for kind, top in (("RoleBinding", ["ROLEBINDING", "NAMESPACE", "SUBJECT", "TYPE",
                                       "SA-NAMESPACE"]),
                      ("ClusterRoleBinding", ["CLUSTERROLEBINDING", "SUBJECT", "TYPE",
                                              "SA-NAMESPACE"])):
        rows = [[g.binding, *([g.namespace] if kind == "RoleBinding" else []), g.subject,
                 g.subject_kind, g.subject_namespace] for g in found if g.binding_kind == kind]
        print(printers.columns(top, rows) if rows else
              f"No subjects found with permissions to {what} assigned through {kind}s")
        if kind == "RoleBinding":
            print()
    return 0


CSR = certificates.RESOURCE


DECISIONS = {
    "approve": (certificates.APPROVED, certificates.DENIED, "KubectlApprove",
                "This CSR was approved by kubectl certificate approve."),
    "deny": (certificates.DENIED, certificates.APPROVED, "KubectlDeny",
             "This CSR was denied by kubectl certificate deny."),
}
"""kubectl certificate's decisions: (condition, the one that excludes it, reason, message)."""


ISSUE_TIMEOUT = 60.0
"""Seconds ``certs issue`` waits for the signer."""


def cmd_certificate(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``certificate approve|deny NAME...``: add the decision through the ``approval``
    subresource; prints ``certificatesigningrequest.certificates.k8s.io/NAME approved``."""
    failed = 0
    for name in args.names:
        try:
            _decide(session.client, name, args.decision)
            print(f"certificatesigningrequest.certificates.k8s.io/{name} "
                  f"{'approved' if args.decision == 'approve' else 'denied'}", flush=True)
        except ApiError as error:
            print_error(error)
            failed = 1
    return failed


def _decide(client: Client, name: str, decision: str) -> None:
    """Approve or deny ``name`` unless it is already (as kubectl: nothing to send), re-reading
    it after a concurrent change."""
    kind, opposite, reason, message = DECISIONS[decision]
    for _ in range(5):
        csr = client.get(CSR, name, None)
        if certificates.has_condition(csr, opposite):
            raise UsageError(f'certificate signing request "{name}" is already {opposite}')
        if certificates.has_condition(csr, kind):
            return
        with contextlib.suppress(Conflict):
            client.request("update", CSR, name=name, subresource="approval",
                           body=certificates.decided(csr, kind, reason, message))
            return
    raise UsageError(f'certificate signing request "{name}" keeps changing; try again')


def cmd_certs(args: argparse.Namespace, session: Session, words: list[str]) -> int:
    """``certs issue --user NAME [--group G]... --kubeconfig-out FILE``: make a key pair
    here, send only its signing request (a CertificateSigningRequest, created and approved
    as this kubeconfig's user may), wait for the apiserver's signer, check the certificate,
    and write a kubeconfig with it (the key never leaves this process but into that file)."""
    if session.config.ca is None:
        raise UsageError("the kubeconfig has no certificate-authority-data: use the one "
                         "`kubeactor up` wrote")
    key, identity = certs.new_key(), certs.Identity(args.user, tuple(args.group))
    request = certificates.signing_request("csr-", certs.make_csr(key, identity))
    name = session.client.create(CSR, request, None)["metadata"]["name"]
    print(f"certificatesigningrequest.certificates.k8s.io/{name} created", flush=True)
    changes: queue.Queue[WatchEvent] = queue.Queue()
    watch = session.client.watch(CSR, changes.put, field_selector=f"metadata.name={name}")
    try:
        _decide(session.client, name, "approve")
        print(f"certificatesigningrequest.certificates.k8s.io/{name} approved", flush=True)
        cert = _issued(changes, name)
    finally:
        watch.stop()
    ca = certs.load_cert(session.config.ca)
    if cert.public_key() != key.public_key() or certs.verify(
            cert, ca, datetime.now(UTC)) != identity:
        raise UsageError(f"the certificate of {name} is not for this key and identity")
    kubeconfig.write(args.kubeconfig_out.expanduser(), kubeconfig.KubeConfig(
        server=session.config.server, prefix=session.config.prefix, token=None,
        user=args.user, client_cert=certs.cert_pem(cert), client_key=certs.key_pem(key),
        ca=session.config.ca, https=session.config.https))
    print(f'kubeconfig of user "{args.user}" written to {args.kubeconfig_out}', flush=True)
    return 0


def _issued(changes: queue.Queue[WatchEvent], name: str) -> x509.Certificate:
    """The certificate the signer writes into ``name``; UsageError when it is denied, fails
    or takes longer than ISSUE_TIMEOUT."""
    deadline = time.monotonic() + ISSUE_TIMEOUT
    while time.monotonic() < deadline:
        try:
            csr = changes.get(timeout=0.2).object
        except queue.Empty:
            continue
        issued = (csr.get("status") or {}).get("certificate")
        if issued:
            return certs.load_cert(certificates.decode(issued))
        for cond in certificates.conditions(csr):
            if cond.get("type") in (certificates.DENIED, certificates.FAILED):
                raise UsageError(f"certificatesigningrequest {name} {cond['type'].lower()}: "
                                 f"{cond.get('message', '')}")
    raise UsageError(f"timed out waiting for the certificate of {name}: is the signer "
                     "running?")


PARSERS: dict[str, parsing.Builder] = {
    "auth": _add_auth, "certs": _add_certs, "certificate": _add_certificate}
"""Each verb's parser-builder (``bindings.cli.main`` calls them in the order of its help)."""
COMMANDS = {"auth": cmd_auth, "certs": cmd_certs, "certificate": cmd_certificate}
"""Each verb's command, run with a session."""
