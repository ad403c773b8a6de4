"""Each belief-model loss on handcrafted sessions (SPEC §3.1-3.2)."""

from __future__ import annotations

import torch as th

from sb3_dynamite.dynamite import losses

# transitions 0..6; d_2 = 1 and d_4 = 1: sessions {0,1,2}, {3,4}, {5,6}
SESSION_END = th.tensor([[0, 0, 1, 0, 1, 0, 0]], dtype=th.bool)
VALID = th.ones_like(SESSION_END)


def sessions() -> losses.Sessions:
    return losses.session_indices(SESSION_END, VALID)


def test_session_indices_follow_the_stated_indexing() -> None:
    s = sessions()
    assert s.transition.tolist() == [[0, 0, 0, 1, 1, 2, 2]]
    # b_t has seen transitions 0..t-1: S(0) = 0, S(t) = sess(t - 1)
    assert s.belief.tolist() == [[0, 0, 0, 0, 1, 1, 2, 2]]
    # the first belief of a new session is b_{j+2} for d_j = 1
    assert th.nonzero(s.boundary[0]).flatten().tolist() == [4, 6]
    assert losses.session_end_beliefs(s).tolist() == [[3, 3, 3, 3, 5, 5, 7, 7]]


def test_termination_labels_are_session_end_shifted_by_two() -> None:
    labels = losses.termination_labels(SESSION_END, sessions())
    assert labels.tolist() == [[0, 0, 0, 0, 1, 0, 1, 0]]
    assert labels[0, 2:].bool().tolist() == SESSION_END[0, :6].tolist()


def test_padding_is_masked_everywhere() -> None:
    ends = th.tensor([[0, 1, 0, 1, 1]], dtype=th.bool)  # the last two transitions are padding
    valid = th.tensor([[1, 1, 1, 0, 0]], dtype=th.bool)
    s = losses.session_indices(ends, valid)
    assert s.valid_beliefs.tolist() == [[True, True, True, True, False, False]]
    assert th.nonzero(s.boundary[0]).flatten().tolist() == [3]
    pairs = losses.decode_pairs(s, True, None, None)
    assert not bool((pairs.weight[pairs.target >= 3] > 0).any())


def test_masking_decodes_exactly_the_same_session_pairs() -> None:
    s = sessions()
    pairs = losses.decode_pairs(s, session_masking=True, max_beliefs=None, max_decodes=None)
    for k, t in enumerate(pairs.belief[0].tolist()):
        decoded = {j for j, w in zip(pairs.target[0, k].tolist(), pairs.weight[0, k].tolist(), strict=True) if w > 0}
        expected = {j for j in range(7) if s.transition[0, j] == s.belief[0, t]}
        assert decoded == expected, (t, decoded, expected)
        assert abs(float(pairs.weight[0, k].sum()) - 1.0) < 1e-6  # averaged over the decoded targets


def test_without_masking_every_belief_decodes_the_whole_episode() -> None:
    pairs = losses.decode_pairs(sessions(), session_masking=False, max_beliefs=None, max_decodes=None)
    for k in range(pairs.belief.shape[1]):
        decoded = {j for j, w in zip(pairs.target[0, k].tolist(), pairs.weight[0, k].tolist(), strict=True) if w > 0}
        assert decoded == set(range(7))


def test_capped_pairs_stay_in_session_and_bound_the_count() -> None:
    ends = (th.rand(4, 400, generator=th.Generator().manual_seed(0)) < 0.01)
    s = losses.session_indices(ends, th.ones_like(ends))
    pairs = losses.decode_pairs(s, session_masking=True, max_beliefs=50, max_decodes=50,
                                generator=th.Generator().manual_seed(1))
    assert pairs.target.shape == (4, 50, 50)  # at most 2,500 pairs per episode, whatever the horizon
    belief_session = s.belief.gather(1, pairs.belief)[..., None].expand_as(pairs.target)
    target_session = s.transition.gather(1, pairs.target.flatten(1)).view_as(pairs.target)
    assert bool((target_session == belief_session)[pairs.weight > 0].all())
    assert th.allclose(pairs.weight.sum(-1), th.ones(4, 50))
    assert len(set(pairs.belief[0].tolist())) == 50  # distinct beliefs


def test_reconstruction_has_the_same_scale_with_and_without_masking() -> None:
    s = sessions()
    for masking in (True, False):
        pairs = losses.decode_pairs(s, masking, None, None)
        nll = th.full(pairs.target.shape, 2.5)
        assert abs(float(losses.reconstruction_loss(nll, pairs)) - 2.5) < 1e-6


def test_kl_prior_switches_to_latent_dynamics_exactly_at_boundaries() -> None:
    s = sessions()
    g = th.Generator().manual_seed(0)
    mu, logvar = th.randn(1, 8, 3, generator=g), 0.3 * th.randn(1, 8, 3, generator=g)
    shift = lambda m, lv: (m + 10.0, lv - 1.0)  # noqa: E731  a recognisable "latent dynamics"
    conditioned = losses.kl_terms(mu, logvar, s, prior=shift)
    varibad = losses.kl_terms(mu, logvar, s, prior=None)
    zero = th.zeros(3)
    assert th.allclose(varibad[0, 0], losses.gaussian_kl(mu[0, 0], logvar[0, 0], zero, zero))
    for t in range(1, 8):
        assert th.allclose(varibad[0, t], losses.gaussian_kl(mu[0, t], logvar[0, t], mu[0, t - 1], logvar[0, t - 1]))
        if t in (4, 6):  # the new session is pulled to f(b_end of the previous session)
            expected = losses.gaussian_kl(mu[0, t], logvar[0, t], mu[0, t - 1] + 10, logvar[0, t - 1] - 1)
            assert th.allclose(conditioned[0, t], expected)
            assert t - 1 == losses.session_end_beliefs(s)[0, t - 1]
        else:
            assert th.allclose(conditioned[0, t], varibad[0, t])


def test_kl_does_not_detach_the_previous_belief() -> None:
    mu = th.randn(1, 8, 2, requires_grad=True)
    logvar = th.zeros(1, 8, 2, requires_grad=True)
    losses.kl_loss(mu, logvar, sessions(), prior=lambda m, lv: (2 * m, lv)).backward()
    assert bool((mu.grad[0, :-1].abs().sum(-1) > 0).all())


def test_consistency_is_zero_when_beliefs_approach_the_session_end_monotonically() -> None:
    s = sessions()
    ends = {0: th.tensor([1.0, -1.0]), 1: th.tensor([-2.0, 0.5]), 2: th.tensor([0.0, 3.0])}
    mu = th.zeros(1, 8, 2)
    position = {0: 0, 1: 0, 2: 0}
    for t in range(8):  # each belief moves halfway (and further) towards its session's final value
        i = int(s.belief[0, t])
        mu[0, t] = ends[i] * (1 - 0.5 ** position[i]) if t not in (3, 5, 7) else ends[i]
        position[i] += 1
    logvar = th.full_like(mu, -1.0)
    assert float(losses.consistency_loss(mu, logvar, s)) == 0.0
    moving_away = mu.clone()
    moving_away[0, 2] = ends[0] + 5.0  # b_2 jumps away from b_end(0) = b_3, then b_3 comes back: b_1 -> b_2 rises
    assert float(losses.consistency_loss(moving_away, logvar, s)) > 0.0


def test_consistency_gradient_moves_only_the_later_belief() -> None:
    s = sessions()
    mu = th.zeros(1, 8, 1)
    mu[0, 0] = 0.5  # delta_0 > delta_1 = 0: the pair (0, 1) is inactive
    mu[0, 2] = 2.0  # delta_2 > delta_1: the hinge of the pair (1, 2) is active
    mu.requires_grad_(True)
    losses.consistency_loss(mu, th.zeros(1, 8, 1), s).backward()
    assert float(mu.grad[0, 2].abs()) > 0  # b_2 is pulled towards b_end(0)
    assert float(mu.grad[0, 1].abs()) == 0.0  # sg(delta_1): the earlier belief is not pushed away
    assert float(mu.grad[0, 3].abs()) == 0.0  # sg(b_end): the session's final belief is the fixed target


def test_termination_loss_and_accuracy() -> None:
    s = sessions()
    labels = losses.termination_labels(SESSION_END, s)
    perfect = (labels * 2 - 1) * 20.0
    bce, accuracy = losses.termination_loss(perfect, SESSION_END, s)
    assert float(bce) < 1e-6 and float(accuracy) == 1.0
    bce, accuracy = losses.termination_loss(-perfect, SESSION_END, s)
    assert float(bce) > 10 and float(accuracy) == 0.0
