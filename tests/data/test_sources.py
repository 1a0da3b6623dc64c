"""resolve_source for a path: a missing file, a folder and a special file (/dev/null, a named pipe) are each
refused by what they are, in the library and through the CLI (predict --input and --data read the same way)."""

from __future__ import annotations

import os
import re

import pytest

from forecastlab.data.sources import resolve_source
from forecastlab.errors import ForecastlabError
from run_helpers import clean_error, cli


@pytest.mark.parametrize("make, what", [
    (lambda p: p, "the data file does not exist"),
    (lambda p: (p.mkdir(), p)[1], "the data file is a directory, not a file"),
    (lambda p: (os.mkfifo(p), p)[1], "the data file is not a regular file (it is a named pipe)"),
    (lambda p: os.devnull, "the data file is not a regular file (it is a character device)"),
])
def test_a_path_that_is_not_a_regular_file_is_refused_by_what_it_is(tmp_path, make, what):
    path = make(tmp_path / "data.csv")
    with pytest.raises(ForecastlabError, match="^" + re.escape(what)) as caught:
        resolve_source(path)
    assert caught.value.where == str(path)


def test_the_cli_says_dev_null_is_not_a_regular_file_and_an_empty_file_is_empty(tmp_path):
    text = clean_error(cli("data", "inspect", os.devnull, "--no-plots", cwd=tmp_path),
                       "the data file is not a regular file (it is a character device)", f"Where: {os.devnull}.")
    assert "does not exist" not in text
    (tmp_path / "empty.csv").write_text("")
    clean_error(cli("data", "inspect", "empty.csv", "--no-plots", cwd=tmp_path), "the file is empty")
