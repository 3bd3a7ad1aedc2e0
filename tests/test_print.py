"""Printing the report of the shipped corpus on A4 loses no column.

Checked the way a person would: headless Chromium prints the pages to PDF
(A4, portrait, or landscape for the sections marked wide), and, with the
print stylesheet applied at the width of the page's printable area, no
element reaches past that width and no box clips its content. The PDF must
hold every column header of every table. Chromium is driven over its
DevTools pipe (standard library only); without a chromium binary the test
is skipped. Nothing is written to the repository.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

import pytest

pytestmark = [pytest.mark.report, pytest.mark.shipped, pytest.mark.figures]

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
MM = 96 / 25.4  # CSS pixels per millimetre
#: printable width of an A4 page with the report's 12 mm side margins (see templates/style.css)
PORTRAIT = (210 - 2 * 12) * MM
LANDSCAPE = (297 - 2 * 12) * MM
A4 = {(595, 842), (842, 595)}  # points, portrait and landscape

# Every visible element is measured against the printable width of its page;
# a box that scrolls or hides overflow must not hold more than it shows.
MEASURE = """
(() => {
  const limit = %(limit)f, wide = %(wide)s, bad = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!!el.closest('.wide') !== wide) continue;
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const name = el.tagName + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '');
    if (r.right > limit + 1 || r.left < -1) bad.push(name + ' spans ' + Math.round(r.left) + '-' + Math.round(r.right));
    if (cs.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1)
      bad.push(name + ' clips ' + el.scrollWidth + ' > ' + el.clientWidth);
  }
  return [document.querySelectorAll('.wide').length, bad.slice(0, 15)];
})()
"""

# A header word laid out on more than one line was broken inside the word (a break after a hyphen is fine).
BROKEN = """
(() => {
  const wide = %(wide)s, bad = [];
  for (const th of document.querySelectorAll('th')) {
    if (!!th.closest('.wide') !== wide) continue;
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[^\\s\\-\u2013/]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) bad.push(m[0] + ' in ' + th.textContent.trim());
      }
    }
  }
  return bad.slice(0, 15);
})()
"""


class Chromium:
    """A headless Chromium driven over --remote-debugging-pipe (fd 3: commands in, fd 4: replies out)."""

    def __init__(self, binary: str):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def _fds():  # in the child: the pipe ends become fds 3 and 4, as Chromium expects
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={self.profile}",
             "--remote-debugging-pipe", "about:blank"],
            close_fds=False, preexec_fn=_fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        self._buf, self._id = b"", 0
        page = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, path: Path) -> None:
        self.send("Emulation.clearDeviceMetricsOverride", session=True)
        self.send("Emulation.setEmulatedMedia", {"media": ""}, session=True)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        while self._read().get("method") != "Page.loadEventFired":
            pass

    def overflow(self, width: float, wide: bool) -> tuple[int, list[str]]:
        """Lay the page out for print at ``width`` CSS pixels and list what does not fit."""
        self.send("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
        self.send("Emulation.setDeviceMetricsOverride", {"width": int(width), "height": 1100,
                                                         "deviceScaleFactor": 1, "mobile": False}, session=True)
        script = MEASURE % {"limit": int(width), "wide": "true" if wide else "false"}
        result = self.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=True)
        return tuple(result["result"]["value"])

    def broken_words(self, width: float, wide: bool) -> list[str]:
        """Header words broken across lines when the page is laid out for print at ``width``."""
        self.overflow(width, wide)  # the print layout at that width
        script = BROKEN % {"wide": "true" if wide else "false"}
        return self.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=True)[
            "result"]["value"]

    def pdf(self) -> bytes:
        self.send("Emulation.clearDeviceMetricsOverride", session=True)
        self.send("Emulation.setEmulatedMedia", {"media": ""}, session=True)
        data = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}, session=True)
        return base64.b64decode(data["data"])

    def close(self) -> None:
        try:
            os.close(self._cmd_w)  # Chromium exits when its command pipe closes
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._out_r)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def printed(tmp_path_factory, shipped_run):
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium)")
    out = tmp_path_factory.mktemp("print")
    shutil.copytree(shipped_run[0], out, dirs_exist_ok=True)
    browser = Chromium(CHROMIUM)
    yield out, browser
    browser.close()


def _squash(text: str) -> str:
    """Text as compared with the PDF: compatibility-normalised (ligatures), no white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize("page", ["report.html", "documents/ch3.html", "codes/trade_investment.html",
                                  "documents/statement-01.html"])
def test_no_element_is_wider_than_the_printed_page(printed, page):
    out, browser = printed
    browser.open(out / page)
    wide_sections, too_wide = browser.overflow(PORTRAIT, wide=False)
    assert too_wide == [], f"{page} on a portrait A4 page"
    if wide_sections:
        _, too_wide = browser.overflow(LANDSCAPE, wide=True)
        assert too_wide == [], f"{page} on a landscape A4 page"
    if page == "report.html":
        assert wide_sections >= 3  # the wide tables (frequencies, pairs, agreement) go landscape


def test_the_pdf_is_a4_and_holds_every_column(printed):
    import pypdf

    out, browser = printed
    browser.open(out / "report.html")
    reader = pypdf.PdfReader(io.BytesIO(browser.pdf()))
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages}
    assert sizes <= A4 and (842, 595) in sizes
    text = _squash("".join(p.extract_text() for p in reader.pages))
    html = (out / "report.html").read_text(encoding="utf-8")
    headers = {re.sub(r"<[^>]+>", "", h) for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html)}
    missing = sorted(h for h in headers if _squash(h.replace("&#39;", "'").replace("&amp;", "&")) not in text)
    assert missing == []
    # the agreement table's last columns, clipped at the page edge before
    for label in ("Gwet's AC1", "Reading", "Paradox", "Neither", "Alpha: 95% high"):
        assert _squash(label) in text, label


def test_no_header_is_broken_inside_a_word(printed):
    out, browser = printed
    browser.open(out / "report.html")
    assert browser.broken_words(PORTRAIT, wide=False) == []
    assert browser.broken_words(LANDSCAPE, wide=True) == []
