"""NATS keys and JWTs (bus/nkeys.py): seeds and public keys round-trip, a corrupted or
mistyped key is refused, a JWT verifies only untouched and under its issuer's key."""

from __future__ import annotations

import base64
import json

import pytest

from bus.nkeys import (
    ACCOUNT,
    SERVER,
    USER,
    KeyPair,
    NkeyError,
    decode_jwt,
    decode_public,
    encode_jwt,
)


@pytest.mark.parametrize(("prefix", "letter"), [(ACCOUNT, "A"), (USER, "U"), (SERVER, "N")])
def test_a_seed_gives_back_its_key_and_names_its_type(prefix, letter):
    pair = KeyPair.generate(prefix)
    assert pair.public.startswith(letter) and len(pair.public) == 56
    assert pair.seed.startswith("S" + letter) and len(pair.seed) == 58
    again = KeyPair.from_seed(pair.seed)
    assert (again.prefix, again.public) == (prefix, pair.public)
    assert decode_public(pair.public, prefix).public_bytes_raw() == \
        pair.key.public_key().public_bytes_raw()


def test_a_corrupted_or_mistyped_key_is_refused():
    public = KeyPair.generate(ACCOUNT).public
    flipped = public[:10] + ("B" if public[10] != "B" else "C") + public[11:]
    with pytest.raises(NkeyError, match="checksum"):
        decode_public(flipped, ACCOUNT)
    with pytest.raises(NkeyError, match="type U"):
        decode_public(public, USER)
    with pytest.raises(NkeyError, match="not an nkey seed"):
        KeyPair.from_seed(public)


def test_a_jwt_round_trips_and_names_its_issuer():
    issuer = KeyPair.generate(ACCOUNT)
    claims = decode_jwt(encode_jwt({"sub": "someone", "nats": {"type": "user"}}, issuer,
                                   now=1000), ACCOUNT)
    assert claims["sub"] == "someone" and claims["iss"] == issuer.public
    assert claims["iat"] == 1000 and len(claims["jti"]) == 52


def test_a_tampered_or_foreign_jwt_is_refused():
    issuer = KeyPair.generate(ACCOUNT)
    token = encode_jwt({"sub": "alice"}, issuer)
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "mallory"}).encode())
    with pytest.raises(NkeyError, match="signature"):
        decode_jwt(f"{header}.{forged.decode().rstrip('=')}.{signature}", ACCOUNT)
    with pytest.raises(NkeyError, match="type N"):
        decode_jwt(token, SERVER)
    with pytest.raises(NkeyError, match="malformed"):
        decode_jwt("not.a-jwt", ACCOUNT)
