"""Test-session settings: one torch thread per pytest worker (``make test`` runs 2 workers on 2 cores;
oversubscribed threads made the GRU backward pass of a tiny run 40x slower)."""

import torch

torch.set_num_threads(1)
