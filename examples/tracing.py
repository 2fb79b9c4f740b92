"""Read the control plane off the bus with nothing but nats-py and msgpack (and PyYAML to read
a kubeconfig).

    python examples/tracing.py --kubeconfig DATA_DIR/kubeconfig [--seconds 30]
    python examples/tracing.py tls://USER:PASSWORD@127.0.0.1:PORT --ca CA_FILE [--prefix P]

What a tracer connects with is in the kubeconfig, ``kubeactor config view --raw`` shows it:
the NATS URL (the cluster's ``kubeactor`` extension, ``natsServers``; ``server`` in a
kubeconfig without an HTTPS API), the subject prefix (same extension, ``subjectPrefix``), and
the NATS user and password (the user's ``kubeactor`` extension, ``natsUser`` and
``natsPassword``). The bus speaks TLS from the first byte with a certificate of the cluster
CA (the kubeconfig's ``certificate-authority-data``; ``--ca`` a PEM file of it with a URL).
On the locked-down bus only the admin may read every subject. Every
kubeactor message is a msgpack map (see docs/PROTOCOL.md); this prints subject, sender ->
receiver, verb and object of each, after dropping its ``auth`` (a credential: a tracer never
prints or keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ssl
from pathlib import Path
from typing import Any

import msgpack
import nats


def bus_of(path: Path) -> tuple[str, str, str | None]:
    """The NATS URL (with the admin's user and password), the subject prefix and the CA (PEM)
    of a kubeconfig's current context."""
    import yaml  # only for --kubeconfig

    document: dict[str, Any] = yaml.safe_load(path.read_text())
    context = next(c["context"] for c in document["contexts"]
                   if c["name"] == document["current-context"])
    cluster = next(c["cluster"] for c in document["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in document["users"] if u["name"] == context["user"])
    ours = next((e["extension"] for e in cluster.get("extensions", [])
                 if e["name"] == "kubeactor"), {})
    nats_user = next((e["extension"] for e in user.get("extensions", [])
                      if e["name"] == "kubeactor"), {})
    url = ours.get("natsServers") or cluster["server"]
    if nats_user.get("natsUser"):
        url = url.replace("://", f"://{nats_user['natsUser']}:{nats_user['natsPassword']}@", 1)
    ca = ours.get("natsCertificateAuthorityData") or cluster.get("certificate-authority-data")
    pem = base64.b64decode(ca).decode() if ca else None
    return url, ours.get("subjectPrefix", "kubeactor"), pem


def tls_of(url: str, ca: str | None) -> dict[str, Any]:
    """nats-py's options for ``url``: a ``tls://`` one is TLS from the first byte, its server
    checked against ``ca`` (PEM)."""
    if not url.startswith("tls://"):
        return {}
    return {"tls": ssl.create_default_context(cadata=ca), "tls_handshake_first": True}


async def follow(url: str, ca: str | None, prefix: str, seconds: float) -> None:
    nc = await nats.connect(url, **tls_of(url, ca))

    async def show(msg) -> None:
        message = msgpack.unpackb(msg.data, raw=False)
        message.pop("auth", None)  # a credential: never printed
        what = "/".join(str(p) for p in (message.get("resource"), message.get("name"),
                                         message.get("sub")) if p)
        event = (message.get("body") or {}).get("type") if message.get("verb") == "event" else ""
        print(f"{msg.subject:<48} {message.get('from', '?')} -> {message.get('to', '?')}: "
              f"{message.get('verb')} {event or ''}{' ' if event else ''}{what}", flush=True)

    await nc.subscribe(f"{prefix}.>", cb=show)
    await nc.flush()
    print(f"listening on {prefix}.> for {seconds:g}s", flush=True)
    await asyncio.sleep(seconds)
    await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="print every kubeactor message on the bus")
    parser.add_argument("url", nargs="?", help="tls://USER:PASSWORD@HOST:PORT")
    parser.add_argument("--ca", type=Path, help="with a URL: the cluster CA (PEM file)")
    parser.add_argument("--kubeconfig", type=Path, help="read URL, credentials and prefix here")
    parser.add_argument("--prefix", default="kubeactor")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    ca = args.ca.read_text() if args.ca else None
    if args.kubeconfig:
        args.url, args.prefix, ca = bus_of(args.kubeconfig)
    elif not args.url:
        parser.error("give the NATS URL or --kubeconfig")
    asyncio.run(follow(args.url, ca, args.prefix, args.seconds))
