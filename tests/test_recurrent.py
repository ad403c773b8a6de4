"""Fused recurrent sequences: the same values as sb3-contrib's step-by-step loop (bitwise) and the same gradients
up to float rounding, hence the same RL^2 update; and a checkpoint of the stock policy resumes with the fused one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from torch import nn

from benchmarks import methods
from sb3_dynamite.common.recurrent import FusedLstmPolicy, recurrent_sequences

N_SEQ, LENGTH, FEATURES, HIDDEN = 3, 7, 4, 5


def step_by_step(features: th.Tensor, state, episode_starts: th.Tensor, module: nn.Module):
    """The reference: one module call per time step, resetting where an episode starts."""
    sequence = features.reshape(N_SEQ, LENGTH, FEATURES).swapaxes(0, 1)
    starts = episode_starts.reshape(N_SEQ, LENGTH).swapaxes(0, 1)
    outputs = []
    for step, start in zip(sequence, starts, strict=True):
        keep = (1.0 - start).view(1, N_SEQ, 1)
        state = tuple(keep * s for s in state) if isinstance(state, tuple) else keep * state
        out, state = module(step.unsqueeze(0), state)
        outputs.append(out)
    return th.cat(outputs).transpose(0, 1).flatten(0, 1), state


def values_and_gradients(run, module: nn.Module, features: th.Tensor, state, starts: th.Tensor):
    module.zero_grad()
    features = features.clone().requires_grad_(True)
    output, final = run(features, state, starts, module)
    final_h = final[0] if isinstance(final, tuple) else final
    (output.square().sum() + final_h.sum()).backward()
    return [output, final_h, features.grad] + [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("cell", [nn.GRU, nn.LSTM])
@pytest.mark.parametrize("where", ["first steps", "mid-sequence"])
def test_recurrent_sequences_match_the_step_by_step_loop(cell: type[nn.Module], where: str) -> None:
    th.manual_seed(0)
    module = cell(FEATURES, HIDDEN)
    features = th.randn(N_SEQ * LENGTH, FEATURES)
    h = th.randn(1, N_SEQ, HIDDEN)
    state = (h, th.randn(1, N_SEQ, HIDDEN)) if cell is nn.LSTM else h
    starts = th.zeros(N_SEQ, LENGTH)
    starts[0, 0] = starts[2, 0] = 1.0  # sequences 0 and 2 begin an episode (sb3-contrib's training minibatches)
    if where == "mid-sequence":
        starts[1, 4] = 1.0  # an episode starting inside a sequence: the loop
    starts = starts.flatten()
    fused = values_and_gradients(recurrent_sequences, module, features, state, starts)
    reference = values_and_gradients(step_by_step, module, features, state, starts)
    for a, b in zip(fused[:2], reference[:2], strict=True):  # outputs and final state: bitwise
        assert th.equal(a, b)
    for a, b in zip(fused[2:], reference[2:], strict=True):  # gradients: summed over time in another order
        th.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        if where == "mid-sequence":  # the loop itself
            assert th.equal(a, b)
    # the reset really happened: a sequence that begins an episode ignores its initial state
    other = (state[0] * 7.0, state[1] * 7.0) if cell is nn.LSTM else state * 7.0
    output, _ = recurrent_sequences(features, other, starts, module)
    reference_output = fused[0].detach()
    rows = output.detach().reshape(N_SEQ, LENGTH, HIDDEN)
    assert th.equal(rows[0], reference_output.reshape(N_SEQ, LENGTH, HIDDEN)[0])
    assert not th.equal(rows[1], reference_output.reshape(N_SEQ, LENGTH, HIDDEN)[1])


def test_fused_lstm_policy_trains_rl2_like_sb3_contrib() -> None:
    """Two PPO iterations of RecurrentPPO with sb3-contrib's MlpLstmPolicy and with FusedLstmPolicy, from one seed,
    on short episodes (many resets in the minibatches): the same parameters, up to float rounding."""
    kwargs = dict(n_steps=64, batch_size=32, n_epochs=2, seed=3, policy_kwargs={"lstm_hidden_size": 16},
                  device="cpu")
    stock = RecurrentPPO(RecurrentActorCriticPolicy, "CartPole-v1", **kwargs).learn(128)
    fused = RecurrentPPO(FusedLstmPolicy, "CartPole-v1", **kwargs).learn(128)
    assert stock.rollout_buffer.episode_starts.sum() > 1  # resets inside the last rollout, not only its start
    trained = stock.policy.state_dict()
    assert any(not th.equal(value, RecurrentPPO(RecurrentActorCriticPolicy, "CartPole-v1", **kwargs)
                            .policy.state_dict()[key]) for key, value in trained.items())  # it did train
    for key, value in fused.policy.state_dict().items():
        th.testing.assert_close(value, trained[key], rtol=1e-4, atol=1e-5, msg=key)


def test_rl2_runs_the_fused_policy_and_resumes_a_stock_checkpoint_with_it(tmp_path: Path) -> None:
    from benchmarks.checkpoint import load_checkpoint, save_checkpoint

    rl2, env_id = methods.METHODS["rl2"], "dlcmdp/GridWorld-v0"
    model, _, settings = methods.build_learner(rl2, env_id, 0, {})
    assert type(model.policy) is FusedLstmPolicy  # the zoo file names it
    assert settings["policy"] == "sb3_dynamite.common.recurrent.FusedLstmPolicy"
    # a run recorded with sb3-contrib's policy alias (before the file named ours) built the same learner: not stale
    record = {"method": "rl2", "env_id": env_id, "env_kwargs": {}, "settings": {**settings, "policy": "MlpLstmPolicy"}}
    assert methods.changed_settings(record) == []
    assert methods.changed_settings({**record, "settings": {**settings, "policy": "MlpPolicy"}}) == ["policy"]
    stock = RecurrentPPO("MlpLstmPolicy", model.get_env(), seed=0, policy_kwargs=model.policy_kwargs)  # saved before
    stock.policy.load_state_dict(model.policy.state_dict())
    state = {"budget": 4096, "settings": settings}
    save_checkpoint(stock, tmp_path / "seed0.json", state)
    restored, _ = load_checkpoint(model, tmp_path / "seed0.json", state, seed=0)
    assert type(restored.policy) is FusedLstmPolicy
    for key, value in stock.policy.state_dict().items():
        assert th.equal(value, restored.policy.state_dict()[key]), key
