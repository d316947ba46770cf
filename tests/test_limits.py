"""The arithmetic limit's operation counts (bioevo.limits) against counts by hand, the profile's
sorting of perf samples (bioevo.bench_profile), and the benchmark's synthetic data files
(bioevo.bench_presets) against the figures they are meant to have."""
import numpy as np
import pytest

from bioevo import bench_presets, limits
from bioevo.bench_profile import place
from bioevo.data.kinds import make_dataset
from bioevo.model import load_model


def test_statement_work_counted_by_hand():
    arrays = {"v", "I", "beta", "v_th"}
    # v: 2 loads, 1 store; I: 1 load, 1 store; beta 1 load; flops: (1 - beta), *, *, +, and I * 0.5
    w = limits.statement_work("v = beta * v + (1 - beta) * I\nI = I * 0.5", arrays)
    assert (w.flops, w.memops, w.special) == (5.0, 5.0, {})
    # a temporary is a register; a condition is one comparison; v_th is a load
    w = limits.statement_work("e = exp(-v / 10); x = e * e\nv > v_th", arrays)
    assert (w.flops, w.memops, w.special) == (4.0, 2.0, {"exp": 1.0})
    # augmented assignment: one more flop, the target is loaded and stored
    w = limits.statement_work("I += 2 * v", arrays)
    assert (w.flops, w.memops) == (2.0, 3.0)


def test_lif_work_per_sample_by_hand():
    """lif.toml: hidden step 6 flops + threshold 1, 8 loads/stores; readout step 5 + max 1 ... (module doc)."""
    model = load_model("lif")
    hidden, readout = limits.neuron_step_work(model, "hidden"), limits.neuron_step_work(model, "readout")
    # v = beta_mem*v + (1-beta_mem)*(I+I_app): *, -, *, +, + ; I = alpha_syn*I: * ; v > v_th: 1
    assert hidden.flops == 7 and hidden.memops == 8  # loads v I beta alpha I_app v_th, stores v I
    # readout: 5 (step, no I_app: *, -, *, + and alpha*I) + clip for the max
    assert readout.flops == 6 and readout.memops == 8  # loads v I beta alpha max, stores v I max
    assert limits.event_work(model, "input_hidden").flops == 2  # I_post += w * count_pre
    assert limits.event_work(model, "input_hidden").memops == 1  # the weight (I_post: with the neuron's update)
    sizes = {"input": 30, "hidden": 64, "readout": 10}
    w = limits.work_per_sample(model, sizes, 50, {"input": 30, "hidden": 200})
    assert w.flops == pytest.approx(50 * (64 * 7 + 10 * 6) + 30 * 64 * 2 + 200 * 10 * 1)
    assert w.memops == pytest.approx(50 * 74 * 8 + 30 * 64 * 1 + 200 * 10 * 1)


def test_hh_counts_its_exponentials():
    w = limits.neuron_step_work(load_model("hh"), "hidden")
    assert w.special == {"exp": 7.0, "sqrt": 1.0}  # models/hh.toml: 7 exponentials and a square root


def test_limit_is_the_slower_of_arithmetic_and_memory():
    rates = {"flops_per_s": 1e9, "memops_per_s": 1e8, "exp_per_s": 1e7}
    out = limits.limit_seconds(limits.Work(1e9, 1e7, {"exp": 1e7}), rates)
    assert out == {"arithmetic_s": 2.0, "memory_s": 0.1, "limit_s": 2.0}


def test_profile_places():
    assert place("python", ["PyEval"]) == "Python"
    assert place("main", ["_run_hidden_step_codeobject"]) == "neurons"
    assert place("main", ["__ieee754_exp_fma"]) == "neurons"
    assert place("main", ["_run_input_hidden_pre_codeobject"]) == "synaptic events"
    assert place("main", ["CSpikeQueue::push"]) == "synaptic events"
    assert place("main", ["_run_input_count_codeobject"]) == "time-step bookkeeping"
    assert place("main", ["task_sched_runtime", "posix_cpu_clock_get", "__x64_sys_clock_gettime"]) == \
        "time-step bookkeeping"
    assert place("main", ["copy_page_to_iter", "vfs_read"]) == "process and files"


def test_synthetic_shd_has_the_stated_density(tmp_path):
    folder = bench_presets.synthetic_shd(tmp_path, n_train=40, n_test=10)
    splits = make_dataset({"kind": "shd", "path": str(folder), "channels": 700, "n_steps": 120, "bin_ms": 10.0}, 0)
    counts = np.concatenate([np.asarray(splits[s].raster, dtype=float).sum(axis=(1, 2)) for s in splits])
    # 15.8 Hz x 700 channels x 0.6-1.0 s: 8,848 spikes per sample on average (Poisson, +-2% over 50 samples)
    assert counts.mean() == pytest.approx(bench_presets.SHD_RATE_HZ * 700 * 0.8, rel=0.05)
    assert counts.min() > 0.6 * bench_presets.SHD_RATE_HZ * 700 * 0.6


def test_synthetic_mnist_has_mnists_ink(tmp_path):
    folder = bench_presets.synthetic_mnist(tmp_path, n_train=300, n_test=100)
    from bioevo.data.idx import read_idx

    images = read_idx(folder / "train-images-idx3-ubyte")
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8
    assert (images > 0).mean() == pytest.approx(bench_presets.MNIST_INK, abs=0.01)


@pytest.mark.slow
def test_a_preset_generation_is_timed_with_its_strategy(tmp_path):
    """``bioevo bench``'s preset row: the evaluation of one generation, the strategy's generate and
    update of the same generations, and the spikes the limit is computed from."""
    row = bench_presets.time_preset("digits", 2, tmp_path, None,
                                    overrides=["strategy.es.popsize=4", "evolve.batch_size=8"])
    assert (row["P"], row["B"], row["T"]) == (4, 8, 16)
    assert row["generation_s"] > 0 and row["strategy_s"] > 0
    assert row["us_per_individual_sample"] == pytest.approx(1e6 * row["generation_s"] / 32)
    assert row["spikes_per_individual_sample"]["input"] > 0
