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


_OS_FIXES = {
    "ENOSPC": "free some space on that disk, or choose a location on another disk",
    "EDQUOT": "free some space within your disk quota, or choose a location on another disk",
    "EROFS": "that file system is mounted read-only: choose a writable location",
    "EACCES": "choose a location you may write to, or fix the permissions",
    "EPERM": "the file or folder is protected (immutable or owned by someone else): choose another location",
    "ENOTDIR": "a part of the path is a file, not a folder: choose another path",
    "EISDIR": "that path is a folder: give a file name",
    "EEXIST": "something is already there: choose another path",
    "ENOENT": "check the path: a folder on the way does not exist",
    "EFBIG": "the file grew past the size limit of this process or file system: choose another location",
    "ENAMETOOLONG": "use a shorter path",
}


def from_os_error(err: OSError, action: str = "cannot use", *, path: object = None) -> ForecastlabError:
    """The ForecastlabError for an OSError (full disk, read-only mount, a file where a folder belongs...):
    the path, the system's reason, and a fix for that reason. The CLI's one place for such failures.

    `path`, when given, is named instead of the file the system named: what the user gave (e.g. the
    cache folder) when the error is about a temporary file inside it, which would mean nothing to them."""
    import errno as errno_module
    import os

    code = errno_module.errorcode.get(err.errno or 0, "")
    filename = err.filename if err.filename is not None else None
    shown = path if path is not None else filename
    reason = err.strerror or str(err)
    fix = _OS_FIXES.get(code, "check the path, the disk and the permissions, then retry")
    if code == "EEXIST" and filename is not None and os.path.lexists(filename) and not os.path.isdir(filename):
        # mkdir(exist_ok=True) on a file: the one EEXIST a user meets here.
        reason = f"{reason} (it is a file, where a folder is needed)"
        fix = "move that file away, or choose another path"
    where = str(shown) if shown is not None else None
    if err.filename2 is not None and path is None:
        where = f"{filename} -> {err.filename2}"
    return ForecastlabError(f"{action} {shown if shown is not None else 'a file'}: {reason}", where=where, fix=fix)
