"The readers and `pstl prepare` on the genuine data samples in ../shared/data (a failure in CI when they are missing)."
import json, os, pickle, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from pstl.data import load_prepared
from pstl.datasets import read_ntu_skeleton, ntu_coordinates, read_pku_skeleton, read_pku_labels, read_pku_split, prepare_nucla, NTU_JOINT_FIELDS
from pstl.graph import KINECT20

SHARED = Path(__file__).resolve().parents[2]/'shared'/'data'

@pytest.fixture(scope='module')
def shared():
    if not SHARED.exists():
        if os.environ.get('CI') == 'true': pytest.fail(f"{SHARED}: the shared data must be beside the repository in CI")
        pytest.skip(f"{SHARED} is not here")
    return SHARED

def pstl(*args):
    r = subprocess.run([sys.executable, '-m', 'pstl', *map(str, args)], capture_output=True, text=True)
    return r

NTU_FILES = {  # name: (frames, bodies in every frame)
    'S001C001P001R001A011': (82, 1), 'S001C003P008R002A058': (70, 2), 'S002C001P003R001A003': (100, 1),
    'S003C001P015R001A034': (71, 1), 'S004C002P003R001A017': (124, 1)}

def test_ntu_files_parse_with_every_field(shared):
    for name, (frames, bodies) in NTU_FILES.items():
        skeleton = read_ntu_skeleton(shared/'ntu_raw_samples'/f'{name}.skeleton')
        assert len(skeleton) == frames and {len(f) for f in skeleton} == {bodies}
        assert all(b['joints'].shape == (25, len(NTU_JOINT_FIELDS)) for f in skeleton for b in f)
        xyz = ntu_coordinates(skeleton)
        assert xyz.shape == (frames, 2, 25, 3) and xyz[:, 1].any() == (bodies == 2)
    first = read_ntu_skeleton(shared/'ntu_raw_samples'/'S001C001P001R001A011.skeleton')[0][0]
    assert first['body_id'] == '72057594037931648' and first['tracking_state'] == 2
    np.testing.assert_allclose(first['joints'][0, :3], [0.2058097, 0.1920515, 3.810989])
    np.testing.assert_allclose(first['joints'][3, 7:11], [0, 0, 0, 0])

def test_prepare_ntu_keeps_both_bodies_and_splits_by_subject(shared, tmp_path):
    missing = shared/'ntu_raw_samples'/'NTU_RGBD_samples_with_missing_skeletons.txt'
    r = pstl('prepare', 'ntu', '--raw', shared/'ntu_raw_samples', '--out', tmp_path, '--benchmark', 'xsub', '--missing-list', missing, '--quiet')
    assert r.returncode == 0, r.stderr
    train, val = load_prepared(tmp_path, 'train'), load_prepared(tmp_path, 'val')
    assert sorted(train.names) == ['S001C001P001R001A011', 'S001C003P008R002A058', 'S003C001P015R001A034']  # P001, P008, P015
    assert sorted(val.names) == ['S002C001P003R001A003', 'S004C002P003R001A017']
    two = train.names.index('S001C003P008R002A058')
    assert train.labels[two] == 57 and train.data[two, ..., 1].any() and train.data.shape[1:] == (3, 50, 25, 2)
    assert np.abs(train.data[:, :, :, 20]).max() == 0  # joint 21 subtracted
    r = pstl('prepare', 'ntu', '--raw', shared/'ntu_raw_samples', '--out', tmp_path/'view', '--benchmark', 'xview', '--missing-list', missing, '--quiet')
    assert sorted(load_prepared(tmp_path/'view', 'train').names) == ['S001C003P008R002A058', 'S004C002P003R001A017']  # cameras 2, 3

def test_pku_segments_carry_their_labels(shared, tmp_path):
    pku = shared/'pku_mmd_samples'
    split = read_pku_split(pku/'split'/'cross-subject.txt')
    assert len(split) > 1000 and {'train', 'val'} == set(split.values())
    r = pstl('prepare', 'pku', '--raw', pku, '--split', pku/'split'/'cross-subject.txt', '--out', tmp_path, '--quiet')
    assert r.returncode == 0, r.stderr
    prepared = {s: load_prepared(tmp_path, s) for s in ('train', 'val')}
    for video in ('0005-L', '0005-M', '0310-R'):
        rows = read_pku_labels(pku/'label'/f'{video}.txt')
        got = prepared[split[video]]
        labels = [got.labels[got.names.index(f'{video}_{i:03d}')] for i in range(len(rows))]
        assert labels == [c - 1 for c, *_ in rows]
    assert read_pku_skeleton(pku/'skeleton'/'0005-L.txt').shape[1:] == (2, 25, 3)

def test_nucla_has_the_standard_split(shared, tmp_path):
    r = prepare_nucla(shared/'nucla', tmp_path, quiet=True)
    assert (r['train'], r['val']) == (1020, 464)
    val = load_prepared(tmp_path, 'val')
    assert val.layout == KINECT20 and val.data.shape == (464, 3, 50, 20, 1)
    reference = {d['file_name']: d['label'] for d in pickle.load(open(shared/'nucla'/'val_label.pkl', 'rb'))}
    assert {n: int(l) + 1 for n, l in zip(val.names, val.labels)} == reference

def test_bad_files_name_the_file_and_line_and_write_nothing(tmp_path):
    raw = tmp_path/'raw'; raw.mkdir()
    (raw/'S001C001P001R001A001.skeleton').write_text('2\n1\n' + '1 0 0 0 0 0 0 0 0 2\n25\n' + '0 0 0 0 0 0 0 0 0 0 0 2\n' * 3)
    r = pstl('prepare', 'ntu', '--raw', raw, '--out', tmp_path/'out', '--missing-list', os.devnull, '--quiet')
    assert r.returncode == 2 and 'S001C001P001R001A001.skeleton, line 8: file ends where joint fields was expected' in r.stderr
    assert not (tmp_path/'out').exists()
    good = '1\n1\n' + '1 0 0 0 0 0 0 0 0 2\n25\n' + '0.1 0.2 0.3 0 0 0 0 0 0 0 0 2\n' * 25
    (raw/'S001C001P002R001A002.skeleton').write_text(good)
    r = pstl('prepare', 'ntu', '--raw', raw, '--out', tmp_path/'out', '--missing-list', os.devnull, '--skip-bad', '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'S001C001P001R001A001' in (tmp_path/'out'/'skipped.txt').read_text()
    assert load_prepared(tmp_path/'out', 'train').names == ['S001C001P002R001A002']  # performer 2 trains

def test_study_command_writes_results_and_resumes(shared, tmp_path):
    "The raw-coordinate probes of the N-UCLA study (no pretraining, so it is quick): the table, the kept piece, the resume."
    args = ['study', 'nucla', '--raw', shared/'nucla', '--work', tmp_path/'work', '--results', tmp_path/'results', '--parts', 'probes',
            '--methods', 'raw', '--seeds', '0', '--quiet']
    r = pstl(*args)
    assert r.returncode == 0, r.stderr
    import pandas as pd
    table = pd.read_csv(tmp_path/'results'/'results.csv', dtype={'missing': str})
    assert list(table.columns) == ['method', 'protocol', 'stream', 'seed', 'label_fraction', 'missing', 'epochs', 'top1', 'chosen']
    assert set(table.missing) == {'0', '2', '4', '6', '8', '10', 'left_arm', 'right_arm', 'left_leg', 'right_leg', 'trunk'}
    assert set(table.label_fraction) == {1.0, 0.3, 0.1} and set(table.protocol) == {'linear', 'linear-std', 'knn'}
    assert 'pipeline check' in r.stdout and 'not measured' in r.stdout  # the targets, with what is not measured yet
    piece = tmp_path/'results'/'pieces'/'probes'/'raw-seed0.json'
    kept = piece.stat().st_mtime
    assert pstl(*args).returncode == 0 and piece.stat().st_mtime == kept  # resumed, not redone

def test_prepare_ntu_equals_aimclr_on_every_sample(shared, tmp_path):
    "`pstl prepare ntu` against AimCLR's pipeline transcribed in pstl.reference: every sample, both bodies, 1e-4."
    from pstl.reference import aimclr_read_xyz, aimclr_prepare
    raw = shared/'ntu_raw_samples'
    r = pstl('prepare', 'ntu', '--raw', raw, '--out', tmp_path, '--benchmark', 'xsub', '--missing-list',
             raw/'NTU_RGBD_samples_with_missing_skeletons.txt', '--quiet')
    assert r.returncode == 0, r.stderr
    checked = 0
    for split in ('train', 'val'):
        got = load_prepared(tmp_path, split)
        for name, ours in zip(got.names, got.data):
            theirs = aimclr_prepare(aimclr_read_xyz(read_ntu_skeleton(raw/f'{name}.skeleton')))
            assert np.abs(ours - theirs).max() < 1e-4, name
            checked += 1
    assert checked == len(NTU_FILES)

def test_prepare_pku_equals_aimclr_on_every_action(shared, tmp_path):
    from pstl.reference import aimclr_pku_action, aimclr_prepare
    pku = shared/'pku_mmd_samples'
    r = pstl('prepare', 'pku', '--raw', pku, '--split', pku/'split'/'cross-subject.txt', '--out', tmp_path, '--quiet')
    assert r.returncode == 0, r.stderr
    split = read_pku_split(pku/'split'/'cross-subject.txt')
    prepared = {s: load_prepared(tmp_path, s) for s in ('train', 'val')}
    checked = 0
    for video in ('0005-L', '0005-M', '0310-R'):
        frames = np.loadtxt(pku/'skeleton'/f'{video}.txt')
        got = prepared[split[video]]
        for i, (c, start, end, _) in enumerate(read_pku_labels(pku/'label'/f'{video}.txt')):
            ours = got.data[got.names.index(f'{video}_{i:03d}')]
            assert np.abs(ours - aimclr_prepare(aimclr_pku_action(frames, start, end))).max() < 1e-4, (video, i)
            checked += 1
    assert checked > 20

def test_the_resize_transcription_is_opencvs():
    "Where OpenCV is installed (it is not a dependency), `_cv2_resize_rows` is checked against `cv2.resize` itself."
    cv2 = pytest.importorskip('cv2')
    from pstl.reference import _cv2_resize_rows
    rng = np.random.default_rng(0)
    for length in (1, 2, 7, 49, 50, 51, 82, 124, 299, 300):
        image = rng.normal(size=(length, 25, 3)).astype(np.float32)
        theirs = cv2.resize(image, (25, 50), interpolation=cv2.INTER_LINEAR)
        assert np.abs(_cv2_resize_rows(image, 50) - theirs).max() < 1e-5, length

def test_study_reuses_kept_work_only_with_the_same_settings(shared, tmp_path):
    args = ['study', 'nucla', '--raw', shared/'nucla', '--work', tmp_path/'work', '--results', tmp_path/'results', '--parts', 'probes',
            '--methods', 'raw', '--seeds', '0', '--label-fractions', '1.0', '--quiet']
    assert pstl(*args).returncode == 0
    before = (tmp_path/'results'/'results.csv').read_text()
    r = pstl(*args, '--probe-epochs', 3)
    assert r.returncode == 2 and r.stderr.strip().endswith(
        "raw-seed0.json was made with other settings (probe_epochs: 150 -> 3): pass --force to redo it, or use another --work")
    assert (tmp_path/'results'/'results.csv').read_text() == before  # nothing written
    assert pstl(*args, '--probe-epochs', 3, '--force').returncode == 0
    piece = json.loads((tmp_path/'results'/'pieces'/'probes'/'raw-seed0.json').read_text())
    assert piece['settings']['probe_epochs'] == 3
    config = json.loads((tmp_path/'results'/'config.json').read_text())
    assert config['settings']['probe_epochs'] == 3
    assert {'pstl', 'commit', 'torch', 'cpu', 'threads', 'wall_seconds', 'command'} <= set(config['pieces']['probes/raw-seed0'])
    assert pstl('study', 'prepared', '--work', tmp_path/'w2').returncode == 2

def test_study_on_the_training_views_never_reads_view_3(shared, tmp_path):
    "`pstl study nucla-views12`: view 1 trains, view 2 validates; the settings of the study are chosen there, view 3 unseen."
    r = pstl('study', 'nucla-views12', '--raw', shared/'nucla', '--work', tmp_path/'work', '--results', tmp_path/'results', '--parts', 'probes',
             '--methods', 'raw-pooled', '--seeds', '0', '--label-fractions', '1.0', '--missing-counts', '0', '--quiet')
    assert r.returncode == 0, r.stderr
    train, val = load_prepared(tmp_path/'work'/'data', 'train'), load_prepared(tmp_path/'work'/'data', 'val')
    assert {n[-4:] for n in train.names} == {'_v01'} and {n[-4:] for n in val.names} == {'_v02'}
    assert len(train) + len(val) == 1020

def test_raw_coordinates_choose_their_preparation_on_the_training_views(shared, tmp_path):
    "`pstl study nucla --parts tuned`: the raw coordinates' probe is chosen among every preparation of 08a, on view 1 -> view 2."
    r = pstl('study', 'nucla', '--raw', shared/'nucla', '--work', tmp_path/'work', '--results', tmp_path/'results', '--parts', 'tuned',
             '--methods', 'raw', '--seeds', '0', '--probe-epochs', '3', '--quiet')
    assert r.returncode == 0, r.stderr
    from pstl.departures import PREPARATIONS
    piece = json.loads((tmp_path/'results'/'pieces'/'tuned'/'raw-seed0.json').read_text())
    assert piece['settings']['preparations'] == ['as prepared', *(n for n in PREPARATIONS if n != 'aimclr')]
    assert piece['rows'][0]['chosen'].split(';')[0].split(', ')[-1] in piece['settings']['preparations']
    for name in ('first-frame', 'as-recorded'):
        assert load_prepared(tmp_path/'work'/'preparations'/name, 'val').names == load_prepared(tmp_path/'work'/'data', 'val').names
