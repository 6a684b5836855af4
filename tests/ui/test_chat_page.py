"""The Chat page, run headless with AppTest over a tiny model and a real two-document index."""

from __future__ import annotations

from assistant.storage import Storage

QUESTION = "How many days do I have to return a router?"
ADAPTER = "demo"  # the adapter in the full_home fixture


def test_chat_turn_streams_an_answer_with_sources_and_stores_it(use_full_home, app):
    page = app()
    assert page.selectbox[0].value == "tuned+rag"
    assert not page.info  # no fallback notice: an adapter and documents exist

    page.chat_input[0].set_value(QUESTION).run()
    assert not page.exception, [item.value for item in page.exception]

    storage = Storage(use_full_home / "chat.sqlite3")
    conversation = [c for c in storage.conversations() if c.title == QUESTION][-1]  # the newest
    question, answer = storage.messages(conversation.id)
    assert (question.role, question.content) == ("user", QUESTION)
    assert answer.role == "assistant" and answer.mode == "tuned+rag" and answer.adapter == ADAPTER
    assert {source["title"] for source in answer.sources} >= {"Returns policy"}

    assert [message.name for message in page.chat_message] == ["user", "assistant"]
    assert page.chat_message[1].expander[0].label.startswith("Sources (")
    assert any("returns.md" in item.value for item in page.chat_message[1].expander[0].markdown)
    assert page.sidebar.button[1].label == QUESTION  # the conversation is listed in the sidebar


def test_thumbs_are_stored(use_full_home, app):
    page = app()
    page.chat_input[0].set_value("Is water damage covered?").run()
    page.feedback[0].set_value(1).run()
    storage = Storage(use_full_home / "chat.sqlite3")
    answer_id = page.feedback[0].key.removeprefix("thumbs-")
    assert storage.feedback(int(answer_id)) == [("up", "")]


def test_falls_back_to_base_with_a_notice_in_an_empty_home(use_empty_home, app):
    page = app()
    assert page.selectbox[0].value == "base"
    assert page.selectbox[0].options == ["base"]
    notice = page.info[0].value
    assert "needs a fine-tuned adapter and none exists yet; train one on the Training page" in notice
    assert "the knowledge base is empty; add some on the Documents page" in notice
    page.chat_input[0].set_value("Hello?").run()
    assert not page.exception
    assert [message.name for message in page.chat_message] == ["user", "assistant"]


def test_a_ranking_index_that_is_not_there_is_one_line_on_the_chat_and_compare_pages(
    use_full_home, tmp_path, monkeypatch, app
):
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import APP

    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(tmp_path / "nowhere"))
    page = AppTest.from_file(str(APP), default_timeout=120).run()
    page.chat_input[0].set_value(QUESTION).run()
    assert not page.exception, [item.value for item in page.exception]
    assert any(
        "retrieval.ranking_index" in item.value and "no index there" in item.value for item in page.error
    )
    page.switch_page("app_pages/compare.py").run()
    assert not page.exception, [item.value for item in page.exception]
    assert any("retrieval.ranking_index" in item.value for item in page.error)
