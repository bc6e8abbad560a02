"""The design-review report (``python -m explorer report``): one self-contained HTML file (no script,
nothing fetched) whose every internal link resolves, with the claims answered from evidence of this run,
the verdicts, proofs with their lemmas, variant diffs, witnesses, sequence diagrams and the kernel facts;
and the mailing-list text, which spells out the counterexamples it cites."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from explorer.outputs.report.html import variant_keys, variant_sections
from explorer.runs.results import load_expectations

ROOT = Path(__file__).resolve().parent.parent


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            v = a.get(key)
            if v and v.startswith("#"):
                self.links.append(v[1:])
            elif v and (key == "src" or re.match(r"^[a-z]+:", v)):
                self.external.append(v)


def test_the_report_is_self_contained_and_every_link_resolves(small_report):
    text = (small_report / "report" / "index.html").read_text()
    p = Collect()
    p.feed(text)
    assert "script" not in p.tags and p.external == []
    assert p.links and all(link in p.ids for link in p.links), sorted(set(p.links) - p.ids)
    for section in ("rfc", "claims", "comparison", "verdicts", "proofs", "variants", "witnesses", "facts"):
        assert section in p.ids
    # one diagram per counterexample: timer_no_cancelling_counter alone has five violations
    assert p.tags.count("svg") >= 5 + 3
    assert "cpu0 TASK" in text and "user space" in text and "cycle" in text


def test_claims_link_to_the_evidence_of_this_run(small_report):
    text = (small_report / "report" / "index.html").read_text()
    claims = text[text.index('id="claims"') : text.index('id="comparison"')]
    for claim in (
        "(a)",
        "(b)",
        "(c)",
        "(d)",
        "point 1",
        "point 2",
        "point 3",
        "point 4",
        "point 5",
        "point 6",
    ):
        assert f"{claim}:" in claims
    # rfc_fixed ran: its violated NoIrqWorkUseAfterFree links to the diagram, a holding verdict gives a count
    assert 'href="#t-rfc_fixed-NoIrqWorkUseAfterFree"' in claims
    states = json.loads((small_report / "matrix.json").read_text())["cells"]
    rfc_fixed = next(c for c in states if c["name"] == "rfc_fixed")
    assert f"exhaustive, {rfc_fixed['distinct']:,} states" in claims
    assert "not run" in claims  # cells left out of this run say so, they are not shown as holding
    assert 'href="#q-LostItems_rfc_posted_"' in claims


def test_proofs_name_their_lemmas_in_plain_words(small_report):
    text = (small_report / "report" / "index.html").read_text()
    proofs = text[text.index('id="proofs"') : text.index('id="queries"')]
    answer = json.loads((small_report / "queries.json").read_text())["answers"]
    proved = next(a for a in answer if a["name"] == "NmiSafe[rfc_repaired]")
    assert proved["verdict"] == "PROVED" and len(proved["lemmas"]) >= 5
    for name, doc in proved["lemmas"]:
        assert name in proofs and html.escape(" ".join(doc.split())) in proofs


def test_the_situations_table_sums_up_each_designs_cells_of_this_run(small_report):
    text = (small_report / "report" / "index.html").read_text()
    table = text[text.index("Which design survives which situation") :]
    table = table[: table.index("</table>")]
    rows = {r.split("</td>")[0].split(">")[-1]: r for r in table.split("<tr>")[2:]}
    # bpf_wq: its one-value cell and its two-progs cell, each summed from this run's verdicts
    wq = rows["bpf_wq (2024)"]
    assert "NoCallbackAfterProgFree</strong> (12, <code>prog_swap_wq</code>)" in wq
    timer = rows["bpf_timer (v6.12)"]
    assert "ok (1 cell, 1,017 states)" in timer  # prog_swap_timer; the cells not run are not counted
    assert "not run" not in table and timer.count("<td>-</td>") == 4  # the other situations: none ran


def test_every_switch_of_every_cell_has_its_code_diff():
    _props, cells = load_expectations(ROOT / "spec" / "configs" / "expected.toml")
    sections = variant_sections()
    missing = sorted({k for c in cells for k in variant_keys(c)} - set(sections))
    assert not missing, f"docs/variants.md lacks {missing}"
    assert all(body.strip() for body in sections.values())


def test_the_mailing_list_text_spells_out_each_cited_counterexample(small_report):
    mail = (small_report / "report" / "mailing-list.md").read_text()
    assert mail.startswith("Subject: Re: [RFC PATCH bpf-next 0/3]")
    assert all(len(line) <= 72 or " " not in line.strip() for line in mail.splitlines())
    assert "<" not in mail.replace("<=", "")  # plain text: no HTML
    assert "rfc_fixed, NoIrqWorkUseAfterFree (23 states):" in mail
    block = mail[mail.index("rfc_fixed, NoIrqWorkUseAfterFree (23 states):") :].split("\n\n")[0]
    assert len(re.findall(r"^\s+\d+\. ", block, flags=re.M)) == 22  # the steps after the initial state


def test_report_without_results_is_one_line_and_leaves_earlier_reports(tmp_path):
    (tmp_path / "report").mkdir()
    earlier = tmp_path / "report" / "index.html"
    earlier.write_text("earlier")
    r = subprocess.run(
        [sys.executable, "-m", "explorer", "report", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "no matrix results" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert earlier.read_text() == "earlier"


def test_a_claim_whose_evidence_did_not_run_prints_no_answer(small_report):
    """A partial run: the claims' written answers ("proved for any depth at 4 CPUs ...") are not shown
    above evidence that did not run; each such claim says what was not run."""
    text = html.unescape((small_report / "report" / "index.html").read_text())
    claims = text[text.index('id="claims"') : text.index('id="comparison"')]
    block = claims[claims.index("(a):") : claims.index("(b):")]
    assert "proved for any depth" not in block
    assert "Not answered by this run" in block and "SafetyInductive[rfc_repaired]" in block
    mail = (small_report / "report" / "mailing-list.md").read_text()
    assert "proved for any depth" not in mail and "Not answered by this run" in mail


def test_a_claim_prints_the_size_its_proof_ran_at_in_this_run(tmp_path):
    from explorer.outputs.report.findings import claim_text
    from explorer.runs.results import load_claims
    from spec.config import ConfigError

    ans = {"answer": "proved at {size of P}", "evidence": [], "queries": ["P"]}
    ran = {"P": {"constants": {"variant": "rfc_repaired", "cpus": 4, "items": 8, "progs": 2}}}
    assert claim_text(ans, ran.get) == "proved at 4 CPUs x 8 items x 2 progs."
    ran["P"]["constants"].update(cpus=8, items=16)
    assert claim_text(ans, ran.get) == "proved at 8 CPUs x 16 items x 2 progs."
    # the expectations file may print the size of a query only among the claim's own queries
    bad = tmp_path / "e.toml"
    bad.write_text(
        '[[claim]]\nid = "x"\ntext = "t"\n[claim.call_rcu]\n'
        'answer = "at {size of SafetyInductive[bpf_timer]}"\nevidence = []\nqueries = []\n'
    )
    try:
        load_claims(bad, [], [])
    except ConfigError as e:
        assert "prints the size of 'SafetyInductive[bpf_timer]', not in its queries" in str(e)
    else:
        raise AssertionError("a size of a query the claim does not run was accepted")


def test_each_counterexample_names_the_kernel_configurations_it_needs(small_report):
    text = html.unescape((small_report / "report" / "index.html").read_text())
    mail = " ".join((small_report / "report" / "mailing-list.md").read_text().split()).lower()
    # rfc_fixed's overlapping-runner race needs irq_work run from the tick (self-IPI: no counterexample)
    # and a stall of the late runner's empty drain while the prog's deferred free runs (round4-traces §1)
    needs = "needs a stalled hard-irq handler (nmi, smi or hypervisor) and irq_work run from the tick"
    assert needs in text.lower() and needs in mail
    assert "irq_work by self-IPI" in text and "no counterexample" in text
    # bpf_task_work's NULL task: PREEMPT_RT, or a stalled hard-irq handler on a non-RT kernel
    assert "needs PREEMPT_RT, or a stalled hard-irq handler" in text
    saved = json.loads((small_report / "matrix.json").read_text())["cells"]
    tw = next(c for c in saved if c["name"] == "task_work_merged")
    rows = tw["configurations"]["NoNullTaskDeref"]["rows"]
    assert {r["verdict"] for r in rows} == {"violated", "holds"}


def test_matrix_report_with_a_corrupt_queries_file_is_one_line(tmp_path):
    (tmp_path / "queries.json").write_text("{bad")
    r = subprocess.run(
        [sys.executable, "-m", "explorer", "matrix", "--only", "timer_rearm", "--out", str(tmp_path),
         "--report", str(tmp_path / "r.md")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 2 and "not a query results file" in r.stderr and "Traceback" not in r.stderr


def test_report_into_an_unwritable_path_is_one_line_and_keeps_earlier_reports(small_report, tmp_path):
    """``report --mail``/``--markdown`` where no file can be written: one ``error:`` line, exit 2, and
    the reports already there are left as they were (every path is checked before the first write)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    earlier = {p: p.read_bytes() for p in (small_report / "report").glob("*")} | {
        small_report / "report.md": (small_report / "report.md").read_bytes()
    }
    for flag in ("--mail", "--markdown", "--html"):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "explorer",
                "report",
                "--out",
                str(small_report),
                flag,
                str(blocker / "x"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("error: ") and len(r.stderr.splitlines()) == 1, r.stderr
        assert flag in r.stderr and "Traceback" not in r.stderr
        assert {p: p.read_bytes() for p in earlier} == earlier


def test_a_bounded_unsat_answer_meets_an_unsat_expectation():
    """A query answered UNSAT<=6 where UNSAT is expected answers its claim (round 4 printed point 5 as
    "computed otherwise than expected" for that)."""
    from explorer.outputs.report.findings import claim_status

    ans = {"evidence": [], "queries": ["Q"]}
    answer = {"verdict": "UNSAT<=6", "expect": "UNSAT"}
    assert claim_status(ans, {}, {}, lambda _q: answer) is None
    answer = {"verdict": "SAT", "expect": "UNSAT"}
    assert "computed otherwise than expected: query Q (SAT)" in claim_status(ans, {}, {}, lambda _q: answer)
