"""Kinesis read budgets: a shard's shared 2 MiB/s and 5 calls/s, an EFO consumer's own
2 MiB/s (``shardline.local.read_budget``)."""

from __future__ import annotations

import base64

from shardline.local.read_budget import (
    READ_BYTES_PER_S,
    ReadBudget,
    ReadBudgets,
    kinesis_record_bytes,
)
from shardline.local.scheduling import VirtualClock

MIB = 1024 * 1024


def test_a_shared_budget_admits_five_calls_a_second() -> None:
    # GIVEN a shard's shared budget
    clock = VirtualClock(100.0)
    budget = ReadBudgets(clock).shared("arn:stream", "shard-0")

    # WHEN six empty calls are made within one second, then one a second later
    admitted = []
    for _ in range(6):
        admitted.append(budget.admits_call())
        if admitted[-1]:
            budget.record_call(0)
    clock.advance_to(101.0)

    # THEN the sixth is refused, and the next second has room again
    assert admitted == [True] * 5 + [False]
    assert budget.admits_call()


def test_a_call_may_overdraw_the_shared_budget_which_then_refuses_until_repaid() -> None:
    # GIVEN a full shared budget (2 MiB)
    clock = VirtualClock(0.0)
    budget = ReadBudget(clock, calls_per_s=5)

    # WHEN one call reads 10 MiB
    budget.record_call(10 * MIB)

    # THEN calls are refused until the overdraft is paid back at 2 MiB/s (4 s)
    clock.advance_to(3.99)
    assert not budget.admits_call()
    clock.advance_to(4.01)
    assert budget.admits_call()


def test_a_dedicated_budget_pushes_2_mib_a_second_and_is_not_shared() -> None:
    # GIVEN an EFO consumer's budget on a shard, and the shard's shared budget
    clock = VirtualClock(0.0)
    budgets = ReadBudgets(clock)
    dedicated = budgets.dedicated("arn:stream/consumer/c", "shard-0")
    shared = budgets.shared("arn:stream", "shard-0")

    # WHEN the shared budget is exhausted and the consumer takes 2 MiB
    shared.record_call(6 * MIB)
    dedicated.spend(READ_BYTES_PER_S)

    # THEN the consumer's next 512 KiB record fits a quarter second later, whatever the
    # shared budget owes
    assert not dedicated.admits(MIB // 2)
    assert dedicated.ready_at(MIB // 2) == 0.25
    clock.advance_to(0.25)
    assert dedicated.admits(MIB // 2)
    assert budgets.dedicated("arn:stream/consumer/c", "shard-0") is dedicated


def test_a_record_larger_than_a_second_of_budget_goes_when_the_budget_is_full() -> None:
    budget = ReadBudget(VirtualClock(0.0))
    assert budget.admits(5 * MIB)


def test_record_bytes_are_the_data_and_the_partition_key() -> None:
    for size in (0, 1, 2, 3, 1000):
        data = base64.b64encode(b"x" * size).decode()
        assert kinesis_record_bytes(data, "dev-1") == size + 5
