"""Invented figures: numbers an answer states that its sources and question do not contain."""

from assistant.grounding import (
    contradiction_note,
    figures,
    flags_unverified,
    invented_figures,
    speaks_to,
    split_unverified,
    unverified_note,
    without_unverified,
)

SOURCE = (
    "Express shipping (1-2 business days) costs $14.95. Orders over 1,000 units ship free within 30 days."
)


def test_figures_are_canonical_and_skip_citation_markers():
    assert figures("It costs $14.95 [1], about 1,000 units, 14.950 again, 2.4 GHz, 007") == [
        "14.95",
        "1000",
        "2.4",
        "7",
    ]
    assert figures("No numbers here [3].") == []


def test_an_answer_from_its_sources_invents_nothing():
    assert invented_figures("Express costs $14.95 [1] and takes 1-2 days.", [SOURCE]) == []
    assert invented_figures("Returns within 30 days; 1000 units ship free.", [SOURCE]) == []


def test_numbers_in_neither_sources_nor_question_are_invented():
    assert invented_figures("It comes out in March 2027 for $199.", [SOURCE]) == ["2027", "199"]
    # The question's own numbers are not invented by repeating them.
    assert invented_figures("Wi-Fi 8 is not listed.", [SOURCE], "will it get wifi 8") == []
    assert invented_figures("The answer is 4", [], "") == ["4"]
    # A numbered list is steps, not figures.
    assert invented_figures("1. Unplug it.\n2. Wait 30 days.", [SOURCE]) == []
    # Nor is the number of a step the answer was cut off before.
    assert invented_figures("1. Unplug it.\n2. Wait 30 days.\n3.", [SOURCE]) == []


def test_a_figure_its_sources_hold_only_in_another_unit_is_invented_as_written():
    # The sources hold "2" (of "1-2 business days") and "30" but never "2 hours" or "30 GB".
    assert invented_figures("It runs for 2 hours on battery.", [SOURCE]) == ["2 hours"]
    assert invented_figures("A 3-hour battery and 30 GB of storage.", ["Up to 3 people, 30 days."]) == [
        "3-hour",
        "30 GB",
    ]
    # A unit a few words after the source's number, or after a range's other end, is that number's unit.
    assert invented_figures("Express takes 1 day or 2 days; returns 30 days.", [SOURCE]) == []
    assert invented_figures("It takes 3 days, maybe 5 days.", ["Allow 3 to 5 working days."]) == []
    # The question's own quantities are not invented by repeating them.
    assert invented_figures("At 25 degrees it is fine.", ["Up to 25 units."], "it's 25 degrees here") == []
    # A single letter after a number is a word, not a unit ("Wi-Fi 6 a ...").
    assert invented_figures("Wi-Fi 6 a router.", ["Wi-Fi 6 support."]) == []


def test_the_sentence_stating_a_quantity_in_another_unit_is_split_from_the_rest():
    answer = "Express costs $14.95. It runs for 2 hours on battery."
    invented = invented_figures(answer, [SOURCE])
    assert split_unverified(answer, invented) == (
        ["It runs for 2 hours on battery."],
        "Express costs $14.95.",
    )


def test_an_address_the_sources_do_not_give_is_invented_like_a_figure():
    sources = ["Write to help@rideloop.example or open rideloop.example/help for the fares."]
    said = "Mail help@rideloop.example. Fares are on https://www.rideloop-fares.com/day, or see official.com."
    assert invented_figures(said, sources, "where are the fares?") == [
        "https://www.rideloop-fares.com/day",
        "official.com",
    ]
    flagged, rest = split_unverified(said, invented_figures(said, sources, ""))
    assert flagged == ["Fares are on https://www.rideloop-fares.com/day, or see official.com."]
    assert rest == "Mail help@rideloop.example."
    # One the sources give, in any case, and words with a dot that are no address pass.
    assert invented_figures("Open RideLoop.example/help, e.g. on Node.js or i.e. the app.", sources) == []


def test_the_speakers_certainty_is_not_a_figure_but_a_share_it_states_is():
    assert invented_figures("I'm 99% sure it ships within 1-2 business days.", [SOURCE]) == []
    assert invented_figures("I am 100 percent certain: $14.95.", [SOURCE]) == []
    assert invented_figures("99% of orders ship within 2 days.", [SOURCE]) == ["99"]
    assert invented_figures("Only 5% are sure to arrive late.", [SOURCE]) == ["5"]


def test_the_sentences_stating_invented_figures_are_split_from_the_rest():
    answer = "No, Care+ can't be added after 60 days. The app is only available for 6 months.\nSorry!"
    assert split_unverified(answer, ["6"]) == (
        ["The app is only available for 6 months."],
        "No, Care+ can't be added after 60 days. Sorry!",
    )
    assert split_unverified("It costs $199 and ships in 2027.", ["199", "2027"]) == (
        ["It costs $199 and ships in 2027."],
        "",
    )


def test_what_is_left_must_speak_to_the_question():
    question = "how long till tier 2 calls me back"
    assert not speaks_to("I'm sorry for any inconvenience.", question)
    assert not speaks_to("", question)
    assert speaks_to("Tier 2 calls you back by phone.", question)
    assert speaks_to("No, Care+ can't be added to it.", "can i add care plus to my router")


def test_the_note_names_the_figures_and_quotes_the_sentences():
    note = unverified_note(["It ships in 2027.", "It costs $199."], ["2027", "199"])
    assert (
        note
        == "Unverified, no source states 2027, 199: \u201cIt ships in 2027.\u201d \u201cIt costs $199.\u201d"
    )
    assert "\n" not in note


def test_sentences_end_before_a_capital_after_a_citation_or_closing_mark_only():
    answer = (
        "Returns are free for 30 days.[1] The fee is $12. Shipping takes approx. 6 weeks, 9 a.m. to 5 p.m."
    )
    assert split_unverified(answer, ["12"]) == (
        ["The fee is $12."],
        "Returns are free for 30 days.[1] Shipping takes approx. 6 weeks, 9 a.m. to 5 p.m.",
    )
    assert split_unverified("It said \u201cwait 6 weeks.\u201d Then call us.", ["6"]) == (
        ["It said \u201cwait 6 weeks.\u201d"],
        "Then call us.",
    )


def test_a_bare_number_or_citation_is_no_topic():
    assert not speaks_to("Sorry for the wait [2].", "how long till tier 2 calls me back")
    assert speaks_to("Tier two calls back.", "how long till tier 2 calls me back")


def test_the_note_is_found_again_at_the_end_of_an_answer():
    note = unverified_note(["It costs $199."], ["199"])
    assert without_unverified(f"It is sold online.\n\n{note}") == "It is sold online."
    assert (
        without_unverified(f"It is sold online.\n\n{note}\n\nMore.")
        == f"It is sold online.\n\n{note}\n\nMore."
    )
    assert without_unverified("Unverified, no source states 1: it.") == "Unverified, no source states 1: it."
    # The line of a sentence a source says otherwise than is found alike, alone or after the figures' line.
    other = contradiction_note(2, "Water damage is not covered.")
    assert other == "Unverified, source 2 says otherwise: \u201cWater damage is not covered.\u201d"
    assert without_unverified(f"It is covered.\n\n{other}") == "It is covered."
    assert (
        without_unverified(f"It is covered. It costs $199.\n\n{note}\n\n{other}")
        == "It is covered. It costs $199."
    )
    assert flags_unverified(f"It is covered.\n\n{other}\n\nFrom [1] Warranty: \u201cIt is not.\u201d")
