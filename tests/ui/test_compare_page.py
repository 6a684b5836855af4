"""The Compare page: side by side, all four modes, and a blind A/B vote stored in SQLite."""

from __future__ import annotations

from assistant.storage import Storage
from ui.blind import system_name

QUESTION = "Is water damage covered by the warranty?"


def test_side_by_side_answers_baseline_and_tuned_rag(use_full_home, app):
    page = app("compare")
    page.text_input[0].set_value(QUESTION)
    page.button[0].click().run()  # the first form's submit button
    assert not page.exception
    two = page.tabs[0]
    assert [header.value for header in two.subheader] == ["base", "tuned+rag"]
    captions = [caption.value for caption in two.caption]
    assert any("adapter demo" in caption for caption in captions)  # tuned+rag names its adapter
    assert [expander.label for expander in two.expander][0].startswith(
        "Sources ("
    )  # only tuned+rag has sources


def test_four_modes_each_get_a_column_with_timings(use_full_home, app):
    page = app("compare")
    page.text_input[1].set_value(QUESTION)
    page.button[1].click().run()
    four = page.tabs[1]
    assert [header.value for header in four.subheader] == ["base", "rag", "tuned", "tuned+rag"]
    timing_lines = [caption.value for caption in four.caption if "s total" in caption.value]
    assert len(timing_lines) == 4
    assert len(four.expander) == 2  # sources under the two retrieval modes


def test_blind_vote_is_recorded_then_revealed(use_full_home, app):
    storage = Storage(use_full_home / "chat.sqlite3")
    before = len(storage.votes())
    # The home is shared with other tests of this module, which may have voted on the same pair.
    same_pair = sum({vote.mode_a, vote.mode_b} == {"base", "tuned+rag"} for vote in storage.votes())
    page = app("compare")
    blind = page.tabs[2]
    blind.selectbox[0].set_value("base")
    blind.selectbox[1].set_value("tuned+rag")
    blind.text_input[0].set_value(QUESTION)
    blind.button[0].click().run()
    blind = page.tabs[2]
    assert [header.value for header in blind.subheader][:2] == ["Answer A", "Answer B"]  # anonymous
    page.button(key="vote-B").click().run()
    assert not page.exception

    votes = storage.votes()
    assert len(votes) == before + 1
    vote = votes[-1]
    assert vote.question == QUESTION and vote.vote == "B"
    assert {vote.mode_a, vote.mode_b} == {"base", "tuned+rag"}
    names = [system_name(vote.mode_a, vote.adapter_a), system_name(vote.mode_b, vote.adapter_b)]
    revealed = [header.value for header in page.tabs[2].subheader][:2]
    assert revealed == [f"Answer A — {names[0]}", f"Answer B — {names[1]}"]
    [row] = page.tabs[2].dataframe[0].value.to_dict("records")
    winner_column = "system 1 wins" if row["system 1"] == names[1] else "system 2 wins"
    assert row["votes"] == same_pair + 1
    assert int(row[winner_column].split()[0]) >= 1  # the system voted for has won at least this vote


def test_the_fewshot_modes_are_optional_columns(use_full_home, app, tmp_path, monkeypatch):
    import json
    import shutil

    home = tmp_path / "home"
    shutil.copytree(use_full_home, home)
    transcripts = tmp_path / "chats.jsonl"
    messages = [
        {"role": "user", "content": "Does the warranty cover a router that got wet?"},
        {"role": "assistant", "content": "No, water damage is not covered."},
    ]
    transcripts.write_text(json.dumps({"messages": messages}) + "\n", encoding="utf-8")
    monkeypatch.setenv("TUNEDESK_HOME", str(home))
    page = app("compare")
    assert [header.value for header in page.tabs[1].subheader] == []
    page.toggle[0].set_value(True).run()
    page.text_input[1].set_value(QUESTION)
    page.button[1].click().run()
    # Without example exchanges the fewshot columns say how to get them.
    assert [header.value for header in page.tabs[1].subheader][4:] == ["fewshot", "fewshot+rag"]
    assert all("tunedesk fewshot-index" in warning.value for warning in page.tabs[1].warning)
    assert len(page.tabs[1].warning) == 2

    monkeypatch.setenv("TUNEDESK_ASSISTANT__FEWSHOT_DATA", str(transcripts))
    page = app("compare")
    page.toggle[0].set_value(True).run()
    page.text_input[1].set_value(QUESTION)
    page.button[1].click().run()
    assert not page.exception and not page.tabs[1].warning
    four = page.tabs[1]
    assert [header.value for header in four.subheader] == [
        "base",
        "rag",
        "tuned",
        "tuned+rag",
        "fewshot",
        "fewshot+rag",
    ]
    assert len([caption for caption in four.caption if "s total" in caption.value]) == 6
    assert (home / "fewshot" / "manifest.json").is_file()  # built on first use from the setting
