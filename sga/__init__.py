"""The engines: procedure content, answers, checklists, scenarios, search and the outcome log.

Plain Python with no Rasa imports, so the action server, the Rasa server's add-ons and the tools
can all use them (tests/unit/test_layering.py keeps it so).
"""
