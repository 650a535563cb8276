"""The readings of a device-minute: their compact text (window state and partial items),
and how the copies of one reading are merged (exactly once, conflicts, reboots)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.shared.aggregates import BucketKey, Stats, range_bounds
from lambdas.shared.minute_merge import merge_minute
from lambdas.shared.partials import (
    partial_items_of_cell,
    partial_sort_key,
    split_readings,
    totals_from_partials,
)
from lambdas.shared.readings import CellWriter, ReadingEntry, parse_cell
from tests.factories.partials import partial_from_entries, reading

MINUTE = 1_763_899_980  # 2025-11-23T12:13:00Z
KEY = BucketKey("dev-1", "plant-a", "temperature_c", MINUTE)


def entry(seq: int, *, boot: int = 0, offset_ms: int = 0, site: str = "plant-a",
          **metrics: str) -> ReadingEntry:
    return ReadingEntry.of(boot=boot, seq=seq, ts_ms=MINUTE * 1000 + offset_ms, site=site,
                           metrics={name: Decimal(value) for name, value in metrics.items()})


def round_trip(*entries: ReadingEntry) -> list[ReadingEntry]:
    writer = CellWriter(MINUTE)
    for one in entries:
        writer.append(one)
    sites, metrics, text, count = writer.to_compact()
    assert count == len(entries)
    return list(parse_cell(MINUTE, sites, metrics, text))


# The cell text ---------------------------------------------------------------------------


def test_the_cell_text_gives_back_every_reading_exactly():
    # GIVEN readings with boots, two sites, metrics that come and go, and values whose
    # text matters (trailing zeros, exponents, integers beyond a double's exact range)
    readings = [
        entry(917, offset_ms=123, temperature_c="21.40", humidity_pct="40.2"),
        entry(918, boot=3, offset_ms=59_999, site="plant-b", battery_v="3.71"),
        entry(0, offset_ms=0, temperature_c="1E+2", count_n="9007199254740993"),
    ]
    # WHEN they go through the compact text and back
    # THEN each reading, and the exact text of each value, is what went in
    parsed = round_trip(*readings)
    assert parsed == readings
    assert [str(v) for _, v in parsed[0].values] == ["40.2", "21.40"]
    assert str(dict(parsed[2].values)["count_n"]) == "9007199254740993"


def test_the_cell_is_compact():
    # GIVEN a minute of 1 Hz readings of three metrics
    writer = CellWriter(MINUTE)
    for seq in range(60):
        writer.append(entry(seq, offset_ms=seq * 1000, temperature_c="21.4",
                            humidity_pct="40.2", battery_v="3.71"))
    # WHEN it is saved / THEN it costs about 25 bytes per reading, headers included
    sites, metrics, text, _ = writer.to_compact()
    assert len(sites) + len(metrics) + len(text) < 60 * 28
    # AND its size estimate, used to seal window pieces, is near the truth
    assert abs(writer.size - (len(sites) + len(metrics) + len(text))) < 100


def test_appends_can_be_undone_back_to_a_checkpoint():
    # GIVEN a cell with one reading and a checkpoint
    writer = CellWriter(MINUTE)
    writer.append(entry(1, temperature_c="1"))
    before, checkpoint = writer.to_compact(), writer.checkpoint()
    # WHEN readings with a new site and metric are appended, then undone
    writer.append(entry(2, site="plant-z", new_metric="2"))
    writer.restore(checkpoint)
    # THEN the cell is what it was, and appends after that index from where it was
    assert writer.to_compact() == before
    writer.append(entry(3, site="plant-y", temperature_c="3"))
    assert writer.to_compact()[0] == "plant-a,plant-y"


@pytest.mark.parametrize("text", ["garbage", "1 70000 1.5", "x 1 1.5", "1 1@9 1.5"])
def test_text_this_module_did_not_write_is_refused(text):
    # GIVEN a malformed reading (no fields, outside the minute, bad seq, unknown site)
    # WHEN it is parsed / THEN ValueError (or IndexError for a missing site), never a guess
    with pytest.raises((ValueError, IndexError)):
        list(parse_cell(MINUTE, "plant-a", "temperature_c", text))


# Merging a device-minute -----------------------------------------------------------------


def test_copies_of_a_reading_count_once_however_many_partials_hold_them():
    # GIVEN a reading in three partials (a producer retry and a device retransmission),
    # and two other readings
    one = entry(1, temperature_c="21.4")
    copies = [one, one, entry(2, temperature_c="22.0"), one, entry(3, temperature_c="23")]
    # WHEN they are merged
    merge = merge_minute(copies)
    # THEN each reading is summed once, and the two extra copies are counted as duplicates
    assert merge.stats()["temperature_c"] == Stats(3, Decimal("66.4"), Decimal("21.4"),
                                                   Decimal("23"), Decimal("1470.96"))
    assert merge.metric_counts["temperature_c"].duplicates == 2
    assert merge.losers == []


def test_the_same_value_written_differently_is_a_duplicate_not_a_conflict():
    # GIVEN two copies whose values differ only in their text (21.4 and 21.40)
    merge = merge_minute([entry(1, temperature_c="21.40"), entry(1, temperature_c="21.4")])
    # WHEN merged / THEN one reading, kept with the smallest text, and no conflict
    assert merge.stats()["temperature_c"].count == 1
    assert str(merge.stats()["temperature_c"].total) == "21.4"
    assert merge.losers == [] and merge.metric_counts["temperature_c"].duplicates == 1


@given(st.permutations(range(5)))
def test_a_conflict_keeps_the_same_version_whatever_the_arrival_order(order):
    # GIVEN one reading identity sent with two contents (plus a copy of each), in any order
    versions = [entry(7, offset_ms=10, temperature_c="30"), entry(7, offset_ms=10,
                                                                 temperature_c="30"),
                entry(7, offset_ms=20, temperature_c="10"), entry(7, offset_ms=20,
                                                                 temperature_c="10"),
                entry(8, temperature_c="1")]
    # WHEN merged
    merge = merge_minute([versions[i] for i in order])
    # THEN the earliest event time wins, the other version is the one loser, never summed
    assert merge.stats()["temperature_c"].total == Decimal("31")
    assert merge.losers == [versions[2]]
    counts = merge.metric_counts["temperature_c"]
    # AND every copy is accounted for: kept + duplicates + conflicts
    assert merge.stats()["temperature_c"].count + counts.duplicates + counts.conflicts == 5


def test_a_rebooted_device_reusing_seq_numbers_loses_nothing():
    # GIVEN a device that rebooted within the minute and restarted its seq at 0 (boot 1),
    # and a device without a boot field whose seq restarted in the same minute
    merge = merge_minute([entry(0, boot=0, temperature_c="1"), entry(1, temperature_c="2"),
                          entry(0, boot=1, offset_ms=30_000, temperature_c="3")])
    # WHEN merged / THEN (boot, seq) tells the readings apart: all three count
    assert merge.stats()["temperature_c"].count == 3 and merge.losers == []
    # AND without a boot, the reused seq is a conflict: quarantined, not lost, not summed
    merge = merge_minute([entry(0, temperature_c="1"),
                          entry(0, offset_ms=30_000, temperature_c="3")])
    assert merge.stats()["temperature_c"].total == Decimal("1")
    assert [loser.values for loser in merge.losers] == [(("temperature_c", Decimal("3")),)]


def test_a_metric_only_the_loser_carried_gets_no_statistics():
    # GIVEN a conflict whose losing version has a metric the kept one lacks
    merge = merge_minute([entry(1, temperature_c="1"),
                          entry(1, offset_ms=5, temperature_c="1", humidity_pct="50")])
    # WHEN merged / THEN that metric is known but has no kept reading
    assert merge.metrics() == {"temperature_c", "humidity_pct"}
    assert set(merge.stats()) == {"temperature_c"}
    assert merge.metric_counts["humidity_pct"].conflicts == 1


def test_readings_keep_their_own_site_within_a_minute():
    # GIVEN a device that moved from plant-a to plant-b mid-minute
    merge = merge_minute([entry(1, temperature_c="1"), entry(2, temperature_c="2"),
                          entry(3, offset_ms=40_000, site="plant-b", temperature_c="10")])
    # WHEN merged / THEN each site's share is its own
    by_site = merge.site_stats()["temperature_c"]
    assert {site: stats.total for site, stats in by_site.items()} == {
        "plant-a": Decimal("3"), "plant-b": Decimal("10")}


# Partial items ---------------------------------------------------------------------------


def test_partial_items_are_keyed_by_device_minute_shard_and_window():
    # GIVEN a window's cell
    item = partial_from_entries("dev-42", MINUTE, [entry(1, temperature_c="21.4")],
                                "shardId-000000000000", MINUTE)
    # WHEN / THEN the key names the device, then minute, shard and window
    assert item["PK"] == "D#dev-42"
    assert item["SK"] == "P#2025-11-23T12:13#shardId-000000000000#1763899980"
    assert (item["kind"], item["count"], item["bucket"]) == ("partial", 1, MINUTE)
    assert "segment" not in item and "chunk" not in item


def test_a_cell_too_big_for_one_item_is_split_at_reading_boundaries():
    # GIVEN a cell of 3,000 readings and a 10 KB limit per item
    text = ";".join(f"{seq} {seq} {seq}.5" for seq in range(3_000))
    # WHEN it is split
    pieces = split_readings(text, 10_000)
    # THEN the pieces hold every reading in order, each piece within the limit
    assert ";".join(pieces) == text
    assert all(len(piece) <= 10_000 for piece in pieces) and len(pieces) > 3


def test_chunks_and_segments_stay_inside_the_minute_range():
    # GIVEN the SK of a chunk of a segmented piece
    key = partial_sort_key(MINUTE, "shardId-1", MINUTE, "4959", chunk=2)
    low, high = range_bounds(MINUTE, MINUTE)
    # WHEN / THEN it sorts inside its minute's bounds
    assert key.endswith("#4959~2") and low <= key <= high


def test_oversized_cells_become_chunk_items_that_merge_back():
    # GIVEN a cell bigger than one item holds
    writer = CellWriter(MINUTE)
    readings = [entry(seq, offset_ms=seq % 60_000, temperature_c=f"{seq}.25")
                for seq in range(30_000)]
    for one in readings:
        writer.append(one)
    # WHEN it becomes partial items
    items = partial_items_of_cell("dev-1", MINUTE, writer.to_compact(), "s-0", MINUTE)
    # THEN there are several, with distinct keys, and merged they hold every reading once
    assert len(items) > 1 and len({item["SK"] for item in items}) == len(items)
    assert sum(item["count"] for item in items) == 30_000
    totals = totals_from_partials(items)
    assert totals[("dev-1", "temperature_c", MINUTE)].count == 30_000


def test_totals_from_partials_are_the_same_in_any_order():
    # GIVEN partials of one device-minute sharing some readings
    partials = [partial_from_entries("dev-1", MINUTE, [reading(KEY, v, seq=s) for v, s in pairs],
                                     f"s-{i}", MINUTE)
                for i, pairs in enumerate([[("1", 1), ("2", 2)], [("2", 2), ("3", 3)],
                                           [("3", 3)]])]
    shuffled = partials[:]
    random.Random(5).shuffle(shuffled)
    # WHEN merged in two orders / THEN the same exact totals, each reading once
    assert totals_from_partials(partials) == totals_from_partials(shuffled) == {
        ("dev-1", "temperature_c", MINUTE): Stats(3, Decimal("6"), Decimal("1"), Decimal("3"),
                                                  Decimal("14"))}
