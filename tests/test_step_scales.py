"""Per-gene step scales (``Strategy(scale=...)``, ``[genome.scale]``): every strategy
samples and steps a gene of scale s exactly s times as far, all-ones scales change
nothing, the scale survives a checkpoint, and the genome's segments get theirs by kind
(weights / per_neuron / shared) or by name."""
from __future__ import annotations

import numpy as np
import pytest
from strategy_testing import Individual, population

from bioevo.config import ConfigError, resolve_config
from bioevo.genome import SCALE_DEFAULTS, GenomeLayout, Segment
from bioevo.strategies import REGISTRY, make_strategy
from bioevo.strategies.base import read_state, write_state
from bioevo.strategies.cem import elite_gradient
from bioevo.strategies.es import compute_centered_ranks

S = np.array([1.0, 0.1, 3.0, 0.5])  # step scales of a 4-gene genome
C0 = np.array([0.2, -0.4, 0.1, 0.3])
TARGET = np.array([0.3, -0.2, 0.5, 0.1])
SMALL = {"es": {"popsize": 8}, "cem-es": {"popsize": 8}, "hybrid": {"popsize": 8, "popsize_final": 4},
         "pso": {"popsize": 8}, "cem": {"popsize": 8}, "pooling": {"popsize": 8, "n_offspring": 8},
         "annealing": {"popsize": 6}, "snes": {}, "sep-cma": {}, "cma": {},
         "cr-fm-nes": {},
         "pgpe": {"popsize": 8}}


def quadratic(to_y):
    """Loss ``|y - TARGET|^2`` of ``y = to_y(x)``, and the pooling callback on it."""
    def loss(x):
        return float(np.sum((to_y(np.asarray(x, dtype=np.float64)) - TARGET) ** 2))

    def evaluate(genomes):
        return np.array([loss(g) for g in genomes]), np.zeros(len(genomes))
    return loss, evaluate


def drive(strategy, to_y, n_gen: int) -> np.ndarray:
    """``n_gen`` generations on the quadratic in ``y = to_y(x)``; the centroid after each."""
    loss, evaluate = quadratic(to_y)
    path = []
    for _ in range(n_gen):
        pop = strategy.generate(Individual)
        for ind in pop:
            ind.fitness.values = (loss(ind),)
            ind.accuracy = 0.0  # hybrid pools (accuracy below its threshold)
        strategy.update(pop, evaluate=evaluate)
        strategy.end_epoch()
        path.append(np.array(strategy.centroid, dtype=np.float64))
    return np.array(path)


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - {"cma"}))
def test_scaled_run_is_the_unit_run_on_x_over_scale(name):
    """The documented contract: with scales s a strategy searches y = x / s.  Started at s * c0 on
    the loss of x / s, every centroid is s times that of the unit-scale run from c0, draw for draw
    (full CMA is covered below: its eigendecomposition may order genes differently)."""
    unit = drive(make_strategy(name, C0, 7, SMALL[name]), lambda x: x, 6)
    scaled = drive(make_strategy(name, S * C0, 7, SMALL[name], S), lambda x: x / S, 6)
    np.testing.assert_allclose(scaled / S, unit, rtol=1e-9, atol=1e-12)
    assert not np.allclose(unit[-1], C0)  # it moved


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_all_ones_scales_change_nothing(name):
    """scale=None, 1.0 and ones(N) give the same run bit for bit (multiplying by 1.0 is exact)."""
    runs = [drive(make_strategy(name, C0, 3, SMALL[name], scale), lambda x: x, 3) for scale in (None, 1.0, np.ones(4))]
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])


def test_es_samples_and_adam_step_by_hand():
    sigma, lr = 0.1, 0.03
    es = make_strategy("es", C0, 11, {"popsize": 6, "sigma": sigma, "lr": lr, "mirrored": False}, S)
    pop = es.generate(Individual)
    eps = np.random.default_rng(11).standard_normal((6, 4))
    np.testing.assert_allclose(np.array(pop), C0 + sigma * S * eps, rtol=0, atol=1e-15)
    losses = np.array([3.0, 1.0, 2.0, 6.0, 5.0, 4.0])
    es.update(population(pop, losses))
    g = -compute_centered_ranks(losses) @ eps / (6 * sigma)  # in units of sigma * scale
    # first Adam step: m_hat = g, v_hat = g^2, so the direction is g / (|g| + 1e-8)
    np.testing.assert_allclose(es.centroid - C0, lr * S * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_cem_es_adam_step_by_hand():
    es = make_strategy("cem-es", C0, 5, {"popsize": 8, "sigma": 0.05, "lr": 0.02, "mirrored": False}, S)
    pop = es.generate(Individual)
    eps = np.random.default_rng(5).standard_normal((8, 4))
    np.testing.assert_allclose(np.array(pop), C0 + 0.05 * S * eps, rtol=0, atol=1e-15)
    losses = np.arange(8.0)[::-1]
    es.update(population(pop, losses))
    g = elite_gradient(eps, losses, 2, 0.05)
    np.testing.assert_allclose(es.centroid - C0, 0.02 * S * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_cem_initial_spread_floor_and_extra_noise_by_hand():
    params = {"popsize": 5, "sigma": 0.2, "sigma_min": 0.01, "smoothing": 0.5, "extra_noise": 0.04}
    cem = make_strategy("cem", C0, 2, params, S)
    np.testing.assert_array_equal(cem.std, 0.2 * S)
    z = np.random.default_rng(2).standard_normal((5, 4))
    np.testing.assert_allclose(np.array(cem.generate(Individual)), C0 + 0.2 * S * z, rtol=0, atol=1e-15)
    # an elite of identical genomes has no spread: std_E = sqrt(extra_noise) * s, floored at sigma_min * s
    cem.update(population([C0] * 5, np.arange(5.0)))
    np.testing.assert_allclose(cem.std, 0.5 * np.sqrt(0.04) * S + 0.5 * 0.2 * S, rtol=1e-14)
    cem = make_strategy("cem", C0, 2, {**params, "extra_noise": 0.0, "smoothing": 1.0}, S)
    cem.update(population([C0] * 5, np.arange(5.0)))
    np.testing.assert_allclose(cem.std, 0.01 * S, rtol=1e-14)


@pytest.mark.parametrize("name", ["sep-cma", "snes"])
def test_diagonal_gaussians_start_with_widths_sigma_times_scale(name):
    st = make_strategy(name, C0, 4, {"popsize": 6, "sigma": 0.3}, S)
    width = st.sigma * np.sqrt(st.diag_c) if name == "sep-cma" else st.std
    np.testing.assert_allclose(width, 0.3 * S, rtol=1e-15)
    z = np.random.default_rng(4).standard_normal((6, 4))
    np.testing.assert_allclose(np.array(st.generate(Individual)), C0 + 0.3 * S * z, rtol=0, atol=1e-15)


def test_cma_initial_covariance_is_diag_scale_squared():
    cma = make_strategy("cma", C0, 1, {"popsize": 4000, "sigma": 0.2}, S)
    np.testing.assert_array_equal(cma.strategy.C, np.diag(S**2))
    np.testing.assert_allclose(cma.strategy.BD @ cma.strategy.BD.T, np.diag(S**2), atol=1e-15)
    x = np.array(cma.generate(Individual))
    np.testing.assert_allclose(x.std(axis=0), 0.2 * S, rtol=0.05)  # 4000 samples: ~1.1% standard error


def test_pso_initial_spread_and_velocity_clamp_by_hand():
    params = {"popsize": 5, "init_spread": 0.5, "v_max": 1e-3, "inertia": 0.7, "c1": 1.5, "c2": 1.5}
    pso = make_strategy("pso", C0, 9, params, S)
    z = np.random.default_rng(9).standard_normal((4, 4))
    np.testing.assert_allclose(pso.x[1:], C0 + 0.5 * S * z, rtol=0, atol=1e-15)
    pop = pso.generate(Individual)
    pso.update(population(pop, [5.0, 1.0, 4.0, 3.0, 2.0]))  # particle 1 becomes the global best
    moving = np.abs(pso.gbest_x - pso.x + pso.v) > 1e-2  # pulled by far more than the clamp
    v = np.abs(pso.v)
    assert np.all(v <= 1e-3 * S * (1 + 1e-12)) and moving.sum() >= 8
    np.testing.assert_allclose(v[moving], np.broadcast_to(1e-3 * S, v.shape)[moving], rtol=1e-12)


def test_hybrid_samples_step_and_velocity_clamp_by_hand():
    params = {"popsize": 6, "sigma": 0.2, "group": "best", "v_max": 1e-3, "pool_threshold": 0.0, "lr": 1.0}
    hy = make_strategy("hybrid", C0, 6, params, S)
    pop = hy.generate(Individual)
    eps = np.random.default_rng(6).standard_normal((4, 4))
    np.testing.assert_allclose(np.array(pop[2:]), C0 + 0.2 * S * eps, rtol=0, atol=1e-15)
    hy.update(population(pop, [5.0, 5.0, 1.0, 2.0, 3.0, 4.0]))  # row 2 is the group best, p = theta
    # v = c2 r2 (g - theta) with |g - theta| = 0.2 s |eps| >> clamp: every gene moves by exactly v_max * s
    np.testing.assert_allclose(np.abs(hy.v), 1e-3 * S, rtol=1e-12)
    np.testing.assert_allclose(hy.theta - C0, 1e-3 * S * np.sign(eps[0]), rtol=1e-12)
    # "gradient": the ES step is step * s * d, d = Adam's first direction (about +-1 per gene)
    hy = make_strategy("hybrid", C0, 6, {**params, "group": "gradient", "step": 0.05, "v_max": 0.0, "c1": 0.0,
                                        "c2": 1.0, "inertia": 0.0}, S)
    pop = hy.generate(Individual)
    noise = (np.array(pop[2:]) - C0) / (0.2 * S)
    losses = [9.0, 9.0, 1.0, 2.0, 3.0, 4.0]
    g = -compute_centered_ranks(np.array(losses[2:])) @ noise / (4 * 0.2)
    r2 = np.random.default_rng(6)
    r2.standard_normal((2, 4)), r2.random(4)  # generate's half block, then r1
    hy.update(population(pop, losses))
    np.testing.assert_allclose(hy.theta - C0, r2.random(4) * 0.05 * S * g / (np.abs(g) + 1e-8), rtol=1e-10)


def test_annealing_and_pooling_proposals_by_hand():
    sa = make_strategy("annealing", C0, 8, {"popsize": 4, "step": 0.3}, S)
    z = np.random.default_rng(8).standard_normal((3, 4))
    pop = sa.generate(Individual)
    np.testing.assert_array_equal(pop[0], C0)
    np.testing.assert_allclose(np.array(pop[1:]), C0 + 0.3 * S * z, rtol=0, atol=1e-15)
    pool = make_strategy("pooling", C0, 8, {"popsize": 4, "sigma": 0.3, "n_offspring": 4, "parent_fraction": 0.25}, S)
    rng = np.random.default_rng(8)
    z, e = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    pop = pool.generate(Individual)
    np.testing.assert_allclose(np.array(pop), C0 + 0.3 * S * z, rtol=0, atol=1e-15)
    seen = []
    pool.update(population(pop, [3.0, 0.0, 2.0, 1.0]),
                evaluate=lambda g: (seen.append(g), (np.arange(4.0), np.zeros(4)))[1])
    np.testing.assert_allclose(seen[0], np.array(pop[1]) + 0.3 * S * e, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_state_dict_keeps_the_scale_and_old_checkpoints_load_as_ones(tmp_path, name):
    import h5py

    st = make_strategy(name, C0, 0, SMALL[name], S)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        write_state(f.create_group("s"), st.state_dict())
    with h5py.File(tmp_path / "s.h5", "r") as f:
        d = read_state(f["s"])
    np.testing.assert_array_equal(type(st).from_state_dict(d).scale, S)
    del d["scale"]  # a checkpoint written before step scales existed
    np.testing.assert_array_equal(type(st).from_state_dict(d).scale, np.ones(4))


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan, "x", [1.0, 2.0], True])
def test_bad_scale_refused_in_one_line(bad):
    with pytest.raises(ValueError, match="scale must be a finite number > 0 or 4 of them") as err:
        make_strategy("es", C0, 0, {}, bad)
    assert "\n" not in str(err.value)


def small_layout() -> GenomeLayout:
    """Per-synapse weights (input_hidden), one shared weight for a group of 6 (hidden_readout), per-neuron
    hidden tau_mem, one shared hidden tau_syn (4 neurons) and a readout of one neuron's tau_mem."""
    segs = [Segment("w.input_hidden", (2, 4), "weight"), Segment("w.hidden_readout", (1,), "weight", fan_in=1),
            Segment("p.hidden.tau_mem", (4,), "parameter", ref=10.0, transform="log"),
            Segment("p.hidden.tau_syn", (1,), "parameter", ref=5.0, transform="log"),
            Segment("p.readout.tau_mem", (1,), "parameter", ref=20.0, transform="log")]
    return GenomeLayout(segs, {"inputs": 2, "hidden": 4, "readout": 1}, {"hidden.v_th": 1.0},
                        {"input_hidden": 8, "hidden_readout": 6})


def test_step_scales_by_kind_and_by_name():
    layout = small_layout()
    assert [layout.scale_kind(s) for s in layout.segments] == [
        "weights", "shared", "per_neuron", "shared", "per_neuron"]  # a one-neuron layer's gene is per neuron
    table = {"weights": 1.0, "per_neuron": 0.5, "shared": 0.1}
    np.testing.assert_array_equal(layout.step_scales(table), [1.0] * 8 + [0.1] + [0.5] * 4 + [0.1] + [0.5])
    named = layout.step_scales({**table, "hidden.tau_syn": 0.02, "input_hidden": 2.0, "hidden.v_th": 9.0})
    np.testing.assert_array_equal(named, [2.0] * 8 + [0.1] + [0.5] * 4 + [0.02] + [0.5])  # v_th: not evolved
    np.testing.assert_array_equal(layout.step_scales(), [SCALE_DEFAULTS["weights"]] * 8 + [SCALE_DEFAULTS["shared"]]
                                  + [SCALE_DEFAULTS["per_neuron"]] * 4 + [SCALE_DEFAULTS["shared"]]
                                  + [SCALE_DEFAULTS["per_neuron"]])


@pytest.mark.parametrize("table, fragment", [
    ({"hidden.tau_foo": 0.1}, "genome.scale.hidden.tau_foo: unknown; allowed: weights, per_neuron, shared"),
    ({"nope": 0.1}, "a synapse group (input_hidden, hidden_readout)"),
    ({"shared": 0.0}, "genome.scale.shared must be a finite number > 0, got 0.0"),
    ({"hidden.tau_mem": float("inf")}, "genome.scale.hidden.tau_mem must be a finite number > 0"),
    ({"weights": "big"}, "genome.scale.weights must be a finite number > 0, got 'big'"),
])
def test_bad_scale_table_refused_in_one_line(table, fragment):
    with pytest.raises(ValueError) as err:
        small_layout().step_scales(table)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_config_takes_scales_by_name_and_refuses_bad_ones():
    cfg = resolve_config("randman-2", ["genome.scale.hidden.tau_mem=0.2", "genome.scale.shared=0.05"])
    assert cfg["genome"]["scale"]["hidden.tau_mem"] == 0.2 and cfg["genome"]["scale"]["shared"] == 0.05
    assert cfg["genome"]["scale"]["weights"] == SCALE_DEFAULTS["weights"]
    for override, fragment in (("genome.scale.shared=0", "genome.scale.shared must be a finite number > 0"),
                               ("genome.scale.shared=nan", "genome.scale.shared must be a finite number"),
                               ('genome.scale.shared="x"', "genome.scale.shared must be a finite number")):
        with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
            resolve_config("randman-2", [override])


def test_unquoted_dotted_name_in_a_preset_file_is_the_same_name(tmp_path):
    """TOML reads `hidden.tau_mem = 0.2` under [genome.scale] as a nested table; it means the parameter."""
    preset = tmp_path / "p.toml"
    preset.write_text('[data]\nn_classes = 2\n[genome]\nevolve = ["hidden.tau_mem"]\n'
                      '[genome.scale]\nhidden.tau_mem = 0.2\n"hidden.tau_syn" = 0.3\n')
    scale = resolve_config(str(preset), [])["genome"]["scale"]
    assert scale["hidden.tau_mem"] == 0.2 and scale["hidden.tau_syn"] == 0.3 and "hidden" not in scale


@pytest.mark.parametrize("shared, bound", [(None, (4.0, 4.9)), (1.0, (0.0, 2.5))])
def test_default_scales_keep_a_shared_tau_from_collapsing(shared, bound):
    """The collapse of results/heterogeneity (condition c: one tau per layer, es lr 0.03): a loss that always
    prefers a shorter hidden tau_syn, for one epoch (31 generations of randman-10).  With the default shared
    scale Adam moves the shared gene by <= ~lr * 0.1 per generation and tau_syn stays above 4 ms (of 5); with
    scale 1 it moves as far as a weight and falls below 2.5 ms, where docs/strategies.md's collapsed seeds were."""
    from bioevo.assemble import assemble

    extra = [] if shared is None else [f"genome.scale.shared={shared}"]
    cfg = resolve_config("randman-10", ['genome.evolve=["hidden.tau_mem", "hidden.tau_syn"]',
                                        "genome.per_neuron=false", "data.split=[2, 2, 2]", "evolve.batch_size=2", *extra], seed=2)
    parts = assemble(cfg, build_evaluator=False)
    sl, es = parts.layout.slices(), parts.strategy
    assert es.scale[sl["p.hidden.tau_syn"]] == (shared or SCALE_DEFAULTS["shared"])
    assert np.all(es.scale[sl["w.input_hidden"]] == 1.0)
    for _ in range(31):
        pop = es.generate(Individual)
        es.update(population(pop, [ind[sl["p.hidden.tau_syn"]][0] for ind in pop]))
    tau_syn = parts.layout.decode(es.centroid).neurons["hidden"]["tau_syn"][0, 0]
    assert bound[0] < tau_syn < bound[1], tau_syn
