"""Guided checklists: the content model (`model`), the state machine (`engine`) and what the user
is shown (`prompts`)."""
