"""The shared streams' bookkeeping: which documents are shared, and how a member that falls behind is dropped."""

from __future__ import annotations

from api.graphql.fanout import SharedSubscriptions, _End, shareable_field
from api.graphql.schema import schema


def test_only_a_single_shareable_root_field_of_a_subscription_is_shared():
    assert shareable_field("subscription($id: ID!) { sessionUpdates(sessionId: $id) { __typename } }", None) == (
        "sessionUpdates"
    )
    assert shareable_field("subscription S { live: connectorStatus(stationId: 1) { status } }", "S") == (
        "connectorStatus"
    )
    assert shareable_field("subscription($id: ID!) { orderUpdates(orderId: $id) { __typename } }", None) is None
    assert shareable_field("query { stationsNear(latitude: 30, longitude: 120) { id } }", None) is None
    assert shareable_field("subscription { sessionUpdates(sessionId: 1) { __typename } ", None) is None  # no parse
    assert shareable_field(
        "subscription A { sessionUpdates(sessionId: 1) { __typename } } subscription B { x }", None
    ) is None  # which one? strawberry answers that
    assert shareable_field(
        "subscription($s: Boolean!) { sessionUpdates(sessionId: 1) @include(if: $s) { __typename } }", None
    ) is None


async def test_a_member_that_falls_behind_is_dropped_and_the_others_keep_everything():
    # given: a group whose members may be two frames behind
    hub = SharedSubscriptions(schema, queue_size=2)
    group, new = hub.group(("q", None, "{}", ("viewer", None)), None)
    slow, fast = group.join(), group.join()

    # when: three frames, the fast member reading each as it comes
    got = []
    for frame in ('{"n": 1}', '{"n": 2}', '{"n": 3}'):
        group.broadcast(frame)
        got.append(await fast.next())
    group.broadcast(_End())

    # then
    assert new
    assert got == ['{"n": 1}', '{"n": 2}', '{"n": 3}']
    assert isinstance(await fast.next(), _End)
    end = await slow.next()
    assert isinstance(end, _End)
    assert end.dropped == "subscriber fell 2 events behind and was dropped"
    assert slow.received == 0


def test_the_last_member_to_leave_ends_the_group():
    # given
    hub = SharedSubscriptions(schema)
    key = ("q", None, "{}", ("viewer", None))
    group, _ = hub.group(key, None)
    first, second = group.join(), group.join()

    # when / then
    group.leave(first)
    assert hub.group(key, None) == (group, False)
    assert hub.subscriber_count() == 1
    group.leave(second)
    assert hub.subscriber_count() == 0
    assert hub.group(key, None)[1] is True  # a new group: the old one is gone
