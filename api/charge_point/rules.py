"""Pure rules of pile security: what each OCPP security profile demands at the handshake, and which
passwords a pile can hold.

Profiles (OCPP 1.6 Security Whitepaper ed. 2 §2; OCPP 2.0.1 part 2 A00): 0 none, 1 HTTP Basic auth,
2 TLS and Basic auth, 3 TLS with a client certificate. A pile with a password must present it whatever
its profile (profile 0 only lets a pile *without* one connect bare); profile 3 relies on the certificate
alone, as the specifications prescribe.
"""

from __future__ import annotations

import re
import secrets
import string

from api.charge_point.dto import HandshakeProof
from api.charge_point.errors import HandshakeRefused, PileNotAuthenticated, PileNotPermitted, RefusalReason

PROFILES = (0, 1, 2, 3)
PASSWORD_PROFILES = (1, 2)
"""Profiles that authenticate with a password: a pile needs one before it is moved to them."""

PASSWORD_CHARACTERS = re.compile(r"[A-Za-z0-9*\-_=:+|@.]+")
"""2.0.1's passwordString alphabet (part 2, appendix 1); 1.6 piles get the same, so a password survives a
change of protocol and its bytes are its characters."""
PASSWORD_LENGTHS = {"ocpp1.6": (16, 20), "ocpp2.0.1": (16, 40)}
"""1.6: AuthorizationKey holds 16 to 20 bytes (Security Whitepaper ed. 2; OCTT TC_073); 2.0.1:
BasicAuthPassword holds 16 to 40 characters. A pile of unknown protocol gets the narrower range."""
GENERATED_LENGTHS = {"ocpp1.6": 20, "ocpp2.0.1": 32}
_ALPHABET = string.ascii_letters + string.digits


def password_range(protocol: str) -> tuple[int, int]:
    return PASSWORD_LENGTHS.get(protocol, PASSWORD_LENGTHS["ocpp1.6"])


def generate_password(protocol: str) -> str:
    """A random password of the longest length the protocol's piles hold (≥ 119 bits of entropy)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTHS.get(protocol, 20)))


def password_problem(password: str, protocol: str) -> str | None:
    """Why ``password`` cannot be a pile's Basic auth password, or None."""
    low, high = password_range(protocol)
    if not low <= len(password) <= high:
        return f"a pile's password has {low} to {high} characters ({protocol or 'protocol not known yet'})"
    if not PASSWORD_CHARACTERS.fullmatch(password):
        return "a pile's password uses only letters, digits and * - _ = : + | @ ."
    return None


def effective_profile(own: int, default: int) -> int:
    """The profile a pile must meet: its own, or the deployment's default when it has none.

    The column holds 0 for "none of its own" (every new row, registered or auto-registered, starts there), so
    an operator cannot pin one pile below a default of 1 or more: DESIGN §4 wants every pile to authenticate
    unless a development setting (the default of 0) says otherwise."""
    return own or default


def handshake_refusal(
    charge_point_id: str, profile: int, has_password: bool, proof: HandshakeProof
) -> HandshakeRefused | None:
    """What the profile refuses before any password is checked; None when a password check (or nothing)
    remains. A pile that passes here with a password set must still present the right one."""
    if profile >= 2 and not proof.secure:
        return PileNotPermitted(RefusalReason.TLS_REQUIRED, f"security profile {profile} needs TLS (wss://)")
    if profile == 3:
        if proof.certificate_names is None:
            return PileNotPermitted(RefusalReason.MISSING_CLIENT_CERT, "security profile 3 needs a client certificate")
        if charge_point_id not in proof.certificate_names:
            shown = ", ".join(proof.certificate_names)[:120]
            return PileNotPermitted(
                RefusalReason.WRONG_CLIENT_CERT, f"the client certificate names {shown!r}, not {charge_point_id!r}"
            )
        return None
    if not has_password:
        if profile == 0:
            return None
        return PileNotAuthenticated(
            RefusalReason.NO_PASSWORD,
            f"security profile {profile} needs a password and none is set: set one (setChargePointPassword with "
            "applyOnPile false), configure it on the pile, and let the pile connect again",
        )
    if proof.password is None:
        return PileNotAuthenticated(RefusalReason.MISSING_CREDENTIALS, "HTTP Basic credentials are required")
    if proof.username != charge_point_id:
        return PileNotAuthenticated(RefusalReason.WRONG_CREDENTIALS, "the Basic auth user name is not the pile's id")
    return None
