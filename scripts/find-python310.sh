#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 supports 3.8-3.10, not 3.11), or explains
# what to install and exits 1. Order: $PYTHON310, python3.10 on PATH, pyenv's installed 3.10.
set -u
is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

for candidate in "${PYTHON310:-}" "$(command -v python3.10 2>/dev/null)"; do
  if [ -n "$candidate" ] && is_310 "$candidate"; then
    # A pyenv shim only works with a selected version: resolve it to the real interpreter.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
for root in "${PYENV_ROOT:-$HOME/.pyenv}" /root/.pyenv /usr/local/pyenv; do
  for candidate in "$root"/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ] && is_310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
done
cat >&2 <<'MSG'
error: Python 3.10 was not found. Rasa Open Source 3.6 needs Python 3.10 (3.11 is not supported).
Install one of:
  - Debian/Ubuntu: sudo apt-get install python3.10 python3.10-venv   (where your release has it)
  - pyenv:         pyenv install 3.10.13
  - or point PYTHON310=/path/to/python3.10 at an existing interpreter
then run the make command again.
MSG
exit 1
