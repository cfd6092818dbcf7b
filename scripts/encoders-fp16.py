"""What rounding a kept encoder to float16 does to the probes: every finished run of the schedule study (trained on
N-UCLA's view 1; probed on view 2, never view 3) probed with its own float32 weights, again with them (the probes'
run-to-run spread), and with the float16 copy `pstl.study.keep_encoders` commits. Writes rounding.json and README.md
into --out (results/encoders-fp16).

    python scripts/encoders-fp16.py [--work runs/schedule] [--out results/encoders-fp16] [--force]
"""
import argparse, json, sys, tempfile, time
from pathlib import Path
import torch
from pstl.core import atomic_write, provenance, markdown_table
from pstl.data import load_prepared
from pstl.evaluate import load_encoder
from pstl.pretrain import load_checkpoint
from pstl.study import StudyConfig, _half
from pstl.missing_joints import missing_features, probe_scores, score_rows

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('--work', default='runs/schedule', help="the schedule study's work folder (its data and pretrain runs)")
p.add_argument('--out', default='results/encoders-fp16', help='where rounding.json and README.md go')
p.add_argument('--force', action='store_true', help='measure again when rounding.json exists')
args = p.parse_args()
here = Path(args.out); here.mkdir(parents=True, exist_ok=True)
work, out = Path(args.work), here/'rounding.json'
runs = sorted(r for r in work.glob('pretrain/*') if (r/'encoder.pt').exists())
if not runs: sys.exit(f"{work/'pretrain'}: no finished runs (make them with results/schedule/README.md's command)")
if out.exists() and not args.force: sys.exit(f"{out}: exists; pass --force to measure again")
t0, epochs, rows = time.perf_counter(), StudyConfig().probe_epochs, []
train, val = load_prepared(work/'data', 'train', mmap=False), load_prepared(work/'data', 'val', mmap=False)
half = Path(tempfile.mkdtemp())/'encoder.pt'
for run in runs:
    torch.save(_half(load_checkpoint(run/'encoder.pt')), half)
    row = dict(run=run.name)
    for name, path in (('float32', run/'encoder.pt'), ('float32 again', run/'encoder.pt'), ('float16', half)):
        ftr, fvas = missing_features(train, val, load_encoder(path)[0])
        for r in score_rows(probe_scores(ftr, train.labels, fvas, val.labels, probe_epochs=epochs, seed=0), val.labels):
            row[f"{r['protocol']} {name}"] = r['top1']
    rows.append(row); print(row, flush=True)
protocols = ('linear', 'linear-std', 'knn')
largest = {p: max(abs(r[f'{p} float16'] - r[f'{p} float32']) for r in rows) for p in protocols}
record = dict(settings=dict(work=str(work), runs=[r.name for r in runs], probe_epochs=epochs, seed=0, split='view 1 trains, view 2 validates'),
              rows=rows, largest_change=largest, provenance=provenance(time.perf_counter() - t0))
atomic_write(out, lambda f: f.write(json.dumps(record, indent=1).encode()))
table = markdown_table(['run', *[f'{p}: float32 / again / float16' for p in protocols]],
                       [[r['run'], *[f"{r[f'{p} float32']:.2f} / {r[f'{p} float32 again']:.2f} / {r[f'{p} float16']:.2f}" for p in protocols]] for r in rows])
(here/'README.md').write_text(f"""# Kept encoders in float16: what the rounding does to the probes

`pstl.study.keep_encoders` commits each finished encoder of a study in float16 (1.6 MB instead of 3.3 MB), so that
any probe can be redone from a clone without retraining. Here every finished run of the schedule study (PSTL trained
on N-UCLA's view 1) is probed on view 2 with its float32 weights, with them again, and with its float16 copy:
top-1 %, all labels, nothing missing, probe seed 0 (`rounding.json`; `python scripts/encoders-fp16.py`).

{table}

Largest change float32 → float16: {', '.join(f'{p} {v:.2f}' for p, v in largest.items())} points
(view 2 has {len(val)} sequences: one sequence is {100 / len(val):.2f} points).
""")
print(f"-> {out}, {here/'README.md'}")
