"""The dashboard's words: the `hub` message domain (appliance/locale/<lang>/LC_MESSAGES/hub.po), falling back to
the kit's `tpkit` domain for error sentences (`error.<code>`), so each error code is translated once. The language
is chosen as on the kit (webcore/i18n.py), else English.

The keys below are built at run time; they are listed so that `./build.sh messages` extracts them.
Must not import cli or web.
"""

from __future__ import annotations

from appliance.hub.alerts import Alert
from appliance.webcore.i18n import N_, Messages, Translator

DEFAULT_LANGUAGE = "en"
DOMAIN = "hub"
MESSAGES = Messages(DOMAIN, "tpkit")

BUILT_AT_RUN_TIME = (
    # alerts.STATUSES, fleet.SORTS, severities, report kinds (protocol/report_file.py KINDS)
    N_("status.ok"),
    N_("status.warning"),
    N_("status.critical"),
    N_("status.silent"),
    N_("sort.kit_id"),
    N_("sort.school"),
    N_("sort.district"),
    N_("sort.status"),
    N_("sort.last_seen"),
    N_("severity.critical"),
    N_("severity.warning"),
    N_("kind.heartbeat"),
    N_("kind.daily_summary"),
    N_("kind.alert"),
    N_("kind.records"),
    N_("kind.lesson"),
    N_("kind.lesson_file"),
    # shared lessons (storage/shares.TOLD, protocol/shared_lesson.ITEM_KINDS)
    N_("share_state.submitted"),
    N_("share_state.accepted"),
    N_("share_state.returned"),
    N_("share_state.published"),
    N_("share_state.broken"),
    N_("lessons.kind.book"),
    N_("lessons.kind.article"),
    N_("lessons.kind.file"),
    N_("lessons.kind.quiz"),
    # charts.SPECS: titles and units
    N_("chart.temperature"),
    N_("chart.disk"),
    N_("chart.clients"),
    N_("chart.sync"),
    N_("unit.devices"),
    N_("unit.bytes"),
    # alerts.py: each alert's `key`, filled with its `values`
    N_("alert.silent"),
    N_("alert.silent.never"),
    N_("alert.under_voltage.now"),
    N_("alert.under_voltage.since_boot"),
    N_("alert.disk_full"),
    N_("alert.hot"),
    N_("alert.sync_failing"),
    N_("alert.books_damaged"),
    N_("alert.old_content"),
    N_("alert.clock"),
    # notify.py: an alert's name in a "resolved" line (alerts.py's codes)
    N_("alert_code.silent"),
    N_("alert_code.under_voltage"),
    N_("alert_code.disk_full"),
    N_("alert_code.hot"),
    N_("alert_code.sync_failing"),
    N_("alert_code.books_damaged"),
    N_("alert_code.old_content"),
    N_("alert_code.clock"),
    # notify.py: the parts of a message
    N_("notify.opened"),
    N_("notify.worse"),
    N_("notify.still_open"),
    N_("notify.resolved"),
    N_("notify.line"),
    N_("notify.line_resolved"),
)


translator = MESSAGES.translator  # `t(key, **values)`: the hub's catalogue, then the kit's, then English, then the key


def alert_text(t: Translator, alert: Alert) -> str:
    """An alert's sentence in the page's language (its English message when it has no key)."""
    return t(alert.key, **dict(alert.values)) if alert.key else alert.message
