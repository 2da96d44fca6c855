"""Commands to piles: one way to ask a pile to do something and learn what it answered.

Callers name a protocol-neutral command; a gateway carries it to the pile's socket. The local gateway (the
OCPP adapter of this node) is plugged in at composition; a gateway that routes to the node holding the socket
can replace it without changing callers.
"""
