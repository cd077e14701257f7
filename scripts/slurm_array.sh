#!/usr/bin/env bash
# Example: spread a folder of images over a Slurm job array. Each array task
# takes a deterministic share of the inputs (zgseg batch --shard slurm reads
# SLURM_ARRAY_TASK_ID/MIN/MAX/COUNT/STEP); no coordinator is needed, and a task
# that runs again skips the images it already finished (--resume).
#
#   sbatch --array=0-15 scripts/slurm_array.sh /data/images /data/zgseg-out
#   sbatch --array=1-64%8 scripts/slurm_array.sh /data/images /data/out --models /data/models --preset fast
#
# Arguments after IN OUT go to `zgseg batch` (--threads defaults to
# --cpus-per-task). Any evenly spaced array works: 0-15, 1-16, 0-15%4 (at most
# 4 at once), 0-30:2, a single task (--array=5). A list such as 1,5,9 or
# 0-3,7 is refused: every task exits 2 with one line, before any work.
# The binary: $ZGSEG if set, else build/zgseg in the folder you ran sbatch
# from, else zgseg on PATH. Logs: zgseg-JOB_TASK.out in that folder.
#
# Stopping early, losing at most the images in progress:
#  - --signal=B:TERM@60 below sends SIGTERM to this script about 60 s (Slurm
#    may send it up to a minute earlier) before the time limit. The script
#    execs zgseg, so zgseg is the batch shell and gets it: within 2 s it stops,
#    keeps every finished image, leaves no partial file, writes
#    summary-shard-I.json ("interrupted": true, "not_done": [...]) and exits
#    75. A task stopped so is not requeued: submit the same command again
#    (finished images are skipped), or have RequeueExit=75 in slurm.conf (an
#    administrator's setting): then Slurm requeues it by itself.
#  - scancel, `scontrol requeue` and preemption (PreemptMode=REQUEUE) send
#    SIGTERM too, then SIGKILL KillWait seconds later (slurm.conf; default
#    30): enough, zgseg needs 2 s.
#    Note `scancel --signal=TERM JOB_TASK` alone signals only job steps (none
#    here); add --batch (or --full) to reach zgseg.
#  - --requeue: a requeued or preempted task runs again with the same command
#    (by default 2 min later: AuthInfo's cred_expire) and resumes;
#    --open-mode=append keeps the earlier run's log above it.
#
#SBATCH --job-name=zgseg
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --signal=B:TERM@60
#SBATCH --open-mode=append
#SBATCH --output=zgseg-%A_%a.out
set -euo pipefail
if (($# < 2)); then
  echo "usage: sbatch --array=0-N scripts/slurm_array.sh IN OUT [zgseg batch options]" >&2
  exit 2
fi
IN="$1"; OUT="$2"; shift 2
if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  echo "slurm_array.sh: not a job array task; submit with sbatch --array=0-15 scripts/slurm_array.sh IN OUT" >&2
  exit 2
fi

ZG="${ZGSEG:-}"
if [[ -z "$ZG" ]]; then
  if [[ -x "${SLURM_SUBMIT_DIR:-.}/build/zgseg" ]]; then
    ZG="${SLURM_SUBMIT_DIR:-.}/build/zgseg"
  elif command -v zgseg >/dev/null; then
    ZG="$(command -v zgseg)"
  else
    echo "slurm_array.sh: no zgseg: set ZGSEG=/path/to/zgseg, run sbatch from the source folder (build/zgseg), or put zgseg on PATH" >&2
    exit 2
  fi
fi

# Defaults the caller may override: one LibTorch thread per allocated CPU, and
# --resume (unless --overwrite is asked for).
threads=1 resume=1
for a in "$@"; do
  case "$a" in
    --threads | --threads=*) threads=0 ;;
    --resume | --overwrite) resume=0 ;;
  esac
done
defaults=()
((threads)) && [[ -n "${SLURM_CPUS_PER_TASK:-}" ]] && defaults+=(--threads "$SLURM_CPUS_PER_TASK")
((resume)) && defaults+=(--resume)
exec "$ZG" batch "$IN" -o "$OUT" --shard slurm "${defaults[@]}" "$@"
