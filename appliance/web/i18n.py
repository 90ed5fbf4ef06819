"""The kit's words: the `tpkit` message domain (appliance/locale/<lang>/LC_MESSAGES/tpkit.po; docs/translating.md),
which also holds every error code's sentence, `error.<code>`, for the kit and the hub alike.

The keys below are built at run time by templates (`_('state.' ~ e.state)`); they are listed so that
`./build.sh messages` extracts them and tests/test_messages.py checks them. Must not import cli.
"""

from __future__ import annotations

from appliance.webcore.i18n import N_, Messages

DOMAIN = "tpkit"
MESSAGES = Messages(DOMAIN)
translator = MESSAGES.translator  # `t = translator(lang)`, then `t(key, **values)`, for Python that words a message

BUILT_AT_RUN_TIME = (
    # quiz_form.html: a quiz's problem beside its field (services/learning/quiz_drafts, quiz_marking `field`)
    N_("quiz.problem.title"),
    N_("quiz.problem.questions_stay"),
    N_("quiz.problem.answered"),
    N_("quiz.problem.attempts"),
    N_("quiz.problem.pass"),
    N_("quiz.problem.due"),
    N_("quiz.problem.question"),
    N_("quiz.problem.kind"),
    N_("quiz.problem.prompt"),
    N_("quiz.problem.points"),
    N_("quiz.problem.options"),
    N_("quiz.problem.right"),
    N_("quiz.problem.tf"),
    N_("quiz.problem.accepted"),
    N_("quiz.problem.number"),
    N_("quiz.problem.tolerance"),
    # admin.html: health.status, and each problem's sentence and fix (services/device/health.py PROBLEM_CODES)
    N_("admin.status.ok"),
    N_("admin.status.warning"),
    N_("admin.status.critical"),
    N_("problem.health.under_voltage"),
    N_("problem.health.under_voltage.fix"),
    N_("problem.health.hot"),
    N_("problem.health.hot.fix"),
    N_("problem.health.disk_nearly_full"),
    N_("problem.health.disk_nearly_full.fix"),
    N_("problem.health.books_damaged"),
    N_("problem.health.books_damaged.fix"),
    N_("problem.health.fs_errors"),
    N_("problem.health.fs_errors.fix"),
    N_("problem.health.root_read_only"),
    N_("problem.health.root_read_only.fix"),
    N_("problem.health.clock_unsynchronised"),
    N_("problem.health.clock_unsynchronised.fix"),
    # admin.html: a sync run's outcome, and the reasons that are no error code raised in code
    N_("admin.sync.ok"),
    N_("admin.sync.failed"),
    N_("admin.sync.interrupted"),
    N_("admin.sync.running"),
    N_("error.sync.interrupted"),
    N_("error.stick.book_refused"),
    # confirm_delete.html: what is deleted
    N_("edit.delete_help_lesson"),
    N_("edit.delete_help_quiz"),
    # lesson pages: item kinds, a student's state (services/learning/lessons.py STATES), notebook notices
    N_("item.article"),
    N_("item.upload"),
    N_("state.not_opened"),
    N_("state.opened"),
    N_("state.graded"),
    # the class overview, its CSV and the parent summary: a quiz's state (services/learning/quiz_overview.py),
    # the CSV's headers (services/learning/lessons.py overview_rows)
    N_("quiz_state.not_started"),
    N_("quiz_state.in_progress"),
    N_("quiz_state.handed_in"),
    N_("overview.csv_name"),
    N_("overview.csv_number"),
    N_("overview.csv_state"),
    N_("overview.csv_score"),
    N_("overview.csv_out_of"),
    # quiz results: how a question went (services/learning/scores.py MARKS)
    N_("quiz.mark.right"),
    N_("quiz.mark.partly"),
    N_("quiz.mark.wrong"),
    # quiz_results.html: "1 attempt allowed" / "{count} attempts allowed" (English has two forms)
    N_("quiz.attempts_allowed"),
    N_("quiz.attempts_allowed_one"),
    N_("notebook.bookmarked"),
    N_("notebook.unbookmarked"),
    N_("notebook.note_saved"),
    # people pages: roles, and what an import counted
    N_("people.role.admin"),
    N_("people.role.teacher"),
    N_("people.count.orgs"),
    N_("people.count.classes"),
    N_("people.count.teachers"),
    N_("people.count.students"),
    N_("people.count.enrolments"),
    N_("people.count.skipped"),
    # the class page's notices after housekeeping (web/class_routes.py), and the attendance CSV's headings and
    # marks (services/people/attendance.py csv_rows)
    N_("housekeeping.done.renamed"),
    N_("housekeeping.done.moved"),
    N_("housekeeping.done.student_removed"),
    N_("housekeeping.done.class_renamed"),
    N_("housekeeping.done.teachers"),
    N_("attendance.csv_number"),
    N_("attendance.csv_name"),
    N_("attendance.csv_total"),
    N_("attendance.csv_present"),
    N_("attendance.csv_absent"),
    # picture sign-in (services/people/picture_codes.py PICTURES and KINDS)
    N_("picture.sun"),
    N_("picture.moon"),
    N_("picture.star"),
    N_("picture.tree"),
    N_("picture.flower"),
    N_("picture.fish"),
    N_("picture.house"),
    N_("picture.heart"),
    N_("picture.cloud"),
    N_("picture.boat"),
    N_("picture.apple"),
    N_("picture.key"),
    N_("pictures.kind.pin"),
    N_("pictures.kind.pictures"),
    N_("pictures.switch_to.pin"),
    N_("pictures.switch_to.pictures"),
    # quiz_form.html: question kinds (services/learning/quiz_marking.py KINDS)
    N_("quiz.kind.single"),
    N_("quiz.kind.multiple"),
    N_("quiz.kind.true_false"),
    N_("quiz.kind.short"),
    N_("quiz.kind.numeric"),
    # roster_problems.html: a refused class list's problems (Problem.key) and the fix for each refusal's code
    N_("roster.problem.bad_name"),
    N_("roster.problem.long_number"),
    N_("roster.problem.bad_pin"),
    N_("roster.problem.duplicate"),
    N_("roster.problem.same_name"),
    N_("roster.problem.no_students"),
    N_("roster.problem.no_header"),
    N_("roster.problem.not_csv"),
    N_("roster.problem.encoding"),
    N_("roster.problem.number_elsewhere"),
    N_("roster.fix.roster.invalid"),
    N_("roster.fix.roster.xls"),
    N_("roster.fix.roster.not_xlsx"),
    N_("roster.fix.roster.sheet_too_large"),
)
