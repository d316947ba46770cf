"""The conventional networks (flax.linen), each reading the preset's encoded raster.

Every model takes a batch of rasters (B, T, M) of spike counts and returns
class logits (B, C):

* ``MLP``: the flattened raster (T*M values), ReLU hidden layers.
* ``CNN``: for images whose M units are the H x W pixels; the raster becomes an
  H x W image with one channel per time step, so the latency code reaches the
  network unchanged (no decoding step to choose); 3x3 convolutions, ReLU,
  2x2 max pooling after each, one dense ReLU layer.
* ``Recurrent``: a vanilla tanh RNN (``SimpleCell``) or a GRU over the time
  bins, one step per bin; the last hidden state feeds a linear readout.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class MLP(nn.Module):
    hidden: Sequence[int]
    n_classes: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        h = x.reshape((x.shape[0], -1))
        for width in self.hidden:
            h = nn.relu(nn.Dense(width)(h))
        return nn.Dense(self.n_classes)(h)


class CNN(nn.Module):
    image: tuple[int, int]
    channels: Sequence[int]
    dense: int
    n_classes: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        h = jnp.swapaxes(x, 1, 2).reshape((x.shape[0], *self.image, x.shape[1]))  # (B, H, W, T)
        for width in self.channels:
            h = nn.relu(nn.Conv(width, (3, 3), padding="SAME")(h))
            if min(h.shape[1:3]) >= 2:
                h = nn.max_pool(h, (2, 2), strides=(2, 2))
        h = nn.relu(nn.Dense(self.dense)(h.reshape((h.shape[0], -1))))
        return nn.Dense(self.n_classes)(h)


class Recurrent(nn.Module):
    cell: str  # 'rnn' (vanilla tanh) or 'gru'
    hidden: int
    n_classes: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        cell = nn.GRUCell(self.hidden) if self.cell == "gru" else nn.SimpleCell(self.hidden)
        last, _ = nn.RNN(cell, return_carry=True)(x)
        return nn.Dense(self.n_classes)(last)
