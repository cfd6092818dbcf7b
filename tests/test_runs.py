"Data that never runs code, run folders that one run owns, runs that resume from anywhere (issue #44): on real processes."
import json, os, pickle, shutil, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import torch

from pstl.data import label_file
from pstl.core import LOCK_NAME
from test_outputs import pstl, one_line_error, TINY

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    pstl('synthetic', '--out', root/'data', '--n-train', 32, '--n-val', 16, '--max-persons', 1)
    return root/'data'

class Crafted:
    "What a crafted label file holds: unpickling it would run a shell command."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f"touch {self.marker}",))

def test_a_label_file_never_runs_code(data, tmp_path):
    marker, bad = tmp_path/'ran', tmp_path/'data'
    shutil.copytree(data, bad)
    with open(label_file(bad, 'train'), 'wb') as f: pickle.dump((['a'] * 32, [Crafted(marker)] + [0] * 31), f)
    r = pstl('pretrain', '--data', bad, '--out', tmp_path/'run', *TINY, check=False)
    one_line_error(r, f"{label_file(bad, 'train')}: refused: it names posix.system, which a label file has no use for")
    r = pstl('knn', '--data', bad, '--weights', tmp_path/'none.pt', check=False)
    assert r.returncode == 2 and not marker.exists()  # the marker is never made
    assert not (tmp_path/'run').exists()

def started(args, until_file, timeout=120):
    "A `pstl` process, once `until_file` exists."
    proc = subprocess.Popen([sys.executable, '-m', 'pstl', *map(str, args)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while not Path(until_file).exists() and proc.poll() is None and time.time() < deadline: time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    return proc

def test_a_second_run_into_a_claimed_folder_stops_at_once(data, tmp_path):
    out = tmp_path/'run'
    long = ['pretrain', '--data', data, '--out', out, '--epochs', 50, '--warmup-epochs', 1, '--batch-size', 8, '--projector-dim', 32, '--quiet']
    first = started(long, out/LOCK_NAME)
    try:
        second = pstl('pretrain', '--data', data, '--out', out, '--seed', 1, *TINY, check=False)
        one_line_error(second, f"{out}: another command is writing this pretraining run (pid {first.pid}): wait for it")
        assert first.poll() is None  # refused while the first still trains: it did not wait for the folder (no timing: a loaded CI machine varies)
        assert json.loads((out/'config.json').read_text())['seed'] == 0  # the first run's folder is still the first run's
    finally:
        first.kill(); first.wait()
    # SIGKILL leaves a stale lock file: the dead process no longer holds it, so the folder can be resumed
    assert (out/LOCK_NAME).exists()
    if (out/'checkpoint.pt').exists(): pstl('pretrain', '--out', out, '--resume', '--until', 2, '--quiet')

def test_sigterm_says_where_the_run_stopped_and_how_to_continue(data, tmp_path):
    out = tmp_path/'run'
    args = ['pretrain', '--data', data, '--out', out, '--epochs', 50, '--warmup-epochs', 1, '--batch-size', 8, '--projector-dim', 32, '--quiet']
    proc = started(args, out/'checkpoint.pt')
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 128 + signal.SIGTERM, err
    done = torch.load(out/'checkpoint.pt', weights_only=True)['epoch'] + 1
    assert err.strip() == f"pstl pretrain: stopped by SIGTERM: {out/'checkpoint.pt'} holds {done} of 50 epochs; continue with: pstl pretrain --out {out} --resume"
    assert not (out/LOCK_NAME).exists()  # released on the way out

def encoder_tensors(path): return torch.load(path, weights_only=True)['state_dict']

def test_a_moved_run_resumes_from_another_folder_bit_identical(data, tmp_path):
    here, elsewhere = tmp_path/'here', tmp_path/'elsewhere'
    here.mkdir(); elsewhere.mkdir()
    shutil.copytree(data, here/'data')
    pstl('pretrain', '--data', data, '--out', tmp_path/'whole', *TINY)  # uninterrupted
    pstl('pretrain', '--data', 'data', '--out', 'runs/t3', *TINY, '--until', 1, cwd=here)  # relative paths, as typed in a shell
    shutil.move(here/'runs'/'t3', tmp_path/'moved')
    r = pstl('pretrain', '--out', tmp_path/'moved', '--resume', '--quiet', cwd=elsewhere)  # the data is still where config.json says
    assert 'pretrained encoder' in r.stdout
    whole, moved = encoder_tensors(tmp_path/'whole'/'encoder.pt'), encoder_tensors(tmp_path/'moved'/'encoder.pt')
    assert all(torch.equal(whole[k], moved[k]) for k in whole)

def test_moved_data_is_found_with_data_when_it_is_the_same(data, tmp_path):
    shutil.copytree(data, tmp_path/'data')
    pstl('pretrain', '--data', tmp_path/'data', '--out', tmp_path/'run', *TINY, '--until', 1)
    shutil.move(tmp_path/'data', tmp_path/'data2')
    one_line_error(pstl('pretrain', '--out', tmp_path/'run', '--resume', check=False), 'names this data folder: if the data moved, point --data at it')
    pstl('synthetic', '--out', tmp_path/'other', '--n-train', 32, '--n-val', 16, '--max-persons', 1, '--seed', 5)
    one_line_error(pstl('pretrain', '--out', tmp_path/'run', '--resume', '--data', tmp_path/'other', check=False),
                   f"{tmp_path/'other'}: not the data {tmp_path/'run'} was started on")
    pstl('pretrain', '--out', tmp_path/'run', '--resume', '--data', tmp_path/'data2', '--quiet')
    assert (tmp_path/'run'/'encoder.pt').exists()

def test_a_torn_last_metrics_line_is_left_out_on_resume(data, tmp_path):
    out = tmp_path/'run'
    pstl('pretrain', '--data', data, '--out', out, *TINY, '--until', 1)
    with open(out/'metrics.jsonl', 'a') as f: f.write('{"epoch": 1, "lr": 0.00')  # killed while writing epoch 2's row
    pstl('pretrain', '--out', out, '--resume', '--quiet')
    assert [json.loads(l)['epoch'] for l in (out/'metrics.jsonl').read_text().splitlines()] == [0, 1, 2]
    (out/'metrics.jsonl').write_text('{"epoch": 0}\nnot json\n{"epoch": 2}\n')
    (out/'encoder.pt').unlink()
    one_line_error(pstl('pretrain', '--out', out, '--resume', '--quiet', check=False), f"{out/'metrics.jsonl'}: line 2 is not a metrics row")

def test_two_probe_seeds_beside_one_encoder_are_both_kept(data, tmp_path):
    pstl('pretrain', '--data', data, '--out', tmp_path/'run', *TINY)
    weights = tmp_path/'run'/'encoder.pt'
    for seed in (0, 1): pstl('linear', '--data', data, '--weights', weights, '--epochs', 3, '--seed', seed)
    kept = sorted((tmp_path/'run').glob('linear_joint_*.json'))
    assert len(kept) == 2 and sorted(json.loads(p.read_text())['made_by']['seed'] for p in kept) == [0, 1]
    r = pstl('linear', '--data', data, '--weights', weights, '--epochs', 3, '--seed', 1)
    assert '(kept: made by the same inputs and settings' in r.stdout
