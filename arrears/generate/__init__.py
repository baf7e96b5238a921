"""Synthetic landing folders: a realistic loan book over consecutive snapshot days.

`generate_landing` draws a book from a seed (products, customers, schedules and each borrower's
payment behaviour) and writes, for each day, the files of the landing contract. The state of a
day is a pure function of the book and the day, so consecutive days agree by construction.
"""

from arrears.generate.landing import GenerateSummary, generate_landing

__all__ = ["GenerateSummary", "generate_landing"]
