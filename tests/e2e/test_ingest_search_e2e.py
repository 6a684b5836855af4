"""End to end with the packaged all-MiniLM-L6-v2: files -> chunks -> embeddings -> index -> the right chunk first."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.builders import open_knowledge_base
from core.settings import load_settings

DOCUMENTS = {
    "returns.md": """# Returns and refunds

## Unopened items
Unopened hardware can be sent back within 60 days for a full refund.

## Opened items
An opened router may be returned within 30 days; a 15% restocking fee applies.
""",
    "mesh.md": """# Mesh setup

## Pairing a satellite
Place the satellite halfway between the router and the dead zone, then hold its pair button
for five seconds until the light turns solid blue.
""",
    "billing.txt": "Invoices are emailed on the first day of each month. Payment is by card or bank transfer; "
    "late payments incur a fee of 5 euros after 14 days.\n",
    "security.html": """<html><head><title>Firmware security</title></head><body>
<h1>Firmware security</h1><p>Automatic updates install signed firmware every night at 3 a.m.;
you can postpone an update from the app for up to seven days.</p></body></html>""",
}

QUESTIONS = [
    ("How long do I have to return a router I already opened?", "returns.md", "30 days"),
    ("How do I connect an extra mesh point?", "mesh.md", "pair button"),
    ("What happens if I pay my bill late?", "billing.txt", "late payments"),
    ("When do firmware updates get installed?", "security.html", "3 a.m."),
]


@pytest.mark.e2e
def test_packaged_model_finds_the_right_chunk_first(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(home=tmp_path / "home", device="cpu")

    with open_knowledge_base(settings) as kb:
        report = kb.ingest([folder])
        assert report.failed == [] and len(report.added) == 4
        for question, expected_file, expected_text in QUESTIONS:
            hits = kb.search(question, 3)
            assert Path(hits[0].source).name == expected_file, (question, hits[0])
            assert expected_text in hits[0].text
            assert hits[0].score > hits[1].score

    manifest = (settings.index_dir / "manifest.json").read_text()
    assert '"embedding_model": "all-MiniLM-L6-v2"' in manifest and '"dimension": 384' in manifest
