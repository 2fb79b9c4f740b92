"""The kubelet's token manager: the service account tokens of its pods' projected volumes.

A ``serviceAccountToken`` source of a projected volume is a token of the pod's account, for
an audience (the API's when none), with a life (``expirationSeconds``, 3600 when none), bound
to the pod: the kubelet asks for it with a TokenRequest (``create serviceaccounts/token``, which
the Node authorizer and NodeRestriction allow only for pods bound to this node), keeps it, and
asks again once 80% of its life has passed or it is a day old (:func:`requires_refresh`,
Kubernetes' token manager). The pod sync writes the volume again when a token it holds is due
(:meth:`TokenManager.due`).

Neighbours: ``actors.kubelet.volumes`` (the files), ``actors.kubelet.podsync`` (refreshes),
``actors.api.serviceaccounts`` (the request's shape).

Which thread: pod workers' (one lock around the cache); a TokenRequest blocks on the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from actors.api import serviceaccounts
from actors.api.meta import parse_time
from actors.api.objects import Object
from actors.client.client import Client

REFRESH_FRACTION = 0.8
MAX_AGE_SECONDS = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Held:
    token: bytes
    issued: float
    expires: float
    """Seconds since the epoch (the kubelet's clock, and the token's ``exp``)."""

    @property
    def refresh_at(self) -> float:
        return min(self.issued + REFRESH_FRACTION * (self.expires - self.issued),
                   self.issued + MAX_AGE_SECONDS)


def requires_refresh(held: Held, now: float) -> bool:
    """Whether a new token must be asked for (Kubernetes' requiresRefresh)."""
    return now >= held.refresh_at


Key = tuple[str, str, str, int]
"""(pod uid, account, audience, seconds)."""


class TokenManager:
    """See the module docstring."""

    def __init__(self, client: Client, clock: Callable[[], float] = time.time) -> None:
        self.client, self.clock = client, clock
        self._held: dict[Key, Held] = {}
        self._lock = threading.Lock()

    def token(self, pod: Object, source: Object) -> bytes:
        """The token a ``serviceAccountToken`` source of ``pod`` asks for: the one held while
        it is fresh, else a new one."""
        seconds = int(source.get("expirationSeconds") or serviceaccounts.DEFAULT_SECONDS)
        key = (pod["metadata"]["uid"], serviceaccounts.account_of(pod),
               str(source.get("audience") or ""), seconds)
        with self._lock:
            held = self._held.get(key)
        if held is not None and not requires_refresh(held, self.clock()):
            return held.token
        held = self._request(pod, key)
        with self._lock:
            self._held[key] = held
        return held.token

    def _request(self, pod: Object, key: Key) -> Held:
        uid, account, audience, seconds = key
        metadata = pod["metadata"]
        spec: Object = {"expirationSeconds": seconds, "boundObjectRef": {
            "kind": "Pod", "apiVersion": "v1", "name": metadata["name"], "uid": uid}}
        if audience:
            spec["audiences"] = [audience]
        now = self.clock()
        answer = self.client.request("create", serviceaccounts.RESOURCE,
                                     namespace=metadata["namespace"], name=account,
                                     subresource="token",
                                     body={**serviceaccounts.TOKEN_REQUEST, "spec": spec})
        expires = parse_time(answer["status"]["expirationTimestamp"]).timestamp()
        return Held(answer["status"]["token"].encode(), now, expires)

    def due(self, uid: str) -> float | None:
        """When the earliest token held for pod ``uid`` is due for refresh (epoch seconds)."""
        with self._lock:
            times = [held.refresh_at for key, held in self._held.items() if key[0] == uid]
        return min(times, default=None)

    def forget(self, uid: str) -> None:
        with self._lock:
            for key in [key for key in self._held if key[0] == uid]:
                del self._held[key]
