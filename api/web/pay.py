"""Provider notifications, and the sandbox's pay button.

``POST /pay/notify/{provider}``: the provider's notification is verified, stored once in the inbox, and
acknowledged in the provider's own words; the order worker applies it. A forged or tampered notification is
refused (the provider would retry it; a forger gets nothing) and changes nothing.

``POST /sandbox/pay/{out_trade_no}``: only when the sandbox provider is configured (the embedded default):
what a driver's "pay" tap does in the demo. Sandbox money is not real money.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.container import Services
from api.core.errors import DomainError

MAX_NOTIFICATION_BYTES = 64 * 1024


def pay_routes(services: Services) -> list[Route]:
    async def notify(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_NOTIFICATION_BYTES:
            return PlainTextResponse("too large", status_code=413)
        answer = await services.orders.receive_notification(
            request.path_params["provider"], dict(request.headers), body
        )
        return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)

    async def sandbox_pay(request: Request) -> Response:
        sandbox = services.sandbox
        if sandbox is None:
            return PlainTextResponse("the sandbox is not enabled", status_code=404)
        try:
            await sandbox.pay(request.path_params["out_trade_no"])
        except DomainError as error:
            return PlainTextResponse(error.message, status_code=400)
        return PlainTextResponse("paid (sandbox: not real money)")

    return [
        Route("/pay/notify/{provider:str}", notify, methods=["POST"]),
        Route("/sandbox/pay/{out_trade_no:str}", sandbox_pay, methods=["POST"]),
    ]
