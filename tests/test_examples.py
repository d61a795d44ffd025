"""Every example runs (in its quick mode) and saves its figure, so none rots."""

import subprocess
import sys
from pathlib import Path

import pytest

#: examples that repeat what faster tests of the same estimators show (15-30 s each);
#: they run with --runslow, the others in every run
SLOW = {"plot_gan_samples.py", "plot_lstm_sequences.py", "plot_regularization_grid.py",
        "plot_training_diagnostics.py"}
EXAMPLES = [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW else p
            for p in sorted((Path(__file__).parents[1] / "examples").glob("*.py"))]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    before = {p: p.stat().st_mtime for p in (script.parent / "output").glob("*.png")}
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    if script.name != "demo.py":  # the demo prints tables; the others save a figure
        written = [p for p in (script.parent / "output").glob("*.png")
                   if before.get(p) != p.stat().st_mtime]
        assert written, f"{script.name} saved no figure"
    else:
        assert "best" in result.stdout and "CV" in result.stdout
