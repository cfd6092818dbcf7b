"A side-by-side `pstl study` ends with its workers (issue #42): SIGTERM to the parent leaves no worker training, and the study resumes to the same records."
import os, signal, subprocess, sys, time
from pathlib import Path

import pandas as pd
import pytest

from test_outputs import pstl

TINY_STUDY = ['--parts', 'probes', '--methods', 'pstl', 'skeletonbt', '--seeds', '0', '--jobs', '2', '--epochs', '40', '--warmup-epochs', '1',
              '--batch-size', '16', '--projector-dim', '64', '--probe-epochs', '5', '--missing-counts', '0', '4', '--missing-seeds', '0', '--quiet']

def children(pid: int) -> set:
    "Every live descendant of `pid`, read from /proc."
    parent = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try: fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError: continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop(); kids = {c for c, pp in parent.items() if pp == p}; found |= kids; todo += kids
    return found

def alive(pid: int) -> bool:
    try: return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError: return False

def study(data, root, name, **kw):
    return [sys.executable, '-m', 'pstl', 'study', 'prepared', '--data', str(data), '--work', str(root/name/'work'),
            '--results', str(root/name/'results'), *TINY_STUDY]

@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    "Data and the records of the same study left to finish: made once for both signals."
    root = tmp_path_factory.mktemp('whole')
    pstl('synthetic', '--out', root/'data', '--n-train', 32, '--n-val', 16, '--max-persons', 1)
    subprocess.run(study(root/'data', root, 'whole'), check=True, capture_output=True)
    return root/'data', pd.read_csv(root/'whole'/'results'/'results.csv')

@pytest.mark.skipif(not Path('/proc/self/stat').exists(), reason='reads the process tree from /proc')
@pytest.mark.parametrize('how', [signal.SIGTERM, signal.SIGHUP])
def test_a_signalled_study_takes_its_workers_with_it_and_resumes_to_the_same_records(tmp_path, uninterrupted, how):
    data, whole = uninterrupted
    proc = subprocess.Popen(study(data, tmp_path, 'cut'), stderr=subprocess.PIPE, text=True)
    runs = tmp_path/'cut'/'work'/'pretrain'
    deadline = time.time() + 180
    while len(list(runs.glob('*/checkpoint.pt'))) < 2 and proc.poll() is None and time.time() < deadline: time.sleep(0.1)
    workers = children(proc.pid)
    assert proc.poll() is None and len(workers) >= 2, 'the two runs did not start side by side'
    proc.send_signal(how)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 128 + how, err
    assert err.strip().splitlines() == [f"pstl study: stopped by {signal.Signals(how).name}: the pieces already finished are kept; the same command continues"], err
    deadline = time.time() + 10
    while any(alive(w) for w in workers) and time.time() < deadline: time.sleep(0.1)
    assert not any(alive(w) for w in workers), [w for w in workers if alive(w)]  # no worker trains on with parent 1
    assert all(not (r/'encoder.pt').exists() for r in runs.iterdir())  # stopped part-way: each run kept its checkpoint
    subprocess.run(study(data, tmp_path, 'cut'), check=True, capture_output=True)  # the same command continues
    pd.testing.assert_frame_equal(whole, pd.read_csv(tmp_path/'cut'/'results'/'results.csv'))
