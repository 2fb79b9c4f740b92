"""Store keys as JetStream KV keys (bindings/backends/jetstream.py): valid, one subject token, and
exactly reversible."""

from __future__ import annotations

import re

import pytest

from bindings.backends.jetstream import bucket_name, kv_key, store_key


@pytest.mark.parametrize("key", [
    "/pods/default/web-1", "/rbac.authorization.k8s.io/clusterroles/system:node",
    "/configmaps/default/a.b.c", "/x/ünï=code", "/events/default/p.17a2f3",
])
def test_a_store_key_becomes_one_valid_kv_token_and_comes_back(key: str):
    kv = kv_key(key)
    assert re.fullmatch(r"[-/_=A-Za-z0-9]+", kv)  # KV's alphabet, and no '.' token breaks
    assert store_key(kv) == key


def test_keys_that_differ_stay_different():
    assert kv_key("/a/b=3A") != kv_key("/a/b:")


def test_bucket_name_holds_only_what_buckets_allow():
    assert bucket_name("kubeactor") == "kubeactor-store"
    assert bucket_name("team.a") == "team_a-store"
