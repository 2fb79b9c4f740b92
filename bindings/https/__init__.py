"""The HTTPS listener: Kubernetes' REST API in the apiserver's process, for kubectl, client-go,
the official clients and operators. Every request it takes goes to the apiserver on the bus,
as its client's (``actors.apiserver.http`` translates; ``actors.apiserver.authn.Forwarding``
authenticates the forwarded credentials): it reaches the store no other way.

- ``listener``: the server (aiohttp on an event loop thread of its own) and its TLS;
- ``front``: the handlers, from HTTP request to bus request and back, watches as streams.
"""

from bindings.https.front import Front
from bindings.https.listener import DEFAULT_LISTEN, HttpsListener, parse_listen, tls_context

__all__ = ["DEFAULT_LISTEN", "Front", "HttpsListener", "parse_listen", "tls_context"]
