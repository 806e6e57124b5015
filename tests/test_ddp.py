"""Data parallelism as torchrun runs it: two gloo processes on CPU end with identical weights."""

import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import os

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from inkwash.data.dataset import ColorizationDataset
    from inkwash.data.synthetic import SyntheticIllustrations
    from inkwash.train import paintstorch as pt
    from inkwash.train import run as tr
    from inkwash.train.loop import fit
    from inkwash.train.config import to_dict

    cfg = tr.make_config("paintstorch", "tiny", overrides={
        "data.size": 64, "data.batch_size": 2, "data.workers": 0, "loop.steps": 3, "loop.image_every": 0,
        "loop.device": "cpu"})
    made = []

    def make(device):
        made.append(pt.PaintsTorchTask(cfg, device))
        return made[0]

    data = ColorizationDataset(SyntheticIllustrations(n=8, size=64, seed=0), size=64, seed=0)
    summary = fit(make, data, cfg.loop, 2, 0, f"{out_dir}/run", to_dict(cfg), progress=False, log=lambda s: None)
    assert summary["world"] == world and summary["rank"] == rank
    state = {f"{n}.{k}": v.clone() for n, net in made[0].networks().items() for k, v in net.state_dict().items()}
    torch.save(state, f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_two_gloo_ranks_end_with_identical_weights(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    torch.manual_seed(0)  # the loop's initial weights: training moved them, identically on both ranks
    from inkwash.train import paintstorch as pt
    from inkwash.train import run as tr

    start = pt.PaintsTorchTask(tr.make_config("paintstorch", "tiny")).networks()["g1"].state_dict()
    assert not torch.equal(a["g1.exit.weight"], start["exit.weight"])
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()  # rank 0 wrote the export
