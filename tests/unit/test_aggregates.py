"""Aggregate model: exact Stats algebra, buckets, totals and their combination."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lambdas.shared.aggregates import (
    BucketKey,
    Stats,
    bucket_start,
    combine,
    total_item,
)

# Realistic readings as the contract produces them (shortest repr of a double): up to 1e9
# with up to 6 decimals. Within that range, 38-digit Stats arithmetic is exact.
values = st.decimals(
    min_value=-1_000_000_000, max_value=1_000_000_000, places=6, allow_nan=False,
    allow_infinity=False,
).map(lambda d: Decimal(repr(float(d))))
value_lists = st.lists(values, min_size=1, max_size=20)


def stats_of(vs: list[Decimal]) -> Stats:
    stats = Stats.of(vs[0])
    for v in vs[1:]:
        stats.add(v)
    return stats


def merged(*parts: Stats) -> Stats:
    total = parts[0].copy()
    for part in parts[1:]:
        total.merge(part)
    return total


@given(value_lists, value_lists, value_lists)
def test_merge_is_associative_and_commutative(a, b, c):
    # GIVEN the stats of three sets of values
    sa, sb, sc = stats_of(a), stats_of(b), stats_of(c)

    # WHEN they are merged in different groupings and orders
    left = merged(merged(sa, sb), sc)
    right = merged(sa, merged(sb, sc))
    swapped = merged(sc, sb, sa)

    # THEN the results are identical
    assert left == right == swapped


@given(value_lists, value_lists)
def test_merging_partials_equals_stats_of_all_values(a, b):
    # GIVEN values split into two partials
    # WHEN the partials are merged
    total = merged(stats_of(a), stats_of(b))

    # THEN they equal the stats of every value at once
    assert total == stats_of(a + b)
    assert total.count == len(a) + len(b)
    assert total.minimum == min(a + b) and total.maximum == max(a + b)


@given(value_lists)
def test_compact_form_round_trips_exactly(vs):
    # GIVEN some stats
    stats = stats_of(vs)

    # WHEN they go through the compact state form
    # THEN nothing is lost
    assert Stats.from_compact(stats.to_compact()) == stats


def test_bucket_start_is_the_event_time_minute():
    # GIVEN event times around a minute boundary (2025-11-23T12:13:00Z = 1763899980)
    # WHEN / THEN they fall in the minute that holds them
    assert bucket_start(1_763_899_980_000) == 1_763_899_980
    assert bucket_start(1_763_900_039_999) == 1_763_899_980
    assert bucket_start(1_763_900_040_000) == 1_763_900_040


def test_combine_sums_items_per_series_and_bucket():
    # GIVEN two items of one cell and one of another minute
    key = BucketKey("dev-1", "plant-a", "battery_v", 60 * 29_398_333)
    later = BucketKey("dev-1", "plant-a", "battery_v", key.bucket + 60)
    items = [
        total_item(key, stats_of([Decimal("3.7")]), 1),
        total_item(key, stats_of([Decimal("3.6"), Decimal("3.8")]), 1),
        total_item(later, stats_of([Decimal("3.5")]), 1),
    ]

    # WHEN they are combined
    totals = combine(items)

    # THEN each (device, metric, bucket) has the stats of all its values
    assert totals[("dev-1", "battery_v", key.bucket)] == stats_of(
        [Decimal("3.7"), Decimal("3.6"), Decimal("3.8")]
    )
    assert totals[("dev-1", "battery_v", later.bucket)].count == 1


def test_sums_of_squares_do_not_depend_on_merge_order():
    # GIVEN readings whose squares need more than the default 28 significant digits
    big, small_a, small_b = Decimal("1000000000.0"), Decimal("1.03125"), Decimal("1.65625")

    # WHEN they are merged in two orders
    one = merged(Stats.of(big), Stats.of(small_a), Stats.of(small_b))
    other = merged(Stats.of(small_b), Stats.of(small_a), Stats.of(big))

    # THEN the sums of squares are the same exact number
    assert one.sum_squares == other.sum_squares == Decimal("1000000000000000003.806640625")


def test_mean_is_total_over_count():
    # GIVEN three readings
    stats = stats_of([Decimal("1"), Decimal("2"), Decimal("4")])

    # WHEN / THEN the mean is derived from sum and count, to 38 digits
    assert stats.mean == Decimal("2." + "3" * 37)
