#!/usr/bin/env bash
# The N-UCLA study at the schedule chosen on the training views alone (results/schedule/README.md):
# 150 pretraining epochs with 10 warm-up epochs, bfloat16 forward, fine-tunes and training from scratch of $FT epochs.
# Run from the repository root, with ../shared/data/nucla beside it. Resumable: run it again and every step keeps what is
# done (pieces under results/study-e150/pieces, encoders and checkpoints under runs/study-e150/pretrain). Steps are in
# the order the claims need them; each pretraining step trains two runs side by side, one thread each.
set -e
export FT=${FT:-150}  # the fine-tune length chosen in results/schedule/README.md: the authors' 150
study() { pstl study nucla --raw "${RAW:-../shared/data/nucla}" --work runs/study-e150 --results results/study-e150 \
            --epochs 150 --warmup-epochs 10 --precision bfloat16 --finetune-epochs "$FT" --quiet "$@"; }
# 1. what needs no training (the same pieces as results/study2, whose settings do not depend on the schedule: copied, checked)
study --methods raw raw-pooled random --parts probes streams --seeds 0 1 2
# 2. PSTL and SkeletonBT, frozen probes, seed by seed
for s in 0 1 2; do study --methods pstl skeletonbt --parts probes --seeds $s --jobs 2; done
# 3. the paper's ablations and three unmasked streams: nine runs, two at a time (one thread each), then their probes
study --parts probes --methods random-joint random-frame unmasked --seeds 0 1 2 --jobs 2
# 4. fine-tunes and training from scratch, two at a time (one thread each). A 150-epoch fine-tune or training from
#    scratch takes about 41 minutes on one thread with all 1,020 training sequences, 11 with 30 %, 4 with 10 % (the
#    pieces' wall times), so the label fractions go cheapest first: 10 % (the 10 %-label target), 30 %, all labels
for f in 0.1 0.3 1; do study --parts finetune supervised --methods supervised pstl skeletonbt --seeds 0 1 2 --fractions $f --jobs 2; done
# 5. PSTL's motion and bone streams, and the 3-stream ensemble
for s in 0 1 2; do study --methods pstl --parts streams --seeds $s --jobs 2; done
# 6. two more seeds, 3 and 4, for the five the family of claims is declared for: the baselines that need no training,
#    PSTL and SkeletonBT pretrained (both seeds of a method side by side) and probed, then PSTL fine-tuned and ST-GCN
#    trained from scratch with 10 % of the labels
study --methods raw raw-pooled random --parts probes streams --seeds 3 4
for m in pstl skeletonbt; do study --methods $m --parts probes --seeds 3 4 --jobs 2; done
study --parts finetune supervised --methods supervised pstl --seeds 3 4 --fractions 0.1 --jobs 2
# 7. SkeletonBT's motion and bone streams and its 3-stream ensemble (3s-PSTL against 3s-SkeletonBT: the same fusion)
for s in 0 1 2; do study --methods skeletonbt --parts streams --seeds $s --jobs 2; done
# 8. every frozen method's probe chosen on view 1 -> view 2 and scored once on view 3 (the raw coordinates also choose
#    flat or pooled, and their preparation among 08a's, prepared into runs/study-e150/preparations/)
study --parts tuned --seeds 0 1 2
# 9. every kept joint-stream encoder and the raw coordinates (a probe seed for each encoder seed) under the same
#    corruptions (08b_corruptions): results/corruptions, one piece per encoder, kept pieces reused
pstl corruptions --raw "${RAW:-../shared/data/nucla}" --encoders results/study-e150/encoders --work runs/corruptions --results results/corruptions
