"""Alerts as episodes and telling people (`tpkit hub notify`): the lifecycle on both backends, a loopback HTTP
receiver answering as a WeCom group robot, a real SMTP server on loopback (aiosmtpd), the acknowledge form, and the
command run as a process."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from appliance.errors import ConfigError
from appliance.hub import enrolment, ingest, notify
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage import alert_states
from tests.conftest import free_port
from tests.hub.conftest import enrol_kit, health_body, signed
from tests.hub.test_cli_hub import tpkit
from tests.hub.test_dashboard import _signed_in

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"  # the shape of a WeCom robot's key


class WecomRobot:
    """`POST /cgi-bin/webhook/send?key=…` as a WeCom group robot answers it: 200 `{"errcode": 0}`, or what the test
    queues in `answers` first ((status, JSON body) pairs)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.answers: list[tuple[int, dict]] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server interface
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, body = robot.answers.pop(0) if robot.answers else (200, {"errcode": 0, "errmsg": "ok"})
                if status == 200 and body.get("errcode") == 0:
                    robot.received.append((self.path, json.loads(raw)))
                reply = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key={KEY}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [body["text"]["content"] for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot() -> Iterator[WecomRobot]:
    receiver = WecomRobot()
    yield receiver
    receiver.close()


class Mailbox:
    """What a real SMTP server on loopback (aiosmtpd) received, as email messages."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

        self.over_tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler interface
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.over_tls.append(session.ssl is not None)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[list[Controller], Mailbox]]:
    """The running server first in the list (a test that stops it starts a new one on the same port)."""
    box = Mailbox()
    controllers = [Controller(box, hostname="127.0.0.1", port=free_port())]
    controllers[0].start()
    yield controllers, box
    controllers[0].stop()


def _heartbeat(db, secret, kit_id: str, sequence: int, now: float, **readings) -> None:
    report, _, _ = signed(secret, kit_id, sequence, health_body(kit_id, **readings), made_at=now)
    ingest.store(db, report, now)


def _episodes(db, kit_id: str) -> list[dict]:
    return db.query(
        "SELECT code, severity, opened_at, closed_at, acknowledged_by FROM alert_states WHERE kit_id = ? "
        "ORDER BY opened_at",
        (kit_id,),
    )


def _settings(hub_settings, **changes):
    return dataclasses.replace(hub_settings, hub_time_zone="Asia/Shanghai", **changes)


def test_notify_alert_lifecycle_opens_raises_acknowledges_closes_and_reopens(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-a", clock.now, school="五一小学", district="城关镇")
    _heartbeat(hub_db, secret, "kit-a", 1, clock.now, disk_percent=93.0)
    swept, _ = notify.sweep(hub_db, clock.now, 6, 30)
    assert (swept.opened, swept.raised, swept.closed) == (1, 0, 0)
    opened_at = clock.now
    again, _ = notify.sweep(hub_db, clock.now + 60, 6, 30)  # idempotent: nothing changes the second time
    assert (again.opened, again.raised, again.closed) == (0, 0, 0)
    assert [(e["code"], e["severity"], e["closed_at"]) for e in _episodes(hub_db, "kit-a")] == [
        ("disk_full", "warning", None)
    ]

    clock.now += 600
    _heartbeat(hub_db, secret, "kit-a", 2, clock.now, disk_percent=98.0)
    raised, _ = notify.sweep(hub_db, clock.now, 6, 30)
    assert (raised.opened, raised.raised, raised.closed) == (0, 1, 0)
    [episode] = _episodes(hub_db, "kit-a")
    assert episode["severity"] == "critical" and episode["opened_at"] == opened_at  # the same episode, worse
    _heartbeat(hub_db, secret, "kit-a", 3, clock.now, disk_percent=93.0)
    assert notify.sweep(hub_db, clock.now, 6, 30)[0].raised == 0  # the worst seen while open is kept
    assert _episodes(hub_db, "kit-a")[0]["severity"] == "critical"

    assert notify.acknowledge(hub_db, "kit-a", "disk_full", "technician", clock.now) is True
    assert notify.acknowledge(hub_db, "kit-a", "disk_full", "someone else", clock.now) is False  # the first stays
    assert alert_states.openings_due(hub_db, "webhook") == []  # acknowledged: not notified
    assert notify.open_for(hub_db, ["kit-a"])[("kit-a", "disk_full")]["acknowledged_by"] == "technician"

    clock.now += 600
    _heartbeat(hub_db, secret, "kit-a", 4, clock.now, disk_percent=40.0)
    closed, _ = notify.sweep(hub_db, clock.now, 6, 30)
    assert (closed.opened, closed.raised, closed.closed) == (0, 0, 1)
    assert notify.acknowledge(hub_db, "kit-a", "disk_full", "technician", clock.now) is False  # nothing open

    clock.now += 600
    _heartbeat(hub_db, secret, "kit-a", 5, clock.now, disk_percent=92.0)
    reopened, _ = notify.sweep(hub_db, clock.now, 6, 30)
    assert reopened.opened == 1
    first, second = _episodes(hub_db, "kit-a")
    assert first["closed_at"] is not None and first["acknowledged_by"] == "technician"
    assert second["closed_at"] is None and second["acknowledged_by"] is None and second["severity"] == "warning"

    clock.now += 7 * 3600  # silent: the disk alert stays (the row keeps the last heartbeat), silence opens
    assert notify.sweep(hub_db, clock.now, 6, 30)[0].opened == 1
    assert {(e["code"], e["closed_at"] is None) for e in _episodes(hub_db, "kit-a")} >= {("silent", True)}


def test_notify_an_episode_opens_once_when_two_sweeps_race(hub_db, clock):
    enrolment.register(hub_db, "kit-b", "Hill School", "North", "", clock.now, 24)
    assert alert_states.open_episodes(hub_db, [("kit-b", "silent", "critical")], clock.now) == 1
    assert alert_states.open_episodes(hub_db, [("kit-b", "silent", "critical")], clock.now + 1) == 0  # the index
    assert len(_episodes(hub_db, "kit-b")) == 1


def test_notify_opens_marks_and_closes_a_province_in_statements_of_many_rows(hub_db, clock):
    count = 2 * alert_states.BATCH + 3  # three statements of many rows each, the last of three
    with hub_db.transaction() as tx:
        for n in range(count):
            tx.execute(
                "INSERT INTO kits (kit_id, school, district, location, registered_at) VALUES (?, ?, ?, '', ?)",
                (f"kit-{n:04d}", "学校", "乡镇", clock.now),
            )
    found = [(f"kit-{n:04d}", "silent", "critical") for n in range(count)]
    assert alert_states.open_episodes(hub_db, found, clock.now) == count
    assert alert_states.open_episodes(hub_db, found, clock.now + 1) == 0
    due = alert_states.openings_due(hub_db, "mail")
    assert len(due) == count
    alert_states.mark_sent(hub_db, "mail", due[1:], [], clock.now + 2)  # all but one
    assert [row["kit_id"] for row in alert_states.openings_due(hub_db, "mail")] == [due[0]["kit_id"]]
    assert alert_states.close(hub_db, [(kit_id, code) for kit_id, code, _ in found[:-1]], clock.now + 3) == count - 1
    assert [(r["kit_id"], r["code"]) for r in alert_states.open_rows(hub_db)] == [(f"kit-{count - 1:04d}", "silent")]
    assert len(alert_states.resolutions_due(hub_db, "mail")) == count - 2  # sent and closed; kit-0000 was never sent


def test_notify_webhook_tells_a_wecom_robot_once_and_again_after_a_failure(hub_db, hub_settings, clock, robot):
    settings = _settings(hub_settings, hub_notify_webhook_url=robot.url)
    secret = enrol_kit(hub_db, "kit-a", clock.now, school="五一小学", district="城关镇")
    _heartbeat(hub_db, secret, "kit-a", 1, clock.now, disk_percent=93.0)
    swept, [sent] = notify.run(hub_db, settings, clock.now)
    assert swept.opened == 1 and (sent.channel, sent.openings, sent.error) == ("webhook", 1, "")
    [(path, body)] = robot.received
    assert path == f"/cgi-bin/webhook/send?key={KEY}" and body["msgtype"] == "text"
    text = body["text"]["content"]
    assert "kit-a（城关镇 五一小学）" in text and "有一块磁盘已用 93.0%" in text and "新告警 1 条" in text
    assert re.search(r"自 \d+月\d+日 \d\d:\d\d 起", text), text
    assert not re.search(r"[A-Za-z]{3,}", text.replace("kit-a", "")), text  # no English word in Chinese
    assert notify.run(hub_db, settings, clock.now + 60)[1][0].openings == 0 and len(robot.received) == 1

    other = enrol_kit(hub_db, "kit-b", clock.now, school="Hill School", district="North")
    _heartbeat(hub_db, other, "kit-b", 1, clock.now, temp_c=82.0)
    robot.answers = [(200, {"errcode": 310000, "errmsg": "message frequency limit"}), (500, {"error": "busy"})]
    [failed] = notify.run(hub_db, settings, clock.now + 120)[1]
    assert "errcode 310000" in failed.error and failed.openings == 0
    [failed] = notify.run(hub_db, settings, clock.now + 180)[1]
    assert "HTTP 500" in failed.error
    assert len(robot.received) == 1
    [sent] = notify.run(hub_db, settings, clock.now + 240)[1]
    assert sent.error == "" and sent.openings == 1 and "kit-b" in robot.texts()[-1] and "kit-a" not in robot.texts()[-1]
    assert notify.run(hub_db, settings, clock.now + 300)[1][0].openings == 0 and len(robot.received) == 2

    _heartbeat(hub_db, other, "kit-b", 2, clock.now + 360, temp_c=50.0)  # cooled down: resolved, once
    swept, [sent] = notify.run(hub_db, settings, clock.now + 360)
    assert swept.closed == 1 and sent.resolutions == 1
    assert "已恢复 1 条" in robot.texts()[-1] and "kit-b（North Hill School）：处理器过热，已恢复" in robot.texts()[-1]
    notify.run(hub_db, settings, clock.now + 420)
    assert len(robot.received) == 3


def test_notify_tells_again_what_got_worse_and_what_nobody_acknowledged_for_a_day(hub_db, hub_settings, clock, robot):
    settings = _settings(hub_settings, hub_notify_webhook_url=robot.url, hub_notify_repeat_h=24)
    kits = {
        "kit-a": enrol_kit(hub_db, "kit-a", clock.now, school="五一小学", district="城关镇"),
        "kit-b": enrol_kit(hub_db, "kit-b", clock.now, school="北山小学", district="北山乡"),
    }
    sequence = iter(range(1, 100))

    def heartbeats(a: float, b: float) -> None:  # each kit's disk use; both kits keep reporting (never silent)
        number = next(sequence)
        for kit_id, disk in (("kit-a", a), ("kit-b", b)):
            _heartbeat(hub_db, kits[kit_id], kit_id, number, clock.now, disk_percent=disk)

    def sweep_and_send() -> str:
        told = len(robot.received)
        notify.run(hub_db, settings, clock.now)
        return robot.texts()[-1] if len(robot.received) > told else ""

    heartbeats(93.0, 92.0)  # two warnings
    assert "新告警 2 条" in sweep_and_send()
    assert notify.acknowledge(hub_db, "kit-b", "disk_full", "technician", clock.now)

    clock.now += 600
    heartbeats(98.0, 92.0)  # kit-a's gets worse: told again, under its own heading
    text = sweep_and_send()
    assert "新告警 0 条" in text and "告警加重：\nkit-a（城关镇 五一小学）：严重" in text and "kit-b" not in text, text
    assert sweep_and_send() == ""  # and once only

    clock.now += 600
    heartbeats(98.0, 98.0)  # kit-b's gets worse too: acknowledged as a warning, told as critical
    assert "告警加重：\nkit-b（北山乡 北山小学）：严重" in sweep_and_send()

    clock.now += 23 * 3600
    heartbeats(98.0, 98.0)
    assert sweep_and_send() == ""  # not a day since each was last told
    clock.now += 55 * 60  # 24 h 15 min after the start: kit-a was last told at 10 min, kit-b at 20 min
    heartbeats(98.0, 98.0)
    text = sweep_and_send()
    assert "仍未处理（无人确认）：\nkit-a（城关镇 五一小学）：严重" in text and "新告警 0 条" in text, text
    assert "kit-b" not in text and sweep_and_send() == ""

    clock.now += 25 * 3600
    heartbeats(98.0, 98.0)
    assert notify.acknowledge(hub_db, "kit-a", "disk_full", "technician", clock.now)
    settings = dataclasses.replace(settings, hub_notify_repeat_h=0.0)  # 0: an alert is told once (and when worse)
    assert sweep_and_send() == ""
    settings = dataclasses.replace(settings, hub_notify_repeat_h=24.0)
    text = sweep_and_send()  # kit-b was acknowledged as a warning only: its critical alert is reminded of
    assert "仍未处理" in text and "kit-b" in text and "kit-a" not in text, text


def test_notify_acknowledged_alerts_are_not_sent_and_many_are_summed_up(hub_db, hub_settings, clock, robot):
    for number in range(25):  # registered, never heard from: silent
        enrolment.register(hub_db, f"kit-{number:02}", "Hill School", "North", "", clock.now, 24)
    notify.run(hub_db, _settings(hub_settings), clock.now)  # no channel: the episodes open, nobody is told
    assert notify.acknowledge(hub_db, "kit-00", "silent", "technician", clock.now)
    _, [sent] = notify.run(
        hub_db, _settings(hub_settings, hub_notify_language="en", hub_notify_webhook_url=robot.url), clock.now
    )
    assert sent.openings == 24
    [text] = robot.texts()
    assert "kit-00" not in text and text.count("The kit has never reported") == 20
    assert "County hub alerts: 24 new, 0 resolved" in text and "… and 4 more" in text


def test_notify_mail_and_webhook_are_marked_each_on_its_own(hub_db, hub_settings, clock, robot, smtp):
    controllers, box = smtp
    controller = controllers[0]
    settings = _settings(
        hub_settings,
        hub_notify_webhook_url=robot.url,
        hub_notify_smtp=f"127.0.0.1:{controller.port}",
        hub_notify_mail_from="hub@county.example.cn",
        hub_notify_mail_to="tech1@county.example.cn, tech2@county.example.cn",
    )
    secret = enrol_kit(hub_db, "kit-a", clock.now, school="五一小学", district="城关镇")
    _heartbeat(hub_db, secret, "kit-a", 1, clock.now, under_voltage_now=True)
    _, sent = notify.run(hub_db, settings, clock.now)
    assert [(s.channel, s.openings, s.error) for s in sent] == [("webhook", 1, ""), ("mail", 1, "")]
    [message] = box.messages
    assert message["Subject"] == "【县级中心】新告警 1 条，已恢复 0 条"
    assert box.envelopes == [("hub@county.example.cn", ["tech1@county.example.cn", "tech2@county.example.cn"])]
    body = message.get_content()
    assert "kit-a（城关镇 五一小学）：严重：当前电压不足" in body, body

    controller.stop()  # the mail relay is down; the webhook works
    _heartbeat(hub_db, secret, "kit-a", 2, clock.now + 60, disk_percent=93.0)
    _, sent = notify.run(hub_db, settings, clock.now + 60)
    assert sent[0].openings == 1 and sent[1].error and "Connection" in sent[1].error
    _, sent = notify.run(hub_db, settings, clock.now + 120)
    assert sent[0].openings == 0 and sent[1].error  # the webhook is not sent twice
    assert len(robot.received) == 2
    controllers[0] = Controller(box, hostname="127.0.0.1", port=controller.port)  # the relay is back
    controllers[0].start()
    _, sent = notify.run(hub_db, settings, clock.now + 180)
    assert (sent[0].openings, sent[1].openings, sent[1].error) == (0, 1, "")
    assert "有一块磁盘已用 93.0%" in box.messages[-1].get_content() and len(box.messages) == 2


def test_notify_alerts_page_shows_since_and_a_technician_acknowledges(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-a", clock.now, school="五一小学", district="城关镇")
    _heartbeat(hub_db, secret, "kit-a", 1, clock.now, disk_percent=93.0)
    notify.sweep(hub_db, clock.now, 6, 30)
    _signed_in(hub_client, hub_db, clock)
    page = hub_client.get("/alerts?lang=zh")
    assert "开始时间" in page.text and "确认收到" in page.text and 'action="/alerts/acknowledge"' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    refused = hub_client.post("/alerts/acknowledge", data={"kit_id": "kit-a", "code": "disk_full"})
    assert (
        refused.status_code == 403
        and notify.open_for(hub_db, ["kit-a"])[("kit-a", "disk_full")]["acknowledged_at"] is None
    )
    done = hub_client.post("/alerts/acknowledge", data={"csrf": csrf, "kit_id": "kit-a", "code": "disk_full"})
    assert done.status_code == 303 and done.headers["location"] == "/alerts"
    after = hub_client.get("/alerts?lang=zh").text
    assert "确认收到" not in after and "technician（" in after
    assert "Acknowledge" not in after and "Since" not in after
    english = hub_client.get("/alerts?lang=en").text
    assert "Since" in english and "by technician," in english


def test_notify_command_runs_as_a_process(hub_db, hub_settings, clock, robot):
    secret = enrol_kit(hub_db, "kit-a", clock.now, school="五一小学", district="城关镇")
    _heartbeat(hub_db, secret, "kit-a", 1, clock.now, disk_percent=93.0)
    quiet = tpkit("notify", settings=hub_settings)
    assert quiet.returncode == 0 and "1 opened" in quiet.stdout and "No channel is set" in quiet.stdout, quiet
    robot.answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    failed = tpkit("notify", "--hub-notify-webhook-url", robot.url, settings=hub_settings)
    assert failed.returncode == 1 and "[✗] webhook" in failed.stdout and "errcode 93000" in failed.stdout, failed
    sent = tpkit("notify", "--hub-notify-webhook-url", robot.url, settings=hub_settings)
    assert sent.returncode == 0 and "webhook: 1 new" in sent.stdout, sent
    assert len(robot.received) == 1 and "有一块磁盘已用 93.0%" in robot.texts()[0]
    again = tpkit("notify", "--hub-notify-webhook-url", robot.url, settings=hub_settings)
    assert again.returncode == 0 and "0 opened" in again.stdout and len(robot.received) == 1


def test_notify_settings_refuse_what_cannot_work(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_hub_settings(
            environ={
                "TPKIT_HUB_NOTIFY_WEBHOOK_URL": "qyapi.weixin.qq.com/cgi-bin/webhook/send",
                "TPKIT_HUB_NOTIFY_SMTP": "smtp.example.cn",
                "TPKIT_HUB_NOTIFY_MAIL_TO": "it@county.example.cn; head",
                "TPKIT_HUB_NOTIFY_LANGUAGE": "fr",
            },
            overrides={"hub_data_dir": str(tmp_path)},
        )
    for name in ("hub_notify_webhook_url", "hub_notify_smtp", "hub_notify_mail_to", "hub_notify_language"):
        assert name in str(caught.value)
    good = load_hub_settings(
        environ={"TPKIT_HUB_NOTIFY_SMTP": "smtp.example.cn:587", "TPKIT_HUB_NOTIFY_MAIL_TO": "a@x.cn, b@x.cn"},
        overrides={"hub_data_dir": str(tmp_path)},
    )
    assert notify.channels(good) == ["mail"] and good.hub_notify_language == "zh"


def test_notify_one_sender_at_a_time_on_postgresql(hub_db, hub_settings, clock, robot):
    if hub_db.backend != "postgresql":
        pytest.skip("SQLite: one machine, and the timer never overlaps two runs")
    import psycopg

    settings = _settings(hub_settings, hub_notify_webhook_url=robot.url)
    secret = enrol_kit(hub_db, "kit-a", clock.now)
    _heartbeat(hub_db, secret, "kit-a", 1, clock.now, disk_percent=93.0)
    with psycopg.connect(hub_settings.hub_database_url, autocommit=True) as other:  # another hub machine sending
        other.execute("SELECT pg_advisory_lock(%s)", (alert_states.SENDING_LOCK,))
        swept, [sent] = notify.run(hub_db, settings, clock.now)
        assert swept.opened == 1 and sent.busy and robot.received == []
        other.execute("SELECT pg_advisory_unlock(%s)", (alert_states.SENDING_LOCK,))
    _, [sent] = notify.run(hub_db, settings, clock.now + 60)
    assert not sent.busy and sent.openings == 1 and len(robot.received) == 1


def _self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key (PEM files): the relay's, trusted only where SSL_CERT_FILE names it."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def test_notify_mail_uses_starttls_and_signs_in_when_the_relay_offers_it(
    hub_db, hub_settings, clock, tmp_path, monkeypatch
):
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert_file, key_file = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    box, logins = Mailbox(), []

    def authenticator(server, session, envelope, mechanism, data):
        logins.append((mechanism, data.login, data.password))
        return AuthResult(success=(data.login, data.password) == (b"hub", b"app password"))

    relay = Controller(
        box, hostname="127.0.0.1", port=free_port(), tls_context=tls, require_starttls=True, authenticator=authenticator
    )
    relay.start()
    try:
        settings = _settings(
            hub_settings,
            hub_notify_smtp=f"127.0.0.1:{relay.port}",
            hub_notify_mail_from="hub@county.example.cn",
            hub_notify_mail_to="tech@county.example.cn",
            hub_notify_smtp_user="hub",
            hub_notify_smtp_password="app password",
        )
        enrolment.register(hub_db, "kit-a", "五一小学", "城关镇", "", clock.now, 24)
        _, [untrusted] = notify.run(hub_db, settings, clock.now)  # the relay's certificate is not trusted
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error and box.messages == [] and logins == []
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # now it is (as a county's own CA in the system's store)
        _, [sent] = notify.run(hub_db, settings, clock.now + 60)
        assert (sent.openings, sent.error) == (1, "") and box.over_tls == [True]
        assert [login[1:] for login in logins] == [(b"hub", b"app password")]
        assert "该设备从未报告" in box.messages[0].get_content()
    finally:
        relay.stop()
