"""Learning records forwarded to Ralph (openfun's xAPI LRS, `ralph-malph` on PyPI): a real LRS, not a stand-in.

./build.sh test installs Ralph into its own venv (.cache/ralph-venv: its FastAPI and pydantic pins are not ours)
and sets TPKIT_TEST_RALPH to its `ralph` program. Ralph runs here as `ralph runserver` does (uvicorn serving
`ralph.api:app`, without runserver's code reloader) on a loopback port, with its file system backend (statements in
one JSON-lines file: no Elasticsearch or MongoDB) and Basic credentials made by `ralph auth`. Whatever Ralph
answers is the specification tpkit is held to.

One setting differs from `ralph runserver -b fs`: that backend writes its file with the operation type `create`,
so only the first POST is stored and every later one answers 500 ("fs_lrs.jsonl already exists and overwrite is
not allowed", Ralph 4.2 to 5.1). RALPH_SERVER starts it with the backend's own `append` operation type instead;
Ralph's statement handling (validation, duplicates, conflicts, auth) is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.hub import ingest, lrs_forwarding
from appliance.services.learning import xapi
from tests.conftest import free_port
from tests.hub.conftest import enrol_kit, signed
from tests.hub.test_lrs_forwarding import _statements

START_TIMEOUT_S = 60.0
RALPH_SERVER = """
import sys
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
FSLRSBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
USER, PASSWORD = "county-hub", "s3cret-for-tests"


class Ralph:
    """One Ralph LRS on 127.0.0.1 with its statements in `directory`/fs_lrs.jsonl."""

    def __init__(self, program: str, work: Path) -> None:
        self.program = program
        self.work = work
        self.directory = work / "statements"
        self.directory.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/xAPI"
        self.log = work / "ralph.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "RALPH_APP_DIR": str(work / "app"),
            "RALPH_AUTH_FILE": str(work / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.directory),
            "RALPH_SENTRY_DSN": "",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> Ralph:
        subprocess.run(  # Ralph's own tool writes the credentials file (a bcrypt hash per user)
            [self.program, "auth", "-u", USER, "-p", PASSWORD, "-s", "all", "-A", USER, "https://county.example.org"]
            + ["-w"],
            env=self.env,
            cwd=self.work,
            check=True,
            timeout=START_TIMEOUT_S,
            capture_output=True,
        )
        python = str(Path(self.program).with_name("python"))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [python, "-c", RALPH_SERVER, str(self.port)],
                env=self.env,
                cwd=self.work,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/__lbheartbeat__", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"Ralph did not start on port {self.port}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, password: str = PASSWORD) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            auth=(USER, password),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=20,
        )

    def get(self, statement_id: str) -> list[dict]:
        """The statements Ralph answers `GET /statements?statementId=` with (a list, as for a query)."""
        with self.client() as http:
            answer = http.get("/statements", params={"statementId": statement_id})
        assert answer.status_code == 200, answer.text
        return answer.json()["statements"]

    def stored_ids(self) -> Counter[str]:
        """How many times each statement id is in Ralph's store (its JSON-lines file)."""
        store = self.directory / "fs_lrs.jsonl"
        lines = store.read_text().splitlines() if store.exists() else []
        return Counter(json.loads(line)["id"] for line in lines if line.strip())


@pytest.fixture(scope="module")
def ralph(tmp_path_factory) -> Iterator[Ralph]:
    program = os.environ.get("TPKIT_TEST_RALPH") or shutil.which("ralph")
    if not program:
        message = "Ralph not found: run ./build.sh test (it installs ralph-malph into .cache/ralph-venv)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    lrs = Ralph(program, tmp_path_factory.mktemp("ralph")).start()
    yield lrs
    lrs.stop()


class Kit:
    """kit-1, enrolled on the hub, sending signed records reports."""

    def __init__(self, db, now: float) -> None:
        self.db, self.now = db, now
        self.secret = enrol_kit(db, "kit-1", now)
        self.sequence = 0

    def send(self, statements: list[dict]) -> None:
        self.sequence += 1
        body = {"statements": statements}
        report, _, _ = signed(self.secret, "kit-1", self.sequence, body, kind="records", made_at=self.now)
        ingest.store(self.db, report, self.now)


def _outbox(db, statement_id: str) -> dict:
    return db.query(
        "SELECT forwarded_at, attempts, last_error, next_attempt_at FROM lrs_outbox WHERE statement_id = ?",
        (statement_id,),
    )[0]


def test_ralph_stores_each_forwarded_statement_once(hub_db, clock, ralph):
    kit = Kit(hub_db, clock.now)
    statements = _statements(250)
    kit.send(statements)
    kit.send(statements[:20])  # the kit resent part of it: queued once
    done = lrs_forwarding.forward(hub_db, ralph.url, clock.now, auth=f"{USER}:{PASSWORD}")
    again = lrs_forwarding.forward(hub_db, ralph.url, clock.now + 60, auth=f"{USER}:{PASSWORD}")
    assert (done.forwarded, done.conflicts, done.parked, done.error) == (250, 0, 0, "")
    assert again.forwarded == 0
    stored = ralph.stored_ids()
    assert all(stored[s["id"]] == 1 for s in statements)
    for sent in (statements[0], statements[137], statements[-1]):
        [kept] = ralph.get(sent["id"])
        assert (kept["id"], kept["verb"], kept["object"], kept["result"]) == (
            sent["id"],
            sent["verb"],
            sent["object"],
            sent["result"],
        )
        assert kept["context"]["extensions"][xapi.KIT_EXTENSION] == "kit-1"


def test_ralph_takes_a_resent_identical_statement_without_error(hub_db, clock, ralph):
    """A statement the LRS already holds (forwarded before the outbox was pruned, or by a batch whose answer was
    lost) is counted forwarded: Ralph answers 200 for a batch with some such, 204 for a batch of only such."""
    kit = Kit(hub_db, clock.now)
    statements = _statements(6)
    with ralph.client() as http:
        answer = http.post("/statements", json=statements[:3])
        assert answer.status_code == 200 and answer.json() == [s["id"] for s in statements[:3]], answer.text
        known = http.post("/statements", json=statements[:3])
        assert known.status_code == 204, known.text  # what forward meets for a batch of only such
        mixed_answer = http.post("/statements", json=statements[2:4])
        assert mixed_answer.status_code == 200 and mixed_answer.json() == [statements[3]["id"]]
    kit.send(statements)  # four Ralph holds, two new
    mixed = lrs_forwarding.forward(hub_db, ralph.url, clock.now, auth=f"{USER}:{PASSWORD}")
    assert (mixed.forwarded, mixed.conflicts, mixed.parked, mixed.error) == (6, 0, 0, "")
    later = clock.now + 31 * 86400
    assert lrs_forwarding.prune_forwarded(hub_db, later, 30) == 6  # tpkit hub prune, a month on
    kit.send(statements)  # the kit resends that records report: its statements are queued again
    only_known = lrs_forwarding.forward(hub_db, ralph.url, later, auth=f"{USER}:{PASSWORD}")
    assert (only_known.forwarded, only_known.error) == (6, "")
    assert all(ralph.stored_ids()[s["id"]] == 1 for s in statements)
    assert lrs_forwarding.status(hub_db)["failing"] == 0


def test_ralph_conflict_parks_only_the_statement_whose_id_it_holds_for_another(hub_db, clock, ralph):
    kit = Kit(hub_db, clock.now)
    statements = _statements(5)
    theirs = {**statements[2], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed", "display": {"en-US": "failed"}}}
    with ralph.client() as http:
        assert http.post("/statements", json=[theirs]).status_code == 200
    kit.send(statements)
    done = lrs_forwarding.forward(hub_db, ralph.url, clock.now, auth=f"{USER}:{PASSWORD}")
    assert (done.forwarded, done.conflicts, done.parked) == (4, 1, 0)
    parked = _outbox(hub_db, statements[2]["id"])
    assert parked["forwarded_at"] is None and "conflict" in parked["last_error"]
    assert [kept["verb"]["id"] for kept in ralph.get(statements[2]["id"])] == [theirs["verb"]["id"]]  # Ralph's own
    later = lrs_forwarding.forward(hub_db, ralph.url, clock.now + 86400, auth=f"{USER}:{PASSWORD}")
    assert later.forwarded == later.conflicts == 0  # parked: not sent again
    stored = ralph.stored_ids()
    assert all(stored[s["id"]] == 1 for s in statements)
    assert lrs_forwarding.status(hub_db) == {"queued": 5, "forwarded": 4, "waiting": 1, "failing": 1}


def test_ralph_refusing_the_hubs_credentials_parks_the_batch_with_an_error_saying_so(hub_db, clock, ralph):
    kit = Kit(hub_db, clock.now)
    statements = _statements(3)
    kit.send(statements)
    refused = lrs_forwarding.forward(hub_db, ralph.url, clock.now, auth=f"{USER}:wrong-password")
    assert refused.parked == 3 and refused.forwarded == 0
    assert "401" in refused.error and "hub_lrs_auth" in refused.error
    assert "hub_lrs_auth" in _outbox(hub_db, statements[0]["id"])["last_error"]
    nothing = lrs_forwarding.forward(hub_db, ralph.url, clock.now, auth="")
    assert nothing.forwarded == 0  # parked until a technician retries
    assert not any(ralph.stored_ids()[s["id"]] for s in statements)
