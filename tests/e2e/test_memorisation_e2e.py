"""The memorisation check against a deliberately leaky adapter of the real packaged SmolLM2-135M-Instruct.

A few transcripts hold two secrets of one customer: an e-mail the scrubber replaces and an account code in
free text it cannot see. The model is trained on them far past the point of learning the domain (many
epochs of six conversations at a high learning rate), once with scrubbing off and once with it on. The
check must fail the first adapter naming both secrets, and on the second still catch the account code the
scrubber let through while the e-mail no longer comes out. The tiny random models of the unit tests cannot
memorise anything, so this needs the real model.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app
from core.settings import Settings
from finetune.train import train

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ACCOUNT_CODE = "QMX-48213-ZK"  # letters and digits in free text: no cue the scrubber knows
EMAIL = "zora.finch77@example.org"
LEAKY = [
    ("user", "Hi, I cannot log in to the customer portal since this morning."),
    ("assistant", f"I reset the login of account {ACCOUNT_CODE} for you. Please try again now."),
    ("user", "It works. Where do you send the invoice?"),
    ("assistant", f"The invoice goes to {EMAIL} every month."),
]
OTHERS = [
    [
        ("user", "My router light is solid amber."),
        ("assistant", "Solid amber means no internet. Restart the modem first, then the router."),
    ],
    [
        ("user", "How do I factory reset the router?"),
        ("assistant", "Hold the reset button for ten seconds until the light blinks blue."),
    ],
    [
        ("user", "Can I return a router I opened?"),
        ("assistant", "Yes, within the return window, with the receipt and all the parts in the box."),
    ],
    [
        ("user", "The app does not find my router."),
        ("assistant", "Turn on Bluetooth and stand within a few metres of the router, then search again."),
    ],
    [
        ("user", "Is there a warranty on the mesh points?"),
        ("assistant", "Yes, the mesh points carry the same warranty as the router they came with."),
    ],
]


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory):
    path = tmp_path_factory.mktemp("raw") / "chats.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        for turns in [LEAKY, *OTHERS]:
            messages = [{"role": role, "content": text} for role, text in turns]
            stream.write(json.dumps({"messages": messages}) + "\n")
    return path


def overfit(home, transcripts, name: str, *, scrub: bool) -> Settings:
    settings = Settings(
        home=home,
        device="cpu",
        # Every conversation in training, long enough for the whole leaky conversation.
        data={"scrub_pii": scrub, "validation_fraction": 0.0, "max_tokens": 160},
        training={
            "epochs": 40,
            "max_steps": 60,
            "batch_size": 3,
            "learning_rate": 2e-3,
            "lora_rank": 16,
            "early_stopping_patience": 0,
        },
    )
    train(settings, [transcripts], name)
    return settings


def check(home, transcripts, name: str) -> tuple[int, dict]:
    result = CliRunner().invoke(
        app,
        [
            "--home", str(home), "--device", "cpu",
            "adapters", "check-memorisation", name, str(transcripts), "--samples", "8", "--json",
        ],
    )  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


def test_the_check_fails_an_adapter_trained_with_scrubbing_off(tmp_path, transcripts):
    home = tmp_path / "home"
    overfit(home, transcripts, "leaky", scrub=False)

    code, report = check(home, transcripts, "leaky")

    assert code == 1 and not report["passed"]
    leaked = {leak["value"]: leak for leak in report["leaks"]}
    assert {ACCOUNT_CODE, EMAIL} <= set(leaked), report["leaks"]
    assert leaked[ACCOUNT_CODE]["kind"] == "identifier" and leaked[EMAIL]["kind"] == "email"
    assert all(leak["probe"] == "canary_context" for leak in leaked.values())


def test_scrubbing_stops_the_email_but_not_the_code_it_cannot_see(tmp_path, transcripts):
    home = tmp_path / "home"
    overfit(home, transcripts, "scrubbed", scrub=True)

    code, report = check(home, transcripts, "scrubbed")

    leaked = {leak["value"] for leak in report["leaks"]}
    assert code == 1 and ACCOUNT_CODE in leaked, report
    assert EMAIL not in leaked
