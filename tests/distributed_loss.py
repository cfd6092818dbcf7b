"Run by tests/test_distributed.py under torchrun: the Barlow Twins loss of a batch split over the ranks."
import json, os, sys
import torch
import torch.distributed as dist
from pstl.loss import BarlowTwins

def one_process_loss(head, a, b):
    "The formula on the whole batch, no process group involved."
    c = a.T @ b / a.shape[0]
    d = torch.diagonal(c)
    return (d - 1).pow(2).sum() + head.lambd * (c.pow(2).sum() - d.pow(2).sum())

if __name__ == '__main__':
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    batch, width = int(sys.argv[1]), int(sys.argv[2])
    g = torch.Generator().manual_seed(0)  # every rank draws the same whole batch, then keeps its slice
    a, b = (torch.randn(batch, width, generator=g, dtype=torch.float64) for _ in range(2))
    a, b = (a - a.mean(0)) / a.std(0, unbiased=False), (b - b.mean(0)) / b.std(0, unbiased=False)  # batch-normalised
    head = BarlowTwins(feature_dim=8, projector_dims=(width,), lambd=5e-3)
    full_a = a.clone().requires_grad_()
    whole = one_process_loss(head, full_a, b)
    whole.backward()
    share = slice(rank * batch // world, (rank + 1) * batch // world)
    mine = a[share].clone().requires_grad_()
    split = head.loss(mine, b[share])
    split.backward()
    # each rank's loss is the global one, so the all-reduce's backward sums world identical gradients; DDP's average
    # over the ranks divides by world again
    grad_error = (mine.grad / world - full_a.grad[share]).abs().max().item()
    losses = [None] * world
    dist.all_gather_object(losses, split.item())
    if rank == 0: print(json.dumps(dict(world=world, whole=whole.item(), split=losses, grad_error=grad_error)))
    dist.destroy_process_group()
