"No result lost, overwritten or mixed up: every command that writes, on the mistakes a new user makes (issue #26)."
import hashlib, json, os, pickle, shutil, signal, stat, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import pytest
import torch

from pstl.data import load_prepared, save_prepared

TINY = ['--epochs', '3', '--warmup-epochs', '1', '--batch-size', '8', '--projector-dim', '32', '--quiet']
SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'

def pstl(*args, check=True, **kw):
    "Run the console script as a user would; returns the completed process."
    r = subprocess.run([sys.executable, '-m', 'pstl', *map(str, args)], capture_output=True, text=True, **kw)
    if check: assert r.returncode == 0, r.stderr
    return r

def one_line_error(r, message):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert message in r.stderr, r.stderr

def digest(folder): return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir()) if p.is_file()}

def tiny_runs(root, streams=('joint',)):
    "`root/data`, a tiny prepared set (8 classes), and `root/<stream>`, an encoder pretrained on it for each of `streams`."
    pstl('synthetic', '--out', root/'data', '--n-train', 32, '--n-val', 16, '--max-persons', 1)
    for stream in streams: pstl('pretrain', '--data', root/'data', '--out', root/stream, '--stream', stream, *TINY)
    return root

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A tiny prepared set, and a joint and a motion encoder pretrained on it."
    return tiny_runs(tmp_path_factory.mktemp('outputs'), ('joint', 'motion'))

# 1. prepared data is never written over
def test_synthetic_keeps_the_same_set_and_refuses_another(tmp_path):
    out = tmp_path/'data'
    pstl('synthetic', '--out', out, '--n-train', 16, '--n-val', 8)
    before, mtime = digest(out), (out/'train_position.npy').stat().st_mtime_ns
    r = pstl('synthetic', '--out', out, '--n-train', 16, '--n-val', 8)  # the same settings: kept as it is
    assert digest(out) == before and (out/'train_position.npy').stat().st_mtime_ns == mtime
    one_line_error(pstl('synthetic', '--out', out, '--n-train', 24, '--n-val', 8, check=False), '(n_train: 16 -> 24): pass --force')
    assert digest(out) == before
    pstl('synthetic', '--out', out, '--n-train', 24, '--n-val', 8, '--force')
    assert len(load_prepared(out, 'train')) == 24

def nucla_subset(tmp_path, n=12):
    "A few genuine N-UCLA files (views 1 and 3), copied to a scratch folder for the test."
    files = sorted((SHARED/'nucla'/'all_sqe').glob('*.json'))
    if not files: pytest.fail(f"{SHARED/'nucla'}: the N-UCLA files are missing")
    raw = tmp_path/'nucla'/'all_sqe'; raw.mkdir(parents=True)
    for f in [f for f in files if f.stem.endswith('_v01')][:n] + [f for f in files if f.stem.endswith('_v03')][:n]: shutil.copy(f, raw)
    return raw.parent

def test_prepare_refuses_a_folder_holding_other_prepared_data(tmp_path):
    out, raw = tmp_path/'data', nucla_subset(tmp_path)
    pstl('synthetic', '--out', out, '--n-train', 16, '--n-val', 8)
    before = digest(out)
    one_line_error(pstl('prepare', 'nucla', '--raw', raw, '--out', out, '--quiet', check=False), 'was made by other inputs or settings')
    assert digest(out) == before
    pstl('prepare', 'nucla', '--raw', raw, '--out', out, '--quiet', '--force')
    assert not (out/'synthetic.json').exists()  # nothing stale left behind
    assert json.loads((out/'prepared.json').read_text())['made_by']['command'] == 'prepare nucla'
    r = pstl('prepare', 'nucla', '--raw', raw, '--out', out, '--quiet')
    assert 'kept (made by the same inputs and settings)' in r.stdout
    (out/'prepared.json').unlink()  # prepared data that does not say what made it (an older pstl, a download)
    one_line_error(pstl('prepare', 'nucla', '--raw', raw, '--out', out, '--quiet', check=False), 'does not say what made it')

def test_prepare_ntu_finds_the_official_list_and_warns_in_one_line(tmp_path):
    raw = tmp_path/'raw'; raw.mkdir()
    for f in (SHARED/'ntu_raw_samples').glob('*.skeleton'): shutil.copy(f, raw)
    r = pstl('prepare', 'ntu', '--raw', raw, '--out', tmp_path/'a', '--quiet')
    assert r.stderr.strip().splitlines() == ['pstl prepare: warning: no --missing-list (and no NTU_RGBD_samples_with_missing_skeletons.txt in '
                                             f'{raw}): samples on the official list are not excluded, only files with no skeleton at all']
    shutil.copy(SHARED/'ntu_raw_samples'/'NTU_RGBD_samples_with_missing_skeletons.txt', raw)
    r = pstl('prepare', 'ntu', '--raw', raw, '--out', tmp_path/'b', '--quiet')
    assert r.stderr == ''
    assert json.loads((tmp_path/'b'/'prepared.json').read_text())['made_by']['missing_list'] is not None

# 2. evaluation results are named by what made them, written where --out says
def test_results_are_named_by_what_made_them(run, tmp_path):
    data, weights = run/'data', run/'joint'/'encoder.pt'
    out = tmp_path/'results'
    pstl('linear', '--data', data, '--weights', weights, '--epochs', 3, '--out', out)
    pstl('linear', '--data', data, '--weights', weights, '--epochs', 3, '--out', out, '--standardize')
    pstl('knn', '--data', data, '--weights', weights, '--k', 3, '--out', out, '--stream', 'joint')
    other = tmp_path/'reordered'; reorder(data, other)
    pstl('linear', '--data', other, '--weights', weights, '--epochs', 3, '--out', out)
    names = sorted(p.name for p in out.glob('*.json'))
    assert len(names) == 4 and len({n.split('_')[0] for n in names}) == 3, names  # linear twice (two data sets), linear-std, knn
    std = json.loads(next(out.glob('linear-std_*.json')).read_text())
    assert std['protocol'] == 'linear-std' and std['made_by']['standardize'] is True
    assert set(std['made_by']['data']) == {'train', 'val'} and std['inputs']['weights'] == str(weights)
    assert not any(p.name.startswith(('linear', 'knn')) for p in (run/'joint').iterdir())  # nothing beside the weights
    pstl('linear', '--data', data, '--weights', weights, '--epochs', 4, '--out', out)  # other settings: a result of their own beside
    assert len(list(out.glob('linear_joint_*.json'))) == 3
    retrained = tmp_path/'encoder.pt'; shutil.copy(weights, retrained)  # a result beside an encoder ...
    pstl('linear', '--data', data, '--weights', retrained, '--epochs', 3)
    blob = torch.load(retrained, weights_only=True); blob['state_dict']['data_bn.bias'] += 1; torch.save(blob, retrained)  # ... retrained since
    r = pstl('linear', '--data', data, '--weights', retrained, '--epochs', 3, check=False)
    one_line_error(r, '(weights: ')
    assert 'pass --force to redo it' in r.stderr

def reorder(data, out):
    "The same prepared data with its validation sequences in another order."
    shutil.copytree(data, out)
    val = load_prepared(out, 'val', mmap=False)
    (out/'prepared.json').unlink()
    save_prepared(val.subset(np.arange(len(val))[::-1].copy()), out, 'val')

def on_read_only(folder, *args):
    "Run `pstl *args` with `folder` mounted read-only in a mount namespace of its own (a real read-only file system, root included)."
    q = lambda a: "'" + str(a).replace("'", "'\\''") + "'"
    script = f"mount --bind {q(folder)} {q(folder)} && mount -o remount,bind,ro {q(folder)} && exec {q(sys.executable)} -m pstl " + ' '.join(map(q, args))
    probe = subprocess.run(['unshare', '-m', 'sh', '-c', f"mount --bind {q(folder)} {q(folder)}"], capture_output=True, text=True)
    if probe.returncode: pytest.skip(f'no read-only mount here (unshare -m: {probe.stderr.strip()})')
    return subprocess.run(['unshare', '-m', 'sh', '-c', script], capture_output=True, text=True)

def test_a_read_only_weights_folder_fails_before_the_probe(run, tmp_path):
    for name in ('data', 'joint'): shutil.copytree(run/name, tmp_path/name)
    r = on_read_only(tmp_path/'joint', 'linear', '--data', tmp_path/'data', '--weights', tmp_path/'joint'/'encoder.pt')
    one_line_error(r, 'is not writable')
    r = on_read_only(tmp_path/'joint', 'linear', '--data', tmp_path/'data', '--weights', tmp_path/'joint'/'encoder.pt', '--epochs', 2,
                     '--out', tmp_path/'elsewhere')
    assert r.returncode == 0, r.stderr  # --out elsewhere: the read-only folder is only read
    assert len(list((tmp_path/'elsewhere').glob('linear_joint_*.json'))) == 1

# 3. the ensemble fuses only what was made on the same data, by distinct encoders
def test_ensemble_recomputes_logits_made_on_other_data(run, tmp_path):
    data, weights = run/'data', [run/'joint'/'encoder.pt', run/'motion'/'encoder.pt']
    other = tmp_path/'reordered'; reorder(data, other)
    for w in weights: pstl('linear', '--data', data, '--weights', w, '--epochs', 3)  # logits beside each encoder, on `data`
    r = pstl('ensemble', '--data', other, '--weights', *weights, '--fusion', 0.5, 0.5, '--epochs', 3, '--out', tmp_path/'fused')
    assert '(kept' not in r.stdout  # the kept logits are for `data`, in its order: not trusted for `other`
    fused = json.loads(next((tmp_path/'fused').glob('ensemble_*.json')).read_text())
    fresh = [next(w.parent.glob(f"linear_*_{fused['made_by']['data']['val'][:8]}_*.json")) for w in weights]
    logits = [np.load(f.with_name(f.stem + '_logits.npy')) for f in fresh]
    labels = load_prepared(other, 'val').labels
    assert fused['top1'] == pytest.approx(100 * np.mean((0.5 * logits[0] + 0.5 * logits[1]).argmax(1) == labels))
    one_line_error(pstl('ensemble', '--data', data, '--weights', weights[0], weights[0], '--fusion', 1, 1, check=False),
                   'are the same encoder')
    copy = tmp_path/'copy.pt'; shutil.copy(weights[0], copy)  # the same encoder under another name
    one_line_error(pstl('ensemble', '--data', data, '--weights', weights[0], copy, '--fusion', 1, 1, check=False), 'are the same encoder')
    one_line_error(pstl('ensemble', '--data', data, '--weights', *weights, check=False), '2 encoders but 3 --fusion weights')

# 4. files follow the umask
@pytest.mark.parametrize('mask, mode', [(0o022, 0o644), (0o077, 0o600)])
def test_files_follow_the_umask(tmp_path, mask, mode):
    umask = lambda: os.umask(mask)
    pstl('synthetic', '--out', tmp_path/'data', '--n-train', 16, '--n-val', 8, '--max-persons', 1, preexec_fn=umask)
    pstl('pretrain', '--data', tmp_path/'data', '--out', tmp_path/'run', '--epochs', 2, '--warmup-epochs', 1, '--batch-size', 8,
         '--projector-dim', 16, '--quiet', preexec_fn=umask)
    pstl('knn', '--data', tmp_path/'data', '--weights', tmp_path/'run'/'encoder.pt', '--k', 3, preexec_fn=umask)
    files = [p for p in tmp_path.rglob('*') if p.is_file()]
    assert len(files) > 10 and {p.stat().st_mode & 0o777 for p in files} == {mode}, {p.name: oct(p.stat().st_mode) for p in files}

# 5. tracebacks become one line
def test_an_out_that_cannot_be_a_folder(run, tmp_path):
    blocker = tmp_path/'file'; blocker.write_text('a file')
    one_line_error(pstl('pretrain', '--data', run/'data', '--out', blocker/'run', *TINY, check=False), 'is a file')
    one_line_error(pstl('synthetic', '--out', blocker/'data', check=False), 'is a file')
    one_line_error(pstl('knn', '--data', run/'data', '--weights', run/'joint'/'encoder.pt', '--out', blocker/'x', check=False), 'is a file')
    assert blocker.read_text() == 'a file'

def test_ctrl_c_says_what_the_checkpoint_holds_and_how_to_continue(run, tmp_path):
    out = tmp_path/'run'
    args = ['pretrain', '--data', run/'data', '--out', out, '--epochs', '50', '--warmup-epochs', '1', '--batch-size', '8', '--projector-dim', '32', '--quiet']
    proc = subprocess.Popen([sys.executable, '-m', 'pstl', *map(str, args)], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as at a terminal, even where this
    # test itself runs with Ctrl-C ignored (a shell's background job): Python turns SIGINT into KeyboardInterrupt only if it is not
    deadline = time.time() + 120
    while not (out/'checkpoint.pt').exists() and proc.poll() is None and time.time() < deadline: time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    done = torch.load(out/'checkpoint.pt', weights_only=True)['epoch'] + 1
    assert err.strip() == f"pstl pretrain: interrupted: {out/'checkpoint.pt'} holds {done} of 50 epochs; continue with: pstl pretrain --out {out} --resume"

# 6. nonsense refused in the user's words, before anything is written
@pytest.mark.parametrize('args, message', [
    (['knn', '--weights', 'W', '--k', '0'], 'argument --k: 0: must be at least 1'),
    (['knn', '--weights', 'W', '--k', '33'], '--k 33: larger than the 32 training sequences'),
    (['finetune', '--weights', 'W', '--label-fraction', '1.5'], 'argument --label-fraction: 1.5: must be at most 1'),
    (['linear', '--weights', 'W', '--batch-size', '0'], 'argument --batch-size: 0: must be at least 1'),
    (['linear', '--weights', 'RUN'], "a folder, not a weights file"),
    (['linear', '--weights', 'RUN/checkpoint.pt'], 'a pretraining checkpoint, not an encoder: use the encoder.pt'),
    (['pretrain', '--out', 'NEW', '--projector-dim', '0'], 'argument --projector-dim: 0: must be at least 1'),
    (['pretrain', '--out', 'NEW', '--lr', '-1'], 'argument --lr: -1: must be at least 0'),
])
def test_nonsense_is_refused_in_one_line(run, tmp_path, args, message):
    swap = {'W': str(run/'joint'/'encoder.pt'), 'RUN': str(run/'joint'), 'NEW': str(tmp_path/'new')}
    args = [swap.get(a, a.replace('RUN', swap['RUN'])) for a in args]
    before = digest(run/'joint')
    one_line_error(pstl(*args, '--data', run/'data', check=False), message)
    assert digest(run/'joint') == before and not (tmp_path/'new').exists()

def test_nonsense_without_data(tmp_path):
    one_line_error(pstl('synthetic', '--out', tmp_path/'s', '--n-train', -5, check=False), 'argument --n-train: -5: must be at least 1')
    one_line_error(pstl('demo', '--out', tmp_path/'demo', '--epochs', 1, check=False), 'argument --epochs: 1: must be at least 2')
    assert not (tmp_path/'s').exists() and not (tmp_path/'demo').exists()

def test_another_stream_is_said_and_recorded(run, tmp_path):
    r = pstl('knn', '--data', run/'data', '--weights', run/'joint'/'encoder.pt', '--stream', 'bone', '--k', 3, '--out', tmp_path)
    assert 'was trained on the joint stream; it is evaluated on bone, as --stream asks' in r.stderr
    made_by = json.loads(next(tmp_path.glob('knn_bone_*.json')).read_text())['made_by']
    assert (made_by['stream'], made_by['trained_stream']) == ('bone', 'joint')
