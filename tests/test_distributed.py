"DistributedDataParallel on CPU with gloo and two processes: the loss of a split batch, a run, a resume."
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest
import torch

from pstl.synthetic import write_synthetic

HERE = Path(__file__).parent

def torchrun(*args, nproc=2, check=True, **kw):
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}', *map(str, args)]
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    if check: assert r.returncode == 0, r.stderr[-3000:]
    return r

def descendants(pid):
    "Every process below `pid` (torchrun may start its workers in sessions of their own)."
    children = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try: fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError: continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []): found.append(child); todo.append(child)
    return found

def test_two_ranks_with_half_the_batch_give_the_one_process_loss():
    r = torchrun(HERE/'distributed_loss.py', 16, 32)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out['world'] == 2
    for loss in out['split']: assert loss == pytest.approx(out['whole'], rel=1e-12)
    assert out['grad_error'] < 1e-12

ARGS = ['--epochs', '3', '--warmup-epochs', '1', '--batch-size', '8', '--projector-dim', '32', '--quiet']

def test_torchrun_pretraining_runs_and_resumes_bit_identically(tmp_path):
    data = write_synthetic(tmp_path/'data', n_train=64, n_val=8, max_persons=1)
    whole = tmp_path/'whole'
    torchrun('-m', 'pstl', 'pretrain', '--data', data, '--out', whole, *ARGS)
    assert [json.loads(l)['epoch'] for l in (whole/'metrics.jsonl').read_text().splitlines()] == [0, 1, 2]  # rank 0 writes
    ckpt = torch.load(whole/'checkpoint.pt', weights_only=True)
    assert ckpt['world_size'] == 2 and len(ckpt['torch_rng']) == 2
    # the same run killed (launcher and both ranks) after its first checkpoint, then resumed on two processes
    run = tmp_path/'killed'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '-m', 'pstl', 'pretrain',
           '--data', str(data), '--out', str(run), *ARGS]
    proc = subprocess.Popen(cmd, env={**os.environ, 'OMP_NUM_THREADS': '1'}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not (run/'checkpoint.pt').exists(): time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    for pid in [proc.pid, *descendants(proc.pid)]:
        try: os.kill(pid, signal.SIGKILL)
        except ProcessLookupError: pass
    proc.wait(); time.sleep(0.5)
    assert not (run/'encoder.pt').exists()
    torchrun('-m', 'pstl', 'pretrain', '--out', run, '--resume', '--quiet')
    a = torch.load(whole/'encoder.pt', weights_only=True)['state_dict']
    b = torch.load(run/'encoder.pt', weights_only=True)['state_dict']
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [json.loads(l)['epoch'] for l in (run/'metrics.jsonl').read_text().splitlines()] == [0, 1, 2]

def test_a_batch_that_does_not_split_over_the_ranks_is_a_clear_error(tmp_path):
    data = write_synthetic(tmp_path/'data', n_train=32, n_val=8, max_persons=1)
    r = torchrun('-m', 'pstl', 'pretrain', '--data', data, '--out', tmp_path/'run', '--batch-size', '7', '--quiet', check=False)
    assert r.returncode != 0 and 'must split into equal slices of at least 2 over the 2 processes' in r.stderr
