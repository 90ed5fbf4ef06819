"""Sending one e-mail through a relay (smtplib): STARTTLS when the relay offers it, a sign-in when a user is given,
UTF-8 subject and body (Chinese encoded as the mail standards say, read by any mail program).

The only module that imports smtplib. Must not import storage, content, services or web.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

TIMEOUT_S = 30.0


def send(
    relay: str,
    mail_from: str,
    mail_to: list[str],
    subject: str,
    body: str,
    *,
    user: str = "",
    password: str = "",
    timeout_s: float = TIMEOUT_S,
) -> str:
    """Send one plain-text mail through `relay` (host:port); "" when the relay accepted it for every recipient,
    else what went wrong (the relay's refusal or why it could not be reached)."""
    host, _, port = relay.rpartition(":")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
    message["To"] = ", ".join(mail_to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or None)
    message.set_content(body, charset="utf-8")
    try:
        with smtplib.SMTP(host, int(port), timeout=timeout_s) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if user:
                smtp.login(user, password)
            refused = smtp.send_message(message, mail_from, mail_to)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc or 'no answer'}"
    if refused:
        return "the relay refused " + ", ".join(f"{who} ({code} {reason!r})" for who, (code, reason) in refused.items())
    return ""
