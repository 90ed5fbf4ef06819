"""Anonymous 500s with tracebacks (issue 14).

Who: a pupil on the classroom Wi-Fi, signed in or not. From where: the web port. With what: ids of 2^63 and more in
any integer route (SQLite's INTEGER ends at 2^63 - 1: "Python int too large to convert"), `?size=1e30` on a book's
illustration, item 0 of a lesson, and a form the client hangs up on halfway (a phone leaving the Wi-Fi).
Before: each was a 500 with a traceback logged as an error, which hides real faults and fills the journal.
What stops them: `{x:int}` matches at most 18 digits (webcore/bounded_ids.py, registered once in web/__init__),
illustration sizes are 1 to 4 digits, item 0 is "no such item", and the one error handler (web/errors.py) answers a
ClientDisconnect without logging an error.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest

from tests.web.lesson_data import make_lesson
from tests.web.people_clients import role_clients

HUGE = [str(2**63), str(2**64 + 5), "9" * 19, "9" * 400]


@pytest.mark.parametrize("number", HUGE)
def test_huge_ids_are_no_page_for_anyone(kit, live, number, caplog):
    clients, ids = role_clients(kit, live.url)
    class_id = ids["a"]["class"]
    paths = [
        f"/teach/{number}/lessons/new",
        f"/teach/lessons/{number}",
        f"/me/lessons/{number}",
        f"/me/lessons/{number}/items/{number}",
        f"/teach/{class_id}/students/{number}/summary",
        f"/files/lesson/{number}",
    ]
    for role in ("anonymous", "student_a", "teacher_a", "admin"):
        for path in paths:
            response = clients[role].get(path)
            assert response.status_code < 500, (role, path, response.status_code)
    assert clients["teacher_a"].get(f"/teach/lessons/{'9' * 18}").status_code == 404  # the largest id still read
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    for http in clients.values():
        http.close()


def test_lesson_item_zero_is_not_found(kit, live, caplog):
    clients, ids = role_clients(kit, live.url)
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Rivers", homework=False)
    response = clients["student_a"].get(f"/me/lessons/{lesson_id}/items/0")
    assert response.status_code == 404
    assert clients["student_a"].get(f"/me/lessons/{lesson_id}").status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    for http in clients.values():
        http.close()


@pytest.mark.parametrize("size", ["1e30", "1" + "0" * 30, "-48", "４８", "99999"])
def test_illustration_sizes_that_are_not_small_numbers_are_not_found(client, size, caplog):
    response = client.get(f"/catalog/v2/illustration/test_book/?size={size}")
    assert response.status_code == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_client_hanging_up_mid_form_is_not_a_server_error(client, live, caplog):
    assert client.get("/learn").status_code == 200  # the app is up, its cookies known
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(
            b"POST /admin/signin HTTP/1.1\r\nHost: kit\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100000\r\n\r\nusername=admin&password=" + b"x" * 1000
        )
        time.sleep(0.3)
    time.sleep(0.5)  # the server notices the hang-up and finishes the request
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert client.get("/learn").status_code == 200
