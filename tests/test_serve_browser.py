"""The coding app in a real browser: headless Chromium (Debian's) driven by
Playwright, against ``coding serve`` run as its own process on a small
project. One server for the module; the resume test starts and kills its own.

Set CODING_SCREENSHOT to a .png path to keep the review page's screenshot
(the README's figure is made so).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DOCS, REPO, coded_tiny, write_corpus

from coding.jobs import pipeline
from coding.records import Coding
from coding.store import Store

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason="no Chromium at /usr/bin/chromium "
                                "(apt-get install chromium)")


def start_server(root: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """``coding serve`` on root's store as a process of its own; (process, address with token)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    store = str(root / "out" / "project.sqlite")
    # the server's standard error goes to a file: a pipe nobody reads could fill and stall it,
    # and the file says what the server said when a test fails (see server_said)
    with open(root / "serve-stderr.txt", "a", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", "coding.cli", "serve", "--store", store,
                                 "--codebook", str(root / "codebook.yaml"), "--no-browser", *extra],
                                cwd=root, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            line = proc.stdout.readline()
            if "http://" in line:
                return proc, line[line.index("http://"):].split()[0]
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"coding serve did not start: {server_said(root)}")


def server_said(root: Path) -> str:
    """What the servers started on ``root`` wrote to standard error."""
    return (root / "serve-stderr.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    coded_tiny(root)
    proc, url = start_server(root)
    yield root, url
    proc.terminate()
    proc.wait(timeout=10)
    print(server_said(root))  # shown with a failing test's report only


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser, **options):
    """A page in a context of its own (its own cookies, as another person's browser) that collects script errors."""
    page = browser.new_context(**options).new_page()
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(error))
    return page


def stored(root: Path, coder: str) -> dict[str, list[list[str]]]:
    """{unit: [[variable, code], ...]} of every unit ``coder`` saw."""
    with Store(root / "out" / "project.sqlite") as store:
        return {u: [[v, c] for _, v, c, _ in store.unit_codings(u, [coder])] for u in sorted(store.seen_units(coder))}


def start(page, url: str, name: str, mode: str = "blind", coders: str = "") -> None:
    page.goto(url)
    page.fill("#person", name)
    page.select_option("#mode", mode)
    if coders:
        page.fill("#coders", coders)
    page.click("#start-button")
    page.wait_for_selector("#work:not([hidden])")


def unit_shown(page, number: int) -> None:
    page.wait_for_function(f"document.getElementById('unit-title').textContent.startsWith('Unit {number} of')")


UNITS = ["a:p0001", "a:p0002", "a:p0003", "b:p0001", "b:p0002"]


def test_blind_coding_by_keyboard_only(project, browser):
    root, url = project
    page = new_page(browser)
    page.goto(url)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'person'")
    page.keyboard.type("ann")
    page.keyboard.press("Enter")  # the form: blind, documents in order
    unit_shown(page, 1)
    assert page.locator("#proposal").is_hidden() and page.locator("#others").is_hidden()
    # every code a labelled checkbox, every action a named button
    assert page.get_by_role("checkbox", name="Energy (key 1)").count() == 1
    for name in ("Save and next (Enter)", "Back (Backspace)", "Finish", "Keys (?)"):
        assert page.get_by_role("button", name=name).count() == 1
    keys = [["1", "2"], ["4", "3"], [], ["2"], ["3", "4"]]
    for number, presses in enumerate(keys, start=1):
        unit_shown(page, number)
        for key in presses:
            page.keyboard.press(key)
        page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")
    assert "5 of 5 planned units decided" in page.inner_text("#summary")
    page.click("#continue-button")
    unit_shown(page, 5)
    page.keyboard.press("Backspace")
    unit_shown(page, 4)
    page.keyboard.press("Backspace")  # back to the third unit: decided, nothing coded; now trade
    unit_shown(page, 3)
    assert "yes" in page.inner_text("#document-meta")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    unit_shown(page, 4)
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    assert page.script_errors == []
    page.close()
    assert stored(root, "ann") == {
        "a:p0001": [["economic", "energy"], ["economic", "trade"]],
        "a:p0002": [["regional_security", "terrorism"], ["strategic", "defence"]],
        "a:p0003": [["economic", "trade"]], "b:p0001": [["economic", "trade"]],
        "b:p0002": [["regional_security", "terrorism"], ["strategic", "defence"]]}
    with Store(root / "out" / "project.sqlite") as store:
        assert store.app_decision_counts("ann") == {"blind": 5}


def test_what_is_typed_before_the_servers_defaults_arrive_is_kept(project, browser):
    """A slow server (here: its defaults held back 1.5 s in the page): the
    start form waits for them instead of overwriting what was typed meanwhile."""
    _, url = project
    page = new_page(browser)
    page.set_default_timeout(10_000)
    page.add_init_script("""(() => { const real = window.fetch;
        window.fetch = (path, ...rest) => String(path).includes('/api/setup')
          ? new Promise((done) => setTimeout(done, 1500)).then(() => real(path, ...rest)) : real(path, ...rest);
    })();""")
    page.goto(url)
    page.fill("#person", "early")
    page.select_option("#mode", "adjudicate")
    page.wait_for_function("state.codebook !== null")
    assert (page.input_value("#person"), page.input_value("#mode")) == ("early", "adjudicate")
    assert page.locator("#coders").is_visible()
    assert page.script_errors == []


def test_review_shows_the_machine_and_keeps_its_proposal_apart(project, browser):
    root, url = project
    page = new_page(browser, viewport={"width": 1280, "height": 800})
    start(page, url, "rae", "review")
    unit_shown(page, 1)
    assert page.locator("#unit-text mark").all_inner_texts() == ["Gas", "pipelines", "trade"]
    assert "proposes" in page.inner_text("#proposal")
    assert page.is_checked("#code-1") and page.is_checked("#code-2")  # the proposal, to accept or reject
    shot = os.environ.get("CODING_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
    page.keyboard.press("1")  # reject energy
    page.keyboard.press("3")  # add defence
    page.keyboard.press("Enter")
    unit_shown(page, 2)
    assert page.script_errors == []
    page.close()
    assert stored(root, "rae-review") == {"a:p0001": [["economic", "trade"], ["strategic", "defence"]]}
    assert stored(root, "rae") == {}  # the person's blind coding is untouched
    with Store(root / "out" / "project.sqlite") as store:
        mode, person, proposer, proposal, *_ = store.app_decision("rae-review", "a:p0001")
    assert (mode, person, proposer) == ("review", "rae", "auto")
    assert '"code": "energy"' in proposal and '"code": "trade"' in proposal


def test_adjudicating_a_disagreement(project, browser):
    root, url = project
    with Store(root / "out" / "project.sqlite") as store:
        version = store.current_codebook()
        for name, codes in (("h1", ["energy"]), ("h2", ["trade"])):
            store.replace_coder(name, UNITS[:2], [Coding("a:p0001", c, "economic", name, version) for c in codes]
                                + [Coding("a:p0002", "defence", "strategic", name, version)], version)
    page = new_page(browser)
    start(page, url, "judge", "adjudicate", "h1,h2")
    unit_shown(page, 1)
    assert "of 1:" in page.inner_text("#unit-title")  # only the unit they differ on
    assert page.inner_text("#others").count("Energy") == 1 and "Trade" in page.inner_text("#others")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('message').textContent.includes('reason')")
    page.keyboard.type("trade is named; no energy source is")
    page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")
    assert page.script_errors == []
    page.close()
    assert stored(root, "consensus") == {"a:p0001": [["economic", "trade"]]}
    with Store(root / "out" / "project.sqlite") as store:
        decision = store.app_decision("consensus", "a:p0001")
    assert decision[:2] == ("adjudicate", "judge") and decision[4] == "trade is named; no energy source is"


def test_two_people_at_once_and_agreement_from_their_decisions(project, browser):
    from coding.agreement.audit import audit_agreement

    root, url = project
    lee, max_ = new_page(browser), new_page(browser)
    start(lee, url, "lee")
    start(max_, url, "max")
    for number in range(1, 6):
        for page, key in ((lee, "1"), (max_, "1" if number % 2 else "3")):
            unit_shown(page, number)
            page.keyboard.press(key)
            page.keyboard.press("Enter")
    for page in (lee, max_):
        page.wait_for_selector("#done:not([hidden])")
    # max's page cannot write under lee's name
    answer = max_.evaluate("""async () => {
        const r = await fetch('/api/decision', {method: 'POST', headers: {'Content-Type': 'application/json',
          'X-Token': document.querySelector('meta[name=coding-token]').content, 'X-Desk': state.desk.desk},
          body: JSON.stringify({unit_id: 'a:p0001', items: [], text_hash: state.view.text_hash, coder: 'lee'})});
        return [r.status, (await r.json()).error];
    }""")
    assert answer[0] == 403 and "lee" in answer[1]
    max_.click("text=Agreement of max with lee")
    max_.wait_for_selector("#agreement table")
    assert "economic" in max_.inner_text("#agreement")
    assert lee.script_errors == [] and max_.script_errors == []
    assert stored(root, "lee") == {u: [["economic", "energy"]] for u in UNITS}
    assert stored(root, "max") == {u: [["economic", "energy"]] if i % 2 == 0 else [["strategic", "defence"]]
                                   for i, u in enumerate(UNITS)}
    with Store(root / "out" / "project.sqlite") as store:
        table = audit_agreement(store, ["lee", "max"], n_resamples=50).set_index("item")
    assert table.loc["economic", "n_units"] == 5 and table.loc["economic", "percent_agreement"] == pytest.approx(0.6)


def test_resume_after_the_server_is_killed(tmp_path, browser):
    coded_tiny(tmp_path)
    proc, url = start_server(tmp_path, "--coder", "kim")
    page = new_page(browser)
    page.goto(url)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'start-button'")
    page.keyboard.press("Enter")
    for number, key in ((1, "1"), (2, "3")):
        unit_shown(page, number)
        page.keyboard.press(key)
        page.keyboard.press("Enter")
    unit_shown(page, 3)
    page.keyboard.press("4")  # on screen, not saved: lost with the server
    proc.kill()
    proc.wait(timeout=10)
    assert stored(tmp_path, "kim") == {"a:p0001": [["economic", "energy"]], "a:p0002": [["strategic", "defence"]]}
    proc, url = start_server(tmp_path, "--coder", "kim")
    try:
        page.goto(url)
        page.wait_for_function("document.activeElement && document.activeElement.id === 'start-button'")
        page.keyboard.press("Enter")
        unit_shown(page, 3)  # where kim stopped
        assert page.inner_text("#progress").startswith("2 coded of 5 planned")
        assert not page.is_checked("#code-4")
        # the text of the unit on screen changes (a run on an edited document): its decision is refused
        title, doc_type, date, text = DOCS["a"]
        write_corpus(tmp_path, {**DOCS, "a": (title, doc_type, date, text.replace("Nothing", "Nothing else"))})
        pipeline.run(tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "out", progress=False)
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('message').textContent.includes('changed')")
        assert "Nothing else" in page.inner_text("#unit-text")  # shown again, as it now reads
        assert "a:p0003" not in stored(tmp_path, "kim")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
