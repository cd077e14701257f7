#!/usr/bin/env bash
# Example: spread a folder of images over a Slurm job array. Each array task
# takes a deterministic 1/N of the inputs (zgseg batch --shard I/N); no
# coordinator is needed, and a re-submitted task resumes where it stopped.
#
#   sbatch --array=0-15 scripts/slurm_array.sh /data/images /data/zgseg-out
#
#SBATCH --job-name=zgseg
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=24:00:00
set -euo pipefail
IN="$1"; OUT="$2"
N="${SLURM_ARRAY_TASK_COUNT:?run as a job array}"
I="${SLURM_ARRAY_TASK_ID:?run as a job array}"
exec build/zgseg batch "$IN" -o "$OUT" --shard "$I/$N" --resume --threads "${SLURM_CPUS_PER_TASK:-0}"
