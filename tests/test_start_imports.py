"""A kit restarts after every power cut: what a web worker and `tpkit serve`'s parent process import before the first
page is served is kept small (issue 15, docs/performance.md "Cold start"). Each module below costs tens of
milliseconds on a Pi and is needed only by a rarer page or after the first page; import it where it is used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import free_port

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
    "psycopg_pool",
    "appliance.cli.entry",  # every command's parser: in the serving parent only (the command), never in the app
    "appliance.services.device.provision_batch",  # `tpkit provision` (and argon2 through it)
    "libzim.writer",  # building books (the demo library, channels)
    "appliance.services.device.firstboot",  # /admin: the last provisioning run (kit.toml, the classroom network)
)


def _loaded(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_start_a_web_worker_imports_no_heavy_module():
    # What a web worker's app needs: the request head deadline's protocol (appliance.cli.common) and the app factory
    # (appliance.web.asgi), imported by `tpkit serve` before it forks the workers (or by its one worker).
    loaded = _loaded(
        "import json, sys\nimport appliance.cli, appliance.cli.common, appliance.web.asgi\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert sorted(loaded & set(NOT_AT_WORKER_START)) == []


def test_start_the_serving_process_imports_no_heavy_module_before_it_forks_its_workers(tmp_path):
    # `tpkit serve` with two workers (the default) imports the web pages once, then forks the workers
    # (edges/forked_workers.py): what it holds at that moment is in every worker, and delays the first page.
    code = f"""
        import json, os, sys
        import appliance.cli.entry as cli
        from appliance.edges import forked_workers

        def report_instead_of_forking(self):
            print(json.dumps(sorted(sys.modules)), flush=True)
            os._exit(0)

        forked_workers.ForkedWorkers.start = report_instead_of_forking
        cli.main(["serve", "--data-dir", {str(tmp_path / "data")!r}, "--content-dir", {str(tmp_path / "content")!r},
                  "--web-workers", "2", "--port", "{free_port()}"])
    """
    (tmp_path / "content").mkdir()
    loaded = _loaded(code)
    assert "appliance.web.app" in loaded  # the workers start with the web pages imported
    assert "appliance.cli.common" in loaded and "httptools" in loaded  # and the protocol's parser
    # The command itself: its parsers, the hub's setting flags among them (appliance.hub.settings, ~1 ms).
    command = {"appliance.cli.entry", "appliance.hub"}
    assert sorted(loaded & set(NOT_AT_WORKER_START) - command) == []
