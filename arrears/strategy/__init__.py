"""The strategy engine (CONTRACT section 4): configuration, risk score and the decide step."""

from arrears.strategy.config import STAGES, Strategy, load_strategy
from arrears.strategy.engine import decide

__all__ = ["STAGES", "Strategy", "decide", "load_strategy"]
