"""Reports that arrive together are stored together (group commit), one group per worker thread at a time.

Each worker process sends the reports waiting on its event loop to a thread as one group (`ingest.receive_group`:
each checked on its own, the verified ones stored in one transaction, committed before any kit of the group is
answered). While the groups in flight are being stored, new reports wait and form the next group, so the busier
the hub, the larger the groups and the cheaper each report; a lone report goes at once. Must not import web or cli.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from appliance.hub import ingest

MAX_GROUP = 256  # reports in one transaction
# A group's payloads, compressed: a group is checked (decompressed and parsed) as a whole before it is stored, so
# this bounds a worker's memory however many kits send large `records` batches at once (heartbeats are ~1.2 KB:
# 256 of them are ~300 KB).
MAX_GROUP_BYTES = 4 * 1024 * 1024
# Groups in flight per worker, each on its own thread and database connection. Few, so that reports queue into
# groups: 2 carried 1,082 reports/s where 4 carried 853 and one thread per report 819 (bench/hub_ingest.py,
# docs/performance.md "County hub ingest").
IN_FLIGHT = 2

Outcome = tuple[int, dict[str, Any]]


class ReportGroups:
    """One worker's queue of reports to store, and the threads that store them group by group."""

    def __init__(self, db, threads: int = IN_FLIGHT, max_bytes: int = MAX_GROUP_BYTES) -> None:
        self.db = db
        self.threads = threads
        self.max_bytes = max_bytes
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="reports")
        self._waiting: list[tuple[ingest.Request, asyncio.Future]] = []
        self._in_flight = 0
        self.groups = self.reports = 0  # sent so far: reports / groups is the mean group size

    async def receive(self, request: ingest.Request) -> Outcome:
        """The kit's (status, reply) once its report's group is committed; its refusal raised as a TpkitError."""
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self._waiting.append((request, answer))
        if self._in_flight < self.threads:
            self._send(loop)
        return await answer

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        size, taken = 0, 0
        for (_, payload, _, _), _ in self._waiting[:MAX_GROUP]:
            size += len(payload)
            if taken and size > self.max_bytes:
                break
            taken += 1
        group, self._waiting = self._waiting[:taken], self._waiting[taken:]
        self._in_flight += 1
        self.groups, self.reports = self.groups + 1, self.reports + len(group)
        job = self._executor.submit(ingest.receive_group, self.db, [request for request, _ in group])
        job.add_done_callback(lambda done: loop.call_soon_threadsafe(self._answer, loop, group, done))

    def _answer(self, loop: asyncio.AbstractEventLoop, group: list, done: Future) -> None:
        self._in_flight -= 1
        try:
            outcomes = done.result()
        except Exception as exc:  # noqa: BLE001 - the database is gone: every report of the group gets the 503
            outcomes = [exc] * len(group)
        for (_, answer), outcome in zip(group, outcomes):
            if answer.done():  # the kit hung up meanwhile; its report is stored all the same (it resends: duplicate)
                continue
            if isinstance(outcome, BaseException):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)
        if self._waiting and self._in_flight < self.threads:
            self._send(loop)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
