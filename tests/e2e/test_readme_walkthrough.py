"""The README's walkthrough as a new user runs it: its shell blocks, pasted in order into one
shell, against a freshly started `sales-api serve`.

The service always runs on the embedded defaults the README describes (a fresh SQLite file
and data folder in a temporary directory, the built-in issuer, the demo catalogue), whatever
SALES_TEST_DATABASE_URL says: the README's first hour is on those defaults. The blocks run
exactly as written; only the base URL in the first block is pointed at a free port. They
need `curl` and `python3`, as the README says.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.served import free_port, running_service

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BASE_LINE = "SALES=http://127.0.0.1:8000"

pytestmark = pytest.mark.slow


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks between <!-- walkthrough:start --> and <!-- walkthrough:end -->."""
    start, end = "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"
    assert readme.count(start) == 1 and readme.count(end) == 1, "walkthrough markers"
    section = readme[readme.index(start) : readme.index(end)]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def run_command(readme: str) -> str:
    """The README's run command: the line two below <!-- run-command -->, as .ci/run reads
    the test command."""
    lines = readme.splitlines()
    return lines[lines.index("<!-- run-command -->") + 2]


def _environment_without_sales_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("SALES_")}


@pytest.fixture
def fresh_service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`sales-api serve --port N` on a new SQLite file; (its base URL, its data folder)."""
    command = run_command(README.read_text("utf-8"))
    # The last step of the run command starts the service; pip has already run here.
    assert command.split("&&")[-1].strip() == ".venv/bin/sales-api serve", command
    # The console script of the Python running the tests: .venv/bin/sales-api when the
    # README's test command runs them.
    script = Path(sys.executable).parent / "sales-api"
    assert script.exists(), f"no console script at {script}; pip install -e ."
    port = free_port()
    data_dir = tmp_path / "data"
    env = {
        **_environment_without_sales_settings(),
        "SALES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sales.db'}",
        "SALES_DATA_DIR": str(data_dir),
    }
    with running_service(
        [str(script), "serve", "--port", str(port)], env=env, cwd=tmp_path, port=port
    ) as base:
        yield base, data_dir


def _answers(stdout: str) -> list[tuple[str, Any]]:
    """Every GraphQL answer the blocks printed, as (root field, its value), in order."""
    answers: list[tuple[str, Any]] = []
    for line in stdout.splitlines():
        body = json.loads(line)  # every line a block prints is one JSON answer
        assert "errors" not in body, body
        ((field, value),) = body["data"].items()
        if isinstance(value, dict) and "errors" in value:
            assert value["errors"] == [], (field, value)
        answers.append((field, value))
    return answers


def _only(answers: list[tuple[str, Any]], field: str) -> Any:
    values = [value for name, value in answers if name == field]
    assert len(values) == 1, (field, values)
    return values[0]


def test_the_walkthrough_sells_tickets_on_a_fresh_service(
    fresh_service: tuple[str, Path],
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the README's walkthrough needs curl")
    base, data_dir = fresh_service
    blocks = walkthrough_blocks(README.read_text("utf-8"))
    assert len(blocks) >= 2, blocks
    script = "\n".join(blocks)
    # The service's address is set once, and every call goes through it.
    assert script.count(BASE_LINE) == 1, f"the first block sets {BASE_LINE}"
    assert script.count("127.0.0.1") == 1 and "localhost" not in script
    script = script.replace(BASE_LINE, f"SALES={base}")

    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env=_environment_without_sales_settings(),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )
    print(f"walkthrough: {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    answers = _answers(result.stdout)

    assert [name for name, _ in answers[:2]] == ["stopPlaces", "departures"]
    assert _only(answers, "departures"), "tomorrow has departures"
    assert _only(answers, "offers")

    reserved = _only(answers, "reserveOffers")["order"]
    order_id = reserved["id"]
    assert re.fullmatch(r"[A-Z0-9]+", order_id)
    assert reserved["status"] == "DRAFT" and reserved["balance"] == reserved["totalAmount"]
    assert all(line["reservation"]["seats"] for line in reserved["orderLines"])

    payment = _only(answers, "createPayment")["payment"]
    assert payment["totalAmount"] == reserved["totalAmount"]
    captured = _only(answers, "captureTransaction")["order"]
    assert captured["status"] == "CONFIRMED" and captured["balance"] == "0.00"

    groups = _only(answers, "generateTickets")["ticketDistributionGroups"]
    tickets = [ticket for group in groups for ticket in group["ticketDistributions"]]
    assert len(tickets) == len(reserved["orderLines"]) == 2
    assert all(ticket["ticketToken"] for ticket in tickets)

    receipt = _only(answers, "sendReceipt")["receipt"]
    assert receipt["reference"] and receipt["totalAmount"] == reserved["totalAmount"]

    order = _only(answers, "order")
    assert order["id"] == order_id and order["status"] == "CONFIRMED"
    assert [r["reference"] for r in order["receipts"]] == [receipt["reference"]]
    assert _only(answers, "orders")["items"][0]["id"] == order_id

    refund = _only(answers, "refundOrder")
    assert refund["order"] == {"status": "CANCELLED", "version": 2, "balance": "0.00"}
    assert refund["refund"]["amount"] == reserved["totalAmount"]
    assert sorted(refund["refund"]["disabledTicketDistributionIds"]) == sorted(
        ticket["id"] for ticket in tickets
    )
    verified = [value for name, value in answers if name == "verifyTicket"]
    assert verified[0]["reason"] == "NOT_YET_VALID"  # tomorrow's train, as the README says
    assert verified[-1] == {"valid": False, "reason": "DISABLED"}

    # The receipt left through the outbox: with no SMTP it is an e-mail file to open.
    deadline = time.monotonic() + 30
    while not (mails := list((data_dir / "outbox").glob("*.eml"))):
        assert time.monotonic() < deadline, "no receipt e-mail in the outbox folder"
        time.sleep(0.2)
    mail = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    assert mail["To"] == "kari@example.no"
