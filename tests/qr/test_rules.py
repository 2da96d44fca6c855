"""Pure rules of QR entry: codes, browser detection, and the links into each mini-program."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from api.models.enums import ConnectorStatus
from api.qr import rules
from api.qr.rules import ClientKind

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; PGT-AL10 Build/HUAWEIPGT-AL10; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 MMWEBSDK/20230504 "
    "MMWEBID/5513 "
    "MicroMessenger/8.0.37.2380(0x28002537) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
ALIPAY_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Ariver/1.1.0 AliApp(AP/10.3.90.6000) Nebula WK RVKType(0) "
    "AlipayDefined(nt:WIFI,ws:390|780|3.0) "
    "AlipayClient/10.3.90.6000 Language/zh-Hans Region/CN NebulaX/1.0.0"
)
SAFARI_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
URL = "https://charge.example.cn/q/7K3M9QX2TB"


def test_new_codes_are_valid_distinct_and_unambiguous():
    # when
    codes = {rules.new_code() for _ in range(2000)}

    # then
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == rules.CODE_LENGTH
        assert rules.normalize_code(code) == code
        assert not set(code) & set("ILOU")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7K3M9QX2TB", "7K3M9QX2TB"),
        (" 7k3m9qx2tb ", "7K3M9QX2TB"),
        ("O0I1L00000", "0011100000"),  # read off a sticker: O is 0, I and L are 1
        ("7K3M9QX2T", None),
        ("7K3M9QX2TBB", None),
        ("7K3M9QX2TU", None),
        ("7K3M9QX2T!", None),
        ("", None),
        ("../../etc", None),
    ],
)
def test_normalize_code(raw, expected):
    assert rules.normalize_code(raw) == expected


def test_qr_url_is_the_public_url_and_the_code():
    assert rules.qr_url("https://charge.example.cn/", "7K3M9QX2TB") == URL


@pytest.mark.parametrize(
    ("user_agent", "kind"),
    [
        (WECHAT_UA, ClientKind.WECHAT),
        (ALIPAY_UA, ClientKind.ALIPAY),
        (SAFARI_UA, ClientKind.OTHER),
        ("", ClientKind.OTHER),
        ("micromessenger/8.0", ClientKind.OTHER),  # the markers are matched as the apps write them
    ],
)
def test_client_kind(user_agent, kind):
    assert rules.client_kind(user_agent) == kind


def test_wechat_scheme_opens_the_connector_page_with_the_url_as_q():
    # when
    scheme = rules.wechat_scheme("wx0123456789abcdef", URL)

    # then
    parts = urlsplit(scheme)
    assert (parts.scheme, parts.netloc, parts.path) == ("weixin", "dl", "/business/")
    params = parse_qs(parts.query)
    assert params["appid"] == ["wx0123456789abcdef"]
    assert params["path"] == [rules.MINIPROGRAM_PAGE] and not rules.MINIPROGRAM_PAGE.startswith("/")
    assert params["env_version"] == ["release"]
    # the page's onLoad(query) gets q = the URL, url-encoded once, as after a scan
    page_query = parse_qs(params["query"][0])
    assert unquote(page_query["q"][0]) == URL


def test_wechat_scheme_refuses_a_query_longer_than_wechat_takes():
    with pytest.raises(ValueError):
        rules.wechat_scheme("wx0123456789abcdef", "https://x.cn/q/" + "A" * 600)


def test_alipay_scheme_and_link_open_the_connector_page_with_the_url_as_qr_code():
    # when
    scheme = rules.alipay_scheme("2021004100000000", URL)
    link = rules.alipay_link("2021004100000000", URL)

    # then
    assert scheme.startswith("alipays://platformapi/startapp?")
    params = parse_qs(urlsplit(scheme).query)
    assert params["appId"] == ["2021004100000000"]
    assert params["page"] == [rules.MINIPROGRAM_PAGE]
    assert unquote(parse_qs(params["query"][0])["qrCode"][0]) == URL
    assert urlsplit(link).netloc == "ds.alipay.com"
    assert parse_qs(urlsplit(link).query)["scheme"] == [scheme]


def test_every_status_has_a_label_and_an_offline_pile_says_offline():
    assert all(rules.STATUS_LABELS[s] for s in ConnectorStatus)
    assert rules.status_label(ConnectorStatus.AVAILABLE, pile_online=True) == "空闲"
    assert rules.status_label(ConnectorStatus.AVAILABLE, pile_online=False) == "离线"
