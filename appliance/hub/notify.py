"""Alerts as state with a lifecycle, and telling people (docs/hub.md, "Alerts that tell people").

`tpkit hub notify` (a timer, every minute) runs `run`: one sweep (`sweep`) turns what `alerts.judged` says of the
kits that are not ok now into episodes (storage/alert_states.py): an alert not open yet opens one, a worse severity
raises it, an alert gone closes it. Then each channel (a WeCom/DingTalk group robot's webhook, e-mail) gets one
message listing the openings it has not sent (unless a technician acknowledged them), the episodes that got worse
since it sent them (acknowledged or not), those still open and unacknowledged hub_notify_repeat_h after it last sent
them (a reminder), and the resolutions of what it did send; what the receiver accepted is marked sent for that
channel only, the rest waits for the next sweep.
Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from typing import Any

from appliance.edges import mail
from appliance.edges.uplink import Uplink
from appliance.hub import alerts, fleet, i18n
from appliance.hub.ingest import iso
from appliance.hub.storage import alert_states
from appliance.webcore import times

log = logging.getLogger(__name__)

LISTED = 20  # alerts one message lists; beyond: "and N more"


@dataclasses.dataclass
class Swept:
    """What one sweep changed: episodes opened, raised to a worse severity, closed."""

    opened: int = 0
    raised: int = 0
    closed: int = 0


def sweep(db, now: float, silent_after_h: float, old_content_days: float) -> tuple[Swept, dict[tuple[str, str], Any]]:
    """Bring alert_states in line with the alerts of the kits not ok now; what changed, and (kit_id, code) ->
    (kit, alert) for every alert now (the sentences of the openings). Running it twice changes nothing the second
    time; two at once open an episode once (the unique index)."""
    current: dict[tuple[str, str], Any] = {}
    for kit in fleet.kits(db, now, silent_after_h, alerting=True, old_content_days=old_content_days):
        for alert in kit.alerts:
            known = current.get((kit.kit_id, alert.code))
            if known is None or alerts.RANK[alert.severity] > alerts.RANK[known[1].severity]:
                current[(kit.kit_id, alert.code)] = (kit, alert)
    open_now = {(row["kit_id"], row["code"]): row["severity"] for row in alert_states.open_rows(db)}
    new = [
        (kit_id, code, alert.severity)
        for (kit_id, code), (_, alert) in current.items()
        if (kit_id, code) not in open_now
    ]
    worse = [
        (kit_id, code, alert.severity)
        for (kit_id, code), (_, alert) in current.items()
        if (kit_id, code) in open_now and alerts.RANK[alert.severity] > alerts.RANK.get(open_now[(kit_id, code)], 0)
    ]
    gone = [key for key in open_now if key not in current]
    swept = Swept(
        alert_states.open_episodes(db, new, now),
        alert_states.raise_severity(db, worse, now),
        alert_states.close(db, gone, now),
    )
    return swept, current


@dataclasses.dataclass(frozen=True)
class Message:
    """One sweep's message for one channel: its subject (mail), its text, and the episodes it tells of."""

    subject: str
    text: str
    openings: list[dict[str, Any]]
    resolutions: list[dict[str, Any]]


def _kind(row: dict[str, Any]) -> str:
    """An opening a channel tells of: new (never sent on it), worse (raised since it was), or a reminder."""
    if row.get("told") is None:
        return "new"
    return "worse" if (row.get("raised_at") or 0) > row["told"] else "still"


SECTIONS = (("notify.opened", "new"), ("notify.worse", "worse"), ("notify.still_open", "still"))


def compose(
    openings: list[dict[str, Any]],
    resolutions: list[dict[str, Any]],
    current: dict[tuple[str, str], Any],
    lang: str,
    zone: str,
) -> Message:
    """The message telling of `openings` (new, worse, or still open: a reminder) and `resolutions` (episode rows) in
    `lang`, times in `zone`: at most LISTED alerts, then how many more."""
    t = i18n.translator(lang)
    new = [row for row in openings if _kind(row) == "new"]
    lines = [t("notify.heading", opened=len(new), resolved=len(resolutions))]
    listed = 0
    sections = [(title, [row for row in openings if _kind(row) == kind], True) for title, kind in SECTIONS]
    for title, rows, opening in (*sections, ("notify.resolved", resolutions, False)):
        if not rows:
            continue
        lines += ["", t(title)]
        for row in rows[: max(0, LISTED - listed)]:
            found = current.get((row["kit_id"], row["code"]))
            name, severity = "alert_code." + row["code"], "severity." + row["severity"]  # keys in hub/i18n.py
            line = "notify.line" if opening else "notify.line_resolved"
            lines.append(
                t(
                    line,
                    kit=row["kit_id"],
                    school=row["school"],
                    district=row["district"],
                    severity=t(severity),
                    alert=i18n.alert_text(t, found[1]) if opening and found else t(name),
                    since=times.shown(iso(row["opened_at"]), lang, zone),
                )
            )
            listed += 1
    if len(openings) + len(resolutions) > listed:
        lines += ["", t("notify.more", count=len(openings) + len(resolutions) - listed)]
    subject = t("notify.subject", opened=len(new), resolved=len(resolutions))
    return Message(subject, "\n".join(lines), openings, resolutions)


def post_webhook(url: str, text: str) -> str:
    """POST `text` as a WeCom/DingTalk group robot's text message; "" when the robot took it (2xx and errcode 0),
    else what went wrong."""
    parts = urllib.parse.urlsplit(url)
    with Uplink(urllib.parse.urlunsplit(parts._replace(query="", fragment=""))) as robot:
        answer = robot.post(
            "?" + parts.query if parts.query else "", json={"msgtype": "text", "text": {"content": text}}
        )
    if answer.status is None:
        return answer.error
    if not 200 <= answer.status < 300:
        return f"the webhook answered HTTP {answer.status}" + (f" {answer.body}" if answer.body else "")
    errcode = (answer.body or {}).get("errcode", 0)
    if errcode != 0:
        return f"the robot answered errcode {errcode}: {(answer.body or {}).get('errmsg', '')}".rstrip(": ")
    return ""


@dataclasses.dataclass
class Sent:
    """What one channel did this sweep: openings and resolutions it sent, or the error that kept them back."""

    channel: str
    openings: int = 0
    resolutions: int = 0
    error: str = ""
    busy: bool = False  # another `tpkit hub notify` was sending (PostgreSQL): left to it


def channels(settings) -> list[str]:
    """The channels the settings turn on."""
    return [
        name
        for name, on in (
            ("webhook", bool(settings.hub_notify_webhook_url)),
            ("mail", bool(settings.hub_notify_smtp and settings.hub_notify_mail_to)),
        )
        if on
    ]


def _deliver(settings, channel: str, message: Message) -> str:
    if channel == "webhook":
        return post_webhook(settings.hub_notify_webhook_url, message.text)
    return mail.send(
        settings.hub_notify_smtp,
        settings.hub_notify_mail_from or "tpkit-hub@localhost",
        [a.strip() for a in settings.hub_notify_mail_to.split(",") if a.strip()],
        message.subject,
        message.text,
        user=settings.hub_notify_smtp_user,
        password=settings.hub_notify_smtp_password,
    )


def tell(db, settings, current: dict[tuple[str, str], Any], now: float) -> list[Sent]:
    """Send each channel its message (nothing when it has nothing to tell); mark what each receiver accepted."""
    with alert_states.sending(db) as mine:
        if not mine:
            return [Sent(channel, busy=True) for channel in channels(settings)]
        return _tell(db, settings, current, now)


def _tell(db, settings, current: dict[tuple[str, str], Any], now: float) -> list[Sent]:
    done = []
    for channel in channels(settings):
        repeat_s = settings.hub_notify_repeat_h * 3600
        openings = alert_states.openings_due(db, channel, now - repeat_s if repeat_s > 0 else None)
        resolutions = alert_states.resolutions_due(db, channel)
        sent = Sent(channel)
        done.append(sent)
        if not openings and not resolutions:
            continue
        message = compose(openings, resolutions, current, settings.hub_notify_language, settings.hub_time_zone)
        sent.error = _deliver(settings, channel, message)
        if sent.error:
            log.warning("alert %s not sent (retried at the next sweep): %s", channel, sent.error)
            continue
        alert_states.mark_sent(db, channel, openings, resolutions, now)
        sent.openings, sent.resolutions = len(openings), len(resolutions)
    return done


def run(db, settings, now: float) -> tuple[Swept, list[Sent]]:
    """One `tpkit hub notify`: a sweep, then each channel told."""
    swept, current = sweep(db, now, settings.hub_silent_after_h, settings.hub_old_content_days)
    return swept, tell(db, settings, current, now)


def acknowledge(db, kit_id: str, code: str, technician: str, now: float) -> bool:
    """A technician has seen the open alert `code` of kit `kit_id`: it stays listed, its opening is not sent; False
    when it is not open (closed meanwhile) or was acknowledged already."""
    return alert_states.acknowledge(db, kit_id, code, technician, now)


def open_for(db, kit_ids: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kit_id, code) -> its open episode (opened_at, acknowledged_at, acknowledged_by), for one page's kits."""
    return alert_states.open_for(db, kit_ids)
