"""Counting the SQL statements of requests, through tortoise's own query log (the ``tortoise.db_client`` logger)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from api.core.logs import request_id


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if request_id.get() == "-":
            return  # not made for a request: the order worker or the cluster's sweep, running meanwhile
        message = record.getMessage()
        if message.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            self.statements.append(message)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
