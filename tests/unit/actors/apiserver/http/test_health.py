"""The health endpoints' answers (actors/apiserver/http/health.py), as kube-apiserver's."""

from __future__ import annotations

from actors.apiserver.http.health import answer, is_health

STORE = {"down": None}
CHECKS = [("ping", lambda: None), ("store", lambda: STORE["down"])]


def test_all_passing_is_ok_and_verbose_lists_each_check():
    STORE["down"] = None
    assert answer("/readyz", CHECKS) == (200, "ok")
    assert answer("/readyz", CHECKS, verbose=True) == (
        200, "[+]ping ok\n[+]store ok\nreadyz check passed\n")


def test_a_failing_check_is_500_with_its_reason_withheld_unless_verbose():
    STORE["down"] = "the store has stopped"
    assert answer("/readyz", CHECKS) == (
        500, "[+]ping ok\n[-]store failed: reason withheld\nreadyz check failed\n")
    assert answer("/healthz", CHECKS, verbose=True)[1].splitlines()[1] == (
        "[-]store failed: the store has stopped")
    assert answer("/readyz", CHECKS, exclude=["store"]) == (200, "ok")


def test_one_check_alone_and_an_unknown_one():
    STORE["down"] = "gone"
    assert answer("/readyz/ping", CHECKS) == (200, "ok")
    assert answer("/readyz/store", CHECKS) == (500, "internal server error: gone\n")
    assert answer("/readyz/etcd", CHECKS)[0] == 404
    STORE["down"] = None
    assert answer("/readyz/store", CHECKS) == (200, "ok")  # ready again when it is back


def test_which_paths_are_health_endpoints():
    assert all(map(is_health, ("/livez", "/readyz/store", "/healthz")))
    assert not any(map(is_health, ("/readyzz", "/metrics", "/api")))
