"""The address arithmetic: node ranges, pod addresses, the ranges' checks."""

from __future__ import annotations

import pytest

from actors.api import addresses


def test_node_ranges_are_the_cluster_range_cut_at_the_mask_in_order():
    assert addresses.next_node_cidr("127.64.0.0/10", 24, set()) == "127.64.0.0/24"
    assert addresses.next_node_cidr("127.64.0.0/10", 24, {"127.64.0.0/24"}) == "127.64.1.0/24"
    assert addresses.next_node_cidr("127.64.0.0/10", 24, {"127.64.0.0/24", "127.64.2.0/24"}) \
        == "127.64.1.0/24"


def test_a_full_cluster_range_gives_no_node_range():
    assert addresses.next_node_cidr("127.64.0.0/23", 24,
                                    {"127.64.0.0/24", "127.64.1.0/24"}) is None


def test_pod_addresses_skip_the_gateway_and_the_ones_taken():
    assert addresses.next_pod_ip("127.64.3.0/24", set()) == "127.64.3.2"
    assert addresses.next_pod_ip("127.64.3.0/24", {"127.64.3.2"}) == "127.64.3.3"
    full = {f"127.64.3.{i}" for i in range(2, 255)}
    assert addresses.next_pod_ip("127.64.3.0/24", full) is None


def test_offsets_count_from_the_address_after_the_network_one():
    assert addresses.host("127.16.0.0/16", 0) == "127.16.0.1"
    assert addresses.offset_of("127.16.0.0/16", "127.16.1.0") == 255
    assert addresses.offset_of("127.16.0.0/16", "127.17.0.1") is None
    assert addresses.offset_of("127.16.0.0/16", "127.16.255.255") is None  # broadcast
    assert addresses.offset_of("127.16.0.0/16", "nonsense") is None


def test_the_default_ranges_are_loopback_and_apart():
    ranges = addresses.Ranges()
    for cidr in (ranges.cluster_cidr, ranges.service_cidr):
        assert addresses.network(cidr).subnet_of(addresses.network("127.0.0.0/8"))
    assert addresses.offset_of(ranges.service_cidr, "127.0.0.1") is None


@pytest.mark.parametrize(("fields", "words"), [
    ({"service_cidr": "127.64.0.0/16"}, "overlaps"),
    ({"cluster_cidr": "127.64.0.1/10"}, "invalid CIDR"),
    ({"node_cidr_mask": 8}, "must be between"),
    ({"node_ports": "32767-30000"}, "invalid port range"),
    ({"service_cidr": "127.16.0.0/30"}, "too small"),
])
def test_bad_ranges_are_refused_saying_which(fields, words):
    with pytest.raises(ValueError, match=words):
        addresses.Ranges(**fields)


def test_port_ranges_parse_both_ends():
    ports = addresses.PortRange.parse("30000-32767")
    assert (ports.first, ports.last, ports.size, str(ports)) == (30000, 32767, 2768,
                                                                 "30000-32767")
    assert addresses.PortRange.parse("8080").size == 1
