"""A node's pod addresses: the host's for hostNetwork, else its range's, kept and given back."""

from __future__ import annotations

from actors.kubelet.podaddresses import PodAddresses


def _pod(uid: str, host_network: bool = False, shown: str | None = None) -> dict:
    status = {"podIP": shown} if shown else {}
    return {"metadata": {"uid": uid}, "spec": {"hostNetwork": host_network},
            "status": status}


def test_a_host_network_pod_has_the_nodes_address_even_without_a_range():
    assert PodAddresses("127.0.0.1").address(_pod("a", host_network=True)) == "127.0.0.1"


def test_a_pod_waits_for_the_range_then_keeps_its_address():
    ips = PodAddresses("127.0.0.1")
    assert ips.address(_pod("a")) is None
    assert ips.set_range("127.64.5.0/24") is True
    assert ips.set_range("127.64.5.0/24") is False
    first = ips.address(_pod("a"))
    assert first == "127.64.5.2"
    assert ips.address(_pod("a")) == first
    assert ips.address(_pod("b")) == "127.64.5.3"


def test_a_released_address_is_handed_out_again():
    ips = PodAddresses("127.0.0.1")
    ips.set_range("127.64.5.0/24")
    ips.address(_pod("a"))
    ips.release("a")
    assert ips.address(_pod("b")) == "127.64.5.2"


def test_a_pod_keeps_the_address_it_shows_after_a_restart_when_in_range():
    ips = PodAddresses("127.0.0.1")
    ips.set_range("127.64.5.0/24")
    assert ips.address(_pod("a", shown="127.64.5.9")) == "127.64.5.9"
    assert ips.address(_pod("b", shown="127.64.5.9")) == "127.64.5.2"  # taken: a new one
    assert ips.address(_pod("c", shown="127.99.0.4")) == "127.64.5.3"  # outside the range
