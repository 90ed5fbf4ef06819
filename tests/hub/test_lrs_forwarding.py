"""Learning records forwarded to an xAPI LRS: a real loopback LRS that checks what a conformant one checks; and the
outbox pruned of what was forwarded long ago (tests/hub/test_lrs_ralph.py: the same against Ralph)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from appliance.hub import ingest, lrs_forwarding
from appliance.hub.storage import lrs_outbox
from appliance.services.learning import xapi
from tests.hub.conftest import enrol_kit, signed
from tests.hub.test_cli_hub import tpkit

DAY = 86400
HOME = "https://county.example.invalid/kits/kit-1"


class LoopbackLrs:
    """`POST /statements` (a JSON array) and `PUT /statements?statementId=`; stores each id once, answers 409 for
    a different statement under a stored id, and can be told to fail with a status first."""

    def __init__(self) -> None:
        self.stored: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.fail_with: list[int] = []
        self.refuse: set[str] = set()  # statement ids this LRS answers 400 for (alone or in a batch)
        lrs = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _receive(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                lrs.requests.append((self.command, self.path, dict(self.headers)))
                if self.headers.get("X-Experience-API-Version") != "1.0.3":
                    return self._answer(400, b"missing X-Experience-API-Version")
                if lrs.fail_with:
                    return self._answer(lrs.fail_with.pop(0))
                return json.loads(raw)

            def do_POST(self):  # noqa: N802 - the http.server interface
                statements = self._receive()
                if statements is None:
                    return None
                if any(s["id"] in lrs.refuse for s in statements):
                    return self._answer(400, b"invalid statement")
                if any(s["id"] in lrs.stored and lrs.stored[s["id"]] != s for s in statements):
                    return self._answer(409, b"conflict")
                for statement in statements:
                    lrs.stored.setdefault(statement["id"], statement)
                return self._answer(200, json.dumps([s["id"] for s in statements]).encode())

            def do_PUT(self):  # noqa: N802
                statement = self._receive()
                if statement is None:
                    return None
                statement_id = self.path.split("statementId=")[1]
                if statement_id in lrs.refuse:
                    return self._answer(400, b"invalid statement")
                if statement_id in lrs.stored and lrs.stored[statement_id] != statement:
                    return self._answer(409, b"conflict")
                lrs.stored.setdefault(statement_id, statement)
                return self._answer(204)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/xapi"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _statements(count: int, name: str = "quiz") -> list[dict]:
    return [
        xapi.statement(
            home_page=HOME,
            learner=f"5b0c2f9e-8d55-4a8e-9d5e-{n:012d}",
            verb="scored",
            activity=xapi.activity_id(HOME, "quiz", str(n)),
            activity_kind="quiz",
            activity_name=name,
            when=dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc),
            clock_synchronised=True,
            kit_id="kit-1",
            result=xapi.score_result(n % 10, 10),
        )
        for n in range(count)
    ]


def _ingest_records(hub_db, clock, secret, sequence: int, statements: list) -> None:
    report, _, _ = signed(secret, "kit-1", sequence, {"statements": statements}, kind="records", made_at=clock.now)
    ingest.store(hub_db, report, clock.now)


def test_lrs_forwarding_sends_each_statement_once_with_the_xapi_header(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    statements = _statements(250)
    _ingest_records(hub_db, clock, secret, 1, statements)
    _ingest_records(hub_db, clock, secret, 2, statements[:10] + [{"id": "not-a-statement"}])  # resent + junk
    with LoopbackLrs() as lrs:
        done = lrs_forwarding.forward(hub_db, lrs.url, clock.now, auth="county:s3cret")
        again = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 60)
    assert (done.forwarded, done.error) == (250, "") and again.forwarded == 0
    assert set(lrs.stored) == {s["id"] for s in statements} and lrs.stored[statements[7]["id"]] == statements[7]
    assert [method for method, _, _ in lrs.requests] == ["POST"] * 3  # batches of 100, nothing sent twice
    assert lrs.requests[0][1] == "/xapi/statements"
    assert lrs.requests[0][2]["Authorization"] == "Basic Y291bnR5OnMzY3JldA=="
    assert lrs_forwarding.status(hub_db) == {"queued": 250, "forwarded": 250, "waiting": 0, "failing": 0}


def test_lrs_forwarding_backs_off_while_the_lrs_is_down_then_delivers(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _ingest_records(hub_db, clock, secret, 1, _statements(5))
    with LoopbackLrs() as lrs:
        lrs.fail_with = [503]
        down = lrs_forwarding.forward(hub_db, lrs.url, clock.now)
        early = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 30)  # the back-off (1 min) has not run out
        later = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 61)
    assert down.backed_off == 5 and "503" in down.error and early.forwarded == 0 and later.forwarded == 5
    gone = lrs_forwarding.forward(hub_db, "http://127.0.0.1:9", clock.now)  # nothing listens: nothing is lost
    assert gone.forwarded == 0 and lrs_forwarding.status(hub_db)["forwarded"] == 5


def test_lrs_forwarding_keeps_back_only_a_conflicting_statement(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    statements = _statements(4)
    _ingest_records(hub_db, clock, secret, 1, statements)
    with LoopbackLrs() as lrs:
        lrs.stored[statements[2]["id"]] = {**statements[2], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
        done = lrs_forwarding.forward(hub_db, lrs.url, clock.now)
    assert (done.forwarded, done.conflicts) == (3, 1)
    assert [m for m, _, _ in lrs.requests] == ["POST", "PUT", "PUT", "PUT", "PUT"]
    row = hub_db.query("SELECT last_error FROM lrs_outbox WHERE statement_id = ?", (statements[2]["id"],))[0]
    assert "conflict" in row["last_error"]


@pytest.mark.parametrize("status", [401, 403, 413])
def test_lrs_forwarding_parks_a_refused_batch_instead_of_retrying_forever(hub_db, clock, status):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _ingest_records(hub_db, clock, secret, 1, _statements(3))
    with LoopbackLrs() as lrs:
        lrs.fail_with = [status]
        refused = lrs_forwarding.forward(hub_db, lrs.url, clock.now)
        next_day = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 86400)
    assert refused.parked == 3 and str(status) in refused.error and next_day.forwarded == 0
    assert len(lrs.requests) == 1 and lrs_forwarding.status(hub_db)["failing"] == 3


def test_lrs_forwarding_parks_only_the_statement_the_lrs_refuses(hub_db, clock):
    """Issue 14: one statement the LRS answers 400 for parked the whole batch (38 good ones with it)."""
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    statements = _statements(39)
    _ingest_records(hub_db, clock, secret, 1, statements)
    with LoopbackLrs() as lrs:
        lrs.refuse = {statements[17]["id"]}
        done = lrs_forwarding.forward(hub_db, lrs.url, clock.now)
    assert (done.forwarded, done.parked) == (38, 1) and "400" in done.error
    assert set(lrs.stored) == {s["id"] for s in statements} - lrs.refuse
    assert lrs_forwarding.status(hub_db) == {"queued": 39, "forwarded": 38, "waiting": 1, "failing": 1}


def test_lrs_forwarding_a_single_refused_statement_is_parked_without_a_second_try(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    statements = _statements(1)
    _ingest_records(hub_db, clock, secret, 1, statements)
    with LoopbackLrs() as lrs:
        lrs.refuse = {statements[0]["id"]}
        done = lrs_forwarding.forward(hub_db, lrs.url, clock.now)
    assert done.parked == 1 and len(lrs.requests) == 1


def test_records_of_another_kit_are_not_queued_for_the_lrs(hub_db, clock):
    """Issue 14: kit 1's records report carried statements in kit 2's name (homePage, activity ids, kit id)."""
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    own = _statements(2)
    other_home = "https://tpkit.invalid/kits/kit-2"
    forged = [
        {
            **own[0],
            "id": str(uuid.uuid4()),
            "actor": {**own[0]["actor"], "account": {"homePage": other_home, "name": "x"}},
        },
        {
            **own[0],
            "id": str(uuid.uuid4()),
            "object": {**own[0]["object"], "id": other_home + "/xapi/activities/quiz/1"},
        },
        {
            **own[0],
            "id": str(uuid.uuid4()),
            "context": {**own[0]["context"], "extensions": {xapi.KIT_EXTENSION: "kit-2"}},
        },
        {**own[0], "id": str(uuid.uuid4()), "context": {"platform": "tpkit"}},
    ]
    _ingest_records(hub_db, clock, secret, 1, own + forged)
    queued = {row["statement_id"] for row in hub_db.query("SELECT statement_id FROM lrs_outbox")}
    assert queued == {s["id"] for s in own}


def _forwarded_ids(db) -> set[str]:
    return {row["statement_id"] for row in db.query("SELECT statement_id FROM lrs_outbox")}


def test_prune_deletes_only_statements_forwarded_before_the_window_in_batches(hub_db, clock):
    """Issue 20 (item 6): the outbox was never pruned. Forwarded statements older than hub_keep_forwarded_days go,
    a batch at a time while the kit's reports keep being queued; waiting and parked statements stay."""
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    old, refused, recent, late = _statements(1050), _statements(1), _statements(3), _statements(4)
    _ingest_records(hub_db, clock, secret, 1, old + refused)
    with LoopbackLrs() as lrs:
        lrs.refuse = {refused[0]["id"]}
        first = lrs_forwarding.forward(hub_db, lrs.url, clock.now)
        _ingest_records(hub_db, clock, secret, 2, recent)
        second = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 20 * DAY)
        lrs.fail_with = [503]
        _ingest_records(hub_db, clock, secret, 3, late)
        waiting = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 20 * DAY)
    assert (first.forwarded, first.parked, second.forwarded, waiting.backed_off) == (1050, 1, 3, 4)
    assert lrs_forwarding.prune_forwarded(hub_db, clock.now + 400 * DAY, 0) == 0  # 0 keeps them for good
    assert lrs_forwarding.prune_forwarded(hub_db, clock.now + 29 * DAY, 30) == 0  # not 30 days old yet
    meanwhile = _statements(2)
    batches = []

    def ingest_between() -> None:  # a kit's report arrives between two batches of the prune
        batches.append(len(_forwarded_ids(hub_db)))
        if len(batches) == 1:
            _ingest_records(hub_db, clock, secret, 4, meanwhile)

    deleted = lrs_forwarding.prune_forwarded(hub_db, clock.now + 31 * DAY, 30, batch=500, between=ingest_between)
    assert deleted == 1050 and len(batches) == 2  # three transactions: 500, 500, 50
    assert batches[0] == len(old) + 1 + 3 + 4 - 500
    kept = {s["id"] for s in refused + recent + late + meanwhile}
    assert _forwarded_ids(hub_db) == kept
    assert lrs_forwarding.status(hub_db) == {"queued": 10, "forwarded": 3, "waiting": 7, "failing": 5}
    assert lrs_forwarding.prune_forwarded(hub_db, clock.now + 400 * DAY, 30) == 3  # the recent ones in their turn
    assert _forwarded_ids(hub_db) == {s["id"] for s in refused + late + meanwhile}


def test_a_records_report_resent_after_its_statements_were_pruned_queues_them_again(hub_db, clock):
    """The documented consequence: the statements are forwarded again; the LRS holds each once."""
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    statements = _statements(5)
    _ingest_records(hub_db, clock, secret, 1, statements)
    with LoopbackLrs() as lrs:
        assert lrs_forwarding.forward(hub_db, lrs.url, clock.now).forwarded == 5
        assert lrs_forwarding.prune_forwarded(hub_db, clock.now + 31 * DAY, 30) == 5
        _ingest_records(hub_db, clock, secret, 2, statements)
        again = lrs_forwarding.forward(hub_db, lrs.url, clock.now + 31 * DAY)
    assert (again.forwarded, again.error) == (5, "") and len(lrs.stored) == 5


def test_cli_hub_prune_deletes_forwarded_learning_records(hub_settings, hub_db, clock):
    clock.now -= 40 * DAY  # the records came in and were forwarded 40 days ago
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    statements = _statements(3)
    _ingest_records(hub_db, clock, secret, 1, statements)
    with LoopbackLrs() as lrs:
        lrs.refuse = {statements[0]["id"]}
        lrs_forwarding.forward(hub_db, lrs.url, clock.now)
    result = tpkit("prune", "--hub-keep-forwarded-days", "30", settings=hub_settings)
    assert result.returncode == 0, result.stderr
    assert "Deleted 2 learning record(s) forwarded to the LRS more than 30 days ago" in result.stdout
    assert _forwarded_ids(hub_db) == {statements[0]["id"]}
    status = tpkit("forward", "--status", settings=hub_settings)
    assert "1 queued, 0 forwarded, 1 waiting (1 after an error)" in status.stdout


def test_due_statements_are_read_through_the_waiting_index_without_sorting_the_queue(hub_db, clock):
    """Issue 20: with 500,000 waiting, each batch sorted every waiting row (308 statements/s). The query must walk
    lrs_outbox_waiting in its order and stop after a batch, on both backends (bench/hub_lrs.py measures it)."""
    with hub_db.transaction() as tx:
        for n in range(3000):
            forwarded = clock.now if n % 3 == 0 else None
            tx.execute(
                "INSERT INTO lrs_outbox (statement_id, kit_id, statement, queued_at, next_attempt_at, forwarded_at) "
                "VALUES (?, 'kit-1', '{}', ?, ?, ?)",
                (str(uuid.uuid4()), clock.now + n, clock.now + n, forwarded),
            )
    sql = (
        "SELECT statement_id, statement, attempts FROM lrs_outbox WHERE forwarded_at IS NULL "
        "AND next_attempt_at <= ? ORDER BY next_attempt_at, queued_at, statement_id LIMIT ?"
    )
    if hub_db.backend == "sqlite":
        plan = " ".join(row["detail"] for row in hub_db.query("EXPLAIN QUERY PLAN " + sql, (clock.now + 5000, 100)))
        assert "lrs_outbox_waiting" in plan and "TEMP B-TREE" not in plan, plan
    else:
        with hub_db.transaction() as tx:
            tx.execute("ANALYZE lrs_outbox")
        plan = " ".join(row["QUERY PLAN"] for row in hub_db.query("EXPLAIN " + sql, (clock.now + 5000, 100)))
        assert "lrs_outbox_waiting" in plan and "Sort" not in plan, plan
    due = lrs_outbox.due(hub_db, clock.now + 5000, 100)
    assert len(due) == 100 and [row["statement"] for row in due] == ["{}"] * 100
