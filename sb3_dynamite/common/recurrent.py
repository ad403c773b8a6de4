"""Recurrent modules over sb3-contrib's padded training sequences, in one call where the resets allow it.

sb3-contrib's ``RecurrentActorCriticPolicy._process_sequence`` steps through a padded minibatch one time step at
a time whenever any sequence in it begins an episode: the LSTM then runs as ``max length`` separate calls, forward
and backward. Its rollout buffer splits sequences at episode starts, so a reset can only fall on a sequence's first
step; applying it to the initial state and running the module once over the whole sequence computes the same
values (bitwise on CPU) and the same gradients up to float rounding (the weight gradients are summed over time in
another order; tested). RecurrentPPO then trains 7-8x faster on HalfCheetahVel and GridWorld
(``benchmarks/results/throughput.md``). :func:`recurrent_sequences` does this for DynaMITE-RL's belief GRU (whose
resets are at episode starts only, never at the unobserved session boundaries) and for the LSTM of
:class:`FusedLstmPolicy`, RecurrentPPO's ``MlpLstmPolicy`` with it (the benchmarks' RL^2).
"""

from __future__ import annotations

import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from torch import nn

#: a GRU's state ``h`` or an LSTM's ``(h, c)``, each (layers, sequences, hidden)
RecurrentState = th.Tensor | tuple[th.Tensor, ...]


def _reset(state: RecurrentState, starts: th.Tensor) -> RecurrentState:
    """Zero the state of the sequences whose episode starts here (``starts`` 1), keep the others."""
    keep = (1.0 - starts).view(1, -1, 1)
    return tuple(keep * part for part in state) if isinstance(state, tuple) else keep * state


def recurrent_sequences(
    features: th.Tensor, state: RecurrentState, episode_starts: th.Tensor, module: nn.GRU | nn.LSTM
) -> tuple[th.Tensor, RecurrentState]:
    """Run ``module`` over flat padded sequences (``n_seq`` of equal length, one after the other), resetting its
    state where episodes start. Returns the flat outputs, in the input's order, and the final state.

    One call over the whole sequences when episodes start at most on their first step (always in sb3-contrib's
    training minibatches, and for single steps during rollouts); otherwise step by step."""
    n_seq = (state[0] if isinstance(state, tuple) else state).shape[1]
    sequence = features.reshape((n_seq, -1, module.input_size)).swapaxes(0, 1)
    starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)
    if th.all(starts[1:] == 0.0):
        output, state = module(sequence, _reset(state, starts[0]))
    else:
        outputs = []
        for step, start in zip(sequence, starts, strict=True):
            out, state = module(step.unsqueeze(0), _reset(state, start))
            outputs.append(out)
        output = th.cat(outputs)
    return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), state


class FusedLstmPolicy(RecurrentActorCriticPolicy):
    """RecurrentPPO's ``MlpLstmPolicy`` with its training sequences run through the LSTM in one call each
    (:func:`recurrent_sequences`): the same values, and gradients equal up to float rounding, in less time.
    Use it as ``RecurrentPPO(FusedLstmPolicy, env, ...)``."""

    @staticmethod
    def _process_sequence(
        features: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor, lstm: nn.LSTM
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        return recurrent_sequences(features, lstm_states, episode_starts, lstm)  # type: ignore[return-value]
