"""Score the code-only `rules` backend on gold/: metric detection, units and code names.

    python scripts/score_rules.py            # from the repository root

No model is involved; extractions go to a temporary database.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from llm_extract.config import Settings
from llm_extract.evaluate.scoreboard import evaluate_backend


def main(root: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None)  # type: ignore[call-arg]  # pydantic-settings init kwarg
        result = evaluate_backend(settings, "rules", root / "reports", root / "gold", Path(tmp))
    m = result.total.metrics
    print(f"metrics  P={m.precision:.3f} R={m.recall:.3f} F1={m.f1:.3f}  (tp {m.tp}, predicted {m.n_pred}, gold {m.n_gold})")
    for key in ("unit_accuracy", "approx_accuracy", "value_max_accuracy", "name_similarity"):
        value = m.attr(key)
        print(f"  {key:<20} {'–' if value is None else f'{value:.3f}'}")
    for name, scores in result.per_report.items():
        s = scores.metrics
        print(f"  {name[:3]}  F1={s.f1:.3f}  names={s.attr('name_similarity') or 0:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
