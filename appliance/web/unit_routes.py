""" "按课本找" (issue 17): the drill-down edition → grade and volume → subject → unit, one page with plain links; a
teacher adds a unit's book or item to one of their lessons from it, and places a lesson in the textbook.

Must not import cli. Each handler parses, calls one service (services/learning/lesson_positions), renders.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import TpkitError
from appliance.services.learning import lesson_positions
from appliance.typed_numbers import whole_number
from appliance.web.forms import form_int, form_page, posted_form, refused
from appliance.web.lesson_routes import lesson_page
from appliance.web.people_routes import staff_viewer
from appliance.web.session import current_account

LEVELS = ("edition", "grade", "volume", "subject", "unit")


def _chosen(values) -> dict[str, str]:
    return {key: str(values.get(key, ""))[:20] for key in LEVELS}


def units_page(request: Request, **refusal) -> Response:
    """The level the query names (`?edition=rjb&grade=3&volume=1&subject=math&unit=2`); `lesson`: the lesson the
    teacher came from, offered first to add to."""
    source = refusal.get("typed") or request.query_params
    lesson = whole_number(source.get("lesson", ""))
    found = lesson_positions.unit_page(request.app.state.kit, current_account(request), _chosen(source), lesson)
    added = whole_number(request.query_params.get("added", ""))
    return form_page(request, "units.html", added=added, **found, **refusal)


def _back(form: FormData, **extra: str) -> str:
    query = {key: str(form.get(key, "")) for key in LEVELS} | extra
    return "/units?" + urlencode({key: value for key, value in query.items() if value})


def _refused_add(request: Request, form: FormData, error: TpkitError) -> Response:
    return units_page(request, **refused(form, error))


@posted_form(page=_refused_add)
def add(request: Request, form: FormData) -> Response:
    """Add a unit's book (no path) or item to the chosen lesson, then back to the unit, saying it was added."""
    lesson_id = form_int(whole_number(form.get("to", "")), fix="Choose one of your lessons from the list.")
    lesson_positions.add_to_lesson(
        request.app.state.kit, current_account(request), lesson_id, str(form.get("book", "")), str(form.get("path", ""))
    )
    came_from = str(form.get("lesson", ""))
    return RedirectResponse(_back(form, lesson=came_from, added=str(lesson_id)) + "#added", status_code=303)


def _refused_position(request: Request, form: FormData, error: TpkitError) -> Response:
    return lesson_page(request, refused_form="position", **refused(form, error))


@posted_form(page=_refused_position)
def set_position(request: Request, form: FormData) -> Response:
    """Place the lesson in the textbook (or take it out: no edition), then back to the lesson."""
    lesson_id = request.path_params["lesson_id"]
    typed = {key: str(form.get(f"pos_{key}", "")) for key in (*LEVELS, "lesson")}
    lesson_positions.set_position(request.app.state.kit, staff_viewer(request), lesson_id, typed)
    return RedirectResponse(f"/teach/lessons/{lesson_id}#position", status_code=303)


routes = [
    Route("/units", units_page),
    Route("/teach/units/add", add, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/position", set_position, methods=["POST"]),
]
