"""Passwords and PINs: argon2id hashing (the only module that imports argon2) and the throttle on guessing them.

Used by the kit's accounts (services/people/auth.py) and the hub's technicians alike. Imports only base modules.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from typing import Any, Protocol

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from appliance.errors import TooManyAttemptsError

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Each password hash holds 64 MiB while it runs and the web server runs requests on up to 40 threads per
# worker: a burst of sign-ins (or of wrong passwords) could hold ~2.5 GB on a 1–4 GB Pi. Two at a time per
# process keep it at 128 MiB; the others wait their turn (~0.3 s each), which also slows a guesser.
PASSWORD_HASHING = threading.BoundedSemaphore(2)
# PINs: argon2id with 8 MiB, 1 pass, 1 lane: ~9 ms of CPU here, against ~45 ms at OWASP's minimum (19 MiB,
# 2 passes) and ~300 ms for the profile above. A PIN has 10^4–10^6 values, so a stolen database gives up every
# PIN to an offline search at any cost (10^4 × 45 ms is 8 min on one core; 10^4 × 9 ms is 1.5 min); the online
# throttle is the guard, and a thief with the database already has what the PINs protect. What the cost does
# decide is a class signing in at once: at OWASP's minimum, 60 sign-ins were ~2.7 s of the ~6 s of CPU the
# server spent on a whole lesson (bench/lesson.py), 19 MiB each while they ran. docs/learning-space.md, "Sign-in".
PIN_HASH: dict[str, Any] = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}
_pin_hasher = PasswordHasher(**PIN_HASH)


def hash_password(password: str) -> str:
    """The argon2id hash of a password (at most two hashed at a time in this process)."""
    with PASSWORD_HASHING:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the argon2id `password_hash` (False for a damaged hash too)."""
    try:
        with PASSWORD_HASHING:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password("no such account")


def verify_password_or_dummy(password_hash: str | None, password: str) -> bool:
    """Like verify_password, but for an account that does not exist (`password_hash` None) it checks a dummy hash
    and answers False: a wrong user name then costs as long as a wrong password, so timing does not tell which
    user names exist."""
    if password_hash is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(password_hash, password)


def hash_pin(pin: str) -> str:
    """The argon2id hash of a PIN or picture code, with the cheaper PIN_HASH parameters."""
    return _pin_hasher.hash(pin)


def verify_pin(pin_hash: str, pin: str) -> bool:
    """Whether `pin` matches `pin_hash` (False for a damaged hash too)."""
    try:
        return _pin_hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def pin_needs_rehash(pin_hash: str) -> bool:
    """Whether a PIN hash was made with other parameters than PIN_HASH (then it is made again at sign-in)."""
    return _pin_hasher.check_needs_rehash(pin_hash)


def is_argon2id_hash(text: str) -> bool:
    """True when `text` is an argon2id hash in PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash)."""
    try:
        return extract_parameters(text).type is Type.ID
    except (InvalidHashError, ValueError):
        return False


@dataclasses.dataclass(frozen=True)
class Throttle:
    """After `free` failures within `window_s`, each further try waits `first_wait_s`, doubling up to `max_wait_s`;
    with `lock_after`, that many failures within the window stop all tries until the count is cleared."""

    free: int
    window_s: float
    first_wait_s: float
    max_wait_s: float
    lock_after: int | None = None


# Passwords: throttle rather than lock (OWASP's advice), so a child cannot lock the teacher out for the day. Counted
# per account and device (5 free), so a child guessing at the teacher's name on a classroom PC slows only that PC
# for that name; per device whatever the name (20 free), so one device cannot sweep user names; and per account
# from any device with a far higher ceiling (50 free), so many devices together stay slow without a prank from
# one device locking the teacher's own laptop out.
PASSWORD_THROTTLE = Throttle(free=5, window_s=15 * 60, first_wait_s=30, max_wait_s=15 * 60)
PASSWORD_DEVICE_THROTTLE = Throttle(free=20, window_s=15 * 60, first_wait_s=30, max_wait_s=15 * 60)
PASSWORD_ACCOUNT_THROTTLE = Throttle(free=50, window_s=15 * 60, first_wait_s=30, max_wait_s=15 * 60)

# (failures within a throttle's window, time of the latest one or None)
Count = tuple[int, float | None]


class Failures(Protocol):
    """Where failed tries are counted (the kit's and the hub's `signin_failures` tables)."""

    def count_since(self, subject: str, since: float) -> Count: ...


def wait_after(count: Count, now: float, throttle: Throttle) -> float:
    """Seconds to wait before another try after `count` failures (0 when it may try now; infinite when locked)."""
    failed, latest = count
    if throttle.lock_after is not None and failed >= throttle.lock_after:
        return math.inf
    if failed < throttle.free or latest is None:
        return 0.0
    wait = min(throttle.first_wait_s * 2 ** (failed - throttle.free), throttle.max_wait_s)
    return max(0.0, latest + wait - now)


def wait_s(failures: Failures, subject: str, now: float, throttle: Throttle = PASSWORD_THROTTLE) -> float:
    """Seconds `subject` must still wait before another try (0 when it may try now; infinite when locked)."""
    return wait_after(failures.count_since(subject, now - throttle.window_s), now, throttle)


def password_subjects(username: str, client: str) -> list[tuple[str, Throttle]]:
    """The failure counters a password try is checked against and, when wrong, added to."""
    return [
        (f"account-client:{username} {client}", PASSWORD_THROTTLE),
        (f"client:{client}", PASSWORD_DEVICE_THROTTLE),
        (f"account:{username}", PASSWORD_ACCOUNT_THROTTLE),
    ]


def password_wait(counts: list[Count], subjects: list[tuple[str, Throttle]], now: float) -> float:
    """The wait before a password try, from the counts of `password_subjects` (in that order)."""
    return max(wait_after(count, now, throttle) for count, (_, throttle) in zip(counts, subjects, strict=True))


def too_many_passwords(wait: float) -> TooManyAttemptsError:
    return TooManyAttemptsError(
        f"Too many wrong passwords: try again in {int(wait) + 1} seconds.",
        cause="Several wrong passwords were typed for this account from this device, or from this device.",
        fix="Wait, then type the password carefully. Forgotten? See docs/field-guide.md, 'Starting the kit'.",
        retry_after_s=int(wait) + 1,
    )
