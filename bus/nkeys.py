"""NATS keys and JWTs: the encodings nats-server's auth callout speaks, on ``cryptography``.

An *nkey* is an Ed25519 key written as base32 of a one-byte type prefix (``A`` account, ``U``
user, ``N`` server...), the 32 key bytes and a CRC-16 (XMODEM, little-endian); its *seed* (the
private part) carries a second prefix byte, ``S``. A NATS *JWT* is ``header.claims.signature``
in unpadded base64url, the header ``{"typ": "JWT", "alg": "ed25519-nkey"}``, the signature
Ed25519 over ``header.claims`` by the key named in the claims' ``iss``.

Pure: no I/O. Neighbours: ``bus.callout`` (the authorization exchange built on these),
tests/unit/bus/test_nkeys.py.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519

from bus.errors import KubeactorError

ACCOUNT = 0
"""Type prefixes, each a multiple of 8 so the first base32 letter names the type."""
SERVER = (ord("N") - ord("A")) << 3
USER = (ord("U") - ord("A")) << 3
_SEED = (ord("S") - ord("A")) << 3
_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}


class NkeyError(KubeactorError):
    """A key, seed or JWT that is malformed, of the wrong type or wrongly signed."""


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw + _crc16(raw).to_bytes(2, "little")).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        raise NkeyError(f"{text[:8]}... is not base32") from None
    raw, crc = data[:-2], data[-2:]
    if len(data) < 3 or _crc16(raw).to_bytes(2, "little") != crc:
        raise NkeyError(f"{text[:8]}... fails its checksum")
    return raw


def encode_public(prefix: int, key: ed25519.Ed25519PublicKey) -> str:
    """The nkey of ``key`` with type ``prefix`` (``A...`` for :data:`ACCOUNT`)."""
    return _b32(bytes([prefix]) + key.public_bytes_raw())


def decode_public(nkey: str, prefix: int) -> ed25519.Ed25519PublicKey:
    """The key of a public nkey of type ``prefix``; NkeyError when it is not one."""
    raw = _unb32(nkey)
    if len(raw) != 33 or raw[0] != prefix:
        raise NkeyError(f"{nkey[:8]}... is not a public nkey of type {chr(prefix // 8 + 65)}")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key with its nkey type."""

    prefix: int
    key: ed25519.Ed25519PrivateKey

    @classmethod
    def generate(cls, prefix: int) -> KeyPair:
        return cls(prefix, ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: str) -> KeyPair:
        """The pair a seed (``S`` then the type letter, e.g. ``SA...``) encodes."""
        raw = _unb32(seed.strip())
        if len(raw) != 34 or raw[0] & 0xF8 != _SEED:
            raise NkeyError("not an nkey seed")
        prefix = ((raw[0] & 0x07) << 5) | (raw[1] >> 3)
        return cls(prefix, ed25519.Ed25519PrivateKey.from_private_bytes(raw[2:]))

    @property
    def seed(self) -> str:
        raw = bytes([_SEED | self.prefix >> 5, (self.prefix & 0x1F) << 3])
        return _b32(raw + self.key.private_bytes_raw())

    @property
    def public(self) -> str:
        return encode_public(self.prefix, self.key.public_key())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], issuer: KeyPair, now: float | None = None) -> str:
    """A JWT of ``claims`` issued (``iss``, ``iat``, ``jti`` set here) and signed by
    ``issuer``."""
    body = {**claims, "iat": int(now if now is not None else time.time()),
            "iss": issuer.public, "jti": ""}
    digest = hashes.Hash(hashes.SHA512_256())
    digest.update(json.dumps(body, separators=(",", ":")).encode())
    body["jti"] = base64.b32encode(digest.finalize()).decode().rstrip("=")
    signed = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(body).encode())}"
    return f"{signed}.{_b64(issuer.key.sign(signed.encode()))}"


def decode_jwt(token: str, issuer_prefix: int) -> dict[str, Any]:
    """The claims of a JWT signed by the key its ``iss`` names, which must be of type
    ``issuer_prefix``; NkeyError saying what is wrong otherwise."""
    try:
        header, body, signature = token.split(".")
        claims = json.loads(_unb64(body))
        if json.loads(_unb64(header)).get("alg") != _HEADER["alg"] or not isinstance(
                claims, dict):
            raise NkeyError("not an ed25519-nkey JWT")
        decode_public(str(claims.get("iss", "")), issuer_prefix).verify(
            _unb64(signature), f"{header}.{body}".encode())
    except (NkeyError, ValueError, AttributeError) as error:
        raise NkeyError(f"malformed JWT: {error}") from None
    except InvalidSignature:
        raise NkeyError("the JWT's signature does not match its issuer") from None
    return claims
