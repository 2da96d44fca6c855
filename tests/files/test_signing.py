"""UrlSigner and derive_key: what a signature covers, how it fails, and the key derivation."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from api.files.signing import BadSignature, LinkExpired, UrlSigner, canonical, derive_key

SIGNER = UrlSigner(derive_key("k" * 32, "files/url"))
KEY = "stations/9/manual.pdf"
EXPIRES = 1_900_000_000
PARAMS = {"filename": "说明书.pdf", "type": "application/pdf"}


def test_signature_is_urlsafe_base64_without_padding_of_a_sha256_mac() -> None:
    signature = SIGNER.sign("GET", KEY, EXPIRES, PARAMS)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32
    assert SIGNER.sign("GET", KEY, EXPIRES, PARAMS) == signature  # deterministic


def test_a_good_signature_verifies_until_it_expires() -> None:
    signature = SIGNER.sign("GET", KEY, EXPIRES, PARAMS)
    SIGNER.verify("GET", KEY, EXPIRES, PARAMS, signature, now=EXPIRES - 100)
    SIGNER.verify("GET", KEY, EXPIRES, PARAMS, signature, now=EXPIRES)
    with pytest.raises(LinkExpired) as caught:
        SIGNER.verify("GET", KEY, EXPIRES, PARAMS, signature, now=EXPIRES + 1)
    assert caught.value.code == "LINK_EXPIRED"


def test_method_is_signed_so_a_download_link_is_no_upload_link() -> None:
    download = SIGNER.sign("GET", KEY, EXPIRES, PARAMS)
    upload = SIGNER.sign("PUT", KEY, EXPIRES, PARAMS)
    assert download != upload
    with pytest.raises(BadSignature):
        SIGNER.verify("PUT", KEY, EXPIRES, PARAMS, download, now=0)
    with pytest.raises(BadSignature):
        SIGNER.verify("POST", KEY, EXPIRES, PARAMS, upload, now=0)
    SIGNER.verify("put", KEY, EXPIRES, PARAMS, upload, now=0)  # the method's case does not matter


@pytest.mark.parametrize(
    ("method", "key", "expires", "params"),
    [
        ("HEAD", KEY, EXPIRES, PARAMS),
        ("GET", "stations/9/other.pdf", EXPIRES, PARAMS),
        ("GET", KEY, EXPIRES + 1, PARAMS),
        ("GET", KEY, EXPIRES, {**PARAMS, "filename": "说明书.exe"}),
        ("GET", KEY, EXPIRES, {**PARAMS, "type": "text/html"}),
        ("GET", KEY, EXPIRES, {"filename": PARAMS["filename"]}),
        ("GET", KEY, EXPIRES, {**PARAMS, "size": "10"}),
        ("GET", KEY, EXPIRES, {"file-name": PARAMS["filename"], "type": PARAMS["type"]}),
        ("GET", KEY, EXPIRES, {}),
    ],
)
def test_changing_anything_signed_breaks_the_signature(
    method: str, key: str, expires: int, params: dict[str, str]
) -> None:
    signature = SIGNER.sign("GET", KEY, EXPIRES, PARAMS)
    with pytest.raises(BadSignature) as caught:
        SIGNER.verify(method, key, expires, params, signature, now=0)
    assert caught.value.code == "BAD_SIGNATURE"


@pytest.mark.parametrize("signature", ["", "x", "A" * 43, "é" * 43, "\udcff", "a b"])
def test_garbage_signatures_are_bad_not_crashes(signature: str) -> None:
    with pytest.raises(BadSignature):
        SIGNER.verify("GET", KEY, EXPIRES, PARAMS, signature, now=0)


def test_a_forged_expiry_is_a_bad_signature_even_when_it_is_past() -> None:
    signature = SIGNER.sign("GET", KEY, EXPIRES, PARAMS)
    with pytest.raises(BadSignature):
        SIGNER.verify("GET", KEY, EXPIRES - 10, PARAMS, signature, now=EXPIRES)


def test_another_secret_does_not_verify() -> None:
    other = UrlSigner(derive_key("j" * 32, "files/url"))
    with pytest.raises(BadSignature):
        other.verify("GET", KEY, EXPIRES, PARAMS, SIGNER.sign("GET", KEY, EXPIRES, PARAMS), now=0)


def test_canonical_string_cannot_be_shifted_between_fields() -> None:
    assert canonical("GET", "a", 1, {"x": "1&y=2"}) != canonical("GET", "a", 1, {"x": "1", "y": "2"})
    assert canonical("GET", "a\nGET", 1, {}) != canonical("GET", "a", 1, {"get": ""})
    assert b"\n" not in canonical("GET", "a", 1, {"x": "line\nbreak"}).split(b"\n", 4)[4]
    assert canonical("GET", "k", 5, {"b": "2", "a": "1"}) == canonical("GET", "k", 5, {"a": "1", "b": "2"})


@pytest.mark.parametrize("method", ["DELETE", "GETX", ""])
def test_only_known_methods_are_signed(method: str) -> None:
    with pytest.raises(ValueError):
        SIGNER.sign(method, KEY, EXPIRES)


@pytest.mark.parametrize("name", ["expires", "sig", "Type", "", "a b", "x" * 40])
def test_reserved_or_odd_parameter_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        SIGNER.sign("GET", KEY, EXPIRES, {name: "v"})


def test_signer_needs_a_real_secret() -> None:
    with pytest.raises(ValueError):
        UrlSigner(b"short")


def test_derive_key_is_hkdf_sha256() -> None:
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"chargeops-key-derivation", info=b"files/url"
    ).derive(b"s" * 40)
    assert derive_key("s" * 40, "files/url") == expected


def test_derived_keys_are_independent_per_purpose_and_secret() -> None:
    keys = {
        derive_key("s" * 40, "files/url"),
        derive_key("s" * 40, "files/upload"),
        derive_key("s" * 40, "jwt"),
        derive_key("t" * 40, "files/url"),
    }
    assert len(keys) == 4
    assert all(len(key) == 32 for key in keys)
    assert derive_key("s" * 40, "files/url") == derive_key("s" * 40, "files/url")
    assert derive_key("密钥" * 20, "files/url") != derive_key("s" * 40, "files/url")


@pytest.mark.parametrize(("secret", "purpose"), [("", "files/url"), ("s" * 40, "")])
def test_derive_key_refuses_empty_inputs(secret: str, purpose: str) -> None:
    with pytest.raises(ValueError):
        derive_key(secret, purpose)


param_names = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True).filter(
    lambda n: n not in ("expires", "sig")
)


@given(
    key=st.text(min_size=1, max_size=60),
    expires=st.integers(min_value=0, max_value=2**40),
    params=st.dictionaries(param_names, st.text(max_size=40), max_size=4),
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST"]),
)
def test_any_signed_values_verify_and_any_changed_value_does_not(
    key: str, expires: int, params: dict[str, str], method: str
) -> None:
    signature = SIGNER.sign(method, key, expires, params)
    SIGNER.verify(method, key, expires, params, signature, now=expires)
    with pytest.raises(BadSignature):
        SIGNER.verify(method, key + "x", expires, params, signature, now=0)
    for name, value in params.items():
        with pytest.raises(BadSignature):
            SIGNER.verify(method, key, expires, {**params, name: value + "x"}, signature, now=0)
