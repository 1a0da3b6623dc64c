"""One error type for everything a user can get wrong.

Every message answers three questions: what was wrong, where (file, row, column),
and what to do about it. The CLI prints it as one paragraph and exits non-zero,
without a traceback; the Python API raises it like any exception.
"""

from __future__ import annotations


class ForecastlabError(Exception):
    """A problem the user can fix: bad input, missing data, an impossible option.

    >>> raise ForecastlabError("column 'T (degC)' is missing", where="data.csv, header",
    ...                        fix="pass --target with one of: p (mbar), rh (%)")
    """

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.paragraph())

    def paragraph(self) -> str:
        parts = [self.what.rstrip(".") + "."]
        if self.where:
            parts.append(f"Where: {self.where}.")
        if self.fix:
            parts.append(f"Fix: {self.fix.rstrip('.')}.")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {"error": self.what, "where": self.where, "fix": self.fix}
