"""Kubeconfig files in Kubernetes' YAML shape (clusters, users, contexts, current-context).

kubeactor's cluster entry keeps the NATS URL in ``server`` and its subject prefix in an
``extensions`` entry named ``kubeactor``, where Kubernetes keeps per-tool settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


class KubeConfigError(Exception):
    """The kubeconfig is missing or malformed; the message says which file and what."""


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser()


def render(config: KubeConfig, name: str = "kubeactor") -> str:
    document = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": {
            "server": config.server,
            "extensions": [{"name": "kubeactor", "extension": {"subjectPrefix": config.prefix}}],
        }}],
        "users": [{"name": config.user, "user": {"token": config.token}}],
        "contexts": [{"name": name, "context": {
            "cluster": name, "user": config.user, "namespace": config.namespace}}],
        "current-context": name,
    }
    return yaml.safe_dump(document, sort_keys=False)


def write(path: Path, config: KubeConfig) -> None:
    """Write atomically with mode 0600 (it holds a credential)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(render(config))
    partial.replace(path)


def load(path: Path) -> KubeConfig:
    try:
        document: Any = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise KubeConfigError(
            f"kubeconfig {path} not found: start a cluster with `kubeactor up` or pass "
            "--kubeconfig"
        ) from None
    except yaml.YAMLError as error:
        raise KubeConfigError(f"kubeconfig {path} is not valid YAML: {error}") from error
    try:
        current = document["current-context"]
        context = _named(document["contexts"], current)["context"]
        cluster = _named(document["clusters"], context["cluster"])["cluster"]
        user = _named(document["users"], context["user"])["user"]
        extensions = cluster.get("extensions") or []
        extension: dict[str, Any] = next(
            (e.get("extension", {}) for e in extensions if e.get("name") == "kubeactor"), {})
        return KubeConfig(server=cluster["server"],
                          prefix=extension.get("subjectPrefix", "kubeactor"),
                          token=user.get("token"), namespace=context.get("namespace", "default"),
                          user=context["user"])
    except (KeyError, TypeError, AttributeError, StopIteration) as error:
        raise KubeConfigError(f"kubeconfig {path} is incomplete: missing {error}") from None


def _named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(entry for entry in entries if entry.get("name") == name)
