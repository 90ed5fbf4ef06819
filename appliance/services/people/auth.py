"""Passwords, the first administrator and sign-in sessions. No HTTP here.

Must not import web or cli. Passwords are hashed with argon2id; session tokens are stored hashed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
import threading
import time
from typing import Any, Protocol

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from appliance.errors import PinLockedError, SignInError, TooManyAttemptsError
from appliance.services.people import picture_codes
from appliance.storage.accounts import Accounts
from appliance.storage.signin_failures import SigninFailures


class FailureCounts(Protocol):
    """Failed sign-ins by subject: the kit's storage.signin_failures and the hub's technicians.SigninFailures."""

    def count_since(self, subject: str, since: float) -> tuple[int, float | None]: ...


SESSION_LIFETIME_S = 12 * 3600
# Students share classroom devices: their sessions end sooner, so the next child does not inherit one.
STUDENT_SESSION_LIFETIME_S = 2 * 3600


@dataclasses.dataclass(frozen=True)
class Throttle:
    """After `free` failures within `window_s`, each further try waits `first_wait_s`, doubling up to `max_wait_s`;
    with `lock_after`, that many failures within the window stop all tries until the count is cleared."""

    free: int
    window_s: float
    first_wait_s: float
    max_wait_s: float
    lock_after: int | None = None


# Passwords: throttle rather than lock (OWASP's advice), so a child cannot lock the teacher out for the day.
PASSWORD_THROTTLE = Throttle(free=5, window_s=15 * 60, first_wait_s=30, max_wait_s=15 * 60)
# A 4-digit PIN has 10,000 values, so a student's PIN allows 5 wrong tries, then waits from 1 min, and after 10
# wrong tries in a week it is locked until the teacher gives a new PIN (one tap on the class page, which clears
# the count): whoever guesses gets at most 10 tries per PIN, a 0.1 % chance. The teacher is in the room, so a
# prank lock costs a minute, not a day. Per device: shared classroom PCs see many children's typos, so it only
# slows (10 free a day, then 1 min doubling to 15 min). Per class, whatever the devices: 30 free a day, then
# 1 min doubling to 1 h, so sweeping a class from many addresses is slow and shows on the teacher's page.
PIN_THROTTLE = Throttle(free=5, window_s=7 * 86400, first_wait_s=60, max_wait_s=3600, lock_after=10)
PIN_DEVICE_THROTTLE = Throttle(free=10, window_s=86400, first_wait_s=60, max_wait_s=15 * 60)
PIN_CLASS_THROTTLE = Throttle(free=30, window_s=86400, first_wait_s=60, max_wait_s=3600)
FAILURES_KEPT_S = 7 * 86400  # the longest window above
ADMIN_USERNAME = "admin"
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Each password hash holds 64 MiB while it runs and the web server runs requests on up to 40 threads per
# worker: a burst of sign-ins (or of wrong passwords) could hold ~2.5 GB on a 1–4 GB Pi. Two at a time per
# process keep it at 128 MiB; the others wait their turn (~0.3 s each), which also slows a guesser.
_PASSWORD_HASHING = threading.BoundedSemaphore(2)
# PINs: argon2id with 8 MiB, 1 pass, 1 lane: ~9 ms of CPU here, against ~45 ms at OWASP's minimum (19 MiB,
# 2 passes) and ~300 ms for the profile above. A PIN has 10^4–10^6 values, so a stolen database gives up every
# PIN to an offline search at any cost (10^4 × 45 ms is 8 min on one core; 10^4 × 9 ms is 1.5 min); the online
# throttle is the guard, and a thief with the database already has what the PINs protect. What the cost does
# decide is a class signing in at once: at OWASP's minimum, 60 sign-ins were ~2.7 s of the ~6 s of CPU the
# server spent on a whole lesson (bench/lesson.py), 19 MiB each while they ran. docs/learning-space.md, "Sign-in".
PIN_HASH: dict[str, Any] = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}
_pin_hasher = PasswordHasher(**PIN_HASH)


def hash_password(password: str) -> str:
    with _PASSWORD_HASHING:
        return _hasher.hash(password)


def _verify_password_hash(password_hash: str, password: str) -> bool:
    """argon2's verify (True, or VerificationError/InvalidHashError), at most two at a time in this process."""
    with _PASSWORD_HASHING:
        return _hasher.verify(password_hash, password)


def hash_pin(pin: str) -> str:
    return _pin_hasher.hash(pin)


def is_argon2id_hash(text: str) -> bool:
    """True when `text` is an argon2id hash in PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash)."""
    try:
        return extract_parameters(text).type is Type.ID
    except (InvalidHashError, ValueError):
        return False


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the argon2id `password_hash` (False for a damaged hash too)."""
    try:
        return _verify_password_hash(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def ensure_first_admin(accounts: Accounts) -> str | None:
    """Create the administrator with a random one-time password if none exists; return it, else None."""
    if accounts.count("admin"):
        return None
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    accounts.create(ADMIN_USERNAME, "admin", hash_password(password), must_change_password=True)
    return password


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _wait_s(failures: FailureCounts, subject: str, now: float, throttle: Throttle = PASSWORD_THROTTLE) -> float:
    """Seconds `subject` must still wait before another try (0 when it may try now; infinite when locked)."""
    count, latest = failures.count_since(subject, now - throttle.window_s)
    if throttle.lock_after is not None and count >= throttle.lock_after:
        return math.inf
    if count < throttle.free or latest is None:
        return 0.0
    wait = min(throttle.first_wait_s * 2 ** (count - throttle.free), throttle.max_wait_s)
    return max(0.0, latest + wait - now)


def check_throttle(failures: FailureCounts, username: str, client: str, now: float) -> None:
    """TooManyAttemptsError when this account or this client has failed too often just now."""
    wait = max(_wait_s(failures, f"account:{username}", now), _wait_s(failures, f"client:{client}", now))
    if wait > 0:
        raise TooManyAttemptsError(
            f"Too many wrong passwords: try again in {int(wait) + 1} seconds.",
            cause="Several wrong passwords were typed for this account or from this device.",
            fix="Wait, then type the password carefully. Forgotten? See docs/field-guide.md, 'Starting the kit'.",
            retry_after_s=int(wait) + 1,
        )


def sign_in(accounts: Accounts, username: str, password: str, failures: SigninFailures | None = None,
            client: str = "", now: float | None = None) -> str:
    """Check the password and open a session; return the cookie token. SignInError when wrong,
    TooManyAttemptsError while throttled (then the password is not even checked)."""
    now = time.time() if now is None else now
    if failures is not None:
        check_throttle(failures, username, client, now)
    try:
        return _check_and_open(accounts, username, password)
    except SignInError:
        if failures is not None:
            failures.add([f"account:{username}", f"client:{client}"], now, now - FAILURES_KEPT_S)
        raise


def _check_and_open(accounts: Accounts, username: str, password: str) -> str:
    row = accounts.by_username(username)
    try:
        if row is None or row["role"] == "student":  # students sign in at /learn with a throttled PIN only
            raise VerificationError
        _verify_password_hash(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise SignInError(
            "The user name or password is wrong.",
            cause="A typo, or the one-time password was already changed.",
            fix="Type it again; the administrator password was printed by `./build.sh run` or set at provisioning.",
            code="auth.wrong_password",
        ) from None
    return _open_session(accounts, row["id"], SESSION_LIFETIME_S)


def _open_session(accounts: Accounts, account_id: int, lifetime_s: float) -> str:
    token = secrets.token_urlsafe(32)
    accounts.add_session(_token_digest(token), account_id, time.time() + lifetime_s)
    return token


def pin_subjects(account_id: int, class_id: int, client: str) -> list[tuple[str, Throttle]]:
    """The failure counters a PIN try is checked against and, when wrong, added to."""
    return [(f"pin:{account_id}", PIN_THROTTLE), (f"pin-client:{client}", PIN_DEVICE_THROTTLE),
            (f"pin-class:{class_id}", PIN_CLASS_THROTTLE)]


def pin_locked(failures: SigninFailures, account_id: int, now: float | None = None) -> bool:
    """True when the student's PIN is locked until a teacher gives a new one."""
    now = time.time() if now is None else now
    return _wait_s(failures, f"pin:{account_id}", now, PIN_THROTTLE) == math.inf


def sign_in_pin(accounts: Accounts, failures: SigninFailures, student: dict, class_id: int, pin: str,
                client: str, now: float | None = None) -> str:
    """Check a student's PIN or picture code (the caller has checked that `student` is enrolled in `class_id`) and open a
    session; return the cookie token. SignInError when wrong, TooManyAttemptsError while throttled."""
    now = time.time() if now is None else now
    subjects = pin_subjects(student["id"], class_id, client)
    wait = max(_wait_s(failures, subject, now, throttle) for subject, throttle in subjects)
    if wait == math.inf:
        raise PinLockedError(
            "This PIN is locked after too many wrong tries.",
            cause=f"{PIN_THROTTLE.lock_after} wrong PINs were typed for this name within a week.",
            fix="Ask your teacher for a new PIN (class page, 'New PIN').")
    if wait > 0:
        raise TooManyAttemptsError(
            f"Too many wrong PINs: try again in {int(wait) + 1} seconds.",
            cause="Several wrong PINs were typed for this name, on this device or in this class.",
            fix="Wait, or ask your teacher for a new PIN.", retry_after_s=int(wait) + 1)
    try:
        if not (pin.isdigit() or picture_codes.is_code(pin)):  # the form sends nothing else; junk is a miss
            raise VerificationError
        _pin_hasher.verify(student["password_hash"], pin)
    except (VerificationError, InvalidHashError):
        failures.add([subject for subject, _ in subjects], now, now - FAILURES_KEPT_S)
        raise SignInError("That PIN is not right.", fix="Check that you picked your own name, then type your PIN again.",
                          code="auth.wrong_pin") from None
    failures.clear(f"pin:{student['id']}")
    if _pin_hasher.check_needs_rehash(student["password_hash"]):  # made with older parameters: once, now
        accounts.set_password(student["id"], _pin_hasher.hash(pin))
    return _open_session(accounts, student["id"], STUDENT_SESSION_LIFETIME_S)


def session_account(accounts: Accounts, token: str | None):
    """The signed-in account for a cookie token, or None."""
    if not token:
        return None
    return accounts.session_account(_token_digest(token), time.time())


def sign_out(accounts: Accounts, token: str | None) -> None:
    if token:
        accounts.drop_session(_token_digest(token))
