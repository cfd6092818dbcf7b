#!/usr/bin/env bash
# The N-UCLA study at the schedule chosen on the training views alone (results/schedule/README.md):
# 150 pretraining epochs with 10 warm-up epochs, bfloat16 forward, fine-tunes and training from scratch of $FT epochs.
# Run from the repository root, with ../shared/data/nucla beside it. Resumable: run it again and every step keeps what is
# done (pieces under results/study-e150/pieces, encoders and checkpoints under runs/study-e150/pretrain). Steps are in
# the order the verdicts need them; each pretraining step trains two runs side by side, one thread each.
set -e
export FT=${FT:-150}  # the fine-tune length chosen in results/schedule/README.md: the authors' 150
study() { pstl study nucla --raw "${RAW:-../shared/data/nucla}" --work runs/study-e150 --results results/study-e150 \
            --epochs 150 --warmup-epochs 10 --precision bfloat16 --finetune-epochs "$FT" --quiet "$@"; }
# 1. what needs no training (the same pieces as results/study2, whose settings do not depend on the schedule: copied, checked)
study --methods raw raw-pooled random --parts probes streams --seeds 0 1 2
# 2. PSTL and SkeletonBT, frozen probes, seed by seed
for s in 0 1 2; do study --methods pstl skeletonbt --parts probes --seeds $s --jobs 2; done
# 3. the paper's ablations and three unmasked streams: one run per invocation, two at a time (one thread each), so that
#    each run's probes are written as soon as it is trained and a free core takes the next run at once
export -f study
printf '%s\n' "random-joint 0" "random-frame 0" "random-joint 1" "unmasked 0" "random-frame 1" "unmasked 1" "random-joint 2" \
               "random-frame 2" "unmasked 2" |
  xargs -P 2 -L 1 bash -c 'OMP_NUM_THREADS=1 study --parts probes --methods "$0" --seeds "$1"'
# 4. fine-tunes and training from scratch at every label fraction, queued like step 3 (one method and seed per
#    invocation, two at a time, one thread each): the pipeline check and the 10 %-label target need them
printf '%s\n' "supervised 0" "pstl 0" "skeletonbt 0" "supervised 1" "pstl 1" "skeletonbt 1" "supervised 2" "pstl 2" "skeletonbt 2" |
  xargs -P 2 -L 1 bash -c 'OMP_NUM_THREADS=1 study --parts finetune supervised --methods "$0" --seeds "$1"'
# 5. PSTL's motion and bone streams, and the 3-stream ensemble
for s in 0 1 2; do study --methods pstl --parts streams --seeds $s --jobs 2; done
# 6. two more seeds of PSTL and SkeletonBT
for s in 3 4; do study --methods pstl skeletonbt --parts probes --seeds $s --jobs 2; done
