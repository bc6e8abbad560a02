"""`python -m explorer liveness`: verdicts rest on the declared fairness; without it, stuttering wins."""

from explorer.cli import main
from explorer.outputs.replay import replay
from explorer.outputs.traces import load_itf_trace
from spec.config import build_spec, load_config


def _config(tmp_path, extra=""):
    p = tmp_path / "small.toml"
    p.write_text(
        f'model = "spec.delayed_work"\n[constants]\ncpus = 1\nvariant = "rfc_fixed"\n{extra}',
        encoding="utf-8",
    )
    return p


def test_fair_run_holds_and_unfair_run_stutters(tmp_path, capsys):
    cfg = _config(tmp_path)
    assert main(["liveness", str(cfg), "--out", str(tmp_path)]) == 0
    assert "SF_vars(IrqWorkRun(c=cpu0, p=prog0))" in capsys.readouterr().out
    assert (
        main(
            [
                "liveness",
                str(cfg),
                "--no-fairness",
                "--property",
                "ProgEventuallyFreed",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "Fairness assumed: none" in out
    dump = tmp_path / "small" / "liveness" / "ProgEventuallyFreed.itf.json"
    spec = build_spec(load_config(cfg))
    trace = load_itf_trace(dump, spec)
    replay(spec, trace)
    assert trace.loop is not None and trace.states[-1] == trace.states[trace.loop]
    assert trace.steps[-1] is None  # the counterexample is a stuttering step, as TLC reports it


def test_chain_lasso_replays(tmp_path):
    cfg = _config(tmp_path, 'callback = "submits"\n')
    assert main(["liveness", str(cfg), "--property", "ProgEventuallyFreed", "--out", str(tmp_path)]) == 1
    spec = build_spec(load_config(cfg))
    trace = load_itf_trace(tmp_path / "small" / "liveness" / "ProgEventuallyFreed.itf.json", spec)
    replay(spec, trace)
    cycle = trace.states[trace.loop :]
    assert any(
        inst is not None and inst.action.name == "CallbackRun" for inst in trace.steps[trace.loop + 1 :]
    )
    assert all(not s.prog_attached[0] and not s.prog_fd[0] and s.map_usercnt == 0 for s in cycle)


def test_unknown_property_is_usage_error(tmp_path, capsys):
    assert main(["liveness", str(_config(tmp_path)), "--property", "Nope"]) == 2
    assert "no temporal property Nope" in capsys.readouterr().err


def test_an_expected_violation_that_holds_is_a_mismatch(tmp_path, capsys):
    """The config's [expect] covers temporal properties too: a property expected violated that holds
    exits 1, and the same property violated as expected (no fairness) exits 0."""
    cfg = _config(tmp_path, '[expect]\nProgEventuallyFreed = "violated"\n')
    args = ["liveness", str(cfg), "--property", "ProgEventuallyFreed", "--out", str(tmp_path)]
    assert main(args) == 1
    assert "ProgEventuallyFreed: holds (UNEXPECTED: expected violated)" in capsys.readouterr().out
    assert main([*args, "--no-fairness"]) == 0
    assert "ProgEventuallyFreed: violated (as expected)" in capsys.readouterr().out


def test_a_violation_with_no_expectation_is_reported(tmp_path, capsys):
    cfg = _config(tmp_path, '[expect]\nProgEventuallyFreed = "holds"\n')
    assert main(["liveness", str(cfg), "--no-fairness", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ProgEventuallyFreed: violated (UNEXPECTED: expected holds)" in out
    assert "(UNEXPECTED: no expectation)" in out  # the other properties, also violated without fairness


def test_property_takes_several_names(tmp_path, capsys):
    cfg = _config(tmp_path)
    assert main(["liveness", str(cfg), "--property", "ProgEventuallyFreed", "NoLivelock[cpu0]"]) == 0
    out = capsys.readouterr().out
    assert "ProgEventuallyFreed" in out and "NoLivelock[cpu0]" in out
    assert "RunsExactlyOnce" not in out
