"""Kubeconfig files in Kubernetes' YAML shape (clusters, users, contexts, current-context).

A cluster entry is one kubectl reads as it is: ``server`` the HTTPS API's URL, the cluster CA in
``certificate-authority-data``; what kubeactor's own clients need besides, the NATS URL
(``natsServers``) and the subject prefix (``subjectPrefix``), is in its ``extensions`` entry
named ``kubeactor``, where Kubernetes keeps per-tool settings and kubectl ignores them. The
NATS URL is ``tls://`` for a bus that speaks TLS, whose servers' certificates are checked
against the cluster CA, or against ``natsCertificateAuthorityData`` (base64 PEM) in that
extension when a NATS of one's own has another CA (``--nats-ca``). A
kubeconfig from before the HTTPS API (no ``natsServers``) has the NATS URL in ``server``, and
still works. A user has a client certificate and key
(``client-certificate-data``, ``client-key-data``: base64 PEM, as kubectl writes them), a bearer
token, or both; the certificate is used when there is one, for the API and for the bus (the
auth callout admits the connection as the certificate's user; a token's user is the kubeconfig
user's name). A control plane user's NATS user and password (the admin's) are in the user's
``extensions`` entry ``kubeactor`` (``natsUser``, ``natsPassword``) and come first on the bus.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from actors.api import certs
from actors.client.credentials import (
    CertificateCredentials,
    Credentials,
    TokenCredentials,
    certificate_bus,
)
from bus import BusConfig
from bus.errors import UsageError, translated
from bus.subjects import Subjects

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's when there is one: a simulated nodes' agent's kubeconfig holds a thousand users."""

DEFAULT_PATH = Path("~/.kubeactor/kubeconfig")
ENV_VAR = "KUBEACTOR_CONFIG"


@dataclass(frozen=True, slots=True)
class KubeConfig:
    """The settings of one context, resolved."""

    server: str
    """NATS URL(s), comma-separated."""
    prefix: str
    token: str | None
    namespace: str = "default"
    user: str = "admin"
    client_cert: bytes | None = None
    """PEM client certificate (with ``client_key`` and ``ca``), or None for the token alone."""
    client_key: bytes | None = None
    ca: bytes | None = None
    """PEM of the cluster CA, which signs the apiserver's, the embedded nats-server's and the
    users' certificates."""
    nats_ca: bytes | None = None
    """PEM of the CA of a NATS of one's own (``--nats-ca``), when not the cluster CA."""
    nats_user: str | None = None
    """A control plane NATS user of a locked-down bus (``bus.permissions``), with
    ``nats_password``; None: the bus identity is the certificate's user, else the token's
    (:meth:`bus`)."""
    nats_password: str | None = None
    https: str | None = None
    """The Kubernetes API's URL (kubectl's ``server``); None: a cluster without one (an older
    kubeconfig, whose ``server`` is the NATS URL)."""

    def bus(self) -> BusConfig:
        """Where and as whom to connect to the bus: the NATS password user, else the
        certificate, else the token (else nobody: a locked-down bus refuses that)."""
        where = BusConfig(url=self.server, prefix=self.prefix, ca=self.nats_ca or self.ca)
        if self.nats_user and self.nats_password:
            return replace(where, user=self.nats_user, password=self.nats_password)
        if self.client_cert and self.client_key:
            return certificate_bus(where, certs.load_cert(self.client_cert),
                                   certs.load_key(self.client_key))
        if self.token:
            return replace(where, user=self.user, token=self.token)
        return where

    def credentials(self) -> Credentials:
        """What a client shows the apiserver: the certificate when there is one."""
        if self.client_cert and self.client_key and self.ca:
            return CertificateCredentials.from_pem(self.client_cert, self.client_key, self.ca)
        return TokenCredentials(self.token)


class KubeConfigError(UsageError):
    """The kubeconfig is missing or malformed; the message says which file and what."""


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser()


def _data(pem: bytes | None) -> str | None:
    return base64.b64encode(pem).decode() if pem else None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def render(config: KubeConfig, name: str = "kubeactor", redact: bool = False) -> str:
    """The kubeconfig's YAML; with ``redact`` secrets and data read as ``kubectl config view``
    shows them (``REDACTED``, ``DATA+OMITTED``)."""
    return render_contexts({name: config}, redact)


def render_contexts(contexts: dict[str, KubeConfig], redact: bool = False) -> str:
    """The YAML of a kubeconfig with one context per entry of ``contexts`` (context name ->
    its settings; the first is the current one), all on the first one's cluster, each of its
    own user (a simulated nodes' agent's: ``load_contexts``)."""
    name, first = next(iter(contexts.items()))
    data = (lambda pem: "DATA+OMITTED" if pem else None) if redact else _data
    document = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": _drop_none({
            "server": first.https or first.server,
            "certificate-authority-data": data(first.ca),
            "extensions": [{"name": "kubeactor", "extension": _drop_none({
                "subjectPrefix": first.prefix,
                "natsServers": first.server if first.https else None,
                "natsCertificateAuthorityData": data(first.nats_ca)})}],
        })}],
        "users": [{"name": config.user, "user": _user(config, data, redact)}
                  for config in contexts.values()],
        "contexts": [{"name": context, "context": {
            "cluster": name, "user": config.user, "namespace": config.namespace}}
            for context, config in contexts.items()],
        "current-context": name,
    }
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False)


def _user(config: KubeConfig, data: Any, redact: bool) -> dict[str, Any]:
    user = _drop_none({"client-certificate-data": data(config.client_cert),
                       "client-key-data": data(config.client_key),
                       "token": "REDACTED" if redact and config.token else config.token})
    if config.nats_user:
        user["extensions"] = [{"name": "kubeactor", "extension": {
            "natsUser": config.nats_user,
            "natsPassword": "REDACTED" if redact else config.nats_password}}]
    return user


def write(path: Path, config: KubeConfig) -> None:
    """Write atomically with mode 0600 (it holds a credential); KubeConfigError when the
    file cannot be written."""
    write_contexts(path, {"kubeactor": config})


def write_contexts(path: Path, contexts: dict[str, KubeConfig]) -> None:
    """:func:`write` of a kubeconfig with several contexts (:func:`render_contexts`)."""
    with translated(KubeConfigError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(render_contexts(contexts))
        partial.replace(path)


def load(path: Path) -> KubeConfig:
    """The current context of the kubeconfig at ``path``; KubeConfigError saying what is
    wrong when it is missing, unreadable, malformed or names unusable keys."""
    document = _document(path)
    return _usable(path, _resolved(path, document, _current(path, document)))


def load_contexts(path: Path) -> dict[str, KubeConfig]:
    """Every context of the kubeconfig at ``path`` by name, the current one first (the file
    read once: a simulated nodes' agent's holds one per node); errors as :func:`load`."""
    document = _document(path)
    current = _current(path, document)
    names = [current, *(str(c.get("name")) for c in _entries(path, document, "context")
                        if c.get("name") != current)]
    return {name: _usable(path, _resolved(path, document, name)) for name in names}


def _current(path: Path, document: dict[str, Any]) -> str:
    try:
        return str(document["current-context"])
    except KeyError as error:
        raise KubeConfigError(f"kubeconfig {path} is incomplete: missing {error}") from None


def _entries(path: Path, document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    entries = document.get(f"{kind}s")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise KubeConfigError(f"kubeconfig {path} is malformed: clusters, contexts and users "
                              "must be lists of entries with a name")
    return entries


def _document(path: Path) -> dict[str, Any]:
    try:
        document: Any = yaml.load(path.read_text(), Loader=_LOADER)
    except FileNotFoundError:
        raise KubeConfigError(
            f"kubeconfig {path} not found: start a cluster with `kubeactor up` or pass "
            "--kubeconfig"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise KubeConfigError(f"kubeconfig {path} cannot be read: {error}") from None
    except yaml.YAMLError as error:
        raise KubeConfigError(f"kubeconfig {path} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise KubeConfigError(f"kubeconfig {path} is not a Config: expected a mapping with "
                              "clusters, contexts, users and current-context")
    return document


def _resolved(path: Path, document: dict[str, Any], current: str) -> KubeConfig:
    """The settings of context ``current`` of ``document`` (the file at ``path``)."""
    try:
        context = _named(path, document, "context", current)
        cluster = _named(path, document, "cluster", context["cluster"])
        user = _named(path, document, "user", context["user"])
        extension = _kubeactor_extension(cluster)
        nats = _kubeactor_extension(user)
        nats_servers = extension.get("natsServers")
        return KubeConfig(server=nats_servers or cluster["server"],
                          https=cluster["server"] if nats_servers else None,
                          prefix=extension.get("subjectPrefix", "kubeactor"),
                          token=user.get("token"), namespace=context.get("namespace", "default"),
                          user=context["user"],
                          client_cert=_pem(user.get("client-certificate-data")),
                          client_key=_pem(user.get("client-key-data")),
                          ca=_pem(cluster.get("certificate-authority-data")),
                          nats_ca=_pem(extension.get("natsCertificateAuthorityData")),
                          nats_user=nats.get("natsUser"), nats_password=nats.get("natsPassword"))
    except KeyError as error:
        raise KubeConfigError(f"kubeconfig {path} is incomplete: missing {error}") from None
    except (TypeError, AttributeError):
        raise KubeConfigError(f"kubeconfig {path} is malformed: clusters, contexts and users "
                              "must be lists of entries with a name") from None
    except (binascii.Error, ValueError) as error:
        raise KubeConfigError(f"kubeconfig {path}: certificate data is not base64: {error}"
                              ) from None


def _usable(path: Path, config: KubeConfig) -> KubeConfig:
    """``config``, once its subject prefix, certificates and key are shown to be usable (so
    that no later use of them fails with a library's error)."""
    try:
        Subjects(config.prefix)
        for cert in (config.client_cert, config.ca, config.nats_ca):
            if cert:
                certs.load_cert(cert)
        if config.client_key:
            certs.load_key(config.client_key)
    except (ValueError, TypeError, AttributeError) as error:
        raise KubeConfigError(f"kubeconfig {path}: {error}") from None
    return config


def _pem(data: str | None) -> bytes | None:
    return base64.b64decode(data, validate=True) if data else None


def _named(path: Path, document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The ``kind`` (context, cluster, user) of the entry named ``name`` in ``document``."""
    entries = document[f"{kind}s"]
    found = next((entry for entry in entries if entry.get("name") == name), None)
    if found is None:
        raise KubeConfigError(f'kubeconfig {path}: no {kind} exists with the name: "{name}"')
    return dict(found[kind])


def _kubeactor_extension(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``extensions`` entry named ``kubeactor`` of a cluster or user ({} when none)."""
    extensions = entry.get("extensions") or []
    return next((e.get("extension", {}) for e in extensions if e.get("name") == "kubeactor"), {})
