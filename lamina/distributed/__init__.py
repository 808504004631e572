"""Training on several processes launched by `torchrun`: nothing changes in the script.

Run the same script with ``torchrun --nproc_per_node=N script.py``: `fit`,
`evaluate` and `predict` find the process group (initialising it from
torchrun's environment when the script has not: NCCL on the GPU
``LOCAL_RANK`` when CUDA is available, else gloo) and then

* `fit` runs the model in `DistributedDataParallel` (or shards it with
  `FullyShardedDataParallel`, see `set_distribution`); each process takes its
  part of every global batch (`batch_size` × the number of processes by
  default), so the weights after each step are those of one process training on
  the global batch; `Dataset` / `DataLoader` / `PyDataset` inputs are read
  through a distributed sampler (disjoint samples per process);
* metrics are summed over the processes (their states, not their results), so
  logs, `History`, `EarlyStopping` and `ReduceLROnPlateau` see the same numbers,
  and take the same decisions, on every process;
* the progress bar, `CSVLogger`, `TensorBoard`, `ModelCheckpoint`,
  `BackupAndRestore`'s writes, `model.save` and `model.save_weights` happen on
  rank 0 only;
* `evaluate` returns the metrics over all the data on every process; `predict`
  returns the full predictions, in order, on every process.

Every process must make the same calls. A collective that gets no answer
within ``LAMINA_DIST_TIMEOUT`` seconds (default 300; when Lamina initialises
the group) raises `DistributedTrainingError` instead of waiting forever.
Outside `torchrun` none of this runs (one check per call).
"""

from lamina.distributed.context import (
    DEFAULT_TIMEOUT_S,
    TIMEOUT_ENV,
    DistributedContext,
    get_context,
    is_chief,
    local,
    timeout_seconds,
)
from lamina.distributed.errors import DistributedTrainingError
from lamina.distributed.strategy import (
    DataParallel,
    FullyShardedDataParallel,
    get_distribution,
    set_distribution,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "TIMEOUT_ENV",
    "DataParallel",
    "DistributedContext",
    "DistributedTrainingError",
    "FullyShardedDataParallel",
    "get_context",
    "get_distribution",
    "is_chief",
    "local",
    "set_distribution",
    "timeout_seconds",
]
