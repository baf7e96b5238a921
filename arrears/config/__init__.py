"""The rule files' common ground: dpd ranges and range tables, and reading a file into a model.

aging.yaml and strategy.yaml (and any further rule file) are read the same way: YAML into a
pydantic model, every problem a ConfigError (exit 2) line `file: where: problem`. A new file is a
model and `load_config(path, Model, what="...")`.
"""

from arrears.config.files import load_config, read_mapping, validated
from arrears.config.ranges import DpdRange, EmptyRange, LabelledRange, RangeTable

__all__ = [
    "DpdRange",
    "EmptyRange",
    "LabelledRange",
    "RangeTable",
    "load_config",
    "read_mapping",
    "validated",
]
