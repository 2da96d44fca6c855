"""A pile simulator: OCPP 1.6J charge points (the ``ocpp`` library's charge-point side over ``websockets``)
doing whole DC (GB/T 27930) and AC sessions with realistic power curves. ``chargeops simulate`` runs it.

It is a pile, not part of the server: it talks to any server only over OCPP.
"""
