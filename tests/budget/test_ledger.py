"""One contract, run against every storage backend."""

import pytest

from mcp_guard.budget import TierExceeded, TierUsage, Window
from mcp_guard.budget.ledger import to_micros

from .conftest import T0, TTL, charge, utc

pytestmark = pytest.mark.anyio

CUSTOMER, TEAM, KEY = "customer:acme", "team:engineering", "key:k1"
CENT = to_micros(0.01)


def tiers(customer=10.0, team=1.0, key=0.5):
    return [charge(CUSTOMER, customer), charge(TEAM, team), charge(KEY, key)]


async def usage(ledger, now=T0):
    return [await ledger.spent(key, now) for key in (CUSTOMER, TEAM, KEY)]


async def test_commit_books_spend_at_every_tier(ledger):
    reservation = await ledger.reserve(tiers(), 3 * CENT, T0)
    assert [u.reserved for u in await usage(ledger)] == [3 * CENT] * 3
    assert await ledger.commit(reservation, 3 * CENT, T0 + 1)
    window = Window(T0, utc(2024, 4, 14, 12))
    assert await usage(ledger) == [
        TierUsage(3 * CENT, 0, to_micros(10), window),
        TierUsage(3 * CENT, 0, to_micros(1), window),
        TierUsage(3 * CENT, 0, to_micros(0.5), window),
    ]


async def test_release_refunds_every_tier(ledger):
    reservation = await ledger.reserve(tiers(), 3 * CENT, T0)
    assert await ledger.release(reservation)
    assert [(u.spent, u.reserved) for u in await usage(ledger)] == [(0, 0)] * 3
    assert not await ledger.release(reservation)
    assert not await ledger.commit(reservation, 3 * CENT, T0)


async def test_a_commit_may_book_less_but_never_more(ledger):
    reservation = await ledger.reserve(tiers(), 3 * CENT, T0)
    with pytest.raises(ValueError, match="cannot commit 40000"):
        await ledger.commit(reservation, 4 * CENT, T0)
    assert await ledger.commit(reservation, CENT, T0)
    assert [u.spent for u in await usage(ledger)] == [CENT] * 3


async def test_holds_count_against_the_limit(ledger):
    await ledger.reserve(tiers(key=0.05), 2 * CENT, T0)
    await ledger.reserve(tiers(key=0.05), 2 * CENT, T0)
    with pytest.raises(TierExceeded) as refused:
        await ledger.reserve(tiers(key=0.05), 2 * CENT, T0)
    assert (refused.value.key, refused.value.spent, refused.value.reserved) == (KEY, 0, 4 * CENT)
    assert (refused.value.limit, refused.value.amount) == (5 * CENT, 2 * CENT)


async def test_a_refusing_tier_leaves_every_other_tier_untouched(ledger):
    first = await ledger.reserve(tiers(key=0.03), 2 * CENT, T0)
    await ledger.commit(first, 2 * CENT, T0)
    with pytest.raises(TierExceeded) as refused:
        await ledger.reserve(tiers(key=0.03), 2 * CENT, T0 + 1)
    assert refused.value.key == KEY
    # customer and team were checked first and had room; neither holds nor spends anything more
    assert [(u.spent, u.reserved) for u in await usage(ledger, T0 + 1)] == [(2 * CENT, 0)] * 3


async def test_the_first_tier_without_room_is_named(ledger):
    with pytest.raises(TierExceeded) as refused:
        await ledger.reserve(tiers(customer=0.01, team=0.01), 2 * CENT, T0)
    assert refused.value.key == CUSTOMER


async def test_unsettled_reservations_expire_and_are_reclaimed(ledger):
    lost = await ledger.reserve(tiers(), to_micros(0.5), T0)  # the process "crashes" holding the key's budget
    with pytest.raises(TierExceeded):
        await ledger.reserve(tiers(), CENT, T0 + TTL - 1)
    assert (await ledger.spent(KEY, T0 + TTL)).reserved == 0  # no longer counted once expired
    fresh = await ledger.reserve(tiers(), to_micros(0.5), T0 + TTL)
    assert not await ledger.commit(lost, to_micros(0.5), T0 + TTL)  # reclaimed: nothing to book
    assert await ledger.commit(fresh, to_micros(0.5), T0 + TTL)
    assert (await ledger.spent(KEY, T0 + TTL)).spent == to_micros(0.5)


async def test_calendar_counters_reset_when_the_period_rolls_over(ledger):
    hourly = [charge(KEY, 0.02, "1h", calendar=True)]
    now = utc(2024, 3, 14, 12, 59, 59)
    await ledger.commit(await ledger.reserve(hourly, 2 * CENT, now), 2 * CENT, now)
    with pytest.raises(TierExceeded):
        await ledger.reserve(hourly, CENT, now + 0.5)
    assert await ledger.spent(KEY, now + 1) == TierUsage(0, 0, 2 * CENT, Window(now + 1, now + 3601))
    await ledger.reserve(hourly, 2 * CENT, now + 1)


async def test_rolling_counters_restart_at_the_first_spend_after_the_window(ledger):
    daily = [charge(KEY, 0.02, "1d")]
    await ledger.commit(await ledger.reserve(daily, 2 * CENT, T0), 2 * CENT, T0)
    assert await ledger.spent(KEY, T0 + 86400) == TierUsage(0, 0, 2 * CENT, None)  # no window open
    later = T0 + 3 * 86400 + 5
    await ledger.commit(await ledger.reserve(daily, CENT, later), CENT, later)
    assert await ledger.spent(KEY, later) == TierUsage(CENT, 0, 2 * CENT, Window(later, later + 86400))


async def test_a_hold_across_a_rollover_is_booked_in_the_new_window(ledger):
    hourly = [charge(KEY, 0.02, "1h", calendar=True)]
    before = utc(2024, 3, 14, 12, 59, 59)
    reservation = await ledger.reserve(hourly, 2 * CENT, before)
    with pytest.raises(TierExceeded):  # still held against the new window while the call runs
        await ledger.reserve(hourly, CENT, before + 2)
    await ledger.commit(reservation, 2 * CENT, before + 3)
    assert (await ledger.spent(KEY, before + 3)).spent == 2 * CENT


async def test_a_lowered_limit_applies_at_once(ledger):
    await ledger.commit(await ledger.reserve(tiers(), 3 * CENT, T0), 3 * CENT, T0)
    with pytest.raises(TierExceeded) as refused:
        await ledger.reserve(tiers(key=0.03), CENT, T0)
    assert refused.value.limit == 3 * CENT


async def test_unknown_tiers_report_nothing(ledger):
    assert await ledger.spent("team:nobody", T0) == TierUsage(0, 0, None, None)


@pytest.mark.parametrize(
    ("charges", "amount", "message"),
    [
        ([], 1, "at least one tier"),
        ([charge(KEY, 1), charge(KEY, 1)], 1, "names a tier twice"),
        ([charge(KEY, 1)], 0, "positive amount"),
    ],
)
async def test_malformed_reservations_are_refused(ledger, charges, amount, message):
    with pytest.raises(ValueError, match=message):
        await ledger.reserve(charges, amount, T0)


async def test_a_reservation_can_be_named_after_its_call_and_holds_list_it(ledger):
    named = await ledger.reserve(tiers(), 3 * CENT, T0, reservation="call-7")
    other = await ledger.reserve(tiers(), CENT, T0 + 1)
    assert named == "call-7" and other != named
    listed = sorted((hold.reservation, hold.amount, hold.expires) for hold in await ledger.holds())
    assert listed == sorted([("call-7", 3 * CENT, T0 + TTL), (other, CENT, T0 + 1 + TTL)])
    assert await ledger.commit("call-7", 3 * CENT, T0 + 2)
    assert [hold.reservation for hold in await ledger.holds()] == [other]


async def test_tiers_lists_every_counter_in_its_current_window(ledger):
    await ledger.commit(await ledger.reserve(tiers(), 3 * CENT, T0), 3 * CENT, T0)
    await ledger.reserve(tiers(), CENT, T0)  # a live hold
    listed = await ledger.tiers(T0 + 1)
    assert sorted(listed) == sorted([CUSTOMER, TEAM, KEY])
    window = Window(T0, utc(2024, 4, 14, 12))
    assert listed[TEAM] == TierUsage(3 * CENT, CENT, to_micros(1), window)
