"""Queueing and dispatching (API Priority and Fairness) as plain data: shuffle sharding, queue
limits, seats, the order levels and flows are served in."""

from __future__ import annotations

from collections import Counter

from actors.apiserver import queueing
from actors.apiserver.classifying import Flow, Level
from actors.apiserver.queueing import Dispatcher, Duty, Pacing, deal, flow_hash, seats

EXEMPT = Level("exempt", exempt=True, shares=0)
WIDE = Level("global-default", shares=20, queues=128, hand_size=6, queue_length_limit=50)
LOW = Level("low", shares=10, queues=16, hand_size=4, queue_length_limit=1000)
HIGH = Level("high", shares=30, queues=16, hand_size=4, queue_length_limit=1000)
REJECT = Level("catch-all", shares=5)
TOTAL = 245


def _flow(level: Level, who: str) -> Flow:
    return Flow(level.name, "", level, f"{level.name}/{who}")


def test_a_hand_is_distinct_cards_of_the_deck_and_always_the_same_for_a_flow():
    for key in ("global-default/alice", "global-default/bob", "x"):
        hand = deal(flow_hash(key), 128, 6)
        assert len(set(hand)) == 6 and all(0 <= card < 128 for card in hand)
        assert hand == deal(flow_hash(key), 128, 6)
    assert deal(flow_hash("global-default/alice"), 128, 6) != deal(
        flow_hash("global-default/bob"), 128, 6)
    assert sorted(deal(12345, 4, 4)) == [0, 1, 2, 3]


def test_a_flooding_flow_fills_only_its_hand_and_is_refused_beyond_it():
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    flood = _flow(WIDE, "mallory")
    taken = [dispatcher.offer(flood, i, 0.0, TOTAL) for i in range(1000)]
    accepted = sum(ticket is not None for ticket in taken)
    assert accepted == 6 * 50  # handSize queues of queueLengthLimit
    assert dispatcher.offer(_flow(WIDE, "alice"), "alice", 0.0, TOTAL) is not None


def test_queues_of_a_level_are_served_in_turn_whatever_their_backlog():
    """A flow spreads over the queues of its hand (the shortest first), so a flood has at
    most handSize turns for another flow's one, as in Kubernetes."""
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    for i in range(100):
        dispatcher.offer(_flow(LOW, "mallory"), f"m{i}", 0.0, TOTAL)
    dispatcher.offer(_flow(LOW, "alice"), "a0", 0.0, TOTAL)
    first = [dispatcher.next(0.0).item for _ in range(LOW.hand_size + 1)]
    assert "a0" in first


def test_the_exempt_level_is_served_before_any_other():
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    for i in range(50):
        dispatcher.offer(_flow(WIDE, "mallory"), f"m{i}", 0.0, TOTAL)
    dispatcher.offer(_flow(EXEMPT, "admin"), "admin", 0.0, TOTAL)
    assert dispatcher.next(0.0).item == "admin"


def test_busy_levels_are_served_in_proportion_to_their_shares():
    dispatcher = Dispatcher(concurrency=10_000, max_wait=5.0)
    for i in range(400):
        dispatcher.offer(_flow(LOW, "a"), ("low", i), 0.0, TOTAL)
        dispatcher.offer(_flow(HIGH, "b"), ("high", i), 0.0, TOTAL)
    served = Counter(dispatcher.next(0.0).item[0] for _ in range(200))
    assert served == {"high": 150, "low": 50}  # 30 shares against 10


def test_a_level_idle_for_a_while_gets_no_burst_credit():
    dispatcher = Dispatcher(concurrency=10_000, max_wait=5.0)
    for i in range(300):
        dispatcher.offer(_flow(HIGH, "b"), ("high", i), 0.0, TOTAL)
    for _ in range(200):
        dispatcher.next(0.0)
    for i in range(100):
        dispatcher.offer(_flow(LOW, "a"), ("low", i), 0.0, TOTAL)
    served = Counter(dispatcher.next(0.0).item[0] for _ in range(40))
    assert served == {"high": 30, "low": 10}


def test_a_level_never_runs_more_than_its_seats_and_a_released_seat_lets_one_go():
    limit = seats(WIDE, 600, TOTAL)
    assert limit == 49  # ceil(600 * 20 / 245)
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    for who in range(limit + 2):
        dispatcher.offer(_flow(WIDE, str(who)), who, 0.0, TOTAL)
    running = [dispatcher.next(0.0) for _ in range(limit)]
    assert all(ticket is not None and ticket.seated for ticket in running)
    assert dispatcher.next(0.0) is None
    assert dispatcher.release(running[0]) is True
    assert dispatcher.release(running[0]) is False  # once
    assert dispatcher.next(0.0) is not None and dispatcher.next(0.0) is None


def test_a_rejecting_level_refuses_what_would_wait_beyond_its_seats():
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    limit = seats(REJECT, 600, TOTAL)
    taken = [dispatcher.offer(_flow(REJECT, str(i)), i, 0.0, TOTAL) for i in range(limit + 5)]
    assert sum(ticket is not None for ticket in taken) == limit


def test_a_request_that_waited_too_long_is_handed_out_expired_without_a_seat():
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    dispatcher.offer(_flow(WIDE, "alice"), "late", 0.0, TOTAL)
    ticket = dispatcher.next(6.0)
    assert ticket is not None and ticket.expired and not ticket.seated
    assert dispatcher.waiting == 0


def test_a_duty_lets_a_burst_go_then_paces_to_its_share():
    duty = Duty(0.1, burst=0.02)
    duty.spent(0.02, 0.0)
    assert duty.wait(0.0) == 0  # the burst
    duty.spent(0.01, 0.0)
    assert abs(duty.wait(0.0) - 0.1) < 1e-9  # 10 ms over, drained at a tenth of a second each
    assert duty.wait(0.1) == 0


def test_a_paced_flow_over_its_share_waits_while_other_flows_and_levels_go():
    """A flood's flow that held the worker beyond its share waits (its requests stay queued);
    another user's flow of its level, and the levels not paced, are served meanwhile."""
    dispatcher = Dispatcher(600, 5.0, Pacing(frozenset({WIDE.name}), 0.1))
    for i in range(10):
        dispatcher.offer(_flow(WIDE, "mallory"), f"m{i}", 0.0, TOTAL)
    flood = dispatcher.next(0.0)
    assert flood is not None and flood.item == "m0"
    dispatcher.served(flood, 0.05, 0.0)  # 30 ms beyond the burst: 0.3 s at a tenth
    assert dispatcher.next(0.0) is None
    assert abs(dispatcher.pause(0.0) - 0.3) < 1e-9
    dispatcher.offer(_flow(WIDE, "alice"), "alice", 0.0, TOTAL)
    dispatcher.offer(_flow(HIGH, "controller"), "controller", 0.0, TOTAL)
    assert {dispatcher.next(0.0).item, dispatcher.next(0.0).item} == {"alice", "controller"}
    assert dispatcher.next(0.0) is None and dispatcher.waiting == 9
    assert dispatcher.next(0.31).item == "m1"


def test_flows_of_levels_not_paced_take_the_whole_worker():
    dispatcher = Dispatcher(600, 5.0, Pacing(frozenset({WIDE.name}), 0.1))
    for i in range(3):
        dispatcher.offer(_flow(HIGH, "controller"), i, 0.0, TOTAL)
    for _ in range(3):
        ticket = dispatcher.next(0.0)
        assert ticket is not None
        dispatcher.served(ticket, 1.0, 0.0)
        dispatcher.release(ticket)
    assert dispatcher.pause(0.0) == 0


def test_a_paced_flows_request_that_waited_too_long_is_refused_without_waiting_its_turn():
    """Its 429 must reach the client before the client gives up, pace or not."""
    dispatcher = Dispatcher(600, 5.0, Pacing(frozenset({WIDE.name}), 0.1))
    dispatcher.offer(_flow(WIDE, "mallory"), "m0", 0.0, TOTAL)
    dispatcher.offer(_flow(WIDE, "mallory"), "m1", 0.0, TOTAL)
    dispatcher.served(dispatcher.next(0.0), 1.0, 0.0)  # owes 10 s of pace
    late = dispatcher.next(6.0)
    assert late is not None and late.item == "m1" and late.expired


def test_a_held_back_request_is_looked_at_again_when_it_expires_not_at_its_flows_turn():
    """The timer that resumes paced flows must come back by the time a request held back
    waited ``max_wait``: its 429 is due then. A flow owing 10 s of pace kept a request
    unanswered past its client's 10 s (a cluster's start: 'no reply on ... within 10.0s')."""
    dispatcher = Dispatcher(600, 5.0, Pacing(frozenset({WIDE.name}), 0.1))
    dispatcher.offer(_flow(WIDE, "mallory"), "m0", 0.0, TOTAL)
    dispatcher.served(dispatcher.next(0.0), 1.0, 0.0)  # owes 10 s of pace
    dispatcher.offer(_flow(WIDE, "mallory"), "m1", 2.0, TOTAL)
    assert dispatcher.next(2.0) is None
    pause = dispatcher.pause(2.0)
    assert 5.0 < pause < 5.1
    late = dispatcher.next(2.0 + pause)
    assert late is not None and late.item == "m1" and late.expired


def test_an_account_shared_by_many_flows_has_a_larger_burst():
    """Every claim not authenticated yet is paced on one account: at a cluster's start all
    components' handshakes come at once on it and must go at once."""
    pacing = Pacing(frozenset({WIDE.name}), 0.05)
    dispatcher = Dispatcher(600, 5.0, pacing)
    hellos = [Flow(WIDE.name, "", WIDE, f"{WIDE.name}/component-{i}", "?unverified")
              for i in range(80)]
    for flow in hellos:
        dispatcher.offer(flow, flow.key, 0.0, TOTAL)
    served = 0
    while (ticket := dispatcher.next(0.0)) is not None:
        dispatcher.served(ticket, 1 / 64, 0.0)  # a handshake under load: 16 ms
        dispatcher.release(ticket)
        served += 1
    assert served == pacing.shared_burst * 64 + 1  # the last goes owing no more than its burst
    dispatcher.offer(_flow(WIDE, "alice"), "alice", 0.0, TOTAL)
    alice = dispatcher.next(0.0)
    dispatcher.served(alice, 0.03, 0.0)
    assert dispatcher.pause(0.0) > 0  # a flow of its own keeps the small burst


def test_flows_past_the_debtors_kept_are_paced_together_and_wipe_no_flows_debt(monkeypatch):
    """A flood of new flows past MAX_DEBTORS does not forget what a real flow owes: the
    newcomers share one account instead."""
    monkeypatch.setattr(queueing, "MAX_DEBTORS", 4)
    dispatcher = Dispatcher(600, 5.0, Pacing(frozenset({WIDE.name}), 0.1))

    def serve(who: str, seconds: float) -> None:
        dispatcher.offer(_flow(WIDE, who), who, 0.0, TOTAL)
        ticket = dispatcher.next(0.0)
        assert ticket is not None and ticket.item == who
        dispatcher.served(ticket, seconds, 0.0)
        dispatcher.release(ticket)

    serve("alice", 1.0)  # owes 10 s of pace
    for index in range(3):
        serve(f"new-{index}", 0.001)  # the accounts are full, each owing a little
    serve("new-3", 0.05)  # on the overflow's account: 30 ms past its burst
    dispatcher.offer(_flow(WIDE, "alice"), "alice again", 0.0, TOTAL)
    dispatcher.offer(_flow(WIDE, "new-4"), "new-4", 0.0, TOTAL)
    assert dispatcher.next(0.0) is None  # alice still owes; new-4 shares new-3's account
    assert dispatcher.next(0.31).item == "new-4"


def test_a_batch_costs_its_flow_the_turns_of_its_width_beside_a_flow_of_singles():
    level = Level("one-queue-each", shares=20, queues=64, hand_size=1, queue_length_limit=50)
    batches, singles = _flow(level, "scheduler"), _flow(level, "alice")
    assert deal(flow_hash(batches.key), 64, 1) != deal(flow_hash(singles.key), 64, 1)
    dispatcher = Dispatcher(concurrency=10_000, max_wait=5.0)
    for i in range(3):
        dispatcher.offer(batches, ("batch", i), 0.0, TOTAL, width=8)
    for i in range(40):
        dispatcher.offer(singles, ("single", i), 0.0, TOTAL)
    served = [dispatcher.next(0.0).item[0] for _ in range(20)]
    assert served == ["batch", *["single"] * 8, "batch", *["single"] * 8, "batch", "single"]


def test_a_batch_holds_its_width_in_seats_and_advances_its_level_by_it():
    limit = seats(WIDE, 600, TOTAL)
    dispatcher = Dispatcher(concurrency=600, max_wait=5.0)
    dispatcher.offer(_flow(WIDE, "scheduler"), "batch", 0.0, TOTAL, width=limit - 1)
    dispatcher.offer(_flow(WIDE, "alice"), "a", 0.0, TOTAL)
    dispatcher.offer(_flow(WIDE, "bob"), "b", 0.0, TOTAL)
    taken = [dispatcher.next(0.0) for _ in range(3)]
    assert [t.item if t else None for t in taken].count(None) == 1  # one seat left for two
    big = next(t for t in taken if t is not None and t.item == "batch")
    assert big.seats == limit - 1
    assert dispatcher.release(big) is True and dispatcher.next(0.0) is not None


def test_busy_levels_count_a_batch_as_its_width():
    dispatcher = Dispatcher(concurrency=10_000, max_wait=5.0)
    for i in range(100):
        dispatcher.offer(_flow(LOW, "a"), ("low", i), 0.0, TOTAL, width=3)
        dispatcher.offer(_flow(HIGH, "b"), ("high", i), 0.0, TOTAL)
    served = Counter(dispatcher.next(0.0).item[0] for _ in range(40))
    assert served == {"high": 36, "low": 4}  # 30 shares against 10: 36 against 4 x 3
