"""``kubeactor get --raw PATH``: one GET of Kubernetes' HTTPS API, printed as it comes
(``/readyz?verbose``, ``/metrics``, ``/api/v1/namespaces``), as ``kubectl get --raw``.

It needs no bus: it goes to the HTTPS address the kubeconfig names (``https``), verifying
the cluster CA, as the kubeconfig's user (its client certificate, else its token), so that
``get --raw /readyz`` answers while the bus is down. A code of 400 or more prints kubectl's
``Error from server`` line and exits 1.

Neighbours: ``bindings.kubeconfig`` (where and as whom), ``bindings.cli.main`` (runs it
without a session), ``bindings.https.front`` (what answers).

Which thread: the main thread, blocked for the one request (30 s at most).
"""

from __future__ import annotations

import argparse
import http.client
import ssl
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from bindings import kubeconfig
from bus.errors import UsageError

TIMEOUT_SECONDS = 30.0


def cmd_raw(args: argparse.Namespace) -> int:
    """Print the body of GET ``args.raw``; 1 (and kubectl's error line) for a code >= 400."""
    path = Path(getattr(args, "kubeconfig", None) or kubeconfig.default_path()).expanduser()
    status, body = fetch(kubeconfig.load(path), args.raw)
    if status >= 400:
        text = body.decode(errors="replace")
        print(f'Error from server ({http.client.responses.get(status, status)}): an error on '
              f'the server ("{text.strip()}") has prevented the request from succeeding',
              file=sys.stderr)
        return 1
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    return 0


def fetch(config: kubeconfig.KubeConfig, path: str) -> tuple[int, bytes]:
    """The code and body of GET ``path`` at the kubeconfig's HTTPS API."""
    if not config.https:
        raise UsageError("this kubeconfig names no HTTPS API (get --raw needs one)")
    if not path.startswith("/"):
        raise UsageError(f"--raw {path!r}: a path starting with /")
    address = urlsplit(config.https)
    context = ssl.create_default_context(cadata=config.ca.decode() if config.ca else None)
    headers = {"Accept": "application/json, */*"}
    with tempfile.TemporaryDirectory() as keys:  # 0700: the key is read from a file only
        if config.client_cert and config.client_key:
            cert, key = Path(keys, "cert.pem"), Path(keys, "key.pem")
            cert.write_bytes(config.client_cert)
            key.write_bytes(config.client_key)
            context.load_cert_chain(cert, key)
        elif config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        connection = http.client.HTTPSConnection(str(address.hostname), address.port,
                                                 context=context, timeout=TIMEOUT_SECONDS)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except OSError as error:
            raise UsageError(f"Unable to connect to the server: {error}") from None
        finally:
            connection.close()
