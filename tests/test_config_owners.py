"""Each config key is checked once, by its owner: a data kind checks its own keys (named
``data.<key>``), a model parameter says whether it is a time constant, and the batch size is
checked against the training set by one function, early where the keys say the set's size."""
from __future__ import annotations

import pytest

from bioevo import ConfigError, load_config, resources
from bioevo.data.kinds import DATA_KINDS, DataError
from bioevo.model import load_model


def test_a_model_parameter_says_whether_it_is_a_time_constant():
    """Declared by its unit in the model file: every shipped tau is one, nothing else is."""
    for name in resources.available("models"):
        for layer in load_model(name).layers.values():
            for p in layer.parameters.values():
                assert p.time_constant == p.name.startswith("tau"), f"{name}: {layer.name}.{p.name} ({p.unit})"


def test_randman_checks_its_own_keys_as_data_keys():
    data = {**DATA_KINDS["randman"].defaults, "split": [10, 0, 5]}
    with pytest.raises(DataError, match=r"^data\.split must be three integers >= 1 .*; val is 0$"):
        DATA_KINDS["randman"].check(data)


@pytest.mark.parametrize("overrides, message", [
    (["data.n_classes=1"], r"^data\.n_classes must be an integer >= 2, got 1$"),
    (["evolve.batch_size=21", "data.split=[10, 5, 5]"],
     r"^evolve\.batch_size 21 is larger than the training set \(20 samples\); allowed: 1\.\.20$"),
])
def test_randman_keys_fail_with_the_config_before_any_work(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("randman-2", overrides)


def test_unknown_model_name_is_named_as_the_config_key():
    with pytest.raises(ValueError, match=r"^unknown model\.name 'nope'; allowed: .*lif"):
        load_model("nope", key="model.name")
