"""Sign-in throttling on a real SQLite file: per account and per client, doubling waits, no lock-out."""

from __future__ import annotations

import threading

import pytest

from appliance.edges import passwords
from appliance.errors import SignInError, TooManyAttemptsError
from appliance.services.people import auth


def _fail(kit, now: float, client: str = "10.0.0.9", username: str = "admin") -> None:
    with pytest.raises(SignInError):
        auth.sign_in(kit.accounts, username, "wrong guess", kit.signin_failures, client, now=now)


def test_auth_throttle_starts_after_five_failures_and_doubles(kit):
    password = auth.ensure_first_admin(kit.accounts)
    for second in range(auth.PASSWORD_THROTTLE.free):
        _fail(kit, now=1000.0 + second)
    with pytest.raises(TooManyAttemptsError) as caught:
        auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.9", now=1005.0)
    assert caught.value.retry_after_s == 30  # the right password is not even checked while throttled
    _fail(kit, now=1035.0)  # after the wait, one more wrong try…
    with pytest.raises(TooManyAttemptsError) as caught:
        auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.9", now=1036.0)
    assert caught.value.retry_after_s == 60  # …doubles the wait
    assert auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.9", now=1096.0)


def test_auth_throttle_counts_each_client_and_account_separately_and_forgets(kit):
    password = auth.ensure_first_admin(kit.accounts)
    for second in range(auth.PASSWORD_THROTTLE.free):
        _fail(kit, now=1000.0 + second, client="10.0.0.9", username="teacher-x")
    # another account from another device is not slowed by someone else's guessing
    assert auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.10", now=1006.0)
    # nor is another account from the guessing device: only that name from that device waits…
    assert auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.9", now=1006.0)
    with pytest.raises(TooManyAttemptsError):
        auth.sign_in(kit.accounts, "teacher-x", "anything", kit.signin_failures, "10.0.0.9", now=1006.0)
    # …until the device has swept enough names: then it waits for every name
    for second in range(auth.PASSWORD_DEVICE_THROTTLE.free - auth.PASSWORD_THROTTLE.free):
        _fail(kit, now=1007.0 + second, client="10.0.0.9", username=f"name-{second}")
    with pytest.raises(TooManyAttemptsError):
        auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.9", now=1030.0)
    later = 1030.0 + auth.PASSWORD_THROTTLE.window_s + 1
    assert auth.sign_in(kit.accounts, "admin", password, kit.signin_failures, "10.0.0.9", now=later)


def test_password_hashing_runs_at_most_two_at_a_time_in_a_process():
    """Each hash holds 64 MiB: a third sign-in waits for a permit instead of piling memory on a small Pi."""
    stored = auth.hash_password("correct horse")
    result = []
    assert passwords.PASSWORD_HASHING.acquire(timeout=5) and passwords.PASSWORD_HASHING.acquire(timeout=5)
    try:
        worker = threading.Thread(target=lambda: result.append(auth.verify_password(stored, "correct horse")))
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and result == []  # both permits are taken: the check waits
    finally:
        passwords.PASSWORD_HASHING.release()
        passwords.PASSWORD_HASHING.release()
    worker.join(10)
    assert result == [True]


def test_auth_reset_at_console_forgets_the_accounts_counts(kit):
    auth.ensure_first_admin(kit.accounts)
    for second in range(auth.PASSWORD_ACCOUNT_THROTTLE.free):  # guessed from many devices: every device waits
        _fail(kit, now=1000.0 + second, client=f"10.0.1.{second}")
    new = auth.reset_at_console(kit.accounts, kit.signin_failures, "Admin")
    assert auth.sign_in(kit.accounts, "admin", new, kit.signin_failures, "10.0.0.9", now=1060.0)
    assert kit.accounts.by_username("admin")["must_change_password"] == 1
