"""Allocation to agents and agencies (CONTRACT section 11, docs/allocation.md): the file, the
rules of assignment, the order of field visits and the step of the night."""

from arrears.allocation.config import Allocation, load_allocation

__all__ = ["Allocation", "load_allocation"]
