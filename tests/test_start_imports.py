"""A kit restarts after every power cut: what a web worker and `tpkit serve`'s parent process import before the first
page is served is kept small (issue 15, docs/performance.md "Cold start"). Each module below costs tens of
milliseconds on a Pi and is needed only by a rarer page or after the first page; import it where it is used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Never imported by a web worker before it serves (each: who needs it, and when).
NOT_AT_WORKER_START = (
    "openpyxl",  # class lists from .xlsx (edges/spreadsheets)
    "PIL",  # hand-in photos and quiz pictures (edges/images)
    "segno",  # sign-in cards' QR codes (edges/qr_codes)
    "pypinyin",  # name order by pinyin (edges/pinyin)
    "cryptography",  # signatures of channels and reports (edges/minisign)
    "zeroconf",  # the LAN advertisement, started once the worker serves (web/app._after_start)
    "appliance.services.device.lan",
    "appliance.services.sync.peers",
    "appliance.services.sync.engine",  # the admin page's sync runs, a waiting book's approval
    "appliance.hub",
    "psycopg",
    "appliance.cli.entry",  # every command's parser: the `tpkit` script a worker re-runs imports appliance.cli only
    "appliance.services.device.provision_batch",  # `tpkit provision` (and argon2 through it)
    "libzim.writer",  # building books (the demo library, channels)
    "appliance.services.device.firstboot",  # /admin: the last provisioning run (kit.toml, the classroom network)
)
# Never imported by `tpkit serve`'s parent process when it only supervises web workers (web_workers > 1). (It does
# import cryptography at the first start: it makes the kit's report key then.)
NOT_IN_SUPERVISOR = ("appliance.web", "jinja2", "starlette", "openpyxl", "PIL", "segno", "zeroconf")


def _loaded(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_start_a_web_worker_imports_no_heavy_module():
    # What a worker that uvicorn spawns imports: the `tpkit` script again (as __mp_main__: appliance.cli), the request
    # head deadline's protocol (appliance.cli.common), and the app factory (appliance.web.asgi).
    loaded = _loaded(
        "import json, sys\nimport appliance.cli, appliance.cli.common, appliance.web.asgi\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert sorted(loaded & set(NOT_AT_WORKER_START)) == []


def test_start_the_supervising_process_imports_no_web_page(tmp_path):
    # `tpkit serve` with two workers (the default), up to the moment it hands over to uvicorn's supervisor.
    code = f"""
        import json, sys, threading
        import appliance.cli.entry as cli

        def hand_over(settings, **kwargs):
            kwargs["beside"]()  # the kit is prepared in a thread beside the starting workers
            for thread in threading.enumerate():
                if thread.name == "tpkit-start":
                    thread.join()
            print(json.dumps(sorted(sys.modules)))

        cli.run_server = hand_over
        cli.main(["serve", "--data-dir", {str(tmp_path / "data")!r}, "--content-dir", {str(tmp_path / "content")!r},
                  "--web-workers", "2"])
    """
    (tmp_path / "content").mkdir()
    loaded = _loaded(code)
    assert "appliance.services.kit" in loaded  # it did open the kit (migrations, first password) beside the workers
    assert sorted(m for m in loaded if m.split(".")[0] in NOT_IN_SUPERVISOR or m in NOT_IN_SUPERVISOR) == []
