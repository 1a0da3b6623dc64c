"""forecastlab.data.readers.read_table on paths that are no data file: a folder, /dev/null, a named pipe and a
path that does not exist are each refused by what they are, with the fix for that (never "does not exist" for
a path that exists)."""

from __future__ import annotations

import os
import sys

import pytest

from forecastlab.data.readers import read_table
from forecastlab.errors import ForecastlabError


def refusal(path) -> ForecastlabError:
    with pytest.raises(ForecastlabError) as err:
        read_table(path)
    assert err.value.where == str(path)
    return err.value


def test_a_folder_is_a_directory_not_a_missing_file(tmp_path):
    err = refusal(tmp_path)
    assert err.what == "the data file is a directory, not a file"
    assert "a path inside that folder" in err.fix


@pytest.mark.skipif(not os.path.exists("/dev/null") or sys.platform == "win32", reason="a POSIX device")
def test_dev_null_is_not_a_regular_file_it_is_a_character_device():
    err = refusal(os.devnull)
    assert err.what == "the data file is not a regular file (it is a character device)"
    assert "does not exist" not in err.what and "save it to a file first" in err.fix


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_is_not_a_regular_file_it_is_a_named_pipe(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    err = refusal(tmp_path / "pipe")  # refused from its mode: never opened, so nothing blocks on the pipe
    assert err.what == "the data file is not a regular file (it is a named pipe)"


def test_a_missing_path_still_does_not_exist(tmp_path):
    assert refusal(tmp_path / "nope.csv").what == "the data file does not exist"


def test_special_kind_names_what_a_path_is(tmp_path):
    from forecastlab.data.readers import special_kind

    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        assert special_kind(tmp_path / "pipe") == "a named pipe"
    assert special_kind(tmp_path / "gone") == "not readable"
