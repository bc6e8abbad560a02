"""The HTML report: one self-contained file (no script, nothing fetched) with the comparison table,
each family's verdicts linking to their traces, and a sequence diagram per counterexample."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser


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
            elif v and key == "src" or (v and re.match(r"^[a-z]+:", v or "") and tag != "svg"):
                self.external.append(v)


def test_the_report_is_self_contained_and_every_verdict_link_resolves(tmp_path):
    out = tmp_path / "out"
    html_path = out / "report" / "index.html"
    cells = ["timer", "timer_no_cancelling_counter", "wq", "rfc_posted"]
    argv = [sys.executable, "-m", "explorer", "matrix", "--out", str(out), "--html", str(html_path)]
    for c in cells:
        argv += ["--only", c]
    r = subprocess.run(argv, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = html_path.read_text()
    p = Collect()
    p.feed(text)
    assert "script" not in p.tags and p.external == []
    assert "Comparison of the designs" in text and "<table>" in text
    assert p.links and all(link in p.ids for link in p.links)  # every violated verdict has its trace
    # one diagram per counterexample: timer_no_cancelling_counter alone has five violations
    assert p.tags.count("svg") >= 5 + 3
    assert "cpu0 TASK" in text and "user space" in text and "cycle" in text
