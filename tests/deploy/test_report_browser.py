"""The HTML reports in a real headless Chromium (Debian's `chromium` package, which .ci/run installs): each
page renders with no console error, no exception and no blocked load, every image has loaded (decoded, with
a width), and a screenshot is saved. Chromium is driven over the DevTools protocol on loopback (the
`websockets` client). Without Chromium the test skips and says why.

The pages: a run's report (code 10-11's curves, the data plots, predicted against actual, the errors by
horizon, hour and season), a reproduce directory's, a saved classifier's, and an anomaly scan's."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from run_helpers import TESTS, TINY, cli, write_jena_csv

CHROMIUM = os.environ.get("FORECASTLAB_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian's `chromium` package, which .ci/run installs; or "
    "set FORECASTLAB_CHROMIUM to a Chromium binary), so the reports were not opened in a browser")
IMAGES_LOADED = ("(() => { const im = Array.from(document.images); return {n: im.length, "
                 "loaded: im.filter(i => i.complete && i.naturalWidth > 0).length}; })()")


class Browser:
    """One headless Chromium on a free loopback port, with one page driven over the DevTools protocol."""

    def __init__(self, profile: Path):
        self.ws = None
        profile.mkdir(parents=True, exist_ok=True)
        self.log = open(profile.parent / "chromium.log", "w")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(  # its own process group, so close() stops its helpers too
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,2000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        try:
            self._connect(profile)
        except BaseException:
            self.close()
            raise

    def _connect(self, profile: Path) -> None:
        from websockets.sync.client import connect

        port = self._port(profile)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("Chromium listed no page target")
            time.sleep(0.1)
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=64 << 20, open_timeout=20)
        self.next_id = 0
        self.events: list[dict] = []
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True})

    def _port(self, profile: Path) -> int:
        deadline = time.monotonic() + 60
        marker = profile / "DevToolsActivePort"  # Chromium writes its chosen port here
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.proc.poll() is not None:
                self.log.flush()
                raise AssertionError(f"Chromium exited with {self.proc.returncode}: "
                                     f"{(profile.parent / 'chromium.log').read_text()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError("Chromium did not open its DevTools port within 60 s")

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self.next_id:
                assert "error" not in message, (method, message["error"])
                return message.get("result", {})
            self.events.append(message)

    def open(self, url: str) -> list[dict]:
        """Load `url` and wait for the load event of that navigation (its loaderId, not about:blank's);
        the protocol events since the navigation began (self.events keeps collecting after it)."""
        self.events = []
        nav = self.call("Page.navigate", {"url": url})
        assert not nav.get("errorText"), nav
        deadline = time.monotonic() + 60

        def loaded() -> bool:
            return any(e.get("method") == "Page.lifecycleEvent" and e["params"].get("name") == "load"
                       and e["params"].get("loaderId") == nav["loaderId"] for e in self.events)

        while not loaded():
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))
        self.call("Runtime.evaluate", {"expression": "1"})  # drains what the load still reported
        return list(self.events)

    def close(self) -> None:
        import signal

        if self.ws is not None:
            self.ws.close()
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 20)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()


def problems(events: list[dict]) -> list[str]:
    """Console errors, exceptions, log errors (CSP violations among them) and failed loads of a page."""
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"log error: {p['entry'].get('text')} ({p['entry'].get('url')})")
        elif method == "Network.loadingFailed":
            out.append(f"failed load: {p.get('errorText')} ({p.get('type')})")
    return out


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Four real reports, each made through the real CLI in its own process."""
    import sys

    sys.path.insert(0, str(TESTS / "tasks"))
    from test_classification import frost_csv

    root = tmp_path_factory.mktemp("browser")
    write_jena_csv(root / "jena.csv")
    frost_csv(root / "frost.csv")
    steps = [
        ("train", "lstm", "--data", "jena.csv", *TINY, "--epochs", "2", "--out", "run"),
        ("report", "run", "--out", "run.html"),
        ("reproduce", "--profile", "smoke", "--models", "dense", "--data", "jena.csv", "--sequence-length", "24",
         "--sampling-rate", "6", "--horizons", "1,6", "--batch-size", "64", "--no-progress", "--out", "repro"),
        ("report", "repro", "--out", "repro.html"),
        ("classify", "--data", "frost.csv", "--model", "fcn", "--param", "filters=4", "--epochs", "1", "--max-steps",
         "2", "--batch-size", "64", "--stride", "6", "--feature-set", "book", "--no-progress", "--out", "frost"),
        ("report", "frost", "--out", "frost.html"),
        ("anomalies", "--run", "run", "--inject", "0", "--per-kind", "1", "--report", "anomalies.html"),
    ]
    for step in steps:
        done = cli(*step, cwd=root, timeout=300)
        assert done.returncode == 0, (step, done.stderr[-3000:])
    return root


@pytest.mark.parametrize("name", ["run", "repro", "frost", "anomalies"])
def test_a_report_renders_in_chromium_with_no_error_and_every_image_loaded(pages, name, tmp_path):
    page = pages / f"{name}.html"
    images_in_file = len(re.findall(r"<img ", page.read_text()))
    assert images_in_file >= 1
    browser = Browser(tmp_path / "profile")
    try:
        events = browser.open(page.as_uri())
        assert problems(events) == []
        counted = browser.call("Runtime.evaluate", {"expression": IMAGES_LOADED, "returnByValue": True})
        assert counted["result"]["value"] == {"n": images_in_file, "loaded": images_in_file}
        title = browser.call("Runtime.evaluate", {"expression": "document.title", "returnByValue": True})
        assert title["result"]["value"].startswith("forecastlab report")
        shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        png = base64.b64decode(shot["data"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
        saved = Path(os.environ.get("FORECASTLAB_SCREENSHOTS", tmp_path)) / f"{name}.png"
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(png)
        assert problems(browser.events) == []  # nor anything reported later, while it was inspected
    finally:
        browser.close()


def test_the_checks_catch_blocked_loads_scripts_console_errors_exceptions_and_broken_images(pages, tmp_path):
    """The checks above can fail. In a report (with its Content-Security-Policy): an image file and an
    inline script are blocked, and each block is reported; a corrupt embedded image loads with no width.
    In a page without the policy: console.error and an uncaught exception are reported."""
    report = (pages / "run.html").read_text()
    broken = report.replace("<body>", '<body><img src="missing.png"><img src="data:image/png;base64,AAAA">'
                            '<script>console.error("boom")</script>', 1)
    (tmp_path / "broken.html").write_text(broken)
    (tmp_path / "plain.html").write_text('<!DOCTYPE html><html><head><title>t</title></head><body>'
                                         '<script>console.error("boom"); throw new Error("kaput")</script>'
                                         '</body></html>')
    browser = Browser(tmp_path / "profile")
    try:
        found = problems(browser.open((tmp_path / "broken.html").as_uri()))
        assert any("missing.png" in p and "Content Security Policy" in p for p in found), found
        assert any("inline script" in p and "script-src" in p for p in found), found
        assert not any("boom" in p for p in found), found  # the blocked script never ran
        counted = browser.call("Runtime.evaluate", {"expression": IMAGES_LOADED, "returnByValue": True})
        value = counted["result"]["value"]
        assert value["loaded"] == value["n"] - 2  # the blocked file and the corrupt data: image
        found = problems(browser.open((tmp_path / "plain.html").as_uri()))
        assert any(p.startswith("console.error") and "boom" in p for p in found), found
        assert any(p.startswith("exception") for p in found), found
    finally:
        browser.close()
