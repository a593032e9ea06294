"""Rasa custom actions: thin adapters from the dialogue to the engines."""
