"""Transcripts for the fewshot tests, with an evaluation question planted in them."""

# A held-out evaluation question, and a customer turn planted in the transcripts that resembles it.
EVAL_QUESTION = "How many days do I have to return a router for a full refund?"
PLANTED_TURN = "how many days do i have to return a router for a full refund, please?"
PLANTED_REPLY = "PLANTED: this reply must never be shown as an example."
TRANSCRIPTS = [
    [
        (
            "Can I still return my router after two weeks?",
            "Yes: routers bought direct can be returned within 30 days.",
        )
    ],
    [(PLANTED_TURN, PLANTED_REPLY), ("thanks", "You're welcome!")],
    [("Is water damage covered by the warranty?", "No, the warranty covers manufacturing defects only.")],
    [("My router shows a solid amber light.", "Amber means no internet: restart the modem first.")],
    [("How long is the Halo warranty?", "Two years, for manufacturing defects.")],
    [("Hi, I'm Dana, mail me at dana.k@example.com about my refund", "Your refund is on its way.")],
    # The same question answered in other words: stored, but never shown beside the first.
    [("how long is the Halo  warranty?", "The Halo warranty lasts two years.")],
    # An exact repeat of the third conversation: stored once.
    [("Is water damage covered by the warranty?", "No, the warranty covers manufacturing defects only.")],
]


def distinct_customer_turns() -> set[str]:
    return {" ".join(customer.lower().split()) for exchanges in TRANSCRIPTS for customer, _ in exchanges}
