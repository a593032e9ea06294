"""`rasa test core` on tests/stories/: the trained policies choose the expected actions."""

import subprocess
import sys
from pathlib import Path

import pytest

from sga.settings import PROJECT_ROOT, Settings
from sga_tools.runner import rasa_env
from tests.conftest import MODEL

pytestmark = pytest.mark.integration


def test_conversation_stories(tmp_path):
    rasa = Path(sys.executable).parent / "rasa"
    result = subprocess.run(
        [
            str(rasa),
            "test",
            "core",
            "--model",
            str(MODEL),
            "--stories",
            "tests/stories",
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=PROJECT_ROOT,
        env=rasa_env(Settings()),
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = tmp_path / "failed_test_stories.yml"
    assert result.returncode == 0, (failed.read_text() if failed.exists() else "") + result.stdout[-3000:]
