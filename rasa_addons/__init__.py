"""Components the Rasa server loads from this project (bot/config.yml). Nothing here imports `actions`."""
