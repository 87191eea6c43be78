"""Feature extraction in several processes (``--processes N``), on ``torch.distributed``.

Each process is one rank of a gloo process group (the backend that runs everywhere, CPU or GPU):
it builds the model from its spec, encodes every N-th chunk of the films still missing from the
cache, and writes its parts into the same cache folder under its own names; a barrier ends the run
and the caller reads the merged cache as usual. On a multi-GPU node rank r uses ``cuda:r``. Called
from code that already runs in a process group (under ``torchrun``), it works as that group's rank
instead of spawning one.
"""
from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..models.predictors import FeatureRequest, ModelPool
from ..models.registry import register_model
from ..ports import free_port
from .extract import Chunk, Extract, encode_here, encode_part


def _rank_device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        return torch.device(f"cuda:{rank % torch.cuda.device_count()}")
    return torch.device("cpu")


def encode_shard(rank: int, world: int, specs, key: str, trained: bool, modality: str, folder: str,
                 chunks: list[Chunk], batch_size: int, num_workers: int) -> None:
    """Rank ``rank``'s share of ``chunks`` (lists of (content hash, poster path or plot)), written as
    cache parts named after the rank. Registers ``specs`` first: a spawned process starts with the
    default lineup only."""
    for spec in specs:
        register_model(spec, overwrite=True)
    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    encoder = ModelPool(_rank_device(rank)).get(key).encoder_for(trained)
    for index, chunk in enumerate(chunks[rank::world]):
        encode_part(encoder, modality, Path(folder), chunk, batch_size, num_workers,
                    name=f"part-r{rank}of{world}-{index:05d}")
    dist.barrier()


def _spawned(rank: int, world: int, port: int, *args) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        encode_shard(rank, world, *args)
    finally:
        dist.destroy_process_group()


def extract_in_processes(processes: int, request: FeatureRequest, folder: Path, chunks: list[Chunk],
                         batch_size: int, num_workers: int, progress: bool = False) -> None:
    """Encode ``chunks`` in ``processes`` ranks (spawned here, or the torchrun group this runs in); an
    :data:`~.extract.Extract` once ``processes`` is bound. Ranks show no progress bar."""
    predictor = request.predictor
    args = ([predictor.spec], predictor.key, request.trained, request.modality, str(folder), chunks, batch_size,
            num_workers)
    if dist.is_available() and dist.is_initialized():  # under torchrun: this process is one rank
        encode_shard(dist.get_rank(), dist.get_world_size(), *args)
        return
    ranks = mp.spawn(_spawned, args=(processes, free_port(), *args), nprocs=processes, join=False)
    try:
        while not ranks.join():
            pass
    except BaseException:
        # Ctrl+C from a terminal reaches the ranks too, SIGTERM to this process (cli.Terminated) does not: stop
        # them here, or they run on (and exit would wait for them: they are not daemons)
        stop_processes(ranks.processes)
        raise


def stop_processes(processes, grace_s: float = 10.0) -> None:
    """SIGTERM to each process still alive, then SIGKILL to any still alive ``grace_s`` seconds later."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def extractor(processes: int) -> Extract:
    """How ``FeatureCache.features`` encodes what is missing: in this process (1) or in ``processes``."""
    return encode_here if processes == 1 else partial(extract_in_processes, processes)


def cache_options(options) -> dict:
    """``FeatureCache.features``' keyword arguments from a run's ``TrainOptions`` (``--processes`` included)."""
    return dict(batch_size=options.feature_batch_size, num_workers=options.num_workers,
                extract=extractor(options.processes), progress=options.progress)
