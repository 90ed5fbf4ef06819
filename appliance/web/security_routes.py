"""The administrator's security page (/admin/security): the audit's findings (services/security/), as `tpkit audit`
prints them, in the page's language.

Must not import cli.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from appliance.services.security import audit
from appliance.web.forms import form_page
from appliance.web.people_routes import staff_viewer
from appliance.webcore.i18n import N_

# Keys the page builds at run time, listed for extraction (docs/translating.md): the sentence and fix of each
# finding the audit can return (services/security/*.py; tests/web/test_security_page.py holds this list to the
# checks), and each topic and level.
BUILT_AT_RUN_TIME = (
    N_("audit.units.not_systemd"),
    N_("audit.units.not_systemd.fix"),
    N_("audit.units.unknown"),
    N_("audit.units.unknown.fix"),
    N_("audit.units.exposed"),
    N_("audit.units.exposed.fix"),
    N_("audit.units.unscored"),
    N_("audit.units.unscored.fix"),
    N_("audit.units.ok"),
    N_("audit.units.ok.fix"),
    N_("audit.firewall.unknown"),
    N_("audit.firewall.unknown.fix"),
    N_("audit.firewall.ok"),
    N_("audit.firewall.ok.fix"),
    N_("audit.firewall.not_loaded"),
    N_("audit.firewall.not_loaded.fix"),
    N_("audit.firewall.missing"),
    N_("audit.firewall.missing.fix"),
    N_("audit.files.no_data_dir"),
    N_("audit.files.no_data_dir.fix"),
    N_("audit.files.readable"),
    N_("audit.files.readable.fix"),
    N_("audit.files.owner"),
    N_("audit.files.owner.fix"),
    N_("audit.files.ok"),
    N_("audit.files.ok.fix"),
    N_("audit.roles.admins"),
    N_("audit.roles.admins.fix"),
    N_("audit.roles.many_admins"),
    N_("audit.roles.many_admins.fix"),
    N_("audit.roles.teachers"),
    N_("audit.roles.teachers.fix"),
    N_("audit.roles.classes"),
    N_("audit.roles.classes.fix"),
    N_("audit.roles.admin_first_password"),
    N_("audit.roles.admin_first_password.fix"),
    N_("audit.roles.teacher_first_password"),
    N_("audit.roles.teacher_first_password.fix"),
    N_("audit.roles.no_password"),
    N_("audit.roles.no_password.fix"),
    N_("audit.signin.classes_paused"),
    N_("audit.signin.classes_paused.fix"),
    N_("audit.signin.pins_locked"),
    N_("audit.signin.pins_locked.fix"),
    N_("audit.signin.staff_waiting"),
    N_("audit.signin.staff_waiting.fix"),
    N_("audit.signin.ok"),
    N_("audit.signin.ok.fix"),
    N_("audit.wifi.none"),
    N_("audit.wifi.none.fix"),
    N_("audit.wifi.readable"),
    N_("audit.wifi.readable.fix"),
    N_("audit.wifi.private"),
    N_("audit.wifi.private.fix"),
    N_("audit.wifi.open"),
    N_("audit.wifi.open.fix"),
    N_("audit.wifi.weak"),
    N_("audit.wifi.weak.fix"),
    N_("audit.wifi.ok"),
    N_("audit.wifi.ok.fix"),
    N_("audit.books.none_waiting"),
    N_("audit.books.none_waiting.fix"),
    N_("audit.books.waiting"),
    N_("audit.books.waiting.fix"),
    N_("security.topic.books"),
    N_("security.topic.units"),
    N_("security.topic.firewall"),
    N_("security.topic.files"),
    N_("security.topic.roles"),
    N_("security.topic.signin"),
    N_("security.topic.wifi"),
    N_("security.level.ok"),
    N_("security.level.warning"),
    N_("security.level.problem"),
)


def security_page(request: Request) -> Response:
    viewer = staff_viewer(request, "admin")
    found = audit.run(request.app.state.kit)
    return form_page(request, "security.html", account=viewer, audit=found)


routes = [Route("/admin/security", security_page)]
