"""Teachers' pages for lessons and homework: create, add library items and files, a homework's rubric, the class
overview (HTML, CSV) and the printable summary per student; and the files of lessons and hand-ins for both sides.
Grading hand-ins is web/grading_routes.

Must not import cli. Each handler parses, calls one service in services/lessons (which checks who may), renders.
"""

from __future__ import annotations

import csv
import io

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.errors import BadRequestError, TpkitError
from appliance.services.learning import lesson_views, lessons, publishing, rubrics
from appliance.services.people.access import STAFF
from appliance.web import caching, grading_routes, i18n
from appliance.web.forms import form_int, form_page, posted_form, posted_upload, refused
from appliance.web.people_routes import staff_viewer
from appliance.web.session import PRIVATE, current_account
from appliance.webcore.i18n import choose_language, speak

FILE_HEADERS = {**PRIVATE, "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def new_lesson(request: Request, **refusal) -> Response:
    viewer = staff_viewer(request)
    found = lesson_views.new_lesson(request.app.state.kit, viewer, request.path_params["class_id"])
    return form_page(request, "lesson_new.html", account=viewer, **found, **refusal)


def _refused_new_lesson(request: Request, form: FormData, error: TpkitError) -> Response:
    return new_lesson(request, **refused(form, error))


@posted_form(page=_refused_new_lesson)
def create_lesson(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    chosen = [form_int(v) for v in form.getlist("students")]
    publish_at = publishing.chosen(
        kit.settings,
        str(form.get("publish", "now")),
        str(form.get("publish_day", "")),
        str(form.get("publish_time", "")),
    )
    lesson_id = lessons.create(
        kit.people,
        kit.lessons,
        viewer,
        request.path_params["class_id"],
        str(form.get("title", "")),
        str(form.get("instructions", "")),
        form.get("homework") == "1",
        str(form.get("due", "")),
        chosen,
        publish_at=publish_at,
    )
    return RedirectResponse(f"/teach/lessons/{lesson_id}", status_code=303)


def lesson_page(request: Request, lesson_id: int | None = None, **refusal) -> Response:
    viewer = staff_viewer(request)
    query = request.query_params.get("q", "").strip()[:100]
    lesson_id = request.path_params["lesson_id"] if lesson_id is None else lesson_id
    found = lesson_views.teacher_lesson(request.app.state.kit, viewer, lesson_id, query)
    notice = request.query_params.get("notice", "")
    only_missing = request.query_params.get("show") == "missing"
    return form_page(
        request, "lesson_teach.html", account=viewer, notice=notice, only_missing=only_missing, **found, **refusal
    )


def _refused_publish(request: Request, form: FormData, error: TpkitError) -> Response:
    """The lesson page again: the publish form with the day and time as typed, the message beside them."""
    return lesson_page(request, refused_form="publish", **refused(form, error))


@posted_form(page=_refused_publish)
def publish(request: Request, form: FormData) -> Response:
    """Publish the lesson now or at a time, or make it a draft again (services/learning/publishing)."""
    lesson_id = request.path_params["lesson_id"]
    publishing.publish(
        request.app.state.kit,
        staff_viewer(request),
        lesson_id,
        str(form.get("publish", "")),
        str(form.get("publish_day", "")),
        str(form.get("publish_time", "")),
    )
    return RedirectResponse(f"/teach/lessons/{lesson_id}", status_code=303)


@posted_form
def add_quiz(request: Request, form: FormData) -> Response:
    lesson_id = request.path_params["lesson_id"]
    lessons.add_quiz_item(request.app.state.kit, staff_viewer(request), lesson_id, form_int(form.get("quiz", "")))
    return RedirectResponse(f"/teach/lessons/{lesson_id}", status_code=303)


def _refused_upload(request: Request, form: FormData, error: TpkitError) -> Response:
    """The lesson page again: the file form with the title as typed, the message beside the file."""
    context = refused(form, error)
    context["field"] = context["field"] or "file"
    return lesson_page(request, refused_form="upload", **context)


def _refused_rubric(request: Request, form: FormData, error: TpkitError) -> Response:
    """The lesson's page again, the criteria as typed, the message beside them."""
    return lesson_page(request, refused_form="rubric", **refused(form, error))


@posted_form(page=_refused_rubric)
def set_rubric(request: Request, form: FormData) -> Response:
    lesson_id = request.path_params["lesson_id"]
    rubrics.set_rubric(request.app.state.kit, staff_viewer(request), lesson_id, str(form.get("rubric", "")))
    return RedirectResponse(f"/teach/lessons/{lesson_id}#handins", status_code=303)


@posted_form
def add_item(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    kit = request.app.state.kit
    lesson_id = request.path_params["lesson_id"]
    lessons.add_library_item(
        kit.people,
        kit.lessons,
        kit.load_library(),
        viewer,
        lesson_id,
        str(form.get("book", "")),
        str(form.get("path", "")),
    )
    return RedirectResponse(f"/teach/lessons/{lesson_id}", status_code=303)


@posted_upload(
    lambda request: request.app.state.kit.settings.lesson_upload_max_mb * 1024 * 1024, *STAFF, page=_refused_upload
)
def add_upload(request: Request, form: FormData) -> Response:
    viewer = staff_viewer(request)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise BadRequestError(
            "No file was chosen.",
            fix="Choose a PDF, image, video or audio file, then send again.",
            code="upload.none_chosen",
            field="file",
        )
    lesson_id = request.path_params["lesson_id"]
    lessons.add_upload(
        request.app.state.kit, viewer, lesson_id, upload.file, upload.filename, str(form.get("title", ""))
    )
    return RedirectResponse(f"/teach/lessons/{lesson_id}", status_code=303)


def overview(request: Request) -> Response:
    viewer = staff_viewer(request)
    table = lessons.overview(request.app.state.kit, viewer, request.path_params["class_id"])
    return form_page(request, "overview.html", account=viewer, chart=chart(lessons.progress(table)), **table)


# The overview's chart (SVG user units; it scales to the page's width, so at 360 px one unit is about one pixel):
# one row per lesson, oldest first — its name, a bar for the share who did it and one for the mean score, each
# with its value — over an axis 0–100 %. Rows, not a line over lesson names: names stay readable on a phone.
CHART_W, CHART_LEFT, CHART_RIGHT = 320, 6, 270  # bars run LEFT..RIGHT for 0–100 %; values are written after them
CHART_ROW_H, CHART_TOP, CHART_AXIS_H = 42, 8, 22
CHART_NAME_CHARS = 22  # a longer lesson name is cut with "…" (the full name is the row's tooltip)
CHART_TICKS = (0, 25, 50, 75, 100)


def chart(points: list[dict]) -> dict | None:
    """Rows and axis of the overview's SVG bar chart (see CHART_W); None when the class has no lesson yet."""
    if not points:
        return None
    span = CHART_RIGHT - CHART_LEFT
    rows = []
    for n, point in enumerate(points):
        title = point["title"]
        rows.append(
            {
                "title": title,
                "name": title if len(title) <= CHART_NAME_CHARS else title[: CHART_NAME_CHARS - 1] + "…",
                "y": CHART_TOP + n * CHART_ROW_H,
                "done": round(point["done"] * 100),
                "done_w": round(point["done"] * span, 1),
                "score": None if point["score"] is None else round(point["score"] * 100),
                "score_w": 0.0 if point["score"] is None else round(point["score"] * span, 1),
            }
        )
    bottom = CHART_TOP + len(points) * CHART_ROW_H
    return {
        "width": CHART_W,
        "height": bottom + CHART_AXIS_H,
        "left": CHART_LEFT,
        "bottom": bottom,
        "rows": rows,
        "ticks": [(round(CHART_LEFT + span * tick / 100, 1), tick) for tick in CHART_TICKS],
    }


def overview_csv(request: Request) -> Response:
    viewer = staff_viewer(request)
    table = lessons.overview(request.app.state.kit, viewer, request.path_params["class_id"])
    out = io.StringIO()
    writer = csv.writer(out)
    lang = choose_language(request, request.app.state.kit.settings.default_language)
    for row in lessons.overview_rows(table, i18n.MESSAGES.translator(lang)):
        writer.writerow([_spreadsheet_safe(str(value)) for value in row])
    name = f"class-{table['klass']['id']}-overview.csv"
    # UTF-8 with a BOM so Excel and WPS on Chinese Windows read the names right
    response = Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'},
    )
    return speak(request, response, lang)


def _spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection): a leading ' before = + - @."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def summary(request: Request) -> Response:
    viewer = staff_viewer(request)
    found = lessons.student_summary(
        request.app.state.kit, viewer, request.path_params["class_id"], request.path_params["student_id"]
    )
    return form_page(request, "summary.html", account=viewer, **found)


def lesson_file(request: Request) -> Response:
    item, path = lessons.lesson_file(request.app.state.kit, current_account(request), request.path_params["item_id"])
    return FileResponse(path, media_type=item["media_type"], headers=FILE_HEADERS)


def handin_file(request: Request) -> Response:
    """A hand-in photo, cached by its viewer's browser only (as its thumbnail: web/grading_routes)."""
    row, path = lessons.handin_file(request.app.state.kit, current_account(request), request.path_params["file_id"])
    cache_control = caching.private_file(grading_routes.PHOTO_MAX_AGE_S)
    return caching.file_revalidated(
        request, path, row["media_type"], f"photo-{row['sha256']}", cache_control, grading_routes.PHOTO_HEADERS
    )


routes = [
    Route("/teach/{class_id:int}/lessons/new", new_lesson),
    Route("/teach/{class_id:int}/lessons", create_lesson, methods=["POST"]),
    Route("/teach/{class_id:int}/overview", overview),
    Route("/teach/{class_id:int}/overview.csv", overview_csv),
    Route("/teach/{class_id:int}/students/{student_id:int}/summary", summary),
    Route("/teach/lessons/{lesson_id:int}", lesson_page),
    Route("/teach/lessons/{lesson_id:int}/items", add_item, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/quizzes", add_quiz, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/publish", publish, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/uploads", add_upload, methods=["POST"]),
    Route("/teach/lessons/{lesson_id:int}/rubric", set_rubric, methods=["POST"]),
    Route("/files/lesson/{item_id:int}", lesson_file),
    Route("/files/handin/{file_id:int}", handin_file),
]
