"""The block tail of the N-UCLA pretraining step, eager against inductor: does fusing it make the step cheaper?

The tail is what every ST-GCN block does after its temporal convolution: batch norm with the batch's statistics,
dropout, the residual added, ReLU. Eager runs the library's own modules (`nn.BatchNorm2d`, `FastDropout`); inductor
compiles the same four operations into fused kernels, once with static shapes (a compile per joint count: the anchor's
20 joints, CSM's 12) and once with the joint dimension dynamic (one compile for every joint count). Timed forward and
backward over every block's tail shape of one step of `pstl bench --case nucla` (batch 32, one person; the anchor at
50 frames and 20 joints, MATM's stream at 40 frames, CSM's at 12 joints), the median of --repeats. Before timing, each
compiled tail is checked against eager with dropout off. Writes tail.json (settings, results, provenance) into --out.

    python scripts/bench-tail.py [--out results/bench/tail] [--threads 2] [--repeats 20] [--force]
"""
import argparse, json, sys, time
from pathlib import Path
import torch, torch._dynamo
import torch.nn.functional as F
from torch import nn
from pstl.bench import INSTRUCTION_SETS
from pstl.core import atomic_write, provenance
from pstl.encoder import STGCN, FastDropout
from pstl.graph import KINECT20
from pstl.pretrain import cpu_flags

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('--out', default='results/bench/tail', help='where tail.json goes')
p.add_argument('--threads', type=int, default=2, help='torch threads')
p.add_argument('--repeats', type=int, default=20, help='timed steps per plan (the median is kept)')
p.add_argument('--force', action='store_true', help='measure again when tail.json exists with other settings')
args = p.parse_args()
if args.threads < 1 or args.repeats < 1: print(f"bench-tail: --threads and --repeats must be at least 1", file=sys.stderr); sys.exit(2)
out = Path(args.out)/'tail.json'
blocks = STGCN(KINECT20).blocks  # the encoder the N-UCLA study trains: each block's width, stride, dropout and residual
settings = dict(threads=args.threads, repeats=args.repeats, batch=32, persons=1,
                streams={'anchor': (50, 20), 'matm': (40, 20), 'csm': (50, 12)},  # (frames, joints): MATM removes 10 frames, CSM 8 joints
                widths=[b.tcn[0].num_features for b in blocks], strides=[b.tcn[2].stride[0] for b in blocks],
                dropout=max(b.tcn[4].p for b in blocks))
if out.exists():
    try: kept = json.loads(out.read_text())['made_by']
    except (ValueError, KeyError, TypeError): print(f"{out}: not a tail.json this script wrote", file=sys.stderr); sys.exit(2)
    if json.loads(json.dumps(settings)) == kept and not args.force: sys.exit(f"{out}: already measured with these settings; pass --force to measure again")
    if not args.force: print(f"{out}: made with other settings; pass --force to replace it", file=sys.stderr); sys.exit(2)
torch.set_num_threads(args.threads); torch.manual_seed(0)

def shapes():
    "(sequences, channels, frames, joints, dropout, residual) of every block's tail in one step."
    for frames, joints in settings['streams'].values():
        t = frames
        for b, c, s in zip(blocks, settings['widths'], settings['strides']):
            t = (t - 1) // s + 1
            yield (settings['batch'] * settings['persons'], c, t, joints, b.tcn[4].p, b.residual is not None)

class EagerTail(nn.Module):
    "The library's tail: its batch norm and dropout modules, the residual, ReLU."
    def __init__(self, c, p):
        super().__init__(); self.bn, self.drop = nn.BatchNorm2d(c), FastDropout(p)
    def forward(self, y, res): return F.relu(self.drop(self.bn(y)) + res)

def fused(y, res, weight, bias, p: float):
    "The same tail as one function inductor can fuse (its own dropout)."
    z = F.batch_norm(y, None, None, weight, bias, training=True, eps=1e-5)
    return F.relu(F.dropout(z, p, training=True) + res)

for knob in ('recompile_limit', 'cache_size_limit'):  # static shapes compile once per tail shape: let it, not fall back to eager
    if hasattr(torch._dynamo.config, knob): setattr(torch._dynamo.config, knob, 256)
static, dynamic = torch.compile(fused, dynamic=False), torch.compile(fused, dynamic=True)
cases = []
for n, c, t, v, pd, has_res in shapes():
    y = torch.randn(n, c, t, v, requires_grad=True)
    res = torch.randn(n, c, t, v, requires_grad=True) if has_res else torch.zeros(n, c, t, v)
    cases.append((EagerTail(c, pd), y, res, pd))

def plan_step(name):
    def step():
        for tail, y, res, pd in cases:
            if name == 'eager': o = tail(y, res)
            else: o = (static if name == 'inductor-static' else dynamic)(y, res, tail.bn.weight, tail.bn.bias, pd)
            o.sum().backward()
    return step

# the same math: with dropout off each compiled tail equals eager's to rounding
diff, compile_s = {}, {}
for name, f in (('inductor-static', static), ('inductor-dynamic', dynamic)):
    d, t0 = 0.0, time.perf_counter()
    for tail, y, res, _ in cases:
        with torch.no_grad(): d = max(d, (f(y, res, tail.bn.weight, tail.bn.bias, 0.0) - F.relu(tail.bn(y) + res)).abs().max().item())
    diff[name], compile_s[name] = d, round(time.perf_counter() - t0, 1)
if max(diff.values()) > 1e-4: print(f"bench-tail: compiled tail differs from eager by {max(diff.values()):.2e}", file=sys.stderr); sys.exit(1)

t_start, results = time.perf_counter(), {}
for name in ('eager', 'inductor-static', 'inductor-dynamic'):
    step = plan_step(name)
    for _ in range(3): step()  # untimed: inductor compiles the training graphs here
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    times.sort()
    results[name] = dict(ms_per_step=round(1e3 * times[len(times) // 2], 2))
    print(name, results[name], flush=True)
for name in ('inductor-static', 'inductor-dynamic'):
    results[name]['vs_eager'] = round(results[name]['ms_per_step'] / results['eager']['ms_per_step'], 3)
    results[name]['max_abs_diff_dropout_off'] = diff[name]
    results[name]['check_compile_s'] = compile_s[name]
doc = dict(made_by=settings, results=results, cpu_flags=sorted(cpu_flags() & INSTRUCTION_SETS), tails_per_step=len(cases),
           provenance=provenance(time.perf_counter() - t_start))
atomic_write(out, lambda f: f.write((json.dumps(doc, indent=1) + '\n').encode()))
print(f"wrote {out}")
