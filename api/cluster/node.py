"""One node of several: it proves it is alive, frees the piles of nodes that died, and routes commands.

- **Liveness**: the node keeps ``{prefix}node:{name}`` in Redis with a short expiry, renewed a few times per
  expiry. A node that stops (SIGKILL included) disappears when its key expires.
- **Which node holds a pile**: the pile's row records the node that holds its socket (``ChargePoint.node``).
  Every node sweeps: piles online at a node whose liveness key is gone are marked offline, so a dead node's
  piles are never addressed (nor shown online) for longer than the expiry plus one sweep.
- **Commands**: a command for a pile held here goes to its socket; for a pile held by another live node it is
  published to that node's command channel, which executes it on the pile and publishes the answer back to
  the asking node's reply channel: the caller gets the same typed ``CommandResult`` as locally. Nobody
  listening (the node just died) is ``OFFLINE``; no answer in time is ``TIMED_OUT``. A command's secret
  fields (a pile's new password) are sealed with a key derived from CHARGEOPS_SECRET_KEY and bound to the
  request id (``api.core.codec``): Redis never sees them in clear, and a node that cannot open them (another
  secret key) answers ``ERROR`` without sending anything to the pile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from api.cluster.events import CommandAnswered, CommandRequested
from api.commands.dto import Command, CommandGateway, CommandResult, ConfigurationKey, LocalListEntry, Outcome
from api.container import Services
from api.core.bus import SubscriberDropped, channels
from api.core.codec import DataclassCodec, SealedValueError, SecretSealer
from api.core.redis_bus import RedisBus

log = logging.getLogger(__name__)

LIVENESS_TTL_S = 15
"""How long a silent node counts as alive: its piles are freed this long (plus one sweep) after it died."""
REPLY_MARGIN_S = 5
"""Added to the pile's answer timeout when the answer comes through another node."""


SEALER_PURPOSE = "cluster-command-secrets"


def command_codec(secret_key: str = "") -> DataclassCodec:
    """The codec of commands between nodes; with ``secret_key`` (the deployment's shared secret) it can carry
    secret fields, sealed."""
    import typing

    from api.commands import dto

    sealer = SecretSealer.derived(secret_key, SEALER_PURPOSE) if secret_key else None
    return DataclassCodec(
        lambda: [*typing.get_args(dto.Command), CommandResult, ConfigurationKey, LocalListEntry], sealer
    )


class ClusterNode:
    def __init__(self, services: Services, bus: RedisBus, local: CommandGateway, *,
                 liveness_ttl_s: int = LIVENESS_TTL_S, name: str | None = None) -> None:
        self.services = services
        self.bus = bus
        self.local = local
        self.name = name or services.charge_points.node
        self.liveness_ttl_s = liveness_ttl_s
        self.codec = command_codec(services.secret_key)
        self._waiting: dict[str, asyncio.Future[CommandResult]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._replies_ready = asyncio.Event()
        self._commands_ready = asyncio.Event()

    def liveness_key(self, node: str) -> str:
        return f"{self.bus.prefix}node:{node}"

    async def start(self) -> None:
        await self._beat()
        self._tasks = [
            asyncio.create_task(self._beating(), name="cluster liveness"),
            asyncio.create_task(self._sweeping(), name="cluster sweeper"),
            asyncio.create_task(self._serve(channels.node_commands(self.name), self._on_request, self._commands_ready),
                                name="cluster commands"),
            asyncio.create_task(self._serve(channels.node_replies(self.name), self._on_reply, self._replies_ready),
                                name="cluster replies"),
        ]
        await asyncio.wait_for(asyncio.gather(self._replies_ready.wait(), self._commands_ready.wait()), 10)
        log.info("node %s joined the cluster", self.name)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.bus.redis.delete(self.liveness_key(self.name))

    # -- liveness and the dead nodes' piles ---------------------------------------------------------

    async def _beat(self) -> None:
        await self.bus.redis.set(self.liveness_key(self.name), "1", ex=self.liveness_ttl_s)

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.liveness_ttl_s / 3)
            try:
                await self._beat()
            except Exception as error:  # Redis away: keep trying; the node is alive, only unreachable
                log.warning("node %s could not renew its liveness: %s", self.name, error)

    async def sweep(self) -> int:
        """Free the piles of nodes whose liveness expired; returns how many were freed."""
        nodes = [n for n in await self.services.charge_points.nodes_holding_piles() if n != self.name]
        if not nodes:
            return 0
        alive = await self.bus.redis.mget([self.liveness_key(n) for n in nodes])
        dead = [node for node, mark in zip(nodes, alive, strict=True) if mark is None]
        if not dead:
            return 0
        freed = await self.services.charge_points.release_dead_nodes(dead)
        log.warning("nodes %s are gone: %d of their piles are offline until they reconnect", dead, freed)
        return freed

    async def _sweeping(self) -> None:
        while True:
            await asyncio.sleep(self.liveness_ttl_s / 2)
            try:
                await self.sweep()
            except Exception:
                log.exception("node %s: sweeping dead nodes failed", self.name)

    # -- one node at a time: the order worker --------------------------------------------------------

    async def lead(self, role: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` while this node holds the ``role`` lease (one node at a time); when the holder dies its
        lease expires and another node takes over."""
        key = f"{self.bus.prefix}lease:{role}"
        while True:
            try:
                held = await self.bus.redis.set(key, self.name, nx=True, ex=self.liveness_ttl_s)
            except Exception as error:
                log.warning("node %s: lease %s unavailable: %s", self.name, role, error)
                held = False
            if not held:
                await asyncio.sleep(self.liveness_ttl_s / 3)
                continue
            log.info("node %s leads %s", self.name, role)
            task = asyncio.create_task(work(), name=role)
            try:
                while not task.done():
                    await asyncio.sleep(self.liveness_ttl_s / 3)
                    if not await self._renew(key):
                        log.warning("node %s lost the %s lease", self.name, role)
                        break
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                with contextlib.suppress(Exception):
                    if await self.bus.redis.get(key) == self.name.encode():
                        await self.bus.redis.delete(key)

    async def _renew(self, key: str) -> bool:
        try:
            if await self.bus.redis.get(key) != self.name.encode():
                return False
            return bool(await self.bus.redis.expire(key, self.liveness_ttl_s))
        except Exception as error:
            log.warning("node %s: renewing %s failed: %s", self.name, key, error)
            return False

    # -- commands across nodes ----------------------------------------------------------------------

    async def send(self, charge_point_id: str, command: Command) -> CommandResult:
        """The command gateway of a cluster node."""
        holder = await self.services.charge_points.holder(charge_point_id)
        if holder is None or holder == self.name:
            return await self.local.send(charge_point_id, command)
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            heard = await self.bus.publish_counted(
                channels.node_commands(holder),
                CommandRequested(request_id, self.name, charge_point_id, self.codec.encode(command, request_id)),
            )
            if heard == 0:
                return CommandResult(Outcome.OFFLINE, message=f"{charge_point_id}'s node {holder} is gone")
            timeout = self.services.settings.ocpp_response_timeout_s + REPLY_MARGIN_S
            try:
                return await asyncio.wait_for(answer, timeout)
            except TimeoutError:
                return CommandResult(Outcome.TIMED_OUT, message=f"no answer through node {holder} within {timeout} s")
        finally:
            self._waiting.pop(request_id, None)

    async def _serve(self, channel: str, handle: Any, ready: asyncio.Event) -> None:
        while True:
            try:
                async with self.bus.subscribe(channel) as events:
                    ready.set()
                    async for event in events:
                        handle(event)
            except (SubscriberDropped, OSError) as error:
                log.warning("node %s: %s lost (%s); subscribing again", self.name, channel, error)
            except Exception:
                log.exception("node %s: %s failed; subscribing again", self.name, channel)
            await asyncio.sleep(1)

    def _on_request(self, event: Any) -> None:
        if isinstance(event, CommandRequested):
            task = asyncio.create_task(self._execute(event), name=f"command for {event.charge_point_id}")
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)

    async def _execute(self, request: CommandRequested) -> None:
        try:
            command = self.codec.decode(request.command, request.request_id)
        except SealedValueError as error:
            log.warning("node %s: a command for %s from node %s did not open (%s); not sent to the pile",
                        self.name, request.charge_point_id, request.reply_to, error)
            result = CommandResult(Outcome.ERROR, message="the holding node could not open the command's secret "
                                   "(do all nodes share CHARGEOPS_SECRET_KEY?); nothing was sent to the pile")
            await self.bus.publish(channels.node_replies(request.reply_to),
                                   CommandAnswered(request.request_id, self.codec.encode(result)))
            return
        try:
            result = await self.local.send(request.charge_point_id, command)
        except Exception as error:
            log.exception("node %s: command for %s failed", self.name, request.charge_point_id)
            result = CommandResult(Outcome.ERROR, message=f"the holding node failed: {error}")
        await self.bus.publish(channels.node_replies(request.reply_to),
                               CommandAnswered(request.request_id, self.codec.encode(result)))

    def _on_reply(self, event: Any) -> None:
        if isinstance(event, CommandAnswered):
            waiting = self._waiting.get(event.request_id)
            if waiting is not None and not waiting.done():
                waiting.set_result(self.codec.decode(event.result))
