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
