"""The coding app without a browser: its desks (coding.app.desk) and its
HTTP rules (token, POST only for changes, one coder per page, stale units)
through Starlette's test client."""

from __future__ import annotations

import os
import sqlite3

import pytest
from conftest import DOCS, REPO, coded_tiny, write_corpus

from coding import cli
from coding.app.desk import Options, Workbench, make_plan
from coding.app.web import make_app
from coding.errors import CodingError
from coding.jobs import pipeline
from coding.records import Coding, content_hash
from coding.store import SCHEMA_VERSION, Store

TOKEN = "test-token"


@pytest.fixture
def project(tmp_path):
    return coded_tiny(tmp_path)


@pytest.fixture
def client(project):
    from starlette.testclient import TestClient

    bench = Workbench(project, Options(codebook=project.parent.parent / "codebook.yaml"))
    with TestClient(make_app(bench, TOKEN)) as c:
        yield c, bench


def desk(client, person: str, **extra) -> dict:
    answer = client.post("/api/desk", json={"person": person, **extra}, headers={"X-Token": TOKEN})
    assert answer.status_code == 200, answer.text
    return answer.json()


def get_unit(client, d: dict, index: int) -> dict:
    answer = client.get(f"/api/unit?index={index}", headers={"X-Token": TOKEN, "X-Desk": d["desk"]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def decide(client, d: dict, unit: dict, items, coder=None, text_hash=None, reason=""):
    return client.post("/api/decision", headers={"X-Token": TOKEN, "X-Desk": d["desk"]},
                       json={"unit_id": unit["unit_id"], "items": items, "coder": coder or d["coder"],
                             "text_hash": text_hash or unit["text_hash"], "reason": reason})


def test_requests_without_the_token_are_refused(client):
    c, _ = client
    assert c.get("/").status_code == 403
    assert c.get("/?token=wrong").status_code == 403
    assert c.get("/static/app.js").status_code == 403
    assert c.get("/api/setup", headers={"X-Token": "wrong"}).status_code == 403
    page = c.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and TOKEN in page.text
    # the cookie set by the page serves its assets and reads; a change needs the header
    assert c.get("/static/app.js").status_code == 200
    assert c.post("/api/desk", json={"person": "ann"}).status_code == 403
    assert c.post("/api/desk", json={"person": "ann"}, headers={"X-Token": TOKEN}).status_code == 200


def test_reading_changes_nothing_and_a_decision_is_stored_with_the_unit_seen(client, project):
    c, _ = client
    d = desk(c, "ann")
    with Store(project) as store:
        before = store.content_digest()
    unit = get_unit(c, d, 1)
    for path in ("/api/setup", "/api/summary", "/api/unit?index=0", f"/?token={TOKEN}"):
        assert c.get(path, headers={"X-Token": TOKEN, "X-Desk": d["desk"]}).status_code == 200
    with Store(project) as store:
        assert store.content_digest() == before
    assert unit["before"] == ["Gas pipelines and trade grew."] and unit["document"]["title"] == "Doc A"
    answer = decide(c, d, unit, [["strategic", "defence"], ["regional_security", "terrorism"]])
    assert answer.status_code == 200 and answer.json()["coded"] == 1
    with Store(project) as store:
        assert store.seen_units("ann") == {"a:p0002"}
        assert [r[1:3] for r in store.unit_codings("a:p0002", ["ann"])] == [
            ("regional_security", "terrorism"), ("strategic", "defence")]
        assert store.app_decision("ann", "a:p0002")[:2] == ("blind", "ann")
        assert store.content_digest() != before


def test_another_coder_cannot_overwrite(client, project):
    c, _ = client
    ann, bob = desk(c, "ann"), desk(c, "bob")
    unit = get_unit(c, ann, 0)
    assert decide(c, ann, unit, [["economic", "energy"]]).status_code == 200
    refused = decide(c, bob, get_unit(c, bob, 0), [], coder="ann")
    assert refused.status_code == 403 and "'bob'" in refused.json()["error"]
    assert decide(c, bob, get_unit(c, bob, 0), []).status_code == 200
    with Store(project) as store:
        assert [r[1:3] for r in store.unit_codings("a:p0001", ["ann", "bob"])] == [("economic", "energy")]
        assert store.seen_units("bob") == {"a:p0001"}


def test_a_unit_whose_text_changed_is_refused(client, project):
    c, _ = client
    d = desk(c, "ann")
    assert decide(c, d, get_unit(c, d, 0), [["economic", "energy"]]).status_code == 200
    shown = get_unit(c, d, 2)
    title, doc_type, date, text = DOCS["a"]
    root = project.parent.parent
    write_corpus(root, {**DOCS, "a": (title, doc_type, date, text.replace("Nothing", "Nothing else"))})
    pipeline.run(root / "corpus", root / "codebook.yaml", root / "out", progress=False)
    refused = decide(c, d, shown, [["economic", "trade"]])
    assert refused.status_code == 409 and "changed" in refused.json()["error"]
    with Store(project) as store:
        assert store.seen_units("ann") == {"a:p0001"} and store.app_decision("ann", shown["unit_id"]) is None
        # the unchanged unit keeps its coding, coverage and the record of its decision
        assert store.app_decision("ann", "a:p0001")[0] == "blind"
        assert [r[1:3] for r in store.unit_codings("a:p0001", ["ann"])] == [("economic", "energy")]
    again = get_unit(c, d, 2)
    assert "Nothing else" in again["text"] and decide(c, d, again, []).status_code == 200


def test_bad_decisions_are_refused_whole(client, project):
    c, _ = client
    d = desk(c, "ann")
    unit = get_unit(c, d, 0)
    assert decide(c, d, unit, [["economic", "defence"]]).status_code == 400  # a code of another variable
    assert decide(c, d, unit, [["economic", "energy"]], text_hash="0" * 64).status_code == 409
    assert c.post("/api/decision", headers={"X-Token": TOKEN, "X-Desk": d["desk"]}, content=b"[").status_code == 400
    assert c.post("/api/decision", headers={"X-Token": TOKEN, "X-Desk": "nobody"}, json={}).status_code == 404
    for name in ("auto", "", "a,b"):
        assert c.post("/api/desk", json={"person": name}, headers={"X-Token": TOKEN}).status_code == 400
    with Store(project) as store:
        assert store.seen_units("ann") == set()


def test_review_stores_the_person_apart_from_the_proposal(client, project):
    c, _ = client
    d = desk(c, "ann", mode="review")
    assert d["coder"] == "ann-review"
    unit = get_unit(c, d, 1)
    assert {(p["variable"], p["code"]) for p in unit["machine"]} == {
        ("regional_security", "terrorism"), ("strategic", "defence")}
    assert sorted(map(tuple, unit["mine"])) == [("regional_security", "terrorism"), ("strategic", "defence")]
    spans = [unit["text"][e["start"]:e["end"]] for p in unit["machine"] for e in p["evidence"]]
    assert "Militants" in spans and "joint exercises" in spans
    assert decide(c, d, unit, [["strategic", "defence"]]).status_code == 200
    with Store(project) as store:
        assert store.seen_units("ann") == set()
        assert [r[1:3] for r in store.unit_codings("a:p0002", ["ann-review"])] == [("strategic", "defence")]
        mode, person, proposer, proposal, *_ = store.app_decision("ann-review", "a:p0002")
    assert (mode, person, proposer) == ("review", "ann", "auto") and "terrorism" in proposal


def test_adjudication_needs_a_reason_and_stores_the_consensus(client, project):
    c, _ = client
    with Store(project) as store:
        version = store.current_codebook()
        for name, code in (("h1", "energy"), ("h2", "trade")):
            store.replace_coder(name, ["a:p0001", "a:p0002"], [Coding("a:p0001", code, "economic", name, version)],
                                version)
    d = desk(c, "judge", mode="adjudicate", coders="h1,h2")
    assert (d["coder"], d["planned"]) == ("consensus", 1)
    unit = get_unit(c, d, 0)
    assert unit["others"] == {"h1": [["economic", "energy"]], "h2": [["economic", "trade"]]} and unit["mine"] == []
    assert decide(c, d, unit, [["economic", "trade"]]).status_code == 400
    assert decide(c, d, unit, [["economic", "trade"]], reason="  trade   named ").status_code == 200
    with Store(project) as store:
        assert store.app_decision("consensus", "a:p0001")[4] == "trade named"


def test_a_new_desk_resumes_and_plans_are_reproducible(project):
    bench = Workbench(project)
    first = bench.open_desk("ann")
    for unit_id in first.plan[:2]:
        first.decide(unit_id, [], content_hash(first.view(first.plan.index(unit_id))["text"]), "ann")
    again = Workbench(project).open_desk("ann")
    assert again.progress() == {"coded": 2, "planned": 5, "next": 2, "status": ""}
    with Store(project) as store:
        one, two = (make_plan(store, "random", 3, seed) for seed in (1, 1))
        assert one == two and len(one) == 3 and set(one) < set(store.unit_order())
        assert make_plan(store, "documents", 2, 0) == ["a:p0001", "a:p0002"]
    with pytest.raises(CodingError, match="automatic"):
        bench.open_desk("learned")


def test_the_apps_coders_are_listed_and_agreed_on(project, capsys):
    bench = Workbench(project)
    for person, code in (("ann", "energy"), ("bob", "trade")):
        d = bench.open_desk(person)
        for i, unit_id in enumerate(d.plan):
            d.decide(unit_id, [["economic", code]] if i == 0 else [], content_hash(d.view(i)["text"]), person)
    assert cli.main(["coders", "list", "--store", str(project)]) == 0
    listed = capsys.readouterr().out
    assert "ann" in listed and "bob" in listed
    assert cli.main(["coders", "remove", "bob", "--store", str(project)]) == 0
    with Store(project) as store:
        assert store.app_decision_counts("bob") == {} and store.app_decision_counts("ann") == {"blind": 5}
    bench.open_desk("bob").decide("a:p0001", [["economic", "trade"]], content_hash(d.view(0)["text"]), "bob")
    assert cli.main(["agree", "--coders", "ann,bob", "--store", str(project), "--out", str(project.parent / "agree"),
                     "--resamples", "100"]) == 0
    assert "economic" in capsys.readouterr().out
    # a coder imported from a file is not written to by the app
    with Store(project) as store:
        store.replace_coder("cat", [], [], store.current_codebook(), source="cat.csv")
    with pytest.raises(CodingError, match="cat.csv"):
        bench.open_desk("cat")


def test_a_schema_2_store_gains_the_decisions_table(project):
    db = sqlite3.connect(project)
    db.executescript("DROP TABLE app_decisions; UPDATE meta SET value='2' WHERE key='schema_version';")
    db.close()
    with Store(project) as store:
        assert store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        assert store.app_decision_counts("ann") == {}


@pytest.fixture
def learning(tmp_path):
    """A project of 128 invented paragraphs in 16 documents, half coded by a person, and a model learned from them."""
    from conftest import TINY_CODEBOOK
    from test_learn_cli import _paragraphs

    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    (corpus / "coders").mkdir()
    rows, coder_rows = ["id,title,doc_type,date,source,path"], ["unit_id,variable"]
    paragraphs = _paragraphs(128)
    for d in range(16):
        mine = paragraphs[8 * d:8 * d + 8]  # every mix of the three themes in each document
        (corpus / "docs" / f"d{d}.txt").write_text("\n\n".join(t for t, _ in mine) + "\n", encoding="utf-8")
        rows.append(f"d{d},Doc {d},news,2020,s,docs/d{d}.txt")
        for j in (1, 3, 6, 8):  # half of them coded, each theme present in two
            coder_rows += [f"d{d}:p{j:04d},{v}" for v in sorted(mine[j - 1][1])] or [f"d{d}:p{j:04d},"]
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (corpus / "coders" / "person.csv").write_text("\n".join(coder_rows) + "\n", encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    store, model = tmp_path / "out" / "project.sqlite", tmp_path / "model.json"
    assert cli.main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(tmp_path / "out"),
                     "--no-report"]) == 0
    assert cli.main(["learn", "--coders", "person", "--codebook", str(codebook), "--store", str(store),
                     "--out", str(model), "--folds", "2", "--repeats", "1"]) == 0
    return store, codebook, model


def test_active_learning_follows_suggest_and_retrains_in_the_background(learning):
    from coding.coders.coder_choice import make_coder
    from coding.coders.suggest import suggest

    store, codebook, model = learning
    bench = Workbench(store, Options(order="active", n=10, seed=3, codebook=codebook, model=model, retrain_every=3))
    desk = bench.open_desk("ann")
    with Store(store) as s:
        expected = list(suggest(s, make_coder("learned", codebook, model)[0], 8, 2, 3)["unit_id"])
        person = s.seen_units("person")
    assert desk.plan == expected and not set(desk.plan) & person
    for i in range(3):
        unit = desk.view(i)
        desk.decide(unit["unit_id"], [["economic", "energy"]] if i else [], unit["text_hash"], "ann")
    desk.ranker._thread.join(timeout=120)
    assert desk.ranker.trained == 1 and desk.ranker.status.startswith("retrained on 67 units")
    assert desk.plan[:3] == expected[:3] and desk.progress()["next"] == 3
    assert not set(desk.plan[3:]) & (person | set(expected[:3]))


def test_several_people_write_at_once_without_locking_errors(project):
    import threading

    errors: list[BaseException] = []

    def code(person: str) -> None:
        try:
            d = Workbench(project).open_desk(person)  # a connection of its own, as another server has
            for _ in range(10):
                for i, unit_id in enumerate(d.plan):
                    d.decide(unit_id, [["economic", "trade"]], content_hash(d.view(i)["text"]), person)
        except BaseException as exc:  # noqa: B036 (any failure in the thread must reach the test)
            errors.append(exc)

    threads = [threading.Thread(target=code, args=(name,)) for name in ("p1", "p2", "p3", "p4")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(project) as store:
        assert [store.app_decision_counts(p) for p in ("p1", "p4")] == [{"blind": 5}] * 2


def test_the_command_line_binds_where_asked_and_warns_off_this_machine(project, capsys):
    import socket
    import subprocess
    import sys

    assert cli.main(["serve", "--store", str(project.parent / "none.sqlite"), "--no-browser"]) == 2
    assert "no project store here" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for host, warned in (("127.0.0.1", False), ("0.0.0.0", True)):
        proc = subprocess.Popen([sys.executable, "-m", "coding.cli", "serve", "--store", str(project), "--no-browser",
                                 "--host", host, "--port", str(port)], cwd=project.parent, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        line = proc.stdout.readline()
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert f"http://{host}:{port}/?token=" in line
        assert ("warning: serving on 0.0.0.0" in err) is warned


def test_the_report_is_served_but_not_the_store(client, project):
    c, _ = client
    headers = {"X-Token": TOKEN}
    (project.parent / "report.html").write_text("<p>the report</p>", encoding="utf-8")
    assert c.get("/report/report.html", headers=headers).text == "<p>the report</p>"
    assert c.get("/report/report.html").status_code == 403
    for name in ("project.sqlite", "project.sqlite-wal", "../codebook.yaml", "nothing.html"):
        assert c.get(f"/report/{name}", headers=headers).status_code == 404, name


def test_a_machine_coder_that_cannot_be_made_is_said_when_review_starts(project):
    from starlette.testclient import TestClient

    bench = Workbench(project, Options(codebook=project.parent / "missing.yaml"))
    with TestClient(make_app(bench, TOKEN)) as c:
        answer = c.post("/api/desk", json={"person": "ann", "mode": "review"}, headers={"X-Token": TOKEN})
        assert answer.status_code == 400 and "missing.yaml" in answer.json()["error"]
        assert c.post("/api/desk", json={"person": "ann"}, headers={"X-Token": TOKEN}).status_code == 200


def test_review_by_the_learned_coder_shows_its_probabilities(learning):
    store, codebook, model = learning
    bench = Workbench(store, Options(machine="learned", codebook=codebook, model=model))
    desk = bench.open_desk("ann", mode="review")
    assert desk.describe()["machine"] == "learned"
    proposals = [p for i in range(8) for p in desk.view(i)["machine"]]
    assert proposals and all(0 < p["probability"] <= 1 for p in proposals)
    unit = desk.view(0)
    desk.decide(unit["unit_id"], unit["mine"], unit["text_hash"], "ann-review")
    with Store(store) as s:
        assert s.app_decision("ann-review", unit["unit_id"])[2] == "learned"
