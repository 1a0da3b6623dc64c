"""One error type for everything a user can get wrong, and the warnings the library gives.

Every message answers three questions: what was wrong, where (file, row, column),
and what to do about it. The CLI prints it as one paragraph and exits non-zero,
without a traceback; the Python API raises it like any exception.

Messages speak Python: an argument is named as the Python API spells it, `epochs`, and a value given
for it as `epochs=0`; `arg` names the argument at fault. The CLI, which has flags instead, rewrites
those spellings with its table of flags (`cli_spelling`) when it prints the message, so the same error
says `--epochs` there. Library code never prints: it raises these errors, or warns with one of the
warning categories below, which the CLI shows on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Mapping


class ForecastlabError(Exception):
    """A problem the user can fix: bad input, missing data, an impossible option.

    >>> raise ForecastlabError("column 'T (degC)' is missing", where="data.csv, header",
    ...                        fix="pass target= with one of: 'p (mbar)', 'rh (%)'")

    `arg`: the Python argument at fault, if one is (e.g. "epochs"); with no `where`, it is the where.
    """

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None, arg: str | None = None):
        self.what = what
        self.where = where if where is not None else arg
        self.fix = fix
        self.arg = arg
        super().__init__(self.paragraph())

    def paragraph(self, flags: Mapping[str, str] | None = None) -> str:
        """The message as one paragraph; with `flags` (the CLI's), argument spellings become flags."""
        what, where, fix = self.what, self.where, self.fix
        if flags is not None:
            arg = self.arg if self.arg is not None else (where if where in flags else None)
            if arg in flags and what.startswith(arg + " "):  # "epochs must be ..." -> "--epochs must be ..."
                what = flags[arg] + what[len(arg):]
            where = flags[where] if where in flags else cli_spelling(where, flags)
            what, fix = cli_spelling(what, flags), cli_spelling(fix, flags)
        parts = [what.rstrip(".") + "."]
        if where:
            parts.append(f"Where: {where}.")
        if fix:
            parts.append(f"Fix: {fix.rstrip('.')}.")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {"error": self.what, "where": self.where, "fix": self.fix, "arg": self.arg}


# `name=value` or `name=` as a word of its own (not `min_lr=` inside `cosine:min_lr=0`, not `?data=1` in a URL);
# the value runs to the next space or closing punctuation.
_SPELLING = re.compile(r"(?<![^\s(\[`'\"])([A-Za-z_]\w*)=([^\s,;)\]`]*)")


def cli_spelling(text: str | None, flags: Mapping[str, str]) -> str | None:
    """`text` with each Python argument spelling replaced by the command-line flag that sets it.

    `flags` maps argument names to flags ({"epochs": "--epochs", "out_dir": "--out"}) and, for
    arguments whose value is the flag, `name=value` to the flag ({"clean=False": "--no-clean"}):
    'pass epochs=1 or more' -> 'pass --epochs 1 or more', 'lower lr=' -> 'lower --lr'. A quoted value
    without spaces loses its quotes (gaps='drop' -> --gaps drop). Names not in `flags` stay as they are.
    """
    if not text:
        return text

    def swap(match: re.Match) -> str:
        name, value = match[1], match[2]
        if f"{name}={value}" in flags:
            return flags[f"{name}={value}"]
        if name not in flags:
            return match[0]
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return f"{flags[name]} {value}" if value else flags[name]

    return _SPELLING.sub(swap, text)


class ForecastlabWarning(UserWarning):
    """Something the user should know that does not stop the work. `label` starts the CLI's line."""

    label = "warning:"


class DataQualityWarning(ForecastlabWarning):
    """The data needed a repair or a choice made on the user's behalf: holes left as breaks, rows dropped,
    constant columns, a cached file set aside."""


class GapWindowsWarning(DataQualityWarning):
    """Windows straddle holes in the time grid; says how many and whether they were dropped or kept."""

    label = "gaps:"


class SyntheticDataWarning(ForecastlabWarning):
    """The numbers come from the built-in synthetic generator, not from the real record. The CLI shows it
    as a loud boxed banner, every time."""

    label = "SYNTHETIC DATA"


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
