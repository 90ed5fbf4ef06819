"""Benchmark tpkit side by side with kiwix-serve using wrk.

For every endpoint x concurrency cell, wrk runs against both servers (the order
alternates per cell).  After each cell the harness checks the server is still
alive; a dead server is recorded as CRASHED and restarted for the next cell.
It also measures cold start (spawn -> first 200 of the main page) and RssAnon
(process + children) after warm-up and at peak.  See README.md for usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.kiwix_reference: where kiwix-serve 3.7 is

import report  # noqa: E402
from servers import ManagedServer, ServerDied, http_get, tree_cpu_s  # noqa: E402
from workload import (  # noqa: E402
    REFERENCE,
    Corpus,
    Endpoint,
    Layout,
    build_endpoints,
    catalog_books,
    detect_layout,
    ensure_zim,
    load_corpus,
)
from wrkbench import run_wrk, write_lua  # noqa: E402

from tests.kiwix_reference import INSTALL_FIX, kiwix_serve_3_7  # noqa: E402

SERVER_NAMES = (REFERENCE, "tpkit")
ENDPOINT_NAMES = ("hot", "hot-content", "random", "first-reads", "image", "suggest", "search", "search25", "catalog")
DEFAULT_TPKIT = (
    "{python} -m appliance serve --host 127.0.0.1 --port {port} --content-dir {content_dir} --data-dir {data_dir}"
)
# The reference is kiwix-serve 3.7.0 (Debian 13's, unpacked by scripts/kiwix-reference.sh and run through its own
# loader); --kiwix 3.3.0 names Debian 12's /usr/bin/kiwix-serve. In both, -i is the listen address
# (-a means --attachToProcess in 3.3.0).
KIWIX_ARGS = "-i 127.0.0.1 -p {port} {zim}"
KIWIX_VERSIONS = ("3.7.0", "3.3.0")
WARMUP_REQUESTS = 20


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--zim", type=Path, help="ZIM to serve (generated there if missing; default: a cached generated ZIM)"
    )
    p.add_argument("--articles", type=int, default=20000, help="for ZIM generation")
    p.add_argument("--images", type=int, default=2000, help="for ZIM generation")
    p.add_argument("--seed", type=int, default=42, help="ZIM generation and path sample")
    p.add_argument(
        "--tpkit-cmd",
        default=DEFAULT_TPKIT,
        help="command template; fields: {python} {port} {zim} {book} {content_dir} {data_dir}",
    )
    p.add_argument(
        "--kiwix", choices=KIWIX_VERSIONS, default="3.7.0", help="which kiwix-serve is the reference (default 3.7.0)"
    )
    p.add_argument("--kiwix-cmd", help="command template (same fields); default: the --kiwix version's")
    p.add_argument("--python", default=sys.executable, help="value of {python}")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per wrk cell")
    p.add_argument("--concurrency", default="1,16,64", help="comma-separated connection counts")
    p.add_argument(
        "--only",
        default="",
        help=f"comma-separated endpoint and/or server names ({', '.join(ENDPOINT_NAMES + SERVER_NAMES)})",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 3 s cells, concurrency 1,16")
    p.add_argument("--cold-starts", type=int, default=3, help="cold-start trials per server")
    p.add_argument("--wrk-timeout", type=float, default=5.0, help="wrk per-request timeout (s)")
    p.add_argument("--work-dir", type=Path, help="scratch dir for logs, Lua, content/data dirs")
    p.add_argument("--out-json", type=Path, default=Path("bench_results.json"))
    p.add_argument("--out-md", type=Path, default=Path("bench_results.md"))
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.concurrency = 3.0, "1,16"
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.kiwix_cmd is None:
        args.kiwix_cmd = kiwix_command(args.kiwix)
    return args


def kiwix_command(version: str) -> str:
    """The command template of a named kiwix-serve; exits with the fix when 3.7.0 is not unpacked."""
    if version == "3.3.0":
        return f"/usr/bin/kiwix-serve {KIWIX_ARGS}"
    prefix = kiwix_serve_3_7()
    if prefix is None:
        sys.exit(f"kiwix-serve 3.7.0 is not unpacked in .cache/kiwix-3.7. {INSTALL_FIX}")
    return f"{shlex.join(prefix)} {KIWIX_ARGS}"


def split_only(only: str) -> tuple[list[str], list[str]]:
    """--only tokens -> (server names, endpoint names); empty means all."""
    tokens = [t.strip() for t in only.split(",") if t.strip()]
    unknown = set(tokens) - set(SERVER_NAMES) - set(ENDPOINT_NAMES)
    if unknown:
        sys.exit(f"--only: unknown name(s) {sorted(unknown)}")
    servers = [t for t in SERVER_NAMES if t in tokens] or list(SERVER_NAMES)
    endpoints = [t for t in ENDPOINT_NAMES if t in tokens] or list(ENDPOINT_NAMES)
    return servers, endpoints


def make_servers(args, corpus: Corpus, work: Path, names: list[str]) -> list[ManagedServer]:
    """Server objects; {content_dir} holds only a <book>.zim symlink."""
    content_dir = work / "content"
    content_dir.mkdir(exist_ok=True)
    link = content_dir / f"{corpus.book}.zim"
    if not link.exists():
        link.symlink_to(corpus.zim.resolve())
    templates = {REFERENCE: args.kiwix_cmd, "tpkit": args.tpkit_cmd}
    servers = []
    for name in names:
        data_dir = work / f"data-{name}"
        data_dir.mkdir(exist_ok=True)
        fields = dict(
            python=args.python,
            zim=str(corpus.zim.resolve()),
            book=corpus.book,
            content_dir=str(content_dir),
            data_dir=str(data_dir),
        )
        servers.append(ManagedServer(name, templates[name], fields, work / "logs"))
    return servers


def wait_listening(server: ManagedServer, timeout: float = 60.0) -> None:
    """Wait until the server answers anything on '/' (used before its layout is known)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise ServerDied(f"{server.name} exited during startup: {server.exit_reason()}")
        try:
            http_get(server.port, "/", timeout=2.0)
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{server.name} is not listening after {timeout} s")


def probe(server: ManagedServer, corpus: Corpus, info: dict) -> None:
    """Start once to check the book name (catalog) and the URL layout."""
    server.spawn()
    try:
        wait_listening(server)
        books = catalog_books(server.port)
        info["catalog_books"] = books
        if corpus.book not in books:
            print(f"[bench] WARNING: {server.name} catalog lists {books}, expected book {corpus.book!r}", flush=True)
        info["layout"] = asdict(detect_layout(server.port, corpus))
        print(f"[bench] {server.name}: catalog books {books}, layout {info['layout']}", flush=True)
    finally:
        server.stop()


def compile_tpkit(python: str) -> None:
    """Write the .pyc files of the tpkit package the servers import, as a kit has them: pip compiles a wheel's
    modules when it installs it (images/rootfs-customize.sh). A checkout run with PYTHONDONTWRITEBYTECODE=1 (set on
    some shared machines) has none, and every tpkit process then compiles its ~250 modules from source at each
    start: a cost that no kit pays, counted in its cold start and in each web worker's start."""
    package = Path(__file__).resolve().parent.parent / "appliance"
    subprocess.run([python, "-m", "compileall", "-q", str(package)], check=True, stdout=subprocess.DEVNULL)


def measure_cold_starts(servers: list[ManagedServer], info: dict, trials: int) -> None:
    """Spawn -> first 200 on the main page, alternating server order per trial."""
    for trial in range(trials):
        order = servers if trial % 2 == 0 else servers[::-1]
        for server in order:
            elapsed = server.start(info[server.name]["layout"]["main_page"])
            info[server.name]["cold_start_s"].append(round(elapsed, 4))
            print(f"[bench] cold start {server.name}: {elapsed * 1000:.0f} ms", flush=True)
            server.stop()


def warm_up(server: ManagedServer, endpoints: list[Endpoint]) -> None:
    """A few sequential requests per endpoint so caches and lazy init are done."""
    for endpoint in endpoints:
        for path in endpoint.targets.get(server.name, [])[:WARMUP_REQUESTS]:
            try:
                http_get(server.port, path, timeout=30)
            except OSError:
                continue  # warm-up only: a failing URL shows up, counted, in the measured cell


def start_for_benchmark(servers, endpoints, info: dict) -> None:
    for server in servers:
        server.start(info[server.name]["layout"]["main_page"])
        warm_up(server, endpoints)
        if not server.alive():
            server.restart(info[server.name]["layout"]["main_page"])
        time.sleep(0.5)
        info[server.name]["rss_anon_kb_after_warmup"] = server.rss_anon_kb()
        info[server.name]["pss_anon_kb_after_warmup"] = server.pss_anon_kb()
        server.sampler.start()


def write_scripts(endpoints: list[Endpoint], work: Path) -> dict:
    """(endpoint, server) -> Lua script path, for targets with several paths."""
    scripts = {}
    for ep in endpoints:
        for name, paths in ep.targets.items():
            if len(paths) > 1:
                scripts[ep.name, name] = write_lua(work / f"{ep.name}-{name}.lua", paths)
    return scripts


def run_cell(server: ManagedServer, paths: list[str], script, conc: int, args, server_info: dict) -> dict:
    """One wrk run; detects a crash and restarts the server for the next cell."""
    main_page = server_info["layout"]["main_page"]
    if not server.alive():
        server.restart(main_page)
    server.sampler.take_window_peak()
    url = f"http://127.0.0.1:{server.port}" + (paths[0] if script is None else "/")
    pid = server.pid()
    cpu_before = tree_cpu_s(pid) if pid else 0.0
    res = run_wrk(url, conc, args.duration, args.wrk_timeout, script).to_json()
    time.sleep(0.3)  # let a dying process finish dying before we look
    # The server's CPU per answered request: unlike req/s, it hardly moves when other work shares the machine.
    spent = tree_cpu_s(pid) - cpu_before if pid and server.pid() == pid else 0.0
    res["cpu_us_per_request"] = round(spent / res["requests"] * 1e6) if res["requests"] and spent > 0 else None
    res["rss_anon_kb_peak"] = server.sampler.take_window_peak()
    res["crashed"] = not server.alive()
    if res["crashed"]:
        res["crash_reason"] = server.exit_reason()
        server_info["crashes"].append(res["crash_reason"])
        server.restart(main_page)
    return res


def progress_line(endpoint: str, conc: int, name: str, res: dict) -> str:
    status = f" CRASHED ({res['crash_reason']})" if res["crashed"] else ""
    return (
        f"[bench] {endpoint:<11} c={conc:<3} {name:<5} {res['requests_per_s']:>10,.1f} req/s"
        f"  p50 {report.fmt_ms(res['p50_ms'])}  p99 {report.fmt_ms(res['p99_ms'])}"
        f"  errors {res['errors']}  CPU {res.get('cpu_us_per_request') or '—'} µs/req{status}"
    )


def run_matrix(servers, endpoints, scripts, args, results: dict) -> None:
    """Every endpoint x concurrency; server order alternates from cell to cell."""
    index = 0
    for ep in endpoints:
        for conc in args.concurrency:
            order = servers if index % 2 == 0 else servers[::-1]
            index += 1
            cell = {
                "endpoint": ep.name,
                "concurrency": conc,
                "note": ep.note,
                "order": [s.name for s in order],
                "results": {},
            }
            results["cells"].append(cell)
            for server in order:
                if server.name not in ep.targets:
                    continue
                info = results["servers"][server.name]
                res = run_cell(server, ep.targets[server.name], scripts.get((ep.name, server.name)), conc, args, info)
                cell["results"][server.name] = res
                print(progress_line(ep.name, conc, server.name, res), flush=True)


def estimate_seconds(endpoints: list[Endpoint], args) -> float:
    runs = sum(len(ep.targets) for ep in endpoints) * len(args.concurrency)
    return runs * (args.duration + 0.5)


def benchmark(args, corpus: Corpus, servers, endpoint_names, work: Path, results: dict) -> None:
    info = results["servers"]
    compile_tpkit(args.python)
    for server in servers:
        probe(server, corpus, info[server.name])
    measure_cold_starts(servers, info, args.cold_starts)
    layouts = {s.name: Layout(**info[s.name]["layout"]) for s in servers}
    endpoints = [ep for ep in build_endpoints(corpus, layouts) if ep.name in endpoint_names]
    scripts = write_scripts(endpoints, work)
    print(
        f"[bench] {len(endpoints)} endpoints x {args.concurrency}: about "
        f"{estimate_seconds(endpoints, args) / 60:.1f} min of wrk",
        flush=True,
    )
    start_for_benchmark(servers, endpoints, info)
    run_matrix(servers, endpoints, scripts, args, results)
    for server in servers:
        info[server.name]["rss_anon_kb_peak"] = server.sampler.peak_kb
        info[server.name]["pss_anon_kb_peak"] = server.sampler.pss_peak_kb
        info[server.name]["restarts"] = server.restarts


def new_results(args, corpus: Corpus, servers: list[ManagedServer]) -> dict:
    meta = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "zim": str(corpus.zim),
        "zim_mb": corpus.zim.stat().st_size / 1e6,
        "book": corpus.book,
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "wrk_timeout_s": args.wrk_timeout,
        "cpus": os.cpu_count(),
        "host": platform.platform(),
    }
    servers_info = {
        s.name: {"command": s.template, "log": str(s.log_path), "cold_start_s": [], "crashes": []} for s in servers
    }
    return {"meta": meta, "servers": servers_info, "cells": []}


def write_outputs(results: dict, args) -> None:
    args.out_json.write_text(json.dumps(results, indent=1) + "\n")
    markdown = report.render(results)
    args.out_md.write_text(markdown)
    print("\n" + markdown)
    print(f"[bench] wrote {args.out_json} and {args.out_md}")


def main(argv=None) -> int:
    args = parse_args(argv)
    server_names, endpoint_names = split_only(args.only)
    zim = ensure_zim(args.zim, args.articles, args.images, args.seed)
    corpus = load_corpus(zim, args.seed)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="tpkit-bench-"))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    servers = make_servers(args, corpus, work, server_names)
    results = new_results(args, corpus, servers)
    print(f"[bench] work dir {work}; server logs in {work / 'logs'}", flush=True)
    status = 0
    try:
        benchmark(args, corpus, servers, endpoint_names, work, results)
    except (ServerDied, TimeoutError) as exc:
        print(f"[bench] ABORTED: {exc} (server logs in {work / 'logs'})", flush=True)
        results["aborted"], status = str(exc), 1
    finally:
        for server in servers:
            server.sampler.stop()
            server.stop()
        write_outputs(results, args)
    return status


if __name__ == "__main__":
    sys.exit(main())
