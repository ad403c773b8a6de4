"""The losses of DynaMITE-RL's belief model, one function per term.

Indexing (SPEC §3.1), stated once. Transition ``j`` is ``(s_j, a_j, r_j, s_{j+1})``; ``d_j`` says it is the
last transition of its session ``sess(j)``. Belief ``b_t`` has seen transitions ``0 .. t-1``, so it belongs
to session ``S(t) = sess(t-1)`` (``S(0) = 0``). If ``d_j = 1``, ``b_{j+1}`` is the last belief of session
``sess(j)`` and ``b_{j+2}`` the first of the next one; the termination label of ``c_t`` is ``y_t = d_{t-2}``.

Shapes: ``B`` episodes, ``T`` transitions (padded), beliefs ``t = 0 .. T``; ``L = latent_dim``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch as th
from torch.nn import functional as F


class Sessions(NamedTuple):
    """Session bookkeeping of a batch of episodes."""

    transition: th.Tensor  # (B, T) long: sess(j)
    belief: th.Tensor  # (B, T + 1) long: S(t)
    boundary: th.Tensor  # (B, T + 1) bool: S(t) != S(t - 1), the first belief of a new session
    valid_transitions: th.Tensor  # (B, T) bool
    valid_beliefs: th.Tensor  # (B, T + 1) bool


def session_indices(session_end: th.Tensor, valid_transitions: th.Tensor) -> Sessions:
    """``sess(j)``, ``S(t)`` and the session boundaries between beliefs.

    :param session_end: (B, T) ``d_j`` (ignored where the transition is padding).
    :param valid_transitions: (B, T) True for real transitions.
    """
    ends = (session_end.bool() & valid_transitions).long()
    transition = th.cumsum(ends, dim=1) - ends  # number of sessions that ended before j
    belief = F.pad(transition, (1, 0))  # S(0) = 0, S(t) = sess(t - 1)
    boundary = F.pad(belief[:, 1:] != belief[:, :-1], (1, 0))
    valid_beliefs = F.pad(valid_transitions, (1, 0), value=True)
    return Sessions(transition, belief, boundary & valid_beliefs, valid_transitions, valid_beliefs)


def gaussian_kl(mu_q: th.Tensor, logvar_q: th.Tensor, mu_p: th.Tensor, logvar_p: th.Tensor) -> th.Tensor:
    """``KL(N(mu_q, e^logvar_q) || N(mu_p, e^logvar_p))`` summed over the last (latent) dimension."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0).sum(-1)


def masked_mean(values: th.Tensor, mask: th.Tensor) -> th.Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


def kl_terms(mu: th.Tensor, logvar: th.Tensor, sessions: Sessions, prior=None) -> th.Tensor:
    """(B, T + 1) KL of every belief to its prior, with prior latent conditioning.

    ``KL(b_0 || N(0, I))``; for ``t >= 1`` ``KL(b_t || b_{t-1})`` inside a session and
    ``KL(b_t || f(b_{t-1}))`` at a session boundary, where ``f`` is the latent-dynamics ``prior``
    (``b_{t-1}`` is then the previous session's final belief). With ``prior=None`` (VariBAD) it is always
    ``KL(b_t || b_{t-1})``. As in VariBAD, neither ``b_{t-1}`` nor the input of ``f`` is detached.

    :param mu: (B, T + 1, L) posterior means.
    :param logvar: (B, T + 1, L) posterior log-variances.
    :param prior: callable ``(mu, logvar) -> (mu', logvar')`` or None.
    """
    prior_mu = F.pad(mu[:, :-1], (0, 0, 1, 0))  # N(0, I) before b_0, then b_{t-1}
    prior_logvar = F.pad(logvar[:, :-1], (0, 0, 1, 0))
    if prior is not None:
        next_mu, next_logvar = prior(prior_mu, prior_logvar)
        boundary = sessions.boundary.unsqueeze(-1)
        prior_mu = th.where(boundary, next_mu, prior_mu)
        prior_logvar = th.where(boundary, next_logvar, prior_logvar)
    return gaussian_kl(mu, logvar, prior_mu, prior_logvar)


def kl_loss(mu: th.Tensor, logvar: th.Tensor, sessions: Sessions, prior=None) -> th.Tensor:
    """The KL term: :func:`kl_terms` averaged over the valid beliefs."""
    return masked_mean(kl_terms(mu, logvar, sessions, prior), sessions.valid_beliefs)


def session_end_beliefs(sessions: Sessions) -> th.Tensor:
    """(B, T + 1) index of ``b_end(S(t))``: the last belief of each belief's session."""
    steps = th.arange(sessions.belief.shape[1], device=sessions.belief.device).expand_as(sessions.belief)
    steps = th.where(sessions.valid_beliefs, steps, th.zeros_like(steps))
    last = th.zeros_like(steps).scatter_reduce(1, sessions.belief, steps, reduce="amax", include_self=True)
    return last.gather(1, sessions.belief)


def consistency_terms(mu: th.Tensor, logvar: th.Tensor, sessions: Sessions) -> tuple[th.Tensor, th.Tensor]:
    """(B, T) hinge ``max(delta_{t+1} - sg(delta_t), 0)`` for consecutive beliefs and the mask of the pairs
    that lie in one session, with ``delta_t = KL(b_t || sg(b_end(S(t))))``."""
    end = session_end_beliefs(sessions).unsqueeze(-1).expand_as(mu)
    delta = gaussian_kl(mu, logvar, mu.gather(1, end).detach(), logvar.gather(1, end).detach())
    pairs = (sessions.belief[:, 1:] == sessions.belief[:, :-1]) & sessions.valid_beliefs[:, 1:]
    return F.relu(delta[:, 1:] - delta[:, :-1].detach()), pairs


def consistency_loss(mu: th.Tensor, logvar: th.Tensor, sessions: Sessions) -> th.Tensor:
    """Session consistency: inside a session the belief must not move away from the session's final one.

    The mean, over consecutive beliefs of the same session, of ``max(delta_{t+1} - sg(delta_t), 0)`` with
    ``delta_t = KL(b_t || sg(b_end(S(t))))``. The stop-gradients matter: without them the hinge is
    satisfied by pushing the *earlier* belief away from the session's final belief.
    """
    hinge, pairs = consistency_terms(mu, logvar, sessions)
    return masked_mean(hinge, pairs)


def termination_labels(session_end: th.Tensor, sessions: Sessions) -> th.Tensor:
    """(B, T + 1) labels ``y_t = d_{t-2}`` (``y_0 = y_1 = 0``): ``b_t`` is the first belief of a new session."""
    ends = (session_end.bool() & sessions.valid_transitions).float()
    return F.pad(ends, (2, 0))[:, : sessions.belief.shape[1]]


def termination_loss(logits: th.Tensor, session_end: th.Tensor, sessions: Sessions) -> tuple[th.Tensor, th.Tensor]:
    """Binary cross-entropy of ``c_t`` against ``y_t``, and the accuracy of ``c_t > 0.5``."""
    labels = termination_labels(session_end, sessions)
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    correct = ((logits > 0).float() == labels).float()
    return masked_mean(bce, sessions.valid_beliefs), masked_mean(correct, sessions.valid_beliefs)


class DecodePairs(NamedTuple):
    """Which transitions each selected belief decodes, with averaging weights."""

    belief: th.Tensor  # (B, K) index t of the selected beliefs
    target: th.Tensor  # (B, K, M) index j of the decoded transitions
    weight: th.Tensor  # (B, K, M) sums to 1 over M for every selected valid belief, 0 for padding


def decode_pairs(
    sessions: Sessions,
    session_masking: bool,
    max_beliefs: int | None,
    max_decodes: int | None,
    generator: th.Generator | None = None,
) -> DecodePairs:
    """The (belief, transition) pairs of the reconstruction term, with a cap on their number.

    With ``session_masking`` belief ``b_t`` decodes the transitions ``j`` with ``sess(j) = S(t)`` (past and
    future within its session); without it (VariBAD), every transition of the episode. At most
    ``max_beliefs`` beliefs per episode are used (drawn without replacement) and each decodes at most
    ``max_decodes`` targets (all of them when its set is that small, else drawn uniformly with
    replacement): never ``B * T^2`` pairs at long horizons. The weights average the NLL over the
    decoded targets of each belief, so masked and unmasked runs have the same scale.
    """
    n_episodes, n_beliefs = sessions.belief.shape
    n_transitions = n_beliefs - 1
    device = sessions.belief.device
    length = sessions.valid_transitions.sum(dim=1)  # (B,)
    if session_masking:
        ones = sessions.valid_transitions.long()
        size = th.zeros_like(ones).scatter_add(1, sessions.transition, ones)  # transitions per session
        first = th.full_like(ones, n_transitions).scatter_reduce(
            1, sessions.transition, th.arange(n_transitions, device=device).expand_as(ones), reduce="amin"
        )
        start, count = first.gather(1, sessions.belief), size.gather(1, sessions.belief)  # (B, T + 1)
    else:
        start = th.zeros_like(sessions.belief)
        count = length[:, None].expand_as(sessions.belief)
    k = n_beliefs if max_beliefs is None else min(max_beliefs, n_beliefs)
    if k < n_beliefs:
        scores = th.rand(n_episodes, n_beliefs, device=device, generator=generator)
        belief = scores.masked_fill(~sessions.valid_beliefs, -1.0).topk(k, dim=1).indices
    else:
        belief = th.arange(n_beliefs, device=device).expand(n_episodes, -1)
    selected_valid = sessions.valid_beliefs.gather(1, belief) & (count.gather(1, belief) > 0)
    start, count = start.gather(1, belief)[..., None], count.gather(1, belief)[..., None]  # (B, K, 1)
    m = n_transitions if max_decodes is None else min(max_decodes, n_transitions)
    slot = th.arange(m, device=device).expand(n_episodes, k, m)
    exact = count <= m  # enumerate small sets, sample large ones
    uniform = th.rand(n_episodes, k, m, device=device, generator=generator)
    offset = th.where(exact, th.minimum(slot, (count - 1).clamp(min=0)), (uniform * count).long())
    target = (start + offset).clamp(max=max(n_transitions - 1, 0))
    weight = th.where(exact, (slot < count).float() / count.clamp(min=1), th.full_like(uniform, 1.0 / m))
    return DecodePairs(belief, target, weight * selected_valid[..., None])


def reconstruction_loss(nll: th.Tensor, pairs: DecodePairs) -> th.Tensor:
    """Per-belief average NLL of its decoded targets, averaged over the selected valid beliefs.

    :param nll: (B, K, M) negative log-likelihood of each pair.
    """
    n_valid = (pairs.weight.sum(dim=-1) > 0).sum().clamp(min=1)
    return (nll * pairs.weight).sum() / n_valid
