"The `pstl` command end to end on tiny synthetic data: every subcommand, kill-and-resume, NaN, bad arguments."
import json, os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import torch

from pstl import pretrain as pretrain_module
from pstl.cli import main
from pstl.data import load_prepared
from pstl.synthetic import write_synthetic

TINY = ['--epochs', '3', '--warmup-epochs', '1', '--batch-size', '8', '--projector-dim', '32', '--quiet']

def pstl(*args, check=True):
    "Run the console script as a user would; returns the completed process."
    r = subprocess.run([sys.executable, '-m', 'pstl', *map(str, args)], capture_output=True, text=True)
    if check: assert r.returncode == 0, r.stderr
    return r

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp('synthetic')
    pstl('synthetic', '--out', d, '--n-train', 32, '--n-val', 16, '--max-persons', 1)
    return d

def weights_of(path): return torch.load(path, weights_only=True)['state_dict']

def only(folder, pattern):
    "The one file in `folder` matching `pattern`."
    found = list(Path(folder).glob(pattern))
    assert len(found) == 1, (pattern, found)
    return found[0]

def test_every_subcommand(data, tmp_path):
    encoders = []
    for stream in ('joint', 'motion', 'bone'):
        run = tmp_path/stream
        pstl('pretrain', '--data', data, '--out', run, '--stream', stream, *TINY)
        assert {'config.json', 'metrics.jsonl', 'checkpoint.pt', 'encoder.pt'} <= {p.name for p in run.iterdir()}
        assert len((run/'metrics.jsonl').read_text().splitlines()) == 3
        r = pstl('linear', '--data', data, '--weights', run/'encoder.pt', '--epochs', 5)
        assert 'top1=' in r.stdout
        encoders.append(run/'encoder.pt')
    result = json.loads(only(tmp_path/'joint', 'linear_joint_*.json').read_text())
    assert 0 <= result['top1'] <= 100 and result['best_top1'] >= result['top1'] and len(result['history']) == 5
    assert {'pstl', 'commit', 'torch', 'cpu', 'threads', 'command', 'wall_seconds'} <= set(result['provenance'])  # what made it
    pstl('knn', '--data', data, '--weights', encoders[0], '--k', 5)
    assert json.loads(only(tmp_path/'joint', 'knn_joint_*.json').read_text())['k'] == 5
    pstl('finetune', '--data', data, '--weights', encoders[0], '--label-fraction', 0.1, '--epochs', 1, '--batch-size', 8)
    assert json.loads(only(tmp_path/'joint', 'semi-0.1_joint_*.json').read_text())['labelled'] == 8  # one per class
    pstl('finetune', '--data', data, '--out', tmp_path/'scratch', '--epochs', 1, '--batch-size', 8)
    scratch = only(tmp_path/'scratch', 'finetune_joint_*.json')
    from pstl.evaluate import load_classifier, predict
    model = load_classifier(scratch.with_suffix('.pt'))  # the fine-tuned model is kept and reads back
    assert predict(model, load_prepared(data, 'val')).shape[1] == model.fc.out_features
    pstl('linear', '--data', data, '--weights', scratch.with_suffix('.pt'), '--epochs', 2, '--stream', 'joint')
    r = pstl('ensemble', '--data', data, '--weights', *encoders, '--epochs', 5)
    assert r.stdout.count('(kept: made by the same inputs and settings') == 3  # the three probes above, reused
    fused = json.loads(only(tmp_path/'joint', 'ensemble_*.json').read_text())
    assert fused['weights'] == [0.6, 0.6, 0.4] and 0 <= fused['top1'] <= 100

def test_sigkill_then_resume_gives_the_uninterrupted_weights(tmp_path):
    data = write_synthetic(tmp_path/'data', n_train=64, n_val=8, max_persons=1)
    args = ['--data', data, '--epochs', '3', '--warmup-epochs', '1', '--batch-size', '8', '--projector-dim', '32', '--quiet']
    pstl('pretrain', '--out', tmp_path/'whole', *args)
    run = tmp_path/'killed'
    proc = subprocess.Popen([sys.executable, '-m', 'pstl', 'pretrain', '--out', str(run), *map(str, args)])
    ckpt, seen = run/'checkpoint.pt', []
    while proc.poll() is None:
        if ckpt.exists():
            seen.append(torch.load(ckpt, weights_only=True)['epoch'])  # never half-written: it always loads
            if seen[-1] == 0: time.sleep(0.5); break  # somewhere inside the second epoch
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    assert torch.load(ckpt, weights_only=True)['epoch'] in (0, 1) and not (run/'encoder.pt').exists()
    pstl('pretrain', '--out', run, '--resume', '--quiet')
    a, b = weights_of(tmp_path/'whole'/'encoder.pt'), weights_of(run/'encoder.pt')
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [json.loads(l)['epoch'] for l in (run/'metrics.jsonl').read_text().splitlines()] == [0, 1, 2]
    assert not list(run.glob('.*.tmp'))
    pieces = tmp_path/'pieces'  # stopped on purpose after epoch 2, then resumed: the same weights again
    r = pstl('pretrain', '--out', pieces, '--until', '2', *args)
    assert 'stopped after epoch 2 of 3' in r.stdout and not (pieces/'encoder.pt').exists()
    pstl('pretrain', '--out', pieces, '--resume', '--quiet')
    c = weights_of(pieces/'encoder.pt')
    assert all(torch.equal(a[k], c[k]) for k in a)

def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path, monkeypatch, capsys):
    data = write_synthetic(tmp_path/'data', n_train=16, n_val=8, max_persons=1)
    calls, real_step = [], pretrain_module.step_loss
    def step_loss(*a, **k):
        loss, terms = real_step(*a, **k)
        calls.append(1)
        return (loss * float('nan'), terms) if len(calls) == 4 else (loss, terms)  # epoch 2, step 2
    monkeypatch.setattr(pretrain_module, 'step_loss', step_loss)
    run = tmp_path/'run'
    with pytest.raises(SystemExit) as e:
        main(['pretrain', '--data', str(data), '--out', str(run), '--epochs', '3', '--warmup-epochs', '1',
              '--batch-size', '8', '--projector-dim', '32', '--quiet'])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'non-finite loss' in err and 'epoch 2, step 2' in err
    assert torch.load(run/'checkpoint.pt', weights_only=True)['epoch'] == 0
    assert not (run/'encoder.pt').exists()

@pytest.mark.parametrize('args,message', [
    (['--data', '/nonexistent/data'], 'no such data directory'),
    (['--mask-joint', '25'], 'below the number of joints'),
    (['--mask-frame', '25'], 'must be fewer than the 50 frames'),
    (['--batch-size', '1'], 'must be at least 2'),
    (['--batch-size', '1000'], 'larger than the 32 training sequences'),
])
def test_bad_arguments_give_one_line_errors(data, tmp_path, args, message):
    base = {'--data': str(data), '--batch-size': '8'}
    base.update(dict(zip(args[::2], args[1::2])))
    r = pstl('pretrain', '--out', tmp_path/'run', '--quiet', *sum(base.items(), ()), check=False)
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr

def test_missing_weights_and_unresumable_run(data, tmp_path):
    r = pstl('linear', '--data', data, '--weights', tmp_path/'none.pt', check=False)
    assert r.returncode == 2 and 'none.pt: no such weights file' in r.stderr and 'Traceback' not in r.stderr
    r = pstl('pretrain', '--out', tmp_path/'fresh', '--resume', check=False)
    assert r.returncode == 2 and 'no checkpoint to resume from' in r.stderr

def test_bench_prints_its_summary_last(tmp_path):
    r = pstl('bench', '--batch-size', 4, '--steps', 1, '--warmup', 1, '--projector', 32, '--linear-epochs', 2, '--linear-samples', 8,
             '--device', 'cpu', '--out', tmp_path)
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ('samples_per_s', 'reference_samples_per_s', 'speedup', 'linear_eval_speedup', 'peak_rss_mb', 'gflops_per_s',
                'product_seconds', 'other_seconds', 'temporal_conv_gflops_per_s', 'products_only_speedup'):
        assert summary[key] > 0, key
    assert json.loads((tmp_path/'bench.json').read_text()) == summary
    log = (tmp_path/'bench.log').read_text().splitlines()
    assert log[-1] == r.stdout.strip().splitlines()[-1] and any(l.lstrip().startswith('reference:') for l in log)
    r = pstl('bench', '--device', 'cuda', check=False) if not torch.cuda.is_available() else None
    if r is not None: assert r.returncode == 2 and 'no CUDA device' in r.stderr

@pytest.mark.parametrize('args, message', [
    (['pretrain', '--out', 'RUN', '--device', 'gpu'], "--device gpu: use 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    (['linear', '--weights', 'RUN/encoder.pt', '--epochs', '0'], 'argument --epochs: 0: must be at least 1'),
    (['pretrain', '--out', 'RUN', '--augment', 'twice'], "invalid choice: 'twice'"),
])
def test_bad_flags_are_one_line_errors_and_write_nothing(data, tmp_path, args, message):
    args = [str(a).replace('RUN', str(tmp_path/'run')) for a in args]
    r = pstl(*args, '--data', data, check=False)
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path/'run').exists()
    if 'usage' not in r.stderr: assert len(r.stderr.strip().splitlines()) == 1

@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_asked_for_without_cuda(data, tmp_path):
    r = pstl('pretrain', '--data', data, '--out', tmp_path/'run', '--device', 'cuda', *TINY, check=False)
    assert r.returncode == 2 and r.stderr.strip() == 'pstl pretrain: error: --device cuda: no CUDA device here'

def test_demo_refuses_work_made_with_other_settings(tmp_path):
    "An earlier demo in --out (its run's config.json) is reused only with the same settings; nothing of it is lost."
    from dataclasses import asdict
    from pstl.pretrain import PretrainConfig
    out = tmp_path/'demo'
    earlier = PretrainConfig(data=str(out/'data'), out=str(out/'pstl'), epochs=8, warmup_epochs=1, batch_size=32, lr=1e-3,
                             projector_dims=(1024,) * 3, lambd=7.2e-3)
    (out/'pstl').mkdir(parents=True); (out/'pstl'/'config.json').write_text(json.dumps(asdict(earlier)))
    (out/'results.csv').write_text('earlier results\n')
    r = pstl('demo', '--out', out, '--epochs', 3, '--seed', 1, '--quiet', check=False)
    assert r.returncode == 2 and r.stderr.strip().endswith('holds a demo made with other settings (epochs: 8 -> 3; seed: 0 -> 1): pass --force to redo it, or choose another --out')
    assert (out/'results.csv').read_text() == 'earlier results\n' and not (out/'data').exists()

def test_pretrain_help_gives_each_default_from_the_config():
    from pstl.pretrain import PretrainConfig
    text = ' '.join(pstl('pretrain', '--help').stdout.split())
    d = PretrainConfig()
    for flag, value in (('--epochs', d.epochs), ('--batch-size', d.batch_size), ('--lr', d.lr), ('--mask-joint', d.mask_joint),
                        ('--mask-frame', d.mask_frame), ('--seed', d.seed), ('--device', d.device), ('--augment', d.augment)):
        assert f"(default: {value})" in text.split(flag, 2)[-1].split(' --', 1)[0], flag
    assert 'must be below --epochs' in text and 'required unless --resume' in text
