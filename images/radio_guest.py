"""The radio run's side inside the booted kit (images/image-test.sh --radio, images/radio.sh): simulated phones join the
kit's own access point on mac80211_hwsim radios, each in its own network namespace with wpa_supplicant, and what they
got is printed on the serial console for the host.

    python3 radio_guest.py run CONFIG          in the guest, as root (tpkit-radio-test.service): every check and the
                                               class's reading; the result as one "TPKIT-RADIO-RESULT {json}" line
    python3 radio_guest.py phone BASE          in a phone's namespace: the home page and the connectivity checks by
                                               name, through the phone's own resolver (its DHCP's DNS); JSON out
    python3 radio_guest.py table CONSOLE JSON MD K=V..
                                               on the host: the result line from the guest's console, as JSON and
                                               as a table (exit 1 when a check failed or there is no result)

CONFIG (JSON, written by images/radio.sh): phones, seconds, ssid, passphrase, admin_password, kit_id. The kit's
access point is wlan0 (kit.toml's ap_interface); the phones are the other radios, wlan1 … wlanN, each moved into a
namespace of its own name. Standard library only, with images/power_cuts.py's browser and class beside it.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from power_cuts import Browser, child_name, p95, pupil_signs_in, setup

KIT = "192.168.4.1"
AP = "wlan0"
RUN = Path("/run/tpkit-radio")
HOSTAPD_CONF = Path("/etc/hostapd/hostapd.conf")
LOCAL = "http://127.0.0.1"
# The hub as the kit's uplink side sees it (images/image-test.sh): a classroom phone must never reach it.
UPLINK_TARGET = ("10.0.2.100", 8090)
CHECK_HOSTS = {
    "connectivitycheck.gstatic.com": "/generate_204",
    "captive.apple.com": "/hotspot-detect.html",
    "www.msftconnecttest.com": "/connecttest.txt",
}
READY_S = 900.0
WRONG_KEY_S = 60.0
ASSOCIATE_S = 240.0
SETTLED_S = 30.0
THINK_S = (2.0, 6.0)
CLONE_NEWNET = 0x40000000
UDHCPC_SCRIPT = Path(__file__).with_name("radio-udhcpc.sh")


def say(ok: bool | None, text: str) -> None:
    mark = "i" if ok is None else ("✓" if ok else "✗")
    print(f"[{mark}] {text}", flush=True)


def sh(*argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def in_ns(ns: str, *argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *argv, timeout=timeout)


def wait_for(what, deadline_s: float, every_s: float = 2.0):
    """`what()` until it is truthy or `deadline_s` passed; its last answer."""
    end = time.monotonic() + deadline_s
    while True:
        answer = what()
        if answer or time.monotonic() >= end:
            return answer
        time.sleep(every_s)


def hostapd_settings() -> dict:
    lines = dict(
        line.split("=", 1) for line in HOSTAPD_CONF.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    keep = ("wpa", "wpa_key_mgmt", "rsn_pairwise", "ieee80211w", "ap_isolate", "max_num_sta", "channel", "country_code")
    return {key: lines.get(key, "") for key in keep}


def ap_ready() -> bool:
    info = sh("iw", "dev", AP, "info").stdout
    if "type AP" not in info:
        return False
    try:
        return Browser(LOCAL).request("GET", "/")[0] == 200
    except OSError:
        return False


def radios() -> list[tuple[str, str]]:
    """(interface, phy) of every simulated radio but the kit's, by number."""
    found = []
    for net in Path("/sys/class/net").glob("wlan*"):
        phy = net / "phy80211" / "name"
        if net.name != AP and phy.exists():
            found.append((net.name, phy.read_text().strip()))
    return sorted(found, key=lambda pair: int(pair[0][4:]))


# What a phone offers: a WPA2 phone WPA-PSK; a WPA3 phone SAE, with protected management frames required (as
# Android and iOS do for a WPA3 network).
KEY_MGMT = {"wpa2": "key_mgmt=WPA-PSK", "wpa3": "key_mgmt=SAE\n    ieee80211w=2"}


def wpa_conf(ns: str, ssid: str, passphrase: str, phone_kind: str) -> Path:
    conf = RUN / f"{ns}.conf"
    quoted = passphrase.replace("\\", "\\\\").replace('"', '\\"')
    conf.write_text(
        f"ctrl_interface={RUN}/ctrl-{ns}\nupdate_config=0\n"
        f'network={{\n    ssid="{ssid}"\n    psk="{quoted}"\n    {KEY_MGMT[phone_kind]}\n    scan_ssid=1\n}}\n'
    )
    return conf


def phone_kind(security: str, n: int) -> str:
    """The phone the n-th radio stands for under the kit's [wifi] security: every other one a WPA3 phone in
    transition mode, every one under WPA3 only, none under WPA2."""
    return {"wpa2": "wpa2", "wpa3": "wpa3"}.get(security, "wpa3" if n % 2 == 0 else "wpa2")


def start_supplicant(ns: str, ssid: str, passphrase: str, kind: str = "wpa2") -> None:
    log = RUN / f"{ns}.wpa.log"
    log.unlink(missing_ok=True)
    conf = wpa_conf(ns, ssid, passphrase, kind)
    started = in_ns(
        ns,
        "wpa_supplicant",
        "-B",
        "-i",
        ns,
        "-D",
        "nl80211",
        "-c",
        str(conf),
        "-f",
        str(log),
        "-P",
        str(RUN / f"{ns}.pid"),
    )
    if started.returncode != 0:
        raise RuntimeError(f"wpa_supplicant in {ns}: {started.stderr.strip() or started.stdout.strip()}")


def stop_supplicant(ns: str) -> None:
    pid_file = RUN / f"{ns}.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 15)
    except (OSError, ValueError):
        return
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10, 0.2)


def wpa_status(ns: str, key: str) -> str:
    status = in_ns(ns, "wpa_cli", "-p", str(RUN / f"ctrl-{ns}"), "-i", ns, "status", timeout=20).stdout
    found = re.search(rf"^{key}=(\S+)", status, re.M)
    return found.group(1) if found else "NO-ANSWER"


def wpa_state(ns: str) -> str:
    return wpa_status(ns, "wpa_state")


def try_join(ns: str, ssid: str, passphrase: str, kind: str) -> tuple[bool, str]:
    """One phone alone tries to join for WRONG_KEY_S: whether it did, and why not (its refusal), then it leaves."""
    start_supplicant(ns, ssid, passphrase, kind)
    joined = bool(wait_for(lambda: wpa_state(ns) == "COMPLETED", WRONG_KEY_S, 2.0))
    why = refusal(ns)
    stop_supplicant(ns)
    return joined, why


def refusal(ns: str) -> str:
    """Why a phone did not join, from its wpa_supplicant's log: the AP's status code or the handshake's failure."""
    try:
        text = (RUN / f"{ns}.wpa.log").read_text(errors="replace")
    except OSError:
        return "no log"
    if "WRONG_KEY" in text or "4-Way Handshake failed" in text or "pre-shared key may be incorrect" in text:
        return "wrong key (4-way handshake failed)"
    # SAE (WPA3): the password is proved inside the authentication, so a wrong one ends there: the AP rejects it with
    # status 1 (unspecified failure) or 15 (challenge failure), auth_type 3 (SAE), and no 4-way handshake starts.
    sae = re.findall(r"CTRL-EVENT-AUTH-REJECT \S+ auth_type=3 \S+ status_code=(1|15)\b", text)
    if sae:
        return f"wrong key (SAE authentication rejected, status {sae[-1]})"
    codes = re.findall(r"CTRL-EVENT-(ASSOC|AUTH)-REJECT .*?status_code=(\d+)", text)
    if codes:
        kind, code = codes[-1]
        return f"{kind.lower()} rejected, status {code}" + (" (the AP is full)" if code == "17" else "")
    if "CTRL-EVENT-NETWORK-NOT-FOUND" in text:
        return "network not found"
    events = sorted(set(re.findall(r"CTRL-EVENT-[A-Z-]+", text)))
    return f"not associated (its log: {', '.join(events) or 'no events'})"


def set_netns(ns: str) -> None:
    """Move the calling thread (only it) into the phone's network namespace: its sockets are the phone's."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def lease(ns: str) -> tuple[dict | None, float, str]:
    """The phone's DHCP lease from busybox udhcpc (None when it got none), how long it took, and udhcpc's own words."""
    (RUN / f"{ns}.lease").unlink(missing_ok=True)
    t0 = time.monotonic()
    done = in_ns(
        ns, "busybox", "udhcpc", "-i", ns, "-n", "-q", "-t", "6", "-T", "3", "-s", str(UDHCPC_SCRIPT), timeout=60
    )
    took = time.monotonic() - t0
    said = f"exit {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}"
    script_log = RUN / f"{ns}.udhcpc.log"
    if script_log.exists():
        said += f"; its script: {script_log.read_text(errors='replace')[-400:]}"
    try:
        return json.loads((RUN / f"{ns}.lease").read_text()), took, said
    except (OSError, ValueError):
        return None, took, said


def ping(address: str, ns: str | None = None) -> bool:
    """Whether `address` answers 3 pings from the phone's namespace `ns` (from the kit itself without one)."""
    argv = ("busybox", "ping", "-c", "3", "-W", "3", address)
    return (in_ns(ns, *argv) if ns else sh(*argv)).returncode == 0


def station_count() -> int:
    """The phones associated with the kit's access point, as hostapd's kernel side lists them."""
    return len(re.findall(r"^Station ", sh("iw", "dev", AP, "station", "dump").stdout, re.M))


def reaches(ns: str, address: str, port: int) -> str:
    """'connected' or why not, for a TCP connection from the phone's namespace."""
    answer: list[str] = []

    def attempt() -> None:
        set_netns(ns)
        try:
            with socket.create_connection((address, port), timeout=8):
                answer.append("connected")
        except OSError as exc:
            answer.append(type(exc).__name__)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return answer[0]


def phone(base: str) -> int:
    """In a phone's namespace: names through its own resolver, the home page, the connectivity checks."""
    found: dict = {"names": {}}
    for name in ("kit", *CHECK_HOSTS):
        try:
            found["names"][name] = socket.gethostbyname(name)
        except OSError as exc:
            found["names"][name] = f"{type(exc).__name__}: {exc}"
    b = Browser(base)
    try:
        status, _, text = b.request("GET", "/")
        found["home"] = {"status": status, "bytes": len(text.encode())}
    except OSError as exc:
        found["home"] = {"status": type(exc).__name__}
    found["checks"] = {}
    for host, path in CHECK_HOSTS.items():
        try:
            conn = http.client.HTTPConnection(host, 80, timeout=60)
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            found["checks"][host] = {"status": answer.status, "location": answer.headers.get("Location", "")}
            conn.close()
        except OSError as exc:
            found["checks"][host] = {"status": type(exc).__name__, "location": ""}
    print(json.dumps(found))
    return 0


def phone_view(ns: str, base: str) -> dict:
    done = in_ns(ns, sys.executable, str(Path(__file__).resolve()), "phone", base, timeout=300)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (done.stderr or done.stdout)[-300:]}


def pages_to_read() -> list[str]:
    """Pages of the kit's books: each book's main page (where the home page's link leads) and the pages it links to."""
    b = Browser(LOCAL)
    books = sorted(set(re.findall(r'href="(/content/[^"#?]+)"', b.get("/"))))
    pages = []
    for book in books[:4]:
        status, where, text = b.request("GET", book)
        if status in (301, 302, 303, 307) and where:
            book = urllib.parse.urljoin(book, where)
            status, _, text = b.request("GET", book)
        if status != 200:
            continue
        pages.append(book)
        for href in re.findall(r'href="([^"#?]+)"', text):
            url = urllib.parse.urljoin(book, href)
            if url.startswith("/content/") and not url.endswith((".css", ".js", ".svg", ".png")):
                pages.append(url)
    return sorted(set(pages))[:60]


def read_together(phones: list[dict], state: dict, pages: list[str], seconds: float) -> dict:
    """Every phone with a lease signs in as its own pupil and reads for `seconds`, thinking 2-6 s between pages."""
    results: dict[str, dict] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(phones))

    def one(n: int, ph: dict) -> None:
        set_netns(ph["ns"])
        times: list[float] = []
        errors: dict[str, int] = {}
        rnd = random.Random(n)
        name = child_name(n)
        t0 = time.monotonic()
        try:
            b, _ = pupil_signs_in(f"http://{ph['kit']}", state["class_id"], name, state["pins"][name])
            signed_in_s = round(time.monotonic() - t0, 2)
        except (OSError, RuntimeError) as exc:
            b, signed_in_s = None, None
            errors[f"sign-in: {exc}"[:80]] = 1
        start.wait()
        end = time.monotonic() + seconds
        while b is not None and time.monotonic() < end:
            path = rnd.choice(pages) if pages and rnd.random() < 0.8 else rnd.choice(("/", "/me"))
            t1 = time.monotonic()
            try:
                status = b.request("GET", path)[0]
                if status == 200:
                    times.append(time.monotonic() - t1)
                else:
                    errors[f"answered {status}"] = errors.get(f"answered {status}", 0) + 1
            except OSError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            time.sleep(rnd.uniform(*THINK_S))
        with lock:
            results[ph["ns"]] = {
                "signed_in_s": signed_in_s,
                "pages": len(times),
                "p50_s": round(statistics.median(times), 2) if times else None,
                "p95_s": p95(times) if times else None,
                "errors": errors,
                "times": times,
            }

    threads = [threading.Thread(target=one, args=(n, ph)) for n, ph in enumerate(phones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [t for r in results.values() for t in r.pop("times")]
    return {
        "phones": results,
        "pages": len(every),
        "p50_s": round(statistics.median(every), 2) if every else None,
        "p95_s": p95(every),
        "worst_phone_p95_s": max((r["p95_s"] or 0 for r in results.values()), default=None),
        "signed_in": sum(1 for r in results.values() if r["signed_in_s"] is not None),
    }


def uplinks() -> list[str]:
    """The kit's interfaces that carry a default route (IPv4 or IPv6): its uplink."""
    found = set()
    for family in ("-4", "-6"):
        found.update(re.findall(r"\bdev (\S+)", sh("ip", family, "route", "show", "default").stdout))
    return sorted(found - {AP})


def run(config_path: str) -> int:
    """Every check in turn; a crash is a failed check, so the host always gets a result line."""
    result: dict = {"checks": []}
    try:
        _run(json.loads(Path(config_path).read_text()), result)
    except Exception as exc:  # noqa: BLE001 - the host must hear of any failure, not wait for its time-out
        import traceback

        traceback.print_exc()
        result["checks"].append({"check": "radio run", "ok": False, "detail": f"{type(exc).__name__}: {exc}"})
    return finish(result)


def _run(cfg: dict, result: dict) -> None:
    RUN.mkdir(parents=True, exist_ok=True)

    def check(name: str, ok: bool, detail: str) -> bool:
        result["checks"].append({"check": name, "ok": bool(ok), "detail": detail})
        say(ok, f"{name}: {detail}")
        return ok

    t_ready = time.monotonic()
    if not wait_for(ap_ready, READY_S, 5.0):
        check(
            "access point", False, f"{AP} is not an access point, or the home page does not answer, after {READY_S:g}s"
        )
        return
    result["ap"] = hostapd_settings()
    result["ap"]["hostapd"] = (sh("hostapd", "-v").stderr.strip().splitlines() or [""])[0]
    check(
        "access point",
        True,
        f"{result['ap']['hostapd']} runs {AP} as an access point ({result['ap']['wpa_key_mgmt']}, {result['ap']['rsn_pairwise']}, "
        f"ap_isolate={result['ap']['ap_isolate']}, max_num_sta={result['ap']['max_num_sta']}, channel "
        f"{result['ap']['channel']}), {time.monotonic() - t_ready:.0f}s after the unit started",
    )
    # The radio keeps to the rules of the kit's country (kit.toml [wifi] country), not the world domain's.
    country = result["ap"]["country_code"]
    regulatory = re.search(r"^global\s*\ncountry (\w+)", sh("iw", "reg", "get").stdout, re.M)
    result["ap"]["regulatory"] = regulatory.group(1) if regulatory else "unknown"
    check(
        "country",
        result["ap"]["regulatory"] == country,
        f"`iw reg get`: country {result['ap']['regulatory']} (hostapd asks {country})",
    )

    pairs = radios()
    result["radios"] = len(pairs)
    for ns, phy in pairs:
        sh("ip", "netns", "add", ns)
        moved = sh("iw", "phy", phy, "set", "netns", "name", ns)
        if moved.returncode != 0:
            check("phones' namespaces", False, f"iw could not move {phy} into {ns}: {moved.stderr.strip()}")
            return
        in_ns(ns, "ip", "link", "set", "lo", "up")
        in_ns(ns, "ip", "link", "set", ns, "up")
    say(None, f"{len(pairs)} simulated phones, each its own radio in its own network namespace")

    # The books the class reads: the demo library, written by the kit's own `tpkit demo` (the image ships none).
    made = sh(
        "runuser", "-u", "tpkit", "--", "env", "TPKIT_CONFIG=/etc/tpkit/kit.toml", "/usr/bin/tpkit", "demo", timeout=600
    )
    sh("systemctl", "restart", "tpkit-web.service", timeout=300)
    wait_for(ap_ready, 600, 3.0)
    pages = pages_to_read()
    check(
        "books",
        bool(pages),
        f"`tpkit demo` {'wrote' if made.returncode == 0 else 'failed: ' + made.stderr[-200:]}; {len(pages)} pages to read",
    )
    state_path = RUN / "class.json"
    set_up = setup(LOCAL, str(state_path), cfg["admin_password"])
    if not check("class", set_up == 0, "a class of 40 imported on the kit, PINs read from its sign-in cards"):
        return
    state = json.loads(state_path.read_text())

    # 1. A wrong passphrase is refused (and under WPA3 only, a WPA2 phone with the right one).
    security = cfg.get("security") or "wpa2"
    first = pairs[0][0]
    joined, why = try_join(first, cfg["ssid"], cfg["passphrase"] + " wrong", phone_kind(security, 0))
    check(
        "wrong passphrase",
        not joined and why.startswith("wrong key"),
        f"a {phone_kind(security, 0).upper()} phone with a wrong passphrase: {why}",
    )
    if security == "wpa3":
        joined, why = try_join(first, cfg["ssid"], cfg["passphrase"], "wpa2")
        check("WPA2 phone", not joined, f"a WPA2-only phone with the right passphrase, under WPA3 only: {why}")

    # 2. Every phone with the class passphrase, at once.
    t_join = time.monotonic()
    kinds = {ns: phone_kind(security, n) for n, (ns, _) in enumerate(pairs)}
    for ns, _ in pairs:
        start_supplicant(ns, cfg["ssid"], cfg["passphrase"], kinds[ns])
        time.sleep(0.2)
    states: dict[str, str] = {}
    settled_at, last_count = time.monotonic(), -1
    while time.monotonic() - t_join < ASSOCIATE_S:
        states = {ns: wpa_state(ns) for ns, _ in pairs}
        count = sum(1 for s in states.values() if s == "COMPLETED")
        if count != last_count:
            settled_at, last_count = time.monotonic(), count
        if count == len(pairs) or time.monotonic() - settled_at >= SETTLED_S:
            break
        time.sleep(3)
    joined_ns = [ns for ns, _ in pairs if states.get(ns) == "COMPLETED"]
    refused: dict[str, int] = {}
    for ns, _ in pairs:
        if ns not in joined_ns:
            reason = refusal(ns)
            refused[reason] = refused.get(reason, 0) + 1
    stations = station_count()
    result["association"] = {
        "phones": len(pairs),
        "associated": len(joined_ns),
        "stations_at_ap": stations,
        "refused": refused,
        "seconds": round(settled_at - t_join, 1),
        "max_num_sta": result["ap"]["max_num_sta"],
    }
    limit = int(result["ap"]["max_num_sta"] or len(pairs))
    check(
        "association",
        len(joined_ns) == min(limit, len(pairs)) and stations == len(joined_ns),
        f"{len(joined_ns)} of {len(pairs)} phones associated in {settled_at - t_join:.0f}s (the AP's max_num_sta is "
        f"{limit}; it lists {stations} stations); refused: {refused or 'none'}",
    )

    # Each phone joined the way it offered: SAE for a WPA3 phone, WPA2-PSK for the others.
    negotiated = {ns: wpa_status(ns, "key_mgmt") for ns in joined_ns}
    expected = {"wpa3": "SAE", "wpa2": "WPA2-PSK"}
    wrong = {ns: got for ns, got in negotiated.items() if got != expected[kinds[ns]]}
    result["security"] = {
        "kit": security,
        "wpa_key_mgmt": result["ap"]["wpa_key_mgmt"],
        "ieee80211w": result["ap"]["ieee80211w"],
        "joined_with": {k: list(negotiated.values()).count(k) for k in sorted(set(negotiated.values()))},
    }
    check(
        "security",
        bool(joined_ns) and not wrong,
        f"kit.toml security = {security!r} (hostapd: wpa_key_mgmt={result['ap']['wpa_key_mgmt']}, "
        f"ieee80211w={result['ap']['ieee80211w'] or 'unset'}); joined with {result['security']['joined_with']}"
        + (f"; not as offered: {wrong}" if wrong else ""),
    )

    # 3. Addresses from the kit's dnsmasq.
    phones = []
    lease_s = []
    for ns in joined_ns:
        got, took, said = lease(ns)
        if got:
            phones.append({"ns": ns, **got, "kit": got["dns"].split()[0]})
            lease_s.append(took)
        elif "dhcp_failure" not in result:
            result["dhcp_failure"] = {
                "phone": ns,
                "udhcpc": said,
                "dnsmasq": sh("systemctl", "is-active", "dnsmasq").stdout.strip(),
            }
            say(False, f"{ns} got no lease ({took:.1f}s): {result['dhcp_failure']}")
    good = [p for p in phones if p["router"] == KIT and p["dns"].split()[0] == KIT and p["ip"].startswith("192.168.4.")]
    check(
        "DHCP",
        bool(joined_ns) and len(good) == len(joined_ns),
        f"{len(good)} of {len(joined_ns)} associated phones got a lease in 192.168.4.0/24 with the kit as router and DNS "
        f"(busybox udhcpc; {statistics.median(lease_s) if lease_s else 0:.1f}s median, {max(lease_s, default=0):.1f}s longest)",
    )
    result["dhcp"] = {"leased": len(good), "median_s": round(statistics.median(lease_s), 1) if lease_s else None}
    if len(good) < 2:
        return
    a, b2 = good[0], good[1]

    # 4. Names and pages through a phone's own resolver, with and without an uplink.
    view = phone_view(a["ns"], "http://kit")
    names_ok = all(view.get("names", {}).get(n) == KIT for n in ("kit", *CHECK_HOSTS))
    check("names", names_ok, f"{a['ns']} resolves kit and the phones' check hosts to: {view.get('names')}")
    home = view.get("home", {})
    check("home page", home.get("status") == 200, f"http://kit/ from {a['ns']}: {home}")
    honest = all(c.get("status") == 404 for c in view.get("checks", {}).values())
    check("checks with an uplink", honest, f"the connectivity checks while the kit has an uplink: {view.get('checks')}")
    # The uplink's cable pulled out: its link down takes its routes with it; systemd-networkd brings them back.
    cables = uplinks()
    for link in cables:
        sh("ip", "link", "set", link, "down")
    try:
        offline = phone_view(a["ns"], "http://kit")
    finally:
        for link in cables:
            sh("ip", "link", "set", link, "up")
    result["uplinks"] = cables
    answers = offline.get("checks", {}).values()
    portal = bool(answers) and all(c.get("status") == 302 and c.get("location") == f"http://{KIT}/" for c in answers)
    check(
        "captive portal",
        portal,
        f"with the kit's uplink ({', '.join(cables)}) down, the checks answer: {offline.get('checks')}",
    )

    # 5. Client isolation and the uplink.
    to_kit = ping(KIT, a["ns"])
    to_phone = ping(b2["ip"], a["ns"])
    kit_to_phone = ping(b2["ip"])  # the phone does answer
    check(
        "client isolation",
        to_kit and kit_to_phone and not to_phone,
        f"{a['ns']} pings the kit: {to_kit}; the kit pings {b2['ns']} ({b2['ip']}): {kit_to_phone}; "
        f"{a['ns']} pings {b2['ns']}: {to_phone}",
    )
    uplink = reaches(a["ns"], *UPLINK_TARGET)
    check(
        "no uplink from the classroom",
        uplink != "connected",
        f"{a['ns']} to {UPLINK_TARGET[0]}:{UPLINK_TARGET[1]} (the uplink side): {uplink}",
    )

    # 6. The class reads over the radio; the kit's own count of its phones.
    seconds = float(cfg["seconds"])
    load = read_together(phones, state, pages, seconds)
    result["load"] = load
    check(
        "class reading",
        load["signed_in"] == len(phones) and load["pages"] > 0,
        f"{load['signed_in']} of {len(phones)} phones signed in as pupils and read {load['pages']} pages in {seconds:g}s: "
        f"p50 {load['p50_s']}s, p95 {load['p95_s']}s, worst phone's p95 {load['worst_phone_p95_s']}s",
    )
    stations = station_count()
    try:
        counted = json.loads(Browser(LOCAL).get("/-/health")).get("wifi_clients")
    except (OSError, RuntimeError, ValueError) as exc:
        counted = f"{type(exc).__name__}"
    check(
        "kit's count", counted == stations, f"/-/health's wifi_clients says {counted}; the AP lists {stations} stations"
    )


def finish(result: dict) -> int:
    result["passed"] = bool(result["checks"]) and all(c["ok"] for c in result["checks"])
    print("TPKIT-RADIO-RESULT " + json.dumps(result, separators=(",", ":")), flush=True)
    print("TPKIT-RADIO-DONE", flush=True)
    return 0 if result["passed"] else 1


def result_line(console: str) -> dict | None:
    """The last whole result line in the guest's console (printed by the unit, and again by journald's copy)."""
    for line in reversed(console.splitlines()):
        _, marker, rest = line.partition("TPKIT-RADIO-RESULT ")
        if marker:
            try:
                return json.loads(rest.strip())
            except ValueError:
                continue
    return None


def table(console_path: str, json_path: str, md_path: str, *about: str) -> int:
    result = result_line(Path(console_path).read_text(errors="replace"))
    if result is None:
        print(f"[✗] no TPKIT-RADIO-RESULT line in {console_path}")
        return 1
    facts = dict(item.split("=", 1) for item in about)
    Path(json_path).write_text(json.dumps({"run": facts, **result}, indent=1, ensure_ascii=False))
    lines = ["# The classroom radio in qemu (mac80211_hwsim)", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    ap = result.get("ap", {})
    lines += [
        "",
        f"Access point: {json.dumps(ap, ensure_ascii=False)}",
        "",
        "| check | passed | what was seen |",
        "|---|---|---|",
    ]
    for c in result.get("checks", []):
        detail = c["detail"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {c['check']} | {'yes' if c['ok'] else '**no**'} | {detail} |")
    load = result.get("load")
    if load:
        lines += ["", "| phone | signed in (s) | pages | p50 (s) | p95 (s) | errors |", "|---|---|---|---|---|---|"]
        for ns, r in sorted(load["phones"].items(), key=lambda item: int(item[0][4:])):
            lines.append(
                f"| {ns} | {r['signed_in_s']} | {r['pages']} | {r['p50_s']} | {r['p95_s']} | {r['errors'] or ''} |"
            )
    Path(md_path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if result.get("passed") else 1


if __name__ == "__main__":
    commands = {"run": run, "phone": phone, "table": table}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(64)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
