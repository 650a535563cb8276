"""bench/bench_fanout.py's ledger: iterator age (the oldest record written and not yet
processed), records behind and records processed per interval, from write and completion
times alone. The benchmark's figures rest on it; its timings are never asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_fanout.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fanout", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def ledger(bench: ModuleType, written: list[tuple[str, float]],
           done: list[tuple[str, float]]) -> object:
    book = bench.Ledger(written=list(written))
    book.finished(done)
    return book


def test_age_is_that_of_the_oldest_record_not_yet_processed(bench: ModuleType) -> None:
    # GIVEN records a, b, c written at 10, 11, 12; a and c processed (c out of order)
    book = ledger(bench, [("a", 10.0), ("b", 11.0), ("c", 12.0)], [("a", 13.0), ("c", 14.0)])
    # THEN before a is done a is the oldest; after that b, never processed, stays oldest
    assert book.age_at(12.5) == pytest.approx(2.5)
    assert book.age_at(13.5) == pytest.approx(2.5)
    assert book.age_at(20.0) == pytest.approx(9.0)
    assert book.behind_at(13.5) == 2
    assert book.behind_at(20.0) == 1
    assert not book.complete()


def test_nothing_pending_means_age_zero_and_records_not_yet_written_do_not_count(
        bench: ModuleType) -> None:
    # GIVEN a record processed at 11 and one written only at 15
    book = ledger(bench, [("a", 10.0), ("b", 15.0)], [("a", 11.0)])
    # THEN at 12 nothing written is pending
    assert book.age_at(12.0) == 0.0
    assert book.behind_at(12.0) == 0
    assert book.age_at(16.0) == pytest.approx(1.0)


def test_a_record_processed_twice_counts_once_at_its_first_completion(
        bench: ModuleType) -> None:
    # GIVEN a record processed at 12 and again at 11 (at-least-once: a second copy),
    # and another at 13
    book = ledger(bench, [("a", 10.0), ("b", 10.5)], [("a", 12.0), ("a", 11.0), ("b", 13.0)])
    # THEN it counts once, at 11
    assert book.processed_between(10.0, 11.0) == 1
    assert book.processed_between(11.0, 13.0) == 1
    assert book.processed_between(10.0, 20.0) == 2
    assert book.age_at(11.5) == pytest.approx(1.0)
    assert book.complete()
