"""docs/real-data.md, "Learned risk on the UCI accounts": the pipeline's roll-forward features on
the UCI card accounts, out of time."""

from __future__ import annotations

from arrears.realdata.__main__ import DEFAULT_CSV
from arrears.realdata.models import evaluate


def test_uci_out_of_time_results():
    found = evaluate(DEFAULT_CSV)
    default = found["default_next_month"]
    assert default["rows"] == 30000
    assert default["positives"] == 6636  # the file's 22.12 % defaulters
    # measured 0.754 out of time, 0.724 for July's roll forward, 0.783 cross-validated on the
    # default label (docs/real-data.md)
    assert default["auc"] > 0.74
    # the other training labels against the default flag: roll forward 0.599, more statements
    # overdue 0.595, paid below the coming statement 0.509 (no better than chance once the
    # coming statement no longer saw the next month); past due ranks it best
    assert found["default_roll_forward"]["auc"] > 0.58
    assert found["default_missed_payment"]["auc"] > 0.58
    assert found["default_short_payment"]["auc"] > 0.48
    for other in ("default_roll_forward", "default_missed_payment", "default_short_payment"):
        assert found[other]["positives"] == 6636
        assert default["auc"] > found[other]["auc"], other
    assert found["roll_forward_july"]["auc"] > 0.70
    assert found["default_cross_validated"]["auc"] > 0.77
    assert found["default_cross_validated"]["rows"] == 30000
    assert found["roll_forward"]["rows"] == 30000
