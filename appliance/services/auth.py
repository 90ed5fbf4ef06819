"""Passwords, the first administrator and sign-in sessions. No HTTP here.

Must not import web or cli. Passwords are hashed with argon2id; session tokens are stored hashed.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from appliance.errors import SignInError
from appliance.storage.accounts import Accounts

SESSION_LIFETIME_S = 12 * 3600  # one school day and evening; staff sign in again the next day
ADMIN_USERNAME = "admin"
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def ensure_first_admin(accounts: Accounts) -> str | None:
    """Create the administrator with a random one-time password if none exists; return it, else None."""
    if accounts.count("admin"):
        return None
    password = "-".join(secrets.token_hex(2) for _ in range(4))
    accounts.create(ADMIN_USERNAME, "admin", hash_password(password), must_change_password=True)
    return password


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(accounts: Accounts, username: str, password: str) -> str:
    """Check the password and open a session; return the cookie token. SignInError when wrong."""
    row = accounts.by_username(username)
    try:
        if row is None:
            raise VerificationError
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise SignInError(
            "The user name or password is wrong.",
            cause="A typo, or the one-time password was already changed.",
            fix="Type it again; the administrator password was printed by `./build.sh run` or set at provisioning.",
            code="auth.wrong_password",
        ) from None
    token = secrets.token_urlsafe(32)
    accounts.add_session(_token_digest(token), row["id"], time.time() + SESSION_LIFETIME_S)
    return token


def session_account(accounts: Accounts, token: str | None):
    """The signed-in account for a cookie token, or None."""
    if not token:
        return None
    return accounts.session_account(_token_digest(token), time.time())


def sign_out(accounts: Accounts, token: str | None) -> None:
    if token:
        accounts.drop_session(_token_digest(token))
