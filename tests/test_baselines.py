"""python -m bioevo.tasks.baselines: the SG-SNN is the evolved network (same
membrane trace and spikes as the numpy reference), selection never sees the
test split, every method trains and lands in a complete table, bad input is
one line with exit 2 and nothing written."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax", reason='the baselines extra is not installed (pip install ".[baselines]")')
pytest.importorskip("flax", reason='the baselines extra is not installed (pip install ".[baselines]")')
pytest.importorskip("optax", reason='the baselines extra is not installed (pip install ".[baselines]")')

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from bioevo.baselines import snn  # noqa: E402
from bioevo.baselines.data import evolved_network, make_splits  # noqa: E402
from bioevo.baselines.runner import build_method, run_method  # noqa: E402
from bioevo.baselines.settings import resolve_settings  # noqa: E402
from bioevo.config import resolve_config, to_toml  # noqa: E402
from bioevo.data.spikes import SpikeData  # noqa: E402
from bioevo.genome import build_layout  # noqa: E402
from bioevo.model import load_model  # noqa: E402
from bioevo.sim.reference import simulate_lif  # noqa: E402
from bioevo.tasks import baselines as cli  # noqa: E402

TINY_DATA = ["data.split=[24, 8, 8]", "model.hidden=8", "evolve.batch_size=16"]
TINY_TRAINING = ["baselines.epochs=2", "baselines.batch_size=16", "baselines.mlp.hidden=[16]",
                 "baselines.cnn.channels=[4]", "baselines.cnn.dense=8", "baselines.rnn.hidden=8",
                 "baselines.gru.hidden=8", "baselines.mlp.weight_decay=[0]", "baselines.rnn.weight_decay=[0]",
                 "baselines.gru.weight_decay=[0]"]


def sets(*overrides: str) -> list[str]:
    return [x for o in overrides for x in ("--set", o)]


@pytest.mark.parametrize("model, counts", [("lif", False), ("lif_recurrent", True)])
def test_snn_forward_equals_numpy_reference(model, counts):
    """Same weights, per-neuron parameters (time constants, thresholds, injected
    current) and input: the JAX network gives the reference's readout trace and
    hidden spike counts."""
    rng = np.random.default_rng(3)
    spec = load_model(model)
    evolve = ["hidden.tau_mem", "hidden.tau_syn", "hidden.v_th", "hidden.I_app", "readout.tau_mem",
              "readout.tau_syn"]
    gains = {"input_hidden": 10.0, "hidden_readout": 5.0, **({"hidden_hidden": 1.0} if counts else {})}
    layout = build_layout(spec, {"inputs": 12, "hidden": 16, "classes": 3}, gains, evolve,
                          overrides={"hidden.I_app": 0.2})
    genome = layout.initial(rng) + 0.3 * rng.standard_normal(layout.size)  # spread the neuron parameters
    raster = rng.poisson(0.4, (5, 40, 12)).astype(np.uint8) if counts else rng.random((5, 40, 12)) < 0.15
    vmax, trace, spike_counts = simulate_lif(layout.decode(genome[None]), raster, record_trace=True)
    with jax.enable_x64(True):
        out, spikes = snn.simulate(layout, snn.initial_params(layout, genome), jnp.asarray(raster, jnp.float64))
        best = np.asarray(snn.scores(out, "max"))
        assert np.array_equal(snn.to_genome(layout, snn.initial_params(layout, genome)), genome)
        out, spikes = np.asarray(out), np.asarray(spikes)
    assert 0 < spike_counts.sum() < spike_counts.size * 40 // 2  # the hidden layer spikes, and not always
    np.testing.assert_allclose(out, trace[0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(spikes.sum(axis=1), spike_counts[0])
    np.testing.assert_allclose(best, vmax[0], rtol=0, atol=1e-12)


def test_snn_surrogate_gradient_reaches_every_segment():
    """The spike's derivative is the fast sigmoid, so the loss has a gradient
    for input weights, readout weights and the neuron parameters alike."""
    spec = load_model("lif")
    layout = build_layout(spec, {"inputs": 6, "hidden": 8, "classes": 2}, {"input_hidden": 10.0,
                                                                            "hidden_readout": 5.0},
                          ["hidden.tau_mem", "hidden.v_th"])
    params = snn.initial_params(layout, layout.initial(np.random.default_rng(0)))
    x = jnp.asarray(np.random.default_rng(1).random((4, 30, 6)) < 0.2, jnp.float32)
    grads = jax.jit(jax.grad(lambda p: snn.scores(snn.simulate(layout, p, x)[0], "max")[:, 0].sum()))(params)
    for name, g in grads.items():
        assert np.all(np.isfinite(g)) and np.any(np.asarray(g) != 0), name
    assert float(snn.spike(jnp.float32(0.1), 10.0)) == 1.0 and float(snn.spike(jnp.float32(-0.1), 10.0)) == 0.0
    slope = jax.grad(lambda v: snn.spike(v, 10.0))(jnp.float32(0.1))
    assert float(slope) == pytest.approx(1 / (10 * 0.1 + 1) ** 2)


@pytest.mark.slow
def test_selection_never_reads_the_test_split():
    """Corrupted test labels change nothing but the test score: the chosen
    weight decay and epoch, the validation results and every epoch's history
    are identical (every method goes through the same training.fit, which is
    not given the test split)."""
    cfg = resolve_config("randman-2", TINY_DATA + ["data.split=[40, 20, 20]"], seed=1)
    settings = resolve_settings(cfg, ["baselines.epochs=6", "baselines.patience=6", "baselines.batch_size=8",
                                      "baselines.mlp.hidden=[8]", "baselines.mlp.lr=0.003",
                                      "baselines.mlp.weight_decay=[0, 30]"])
    splits = make_splits(cfg)
    network = evolved_network(cfg, splits)
    test = splits["test"]
    corrupted = {**splits, "test": SpikeData(test.raster, (test.labels + 1) % test.n_classes, test.n_classes)}
    a = run_method(build_method("mlp", cfg, settings, splits, network), splits, settings, 1)
    b = run_method(build_method("mlp", cfg, settings, corrupted, network), corrupted, settings, 1)
    for key in ("best_epoch", "epochs", "val_accuracy", "val_loss", "history", "n_parameters", "weight_decay",
                "candidates"):
        assert a[key] == b[key], key
    val = [(c["val_accuracy"], -c["val_loss"]) for c in a["candidates"]]
    assert len(set(val)) == 2 and a["weight_decay"] == a["candidates"][val.index(max(val))]["weight_decay"]
    assert a["test_accuracy"] + b["test_accuracy"] == pytest.approx(1.0)  # two classes, every label flipped
    assert len({h["val_accuracy"] for h in a["history"]}) > 1  # selection had something to choose from


@pytest.mark.slow
def test_every_method_writes_a_complete_table(tmp_path, capsys):
    """mlp, rnn, gru and snn on a tiny Randman preset, with the evolved run's
    row read from a run directory: both files hold one full row per method.
    (The CNN needs an image preset: test_cnn_on_latency_coded_digits.)"""
    cfg = resolve_config("randman-2", TINY_DATA, seed=0)
    run = tmp_path / "evolved"
    run.mkdir()
    (run / "config.toml").write_text(to_toml(cfg))
    (run / "summary.json").write_text(json.dumps({"test": {"accuracy": 0.875}, "val": {"accuracy": 0.9375},
                                                  "wall_seconds": 12.5, "n_parameters": 256, "generations": 7}))
    out = tmp_path / "table"
    # a validation target every method reaches after one epoch stops each there, as the evolved run stops
    report = cli.main(["--preset", "randman-2", "--seed", "0", "--run", str(run), "--out", str(out), "--quiet",
                       *sets(*TINY_DATA, *TINY_TRAINING, "baselines.target_val_accuracy=0.01")])
    saved = json.loads((out / "baselines.json").read_text())
    assert list(saved["methods"]) == ["mlp", "rnn", "gru", "snn"]  # cnn needs an image preset
    for name, row in saved["methods"].items():
        assert 0 <= row["test_accuracy"] <= 1 and 0 <= row["val_accuracy"] <= 1, name
        assert row["wall_seconds"] > 0 and row["n_parameters"] > 0 and row["best_epoch"] == row["epochs"] == 1
        assert row["val_accuracy"] >= 0.01
    m = 30 * 50  # the flattened raster: 50 steps x 30 units
    assert saved["methods"]["mlp"]["n_parameters"] == (m * 16 + 16) + (16 * 2 + 2)
    # the evolved genome: the weights and two time constants per hidden neuron (the preset evolves them)
    assert saved["methods"]["snn"]["n_parameters"] == 30 * 8 + 8 * 2 + 2 * 8
    assert saved["methods"]["rnn"]["n_parameters"] == (30 * 8 + 8 * 8 + 8) + (8 * 2 + 2)
    assert saved["evolved"] == {"test_accuracy": 0.875, "val_accuracy": 0.9375, "wall_seconds": 12.5,
                                "n_parameters": 256, "epochs": 7, "strategy": None, "run": str(run)}
    assert saved["split_sizes"] == {"train": 48, "val": 16, "test": 16}
    table = (out / "baselines.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| ") and not line.startswith("| method")]
    assert [r.split(" | ")[0] for r in rows] == ["| evolved SNN (gradient-free)", "| MLP", "| vanilla RNN", "| GRU",
                                                 "| surrogate-gradient SNN"]
    assert rows[0] == "| evolved SNN (gradient-free) | 87.50% | 93.75% | 12.5 | 256 | 7 |"
    assert all(len(r.split(" | ")) == 6 and "nan" not in r for r in rows)
    assert report["methods"].keys() == saved["methods"].keys()
    assert "surrogate-gradient SNN" in capsys.readouterr().out


@pytest.mark.slow
def test_cnn_on_latency_coded_digits():
    """The CNN sees the 8x8 digit as the image the latency code encodes
    (bioevo.data.latency.latency_decode: one channel; the default) or as the
    raster with one channel per time step; it trains and scores on the splits."""
    from bioevo.data import make_dataset
    from bioevo.data.latency import latency_decode
    from bioevo.baselines.training import n_parameters

    cfg = resolve_config("randman-2", TINY_DATA)
    cfg["data"] = {"kind": "digits", "n_steps": 16, "seed": 0}
    full = make_dataset(cfg["data"], 0)
    splits = {k: v.subset(np.arange(64)) for k, v in full.items()}
    network = evolved_network(cfg, splits)
    dense = (64 * 8 + 8) + (8 * 10 + 10)  # conv maps 8x8 -> 4x4 by pooling, dense 4*4*4 -> 8, readout 8 -> 10
    settings = resolve_settings(cfg, TINY_TRAINING + ['baselines.cnn.input="raster"'])
    raster = build_method("cnn", cfg, settings, splits, network)
    assert raster.inputs(splits["val"]).shape == (64, 16, 64)
    assert n_parameters(jax.jit(raster.init)(jax.random.PRNGKey(0))) == (3 * 3 * 16 * 4 + 4) + dense
    settings = resolve_settings(cfg, TINY_TRAINING)
    decoded = build_method("cnn", cfg, settings, splits, network)
    x = decoded.inputs(splits["val"])
    np.testing.assert_array_equal(x[:, 0], latency_decode(splits["val"].raster))
    assert set(np.unique(x * 16)) <= set(range(17))  # 16 steps: every grey level of the digits exact
    row = run_method(decoded, splits, settings, 0)
    assert row["n_parameters"] == (3 * 3 * 1 * 4 + 4) + dense
    assert 0 <= row["test_accuracy"] <= 1 and row["epochs"] == 2


def bad(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("extra, message", [
    (["--methods", "mlp,transformer"], "unknown method 'transformer' in --methods; allowed: mlp, cnn, rnn, gru, snn"),
    (["--methods", "cnn"], "method cnn needs an image preset"),
    (["--set", "baselines.epoch=3"], "unknown key 'baselines.epoch'"),
    (["--set", "baselines.snn.lr=0"], "baselines.snn.lr must be > 0"),
    (["--set", "model.name=competition", "--set", "genome.evolve=[]", "--methods", "snn"],
     "method snn reproduces model.name lif, lif_recurrent"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    err = bad(["--preset", "randman-2", "--out", str(out), *sets(*TINY_DATA), *extra], capsys)
    assert message in err
    assert not out.exists()


def test_run_without_summary_or_on_other_data_is_refused(tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "out"
    run.mkdir()
    err = bad(["--preset", "randman-2", "--run", str(run), "--out", str(out)], capsys)
    assert "holds no summary.json" in err and not out.exists()
    (run / "summary.json").write_text(json.dumps({"test": {"accuracy": 0.5}, "val": {"accuracy": 0.5},
                                                  "wall_seconds": 1.0, "generations": 1}))
    (run / "config.toml").write_text(to_toml(resolve_config("randman-2", ["data.n_steps=40"])))
    err = bad(["--preset", "randman-2", "--run", str(run), "--out", str(out)], capsys)
    assert "data.n_steps = 40 there, 50 here" in err and not out.exists()
