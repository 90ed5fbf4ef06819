"""Passwords, the first administrator and sign-in sessions. No HTTP here.

Must not import web or cli. Passwords are hashed with argon2id (edges/passwords.py); session tokens are stored
hashed.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import unicodedata
from collections.abc import Callable
from typing import TypeVar

from appliance.edges import passwords

# The kit's callers (web, provisioning, tests) keep finding hashing and the password throttle here.
from appliance.edges.passwords import (  # noqa: F401
    PASSWORD_ACCOUNT_THROTTLE,
    PASSWORD_DEVICE_THROTTLE,
    PASSWORD_THROTTLE,
    PIN_HASH,
    Throttle,
    hash_password,
    hash_pin,
    is_argon2id_hash,
    verify_password,
)
from appliance.errors import PeopleError, PinLockedError, SignInError, TooManyAttemptsError
from appliance.services.people import picture_codes
from appliance.storage.accounts import Accounts
from appliance.storage.signin_failures import SigninFailures

SESSION_LIFETIME_S = 12 * 3600
# Students share classroom devices: their sessions end sooner, so the next child does not inherit one.
STUDENT_SESSION_LIFETIME_S = 2 * 3600
# A 4-digit PIN has 10,000 values, so a student's PIN allows 5 wrong tries, then waits from 1 min, and after 10
# wrong tries in a week it is locked until the teacher gives a new PIN (one tap on the class page, which clears
# the count): whoever guesses gets at most 10 tries per PIN, a 0.1 % chance. The teacher is in the room, so a
# prank lock costs a minute, not a day. Per device: shared classroom PCs see many children's typos, so it only
# slows (10 free a day, then 1 min doubling to 15 min). Per class, whatever the devices: 30 free a day, then
# 1 min doubling to 1 h, but only for devices that have typed a wrong PIN themselves: a device with no failures
# of its own always gets its try, so one pupil's guessing slows the guessers and never stops the class signing in
# with right PINs. The teacher sees the pause on the class page and can clear it there.
PIN_THROTTLE = Throttle(free=5, window_s=7 * 86400, first_wait_s=60, max_wait_s=3600, lock_after=10)
PIN_DEVICE_THROTTLE = Throttle(free=10, window_s=86400, first_wait_s=60, max_wait_s=15 * 60)
PIN_CLASS_THROTTLE = Throttle(free=30, window_s=86400, first_wait_s=60, max_wait_s=3600)
FAILURES_KEPT_S = 7 * 86400  # the longest window above
ADMIN_USERNAME = "admin"
T = TypeVar("T")


def normal_username(typed: str) -> str:
    """A user name as stored and compared: trimmed, NFKC (full-width Ａ is A) and lower case (LiLi is lili)."""
    return unicodedata.normalize("NFKC", typed.strip()).lower()


def one_time_password() -> str:
    """A random first password (4 groups of 4 hex digits, 64 bits): printed once, changed at the first sign-in."""
    return "-".join(secrets.token_hex(2) for _ in range(4))


def ensure_first_admin(accounts: Accounts) -> str | None:
    """Create the administrator with a random one-time password if none exists; return it, else None."""
    if accounts.count("admin"):
        return None
    password = one_time_password()
    accounts.create(ADMIN_USERNAME, "admin", hash_password(password), must_change_password=True)
    return password


def reset_at_console(accounts: Accounts, failures: SigninFailures, username: str) -> str:
    """A new one-time password for a teacher or administrator (`tpkit people reset-password`, at the kit's
    console: the way back in when the administrator's password is lost); it must be changed at the next sign-in.
    The account's sessions end and its wrong-password count is forgotten. PeopleError when no staff account has
    that user name."""
    account = accounts.by_username(normal_username(username))
    if account is None or account["role"] not in ("admin", "teacher"):
        raise PeopleError(
            f"There is no teacher or administrator with the user name {username!r}.",
            cause="A typo, or it is a student's account (students get a new PIN on their class page).",
            fix="List the staff on /admin/people, or run `tpkit people add-teacher NAME` to add one.",
            code="people.no_such_staff",
        )
    password = one_time_password()
    accounts.reset_password(account["id"], hash_password(password))
    # the account's own counters (from every device); a device's count for all names waits out its window
    own = (f"account:{account['username']}", f"account-client:{account['username']} ")
    for subject in failures.subjects_since(0):
        if subject == own[0] or subject.startswith(own[1]):
            failures.clear(subject)
    return password


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(
    accounts: Accounts,
    username: str,
    password: str,
    failures: SigninFailures | None = None,
    client: str = "",
    now: float | None = None,
) -> str:
    """Check the password and open a session; return the cookie token. SignInError when wrong,
    TooManyAttemptsError while throttled (then the password is not even checked). The try is counted before the
    check, in the transaction that reads the counters, so simultaneous guesses cannot pass the throttle together."""
    username = normal_username(username)  # LiLi is lili, for the check and for the throttle's counters alike
    return _password_try(failures, username, client, now, lambda: _check_and_open(accounts, username, password))


def _password_try(
    failures: SigninFailures | None, username: str, client: str, now: float | None, check: Callable[[], T]
) -> T:
    """`check()` (which raises SignInError for a wrong password) behind the password throttle. The try is counted
    before the check, in the transaction that reads the counters, so simultaneous guesses cannot pass the throttle
    together; a right password takes the count back."""
    now = time.time() if now is None else now
    rows: list[int] = []
    if failures is not None:
        subjects = passwords.password_subjects(username, client)
        wait, rows = failures.begin_try(
            [(subject, now - throttle.window_s) for subject, throttle in subjects],
            now,
            now - FAILURES_KEPT_S,
            lambda counts: passwords.password_wait(counts, subjects, now),
        )
        if wait > 0:
            raise passwords.too_many_passwords(wait)
    result = check()
    if failures is not None:
        failures.forget(rows)
    return result


def check_password(account, password: str) -> bool:
    """Whether `password` is the staff account's (False, at the same cost, for no account or a student's)."""
    staff = account is not None and account["role"] != "student"
    return passwords.verify_password_or_dummy(account["password_hash"] if staff else None, password)


def _check_and_open(accounts: Accounts, username: str, password: str) -> str:
    row = accounts.by_username(username)
    # students sign in at /learn with a throttled PIN only
    if not check_password(row, password):
        raise SignInError(
            "The user name or password is wrong.",
            cause="A typo, or the one-time password was already changed.",
            fix="Type it again; the administrator password was printed by `./build.sh run` or set at provisioning.",
            code="auth.wrong_password",
        )
    assert row is not None  # check_password is False without an account
    return _open_session(accounts, row["id"], SESSION_LIFETIME_S)


def _open_session(accounts: Accounts, account_id: int, lifetime_s: float) -> str:
    token = secrets.token_urlsafe(32)
    accounts.add_session(_token_digest(token), account_id, time.time() + lifetime_s)
    return token


def pin_subjects(account_id: int, class_id: int, client: str) -> list[tuple[str, Throttle]]:
    """The failure counters a PIN try is checked against and, when wrong, added to."""
    return [
        (f"pin:{account_id}", PIN_THROTTLE),
        (f"pin-client:{client}", PIN_DEVICE_THROTTLE),
        (f"pin-class:{class_id}", PIN_CLASS_THROTTLE),
    ]


def pin_locked(failures: SigninFailures, account_id: int, now: float | None = None) -> bool:
    """True when the student's PIN is locked until a teacher gives a new one."""
    now = time.time() if now is None else now
    return passwords.wait_s(failures, f"pin:{account_id}", now, PIN_THROTTLE) == math.inf


def sign_in_pin(
    accounts: Accounts,
    failures: SigninFailures,
    student: dict,
    class_id: int,
    pin: str,
    client: str,
    now: float | None = None,
) -> str:
    """Check a student's PIN or picture code (the caller has checked that `student` is enrolled in `class_id`) and open a
    session; return the cookie token. SignInError when wrong, TooManyAttemptsError while throttled."""
    now = time.time() if now is None else now
    subjects = pin_subjects(student["id"], class_id, client)

    def wait(counts: list[passwords.Count]) -> float:
        student_wait, device_wait, class_wait = (
            passwords.wait_after(count, now, throttle) for count, (_, throttle) in zip(counts, subjects, strict=True)
        )
        if counts[1][0] == 0:  # a device with no wrong PIN of its own is not held back by the class's count
            class_wait = 0.0
        return max(student_wait, device_wait, class_wait)

    waiting, rows = failures.begin_try(
        [(subject, now - throttle.window_s) for subject, throttle in subjects], now, now - FAILURES_KEPT_S, wait
    )
    if waiting == math.inf:
        raise PinLockedError(
            "This PIN is locked after too many wrong tries.",
            cause=f"{PIN_THROTTLE.lock_after} wrong PINs were typed for this name within a week.",
            fix="Ask your teacher for a new PIN (class page, 'New PIN').",
        )
    if waiting > 0:
        raise TooManyAttemptsError(
            f"Too many wrong PINs: try again in {int(waiting) + 1} seconds.",
            cause="Several wrong PINs were typed for this name, on this device, or in this class from this device.",
            fix="Wait, or ask your teacher for a new PIN.",
            retry_after_s=int(waiting) + 1,
        )
    # the form sends digits or a picture code and nothing else; junk is a miss (already counted above)
    if not (pin.isdigit() or picture_codes.is_code(pin)) or not passwords.verify_pin(student["password_hash"], pin):
        raise SignInError(
            "That PIN is not right.",
            fix="Check that you picked your own name, then type your PIN again.",
            code="auth.wrong_pin",
        )
    failures.forget(rows)
    failures.clear(f"pin:{student['id']}")
    if passwords.pin_needs_rehash(student["password_hash"]):  # made with older parameters: once, now
        accounts.set_password(student["id"], hash_pin(pin))
    return _open_session(accounts, student["id"], STUDENT_SESSION_LIFETIME_S)


def class_pause(failures: SigninFailures, class_id: int, now: float | None = None) -> int:
    """The class's wrong PINs when they pause sign-in for devices that typed a wrong PIN (0 when not paused)."""
    now = time.time() if now is None else now
    subject = f"pin-class:{class_id}"
    count = failures.count_since(subject, now - PIN_CLASS_THROTTLE.window_s)
    return count[0] if passwords.wait_after(count, now, PIN_CLASS_THROTTLE) > 0 else 0


def clear_class_pause(failures: SigninFailures, class_id: int) -> None:
    """Forget the class's wrong PINs (the teacher's button on the class page)."""
    failures.clear(f"pin-class:{class_id}")


def change_own_password(
    accounts: Accounts,
    failures: SigninFailures | None,
    account,
    current: str,
    password: str,
    token: str | None,
    client: str,
    now: float | None = None,
) -> None:
    """A staff account's new password, when `current` is its password now (SignInError otherwise, throttled as
    a sign-in is); every other session of the account ends, the one with `token` stays."""

    def check() -> None:
        if not check_password(account, current):
            raise SignInError(
                "The current password is wrong.",
                cause="A typo, or it was changed since you signed in.",
                fix="Type the password you signed in with (the one-time password, the first time).",
                code="auth.wrong_current_password",
            )

    _password_try(failures, account["username"], client, now, check)
    accounts.change_password(account["id"], hash_password(password), _token_digest(token) if token else None)


def session_account(accounts: Accounts, token: str | None):
    """The signed-in account for a cookie token, or None."""
    if not token:
        return None
    return accounts.session_account(_token_digest(token), time.time())


def sign_out(accounts: Accounts, token: str | None) -> None:
    if token:
        accounts.drop_session(_token_digest(token))
