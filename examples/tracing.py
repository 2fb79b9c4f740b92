"""Read the control plane off the bus with nothing but nats-py and msgpack.

    python examples/tracing.py tls://USER:PASSWORD@127.0.0.1:PORT --ca CA_FILE
        [--prefix kubeactor] [--seconds 30]

The URL is the NATS URL of your kubeconfig (``natsServers`` in its cluster's ``kubeactor``
extension), with the NATS user and password of its ``kubeactor`` user extension
(``natsUser``, ``natsPassword``): ``tls://admin:PASSWORD@127.0.0.1:PORT``. The bus speaks TLS
from the first byte, with a certificate of the cluster CA: give that CA (the kubeconfig's
``certificate-authority-data``, base64-decoded) in a file. On the locked-down bus only the
admin may read
every subject. Every kubeactor message is a msgpack map (see
docs/PROTOCOL.md); this prints subject, sender -> receiver, verb and object of each.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl

import msgpack
import nats


async def follow(url: str, ca: str | None, prefix: str, seconds: float) -> None:
    tls = ssl.create_default_context(cafile=ca) if url.startswith("tls://") else None
    nc = await nats.connect(url, tls=tls, tls_handshake_first=tls is not None)

    async def show(msg) -> None:
        message = msgpack.unpackb(msg.data, raw=False)
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
    parser.add_argument("url")
    parser.add_argument("--ca", help="the cluster CA's certificate (PEM file)")
    parser.add_argument("--prefix", default="kubeactor")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(follow(args.url, args.ca, args.prefix, args.seconds))
