"""Prometheus metrics of a node, defined in one place (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

piles_connected = Gauge("chargeops_piles_connected", "Piles holding a socket on this node")
ocpp_messages = Counter(
    "chargeops_ocpp_messages_total", "OCPP calls from piles, by action and what we answered", ["action", "result"]
)
ocpp_ack_seconds = Histogram(
    "chargeops_ocpp_ack_seconds", "From a pile's call received to our answer sent",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
commands = Counter("chargeops_commands_total", "Commands to piles, by command and outcome", ["command", "outcome"])
database_errors = Counter("chargeops_database_errors_total", "Database errors met while handling piles' calls")
bus_lag_seconds = Histogram(
    "chargeops_bus_lag_seconds", "From an event published (any node) to its delivery on this node (Redis bus)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
subscriptions_active = Gauge("chargeops_subscriptions_active", "Live event subscriptions on this node (GraphQL and internal)")
ocpp_handshake_refusals = Counter(
    "chargeops_ocpp_handshake_refusals_total",
    "Pile WebSocket handshakes refused, by reason (a closed set: charge_point.errors.RefusalReason)", ["reason"],
)
ocpp_handshakes_throttled = Counter(
    "chargeops_ocpp_handshakes_throttled_total",
    "Pile WebSocket handshakes answered 429 at once (no password check, no database write), by the limit "
    "reached: address or pile", ["limit"],
)
ocpp_handshake_refusals_summed = Counter(
    "chargeops_ocpp_handshake_refusals_summed_total",
    "Refused handshakes of a pile past its limit: kept in the window's one summary SecurityEvent, not one each",
)
