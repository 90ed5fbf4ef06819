"""The one error family of tpkit: every error a person sees says what happened, why, and the fix.

Imports nothing from the package: every layer may raise these.
"""

from __future__ import annotations


class TpkitError(Exception):
    """Base class. `code` is stable (docs, translations, JSON clients key on it); `fix` is required."""

    code = "error"
    status = 500
    field = ""  # the form field the error is about ('' for the form as a whole): a refused form shows it there

    def __init__(
        self, message: str, *, fix: str, cause: str = "", code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.fix = fix
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field

    def __str__(self) -> str:
        parts = [self.message]
        if self.cause:
            parts.append(f"Likely cause: {self.cause}")
        parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)

    def as_dict(self) -> dict[str, str]:
        """The JSON rendering for API clients."""
        return {"code": self.code, "message": self.message, "cause": self.cause, "fix": self.fix}


class ConfigError(TpkitError, ValueError):
    """A setting is missing, malformed or out of range."""

    code = "config.invalid"


class CertificateError(TpkitError, ValueError):
    """A TLS certificate the kit was given cannot be installed: unreadable, for another key or name, or expired
    (edges/x509.py, services/security/kit_certificate.py). The certificate in use is kept."""

    code = "tls.unreadable"
    status = 400


class StorageError(TpkitError, OSError):
    """The database or a data folder cannot be used."""

    code = "storage.failed"


class DiskFullError(StorageError):
    """A disk the kit writes to is full: SQLite answered "database or disk is full", or a write got ENOSPC. The
    message says which disk, how much is free and how much is needed; what was being written is not kept."""

    code = "disk.full"
    status = 507


class BadRequestError(TpkitError, ValueError):
    """A request is missing a parameter or has one that cannot be used."""

    code = "request.bad"
    status = 400


class BookNotFoundError(TpkitError, LookupError):
    """No book with that name is in the library."""

    code = "library.book_not_found"
    status = 404


class EntryNotFoundError(TpkitError, LookupError):
    """The book has no entry at that path."""

    code = "library.entry_not_found"
    status = 404


class DamagedBookError(TpkitError, ValueError):
    """A ZIM file cannot be read: truncated, corrupt, or not a ZIM at all."""

    code = "library.book_damaged"
    status = 503


class NoFullTextIndexError(TpkitError, LookupError):
    """Full-text search was asked of books that carry no full-text index."""

    code = "library.no_fulltext_index"
    status = 404  # what kiwix-serve answers, so Kiwix clients treat it as "not available"


class RangeNotSatisfiableError(TpkitError, ValueError):
    """A Range header asks for bytes outside the entry."""

    code = "request.range_not_satisfiable"
    status = 416


class SignInError(TpkitError, PermissionError):
    """Wrong credentials, or the page needs a signed-in administrator."""

    code = "auth.required"
    status = 401


class PackError(TpkitError, ValueError):
    """A folder cannot be packed into a book (`tpkit pack`): its manifest or curriculum map has problems (all of them
    are listed at once in `problems`, each with its place and fix), or a file in it cannot be converted."""

    code = "pack.invalid"

    def __init__(
        self, message: str, *, fix: str, problems: list[str] | None = None, cause: str = "", code: str | None = None
    ) -> None:
        super().__init__(message, fix=fix, cause=cause, code=code)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        head, _, rest = super().__str__().partition("\n")
        return "\n".join([head, *(f"  - {problem}" for problem in self.problems), rest])


class LanError(TpkitError, OSError):
    """mDNS cannot be used: no multicast on the chosen interfaces, or the mDNS port cannot be opened."""

    code = "lan.mdns_unavailable"


class SystemCommandError(TpkitError, OSError):
    """A system command (systemctl) could not be run or refused what was asked."""

    code = "system.command_failed"


class ChannelError(TpkitError, ValueError):
    """A channel's signed index or one of its packages cannot be trusted; `code` says which check failed."""

    code = "channel.malformed"
    status = 502  # the mirror (an upstream) sent something unusable


class ReportError(TpkitError, ValueError):
    """A health or records report cannot be read or trusted; `code` says which check failed (docs/reporting.md)."""

    code = "report.malformed"
    status = 400


class BackupError(TpkitError, ValueError):
    """A backup cannot be written or restored; `code` says why (docs/field-guide.md, "Backup and restore")."""

    code = "backup.invalid"


class UplinkError(TpkitError, ConnectionError):
    """Reports could not be delivered to the county hub; `code` says why (docs/health.md, "Reporting")."""

    code = "uplink.unreachable"


class SyncError(TpkitError, RuntimeError):
    """A sync run or a rollback cannot go on; `code` says why (docs/sync.md). The library stays as it was."""

    code = "sync.failed"


class StickError(TpkitError, OSError):
    """A USB stick cannot be imported from or exported to (docs/sync.md, "Other roads in")."""

    code = "stick.failed"


class ProvisioningError(TpkitError, ValueError):
    """A provisioning file (kit.toml on the boot partition, a row of schools.csv) has bad or missing values."""

    code = "provisioning.invalid"


class DiskImageError(TpkitError, OSError):
    """A disk image cannot be provisioned: no FAT boot partition, or sfdisk/mcopy failed or are missing."""

    code = "provisioning.image_failed"


class TooManyAttemptsError(TpkitError, PermissionError):
    """Sign-in is throttled after repeated wrong passwords; `retry_after_s` says for how long."""

    code = "auth.throttled"
    status = 429

    def __init__(self, message: str, *, fix: str, cause: str = "", retry_after_s: int = 0) -> None:
        super().__init__(message, fix=fix, cause=cause)
        self.retry_after_s = retry_after_s


class AccessDeniedError(TpkitError, PermissionError):
    """The signed-in account's role may not use this page (a student on a teacher's page)."""

    code = "auth.not_allowed"
    status = 403


class PhonePassError(TpkitError, PermissionError):
    """A phone's pass (issue 18) is unknown, ended by a teacher or by sign-out, or past its 30 days."""

    code = "phone.pass_ended"
    status = 401


class WrongChildError(PhonePassError):
    """Work a phone queued for one child, delivered with another child's pass or sign-in: never stored as theirs."""

    code = "phone.wrong_child"
    status = 403


class NotVisibleError(TpkitError, LookupError):
    """No class or person with that id that this account may see (another teacher's class looks absent)."""

    code = "people.not_found"
    status = 404


class PeopleError(TpkitError, ValueError):
    """A person or class cannot be created as asked: a name missing, a user name taken, a PIN malformed."""

    code = "people.invalid"
    status = 400


class RosterError(TpkitError, ValueError):
    """A roster file (simple CSV or OneRoster set) cannot be imported; `problems` lists each with its place."""

    code = "roster.invalid"
    status = 400

    def __init__(
        self, message: str, *, fix: str, problems: list | None = None, cause: str = "", code: str | None = None
    ) -> None:
        super().__init__(message, fix=fix, cause=cause, code=code)
        self.problems = list(problems or [])

    def as_dict(self) -> dict:
        """The JSON rendering, with each problem's place."""
        return {
            **super().as_dict(),
            "problems": [
                {"file": p.file, "line": p.line, "column": p.column, "message": p.message} for p in self.problems
            ],
        }

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {problem}" for problem in self.problems[:50])]
        if len(self.problems) > 50:
            lines.append(f"  - … and {len(self.problems) - 50} more")
        if self.cause:
            lines.append(f"Likely cause: {self.cause}")
        lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)


class PinLockedError(TooManyAttemptsError):
    """A student's PIN is locked after too many wrong tries, until a teacher gives a new one."""

    code = "auth.pin_locked"
    status = 423  # RFC 4918 Locked: waiting does not help, a teacher must act


class HubError(TpkitError, ValueError):
    """The county hub refuses a request or a technician's command; `code` and `status` say why (docs/hub.md)."""

    code = "hub.invalid"
    status = 400

    def __init__(
        self, message: str, *, fix: str, cause: str = "", code: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, fix=fix, cause=cause, code=code)
        if status is not None:
            self.status = status


class HubUnavailableError(TpkitError, ConnectionError):
    """The hub's database cannot be reached or is busy; nothing was stored, the sender should retry later."""

    code = "hub.database_unavailable"
    status = 503


class QuizError(TpkitError, ValueError):
    """A quiz cannot be taken as asked: no attempts left (`quiz.no_attempts_left`)."""

    code = "quiz.no_attempts_left"
    status = 409


class UploadRefusedError(TpkitError, ValueError):
    """An uploaded file is refused: empty, too large, of a kind the kit does not keep, or not what its name says."""

    code = "upload.refused"
    status = 400


class UploadBusyError(UploadRefusedError):
    """An upload was not kept because the worker was busy decoding other photos; sending it again later works."""

    code = "upload.busy"
    status = 503


class ValuedError(TpkitError):
    """An error whose person's sentence (`error.<code>`) is filled from `values`, with its status given per case."""

    def __init__(
        self,
        message: str,
        *,
        fix: str,
        code: str,
        cause: str = "",
        values: dict[str, object] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, fix=fix, cause=cause, code=code)
        self.values = dict(values or {})
        if status is not None:
            self.status = status


class HandinRoomError(ValuedError, UploadRefusedError):
    """A hand-in does not fit: the student's quota for the lesson or for all lessons is full, or the data disk would
    go under its reserve. `values` fill the student's sentence (`error.<code>`, e.g. the quota in MB)."""

    code = "upload.lesson_full"
    status = 413


class LessonError(TpkitError, ValueError):
    """A lesson, hand-in or grade cannot be saved as asked (a title missing, a bad date, a hand-in already graded)."""

    code = "lesson.invalid"
    status = 400


class ShareError(ValuedError, ValueError):
    """A lesson cannot be shared with the county as it is (its files over the limits), or a shared lesson a book
    carries cannot be copied (docs/shared-lessons.md). `values` fill the teacher's sentence (`error.<code>`)."""

    code = "share.too_big"
    status = 400


class QuizPasteError(BadRequestError):
    """A pasted quiz (plain text or GIFT) cannot be read: the first problem found, at its line. `values` fill the
    teacher's sentence (`error.<code>`): `line` (1-based) and `quoted` (the start of that line), and for a question
    that reads but cannot be graded its `number` and the `field` at fault (`quiz.problem.<field>`)."""

    code = "quiz.paste_unreadable"
    field = "text"

    def __init__(
        self, message: str, *, fix: str, code: str, values: dict[str, object] | None = None, field: str | None = None
    ) -> None:
        super().__init__(message, fix=fix, code=code, field=field)
        self.values = dict(values or {})

    @classmethod
    def at(cls, line: int, text: str, message: str, *, fix: str, code: str, **values: object) -> QuizPasteError:
        """The error for a problem at `line` (1-based) whose text is `text`, quoting the start of that line."""
        quoted = text.strip()[:40]
        return cls(
            f"Line {line} ({quoted!r}): {message}",
            fix=fix,
            code=code,
            values={"line": line, "quoted": quoted, **values},
        )

    @classmethod
    def too_many(cls, count: int, most: int) -> QuizPasteError:
        return cls(
            f"The pasted text has {count} questions; a quiz may have at most {most}.",
            fix=f"Paste at most {most} questions; make a second quiz for the rest.",
            code="quiz.paste_too_many",
            values={"count": count, "max": most},
        )
