"""The node's meter writer: MeterValues of many piles stored in one transaction, each pile answered after it.

Stored one message per transaction, a node spends most of a MeterValues on the transaction around one row:
BEGIN, a session lookup, an INSERT, an UPDATE and a COMMIT (an fsync), each a round trip, and on SQLite each
taken under the one connection's lock, so messages are stored strictly one after another. The writer lets
the handlers of every pile hand their readings over and wait; one task stores whatever is waiting (up to
``max_batch`` messages) with one transaction, one multi-row INSERT and one update of each session touched,
then answers every waiting handler. It is a group commit: while one batch is being written, the next one
gathers, so the batches grow with the load and an idle node still answers at once.

The rules that make this safe:

- a handler returns only after the batch holding its readings committed, so the pile's CALLRESULT is
  still sent for durable data only (DESIGN §4);
- a batch that fails rolls back as a whole and fails every handler in it with the batch's error, so each
  pile gets the CALLERROR it would have got alone (InternalError) and sends its message again; the sample's
  unique key (pile, connector, time, context) makes the resent rows land once;
- a pile has one call outstanding (OCPP-J), so its messages never share a batch and its order is kept;
- events are published after the commit, by the unit of work, as for any other transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from api.metering.dto import MeterReading

log = logging.getLogger(__name__)

Batch = list[tuple[Sequence[MeterReading], datetime]]
"""Each waiting message's readings with when we received it (our clock)."""


class MeterWriter:
    def __init__(self, store: Callable[[Batch], Awaitable[object]], max_batch: int = 500) -> None:
        self.store = store
        self.max_batch = max_batch
        self._waiting: list[tuple[Sequence[MeterReading], datetime, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Batches written since start (tests and the benchmark read it; a gauge would do too)."""

    async def submit(self, readings: Sequence[MeterReading], received_at: datetime) -> None:
        """Return once ``readings`` are stored (committed); raise the batch's error if they could not be."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((readings, received_at, done))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="meter writer")
        await done

    async def drain(self) -> None:
        """Wait for what is waiting to be stored (at shutdown, before the database closes)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        batch: list[tuple[Sequence[MeterReading], datetime, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                # one turn of the loop: handlers whose frames arrived with this one join its batch
                await asyncio.sleep(0)
                batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
                # a handler cancelled meanwhile (its socket closed) needs no answer, but its rows are still
                # stored: the pile may have sent them before it went, and they will come again otherwise
                try:
                    await self.store([(readings, received_at) for readings, received_at, _ in batch])
                except Exception as failure:
                    for _, _, done in batch:
                        if not done.done():
                            done.set_exception(failure)
                else:
                    self.batches += 1
                    for _, _, done in batch:
                        if not done.done():
                            done.set_result(None)
                batch = []
        finally:
            # cancelled (shutdown): nobody is left to store what waits; its piles get an error and resend
            for _, _, done in batch + self._waiting:
                if not done.done():
                    done.set_exception(ConnectionError("the node is shutting down; send it again"))
            self._waiting = []
            self._task = None
