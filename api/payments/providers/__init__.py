"""Clients of the payment providers (WeChat Pay API v3, Alipay Open Platform): signing, verification, calls.

Our own thin layer on ``cryptography`` + ``httpx.AsyncClient`` (see ../shared/PAYMENTS.md section E): every
client takes its base URL and an optional httpx transport, so tests reach the local fakes over real HTTP.
"""
