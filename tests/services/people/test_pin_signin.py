"""Students' PIN sign-in on a real SQLite file: argon2id, strict throttling per student, device and class."""

from __future__ import annotations

import pytest

from appliance.errors import PinLockedError, SignInError, TooManyAttemptsError
from appliance.services.people import access as people, auth
from appliance.services.people.access import CONSOLE
from tests.roster_data import two_classes

T0 = 1_000_000.0


def _try(kit, ids, student_index: int, pin: str, client: str = "10.0.0.5", now: float = T0, tag: str = "a"):
    student_id = ids[tag]["students"][student_index]
    credential = {"id": student_id, "password_hash": kit.people.credential(student_id)}
    return auth.sign_in_pin(kit.accounts, kit.signin_failures, credential, ids[tag]["class"], pin, client, now=now)


def _wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10 ** len(pin):0{len(pin)}d}"


@pytest.fixture
def ids(kit):
    return two_classes(kit, names_a=["Child 0", "Child 1", "Child 2"])


def test_pin_signin_opens_a_student_session(kit, ids):
    student_id = ids["a"]["students"][0]
    token = _try(kit, ids, 0, ids["a"]["pins"][student_id])
    assert auth.session_account(kit.accounts, token)["id"] == student_id
    with pytest.raises(SignInError) as caught:
        _try(kit, ids, 0, _wrong(ids["a"]["pins"][student_id]))
    assert caught.value.code == "auth.wrong_pin"


def test_pin_signin_students_cannot_use_the_password_form(kit, ids):
    student = kit.people.person(ids["a"]["students"][0])
    with pytest.raises(SignInError):
        auth.sign_in(kit.accounts, student["username"], ids["a"]["pins"][student["id"]])


def test_pin_signin_throttles_one_student_across_devices(kit, ids):
    student_id = ids["a"]["students"][0]
    pin = ids["a"]["pins"][student_id]
    for n in range(auth.PIN_THROTTLE.free):
        with pytest.raises(SignInError):
            _try(kit, ids, 0, _wrong(pin), client=f"10.0.1.{n}", now=T0 + n)
    with pytest.raises(TooManyAttemptsError) as caught:  # from a fresh device too: the count is the student's
        _try(kit, ids, 0, pin, client="10.0.2.1", now=T0 + 10)
    assert caught.value.retry_after_s == 55
    with pytest.raises(SignInError):
        _try(kit, ids, 0, _wrong(pin), client="10.0.2.1", now=T0 + 70)
    with pytest.raises(TooManyAttemptsError) as caught:
        _try(kit, ids, 0, pin, client="10.0.2.1", now=T0 + 71)
    assert caught.value.retry_after_s == 120  # doubled
    with pytest.raises(TooManyAttemptsError):
        _try(kit, ids, 0, pin, client="10.0.2.1", now=T0 + 70 + 119)
    # an hour on, the 15-minute password window would have forgotten all six; the PIN's week has not
    with pytest.raises(SignInError):
        _try(kit, ids, 0, _wrong(pin), client="10.0.2.1", now=T0 + 3600)
    with pytest.raises(TooManyAttemptsError) as caught:
        _try(kit, ids, 0, pin, client="10.0.2.1", now=T0 + 3601)
    assert caught.value.retry_after_s == 240
    assert _try(kit, ids, 0, pin, client="10.0.2.1", now=T0 + 3600 + 240)


def test_pin_signin_throttles_the_class_across_devices_and_names(kit):
    ids = two_classes(kit, names_a=[f"Child {n:02d}" for n in range(auth.PIN_CLASS_THROTTLE.free + 2)])
    pins = ids["a"]["pins"]
    students = ids["a"]["students"]
    for n in range(auth.PIN_CLASS_THROTTLE.free):  # one wrong try per child, each from its own address
        with pytest.raises(SignInError):
            _try(kit, ids, n, _wrong(pins[students[n]]), client=f"10.0.3.{n}", now=T0 + n)
    with pytest.raises(TooManyAttemptsError):  # a device that guessed wrong now waits, whoever's name it picks
        _try(kit, ids, 21, pins[students[21]], client="10.0.3.0", now=T0 + 30)
    with pytest.raises(SignInError):  # a fresh device gets its one try…
        _try(kit, ids, 22, _wrong(pins[students[22]]), client="10.0.4.2", now=T0 + 30)
    with pytest.raises(TooManyAttemptsError):  # …and then waits too
        _try(kit, ids, 22, _wrong(pins[students[22]]), client="10.0.4.2", now=T0 + 31)
    # the class's count never refuses a right PIN from a device with no wrong PIN of its own
    assert _try(kit, ids, 21, pins[students[21]], client="10.0.4.1", now=T0 + 32)
    other = ids["b"]["students"][0]  # another class is not slowed
    assert _try(kit, ids, 0, ids["b"]["pins"][other], client="10.0.4.1", now=T0 + 30, tag="b")


def test_pin_signin_guessing_gets_ten_tries_per_pin_then_a_teacher_must_act(kit, ids):
    """Waiting exactly as told, for a month, from one device, still gives 10 tries: a 0.1 % chance per PIN."""
    student_id = ids["a"]["students"][1]
    right = ids["a"]["pins"][student_id]
    now, tries = T0, 0
    while now < T0 + 30 * 86400:
        try:
            _try(kit, ids, 1, _wrong(right), client="10.9.9.9", now=now)
        except PinLockedError as exc:
            assert exc.status == 423
            break
        except TooManyAttemptsError as exc:
            now += exc.retry_after_s
            continue
        except SignInError:
            tries += 1
    assert tries == auth.PIN_THROTTLE.lock_after
    with pytest.raises(PinLockedError):  # the right PIN does not open a locked account either
        _try(kit, ids, 1, right, client="10.0.7.1", now=now + 3 * 86400)
    assert auth.pin_locked(kit.signin_failures, student_id, now=now)
    teacher = kit.people.person(ids["a"]["teacher"])
    [(_, pin)] = people.give_pins(kit.people, teacher, ids["a"]["class"], 4, student_id, kit.signin_failures)
    assert not auth.pin_locked(kit.signin_failures, student_id, now=now)
    assert _try(kit, ids, 1, pin, client="10.0.7.1", now=now + 1)


def test_pin_signin_teacher_new_pin_clears_the_students_count(kit, ids):
    student_id = ids["a"]["students"][2]
    for n in range(auth.PIN_THROTTLE.free):
        with pytest.raises(SignInError):
            _try(kit, ids, 2, _wrong(ids["a"]["pins"][student_id]), client=f"10.0.5.{n}", now=T0 + n)
    teacher = kit.people.person(ids["a"]["teacher"])
    [(_, pin)] = people.give_pins(kit.people, teacher, ids["a"]["class"], 6, student_id, kit.signin_failures)
    assert len(pin) == 6
    assert _try(kit, ids, 2, pin, client="10.0.6.1", now=T0 + 20)


def test_pin_signin_no_pin_yet_never_opens(kit, ids):
    result_class = people.create_class(kit.people, CONSOLE, "Empty PINs", "3", [])
    with kit.people.transaction() as conn:
        sid = kit.people.add_person(
            conn, username="s-nopin", role="student", display_name="No Pin", pseudonym=people.new_pseudonym()
        )
        kit.people.enrol(conn, result_class, sid)
    credential = {"id": sid, "password_hash": kit.people.credential(sid)}
    with pytest.raises(SignInError):
        auth.sign_in_pin(kit.accounts, kit.signin_failures, credential, result_class, "!", "10.0.0.1", now=T0)


def test_pin_signin_made_pins_avoid_obvious_ones():
    made = {people.make_pin(4) for _ in range(2000)}
    assert not made & {"0000", "1111", "1234", "4321", "9876", "2345"}
    assert all(len(pin) == 4 and pin.isdigit() for pin in made)


def test_pin_signin_rehashes_a_pin_made_with_older_parameters(kit, ids):
    from argon2 import PasswordHasher, Type, extract_parameters

    student_id, pin = ids["a"]["students"][1], ids["a"]["pins"][ids["a"]["students"][1]]
    assert extract_parameters(kit.people.credential(student_id)).memory_cost == auth.PIN_HASH["memory_cost"]
    old = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(pin)  # the profile before
    kit.accounts.set_password(student_id, old)
    with pytest.raises(SignInError):
        _try(kit, ids, 1, _wrong(pin))
    assert kit.people.credential(student_id) == old  # a wrong PIN changes nothing
    _try(kit, ids, 1, pin)
    now = extract_parameters(kit.people.credential(student_id))
    assert (now.type, now.time_cost, now.memory_cost) == (Type.ID, 1, 8 * 1024)
    assert auth.session_account(kit.accounts, _try(kit, ids, 1, pin))["id"] == student_id  # and still opens
