"Bad input that used to get through (issue #43): each stops in one line naming the file and what is wrong, exit 2, nothing written."
import pickle, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pstl.data import load_prepared, save_prepared, label_file
from test_outputs import pstl, one_line_error, digest, tiny_runs, TINY

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A tiny prepared set (8 classes) and a joint encoder pretrained on it."
    return tiny_runs(tmp_path_factory.mktemp('bad'))

def altered(run, tmp_path, split, change):
    "A copy of the prepared data whose `split` is `change(SkeletonSet)`; no record of what made it (it was made by hand)."
    out = tmp_path/'altered'
    shutil.copytree(run/'data', out); (out/'prepared.json').unlink()
    save_prepared(change(load_prepared(out, split, mmap=False)), out, split)
    return out

def relabel(label):
    def change(s): s.labels = s.labels.copy(); s.labels[3] = label; return s
    return change

@pytest.mark.parametrize('command', ['linear', 'knn'])
def test_a_test_label_the_training_split_never_had(run, tmp_path, command):
    data = altered(run, tmp_path, 'val', relabel(99))
    r = pstl(command, '--data', data, '--weights', run/'joint'/'encoder.pt', '--out', tmp_path/'out', check=False)
    one_line_error(r, f"{label_file(data, 'val')}: label 99 is not among the training split's 8 classes (0 to 7)")
    assert not (tmp_path/'out').exists()

def test_a_training_label_that_leaves_classes_empty(run, tmp_path):
    data = altered(run, tmp_path, 'train', relabel(99))
    r = pstl('linear', '--data', data, '--weights', run/'joint'/'encoder.pt', '--out', tmp_path/'out', check=False)
    one_line_error(r, f"{label_file(data, 'train')}: labels run to 99 but no training sequence has label 8")

@pytest.mark.parametrize('value', ['inf', '-inf', 'nan'])
def test_a_learning_rate_that_is_not_finite(run, tmp_path, value):
    r = pstl('linear', '--data', run/'data', '--weights', run/'joint'/'encoder.pt', f'--lr={value}', '--out', tmp_path/'out', check=False)
    one_line_error(r, f"argument --lr: {value}: must be a finite number")
    one_line_error(pstl('pretrain', '--data', run/'data', '--out', tmp_path/'new', f'--lr={value}', check=False), 'must be a finite number')
    assert not (tmp_path/'out').exists() and not (tmp_path/'new').exists()

def test_coordinates_far_outside_any_skeleton(run, tmp_path):
    def far(s): s.data = s.data.copy(); s.data[5, 0, 0, 0, 0] = 1e30; return s
    data = altered(run, tmp_path, 'train', far)
    r = pstl('linear', '--data', data, '--weights', run/'joint'/'encoder.pt', '--out', tmp_path/'out', check=False)
    one_line_error(r, f"{data/'train_position.npy'}: sample 5 has a coordinate of 1e+30, far outside any skeleton's range")

def test_a_corrupt_record_of_what_made_the_data(run, tmp_path):
    data = tmp_path/'data'; shutil.copytree(run/'data', data)
    (data/'prepared.json').write_text('{"made_by": {"command": ')
    r = pstl('linear', '--data', data, '--weights', run/'joint'/'encoder.pt', '--out', tmp_path/'out', check=False)
    one_line_error(r, f"{data/'prepared.json'}: unreadable record of what made this data: prepare it again with --force")

def test_an_empty_training_split(run, tmp_path):
    data = altered(run, tmp_path, 'train', lambda s: s.subset(np.arange(0)))
    r = pstl('knn', '--data', data, '--weights', run/'joint'/'encoder.pt', '--out', tmp_path/'out', check=False)
    one_line_error(r, f"{data/'train_position.npy'}: no train sequences (an empty split)")

def test_weights_holding_a_bare_tensor(run, tmp_path):
    torch.save(torch.zeros(3), tmp_path/'bare.pt')
    r = pstl('linear', '--data', run/'data', '--weights', tmp_path/'bare.pt', check=False)
    one_line_error(r, f"{tmp_path/'bare.pt'}: not an encoder file: it holds a bare Tensor")  # one line: no warning before it

def test_prepared_data_and_a_run_never_share_a_folder(run, tmp_path):
    run_copy = tmp_path/'joint'; shutil.copytree(run/'joint', run_copy)
    before = digest(run_copy)
    raw = Path(__file__).resolve().parents[2]/'shared'/'data'/'nucla'
    r = pstl('prepare', 'nucla', '--raw', raw, '--out', run_copy, '--quiet', check=False)
    one_line_error(r, f"{run_copy} holds a pretraining run (config.json), not prepared data: a folder holds one kind of thing")
    one_line_error(pstl('synthetic', '--out', run_copy, check=False), 'not prepared data')
    data = tmp_path/'data'; shutil.copytree(run/'data', data)
    kept = digest(data)
    r = pstl('pretrain', '--data', data, '--out', data, *TINY, check=False)
    one_line_error(r, f"{data} holds prepared data (train_position.npy): a run needs a folder of its own")
    assert digest(run_copy) == before and digest(data) == kept

def in_small_tmpfs(script: str, size='20m') -> subprocess.CompletedProcess:
    "Run a shell `script` in a mount namespace of its own, with a small tmpfs at $FS (a full disk, made on purpose)."
    probe = subprocess.run(['unshare', '-m', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d"'], capture_output=True, text=True)
    if probe.returncode: pytest.skip(f'no tmpfs mount here (unshare -m: {probe.stderr.strip()})')
    return subprocess.run(['unshare', '-m', 'sh', '-c', f'FS=$(mktemp -d) && mount -t tmpfs -o size={size} tmpfs "$FS" && export FS && ' + script],
                          capture_output=True, text=True)

def test_a_full_disk_stops_in_one_line_and_the_run_resumes(run):
    "A checkpoint is about 12 MB here: 20 MB hold the first, not the first and the second being written beside it."
    q, args = sys.executable, "--epochs 3 --warmup-epochs 1 --batch-size 8 --projector-dim 256 --quiet"
    r = in_small_tmpfs(f"""
        {q} -m pstl pretrain --data {run/'data'} --out $FS/run {args} 2>"$FS/../err"; echo "rc1=$?"; cat "$FS/../err"
        mount -o remount,size=64m "$FS"                         # space freed
        {q} -m pstl pretrain --out $FS/run --resume --quiet; echo "rc2=$?"
        {q} -c "import json; print('epochs', [json.loads(l)['epoch'] for l in open('$FS/run/metrics.jsonl')])" """)
    out = r.stdout
    assert 'rc1=2' in out, (out, r.stderr)
    err = out.split('rc1=2\n', 1)[1].split('\n', 1)[0]
    assert err.startswith('pstl pretrain: error: ') and err.endswith(
        'checkpoint.pt: no space left on the device (the file kept its last whole version); free some space, then continue with: '
        'pstl pretrain --out ' + err.split('--out ')[1]), err
    assert 'Traceback' not in out and err.split('--out ')[1].endswith('/run --resume'), out
    assert 'rc2=0' in out and 'epochs [0, 1, 2]' in out, (out, r.stderr)  # resumed from epoch 1, every epoch once
