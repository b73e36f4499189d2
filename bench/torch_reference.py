"""The training-speed bar, measured: the same network in PyTorch, timed beside ours.

    python bench/torch_reference.py --torch_python=/path/to/venv/bin/python \
        --out=bench/results/torch_reference.json

PyTorch is not a dependency of this project: ``--torch_python`` names an interpreter that
has ``torch`` (and NumPy) installed; this file is run by it for the PyTorch side and uses no
other import from the project there. The PyTorch network mirrors
``awing_tf.models.stacked_hourglass.build_model`` layer for layer (CoordConv stem, Bulat
pre-activation ConvBlocks, depth-4 hourglasses, boundary channel, boundary-masked
coordinates, re-injection), trained with the Adaptive Wing loss and the Weighted Loss Map
on every stack and RMSProp, under ``torch.autocast("cpu", dtype=torch.bfloat16)`` timed
against Keras ``mixed_bfloat16`` (``--precision=bfloat16``, the default), or both in float32
(``--precision=float32``: on a CPU without native bfloat16, where ``--precision=auto`` trains
in float32); its parameter count is checked against the Keras model's.

Each measurement runs in its own process, PyTorch and TensorFlow alternating for
``--rounds`` rounds (this machine is noisy: compare within a round). Synthetic input, batch
``--batch_size``, median of ``--steps`` steps after ``--warmup``. Writes per round
``torch[MEMORY_FORMAT]`` and ``tensorflow`` with ``train_images_per_second``,
``forward_images_per_second``, ``tensorflow_step_targets`` (the heatmap targets encoded
inside the Keras step from landmarks, as ``awing-train`` trains; PyTorch and ``tensorflow``
get precomputed targets), plus the TF/PyTorch ratios of the best PyTorch layout;
``machine_at_start`` records the CPU model, cores and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# --precision -> the Keras dtype policy timed against PyTorch
TF_POLICY = {"bfloat16": "mixed_bfloat16", "float32": "float32"}

PAPER = {"num_stacks": 4, "num_features": 256, "input_size": 256, "heatmap_size": 64,
         "depth": 4, "num_outputs": 69}


def _torch_measure(batch: int, warmup: int, steps: int, memory_format: str,
                   precision: str = "bfloat16") -> dict:
    """Runs under the PyTorch interpreter: times one training step and one forward pass,
    under bfloat16 autocast (``precision="bfloat16"``) or in plain float32."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(0)
    cl = memory_format == "channels_last"
    bf16 = precision == "bfloat16"

    def coords(b: int, h: int, w: int, like: torch.Tensor):
        ys = torch.linspace(-1.0, 1.0, h, dtype=like.dtype)
        xs = torch.linspace(-1.0, 1.0, w, dtype=like.dtype)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        rr = torch.sqrt(xx * xx + yy * yy) / np.sqrt(2.0)
        c = torch.stack([xx, yy, rr])[None].expand(b, 3, h, w)
        return c[:, 0:1], c[:, 1:2], c[:, 2:3]

    class CoordConv(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, stride: int = 1,
                     with_boundary: bool = False):
            super().__init__()
            self.with_boundary = with_boundary
            extra = 3 + 2 * int(with_boundary)
            self.conv = nn.Conv2d(cin + extra, cout, k, stride, padding=k // 2)

        def forward(self, x, boundary=None):
            b, _, h, w = x.shape
            xx, yy, rr = coords(b, h, w, x)
            parts = [x, xx, yy, rr]
            if self.with_boundary:
                mask = boundary.clamp(0, 1) >= 0.05
                parts += [torch.where(mask, xx, torch.zeros_like(xx)),
                          torch.where(mask, yy, torch.zeros_like(yy))]
            return self.conv(torch.cat(parts, 1))

    class ConvBlock(nn.Module):
        def __init__(self, cin: int, cout: int):
            super().__init__()
            widths = (cout // 2, cout // 4, cout // 4)
            ins = (cin, widths[0], widths[1])
            self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in ins)
            self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1, bias=False)
                                       for i, o in zip(ins, widths, strict=True))
            self.skip = None
            if cin != cout:
                self.skip = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(),
                                          nn.Conv2d(cin, cout, 1, bias=False))

        def forward(self, x):
            outs, h = [], x
            for bn, conv in zip(self.bns, self.convs, strict=True):
                h = conv(F.relu(bn(h)))
                outs.append(h)
            res = x if self.skip is None else self.skip(x)
            return torch.cat(outs, 1) + res

    class Hourglass(nn.Module):
        def __init__(self, f: int, depth: int):
            super().__init__()
            self.depth = depth
            self.up = nn.ModuleList(ConvBlock(f, f) for _ in range(depth))
            self.low1 = nn.ModuleList(ConvBlock(f, f) for _ in range(depth))
            self.low3 = nn.ModuleList(ConvBlock(f, f) for _ in range(depth))
            self.bottom = ConvBlock(f, f)

        def level(self, x, lvl: int):
            up1 = self.up[lvl](x)
            low = self.low1[lvl](F.avg_pool2d(x, 2))
            low = self.level(low, lvl + 1) if lvl + 1 < self.depth else self.bottom(low)
            low = self.low3[lvl](low)
            return up1 + F.interpolate(low, scale_factor=2, mode="nearest")

        def forward(self, x):
            return self.level(x, 0)

    class Net(nn.Module):
        def __init__(self, n_stacks: int, f: int, depth: int, k_out: int):
            super().__init__()
            self.n = n_stacks
            self.stem = CoordConv(3, f // 4, 7, 2)
            self.stem_bn = nn.BatchNorm2d(f // 4)
            self.b1, self.b2, self.b3 = (ConvBlock(f // 4, f // 2), ConvBlock(f // 2, f // 2),
                                         ConvBlock(f // 2, f))
            self.coord = nn.ModuleList(CoordConv(f, f, 1, with_boundary=i > 0)
                                       for i in range(n_stacks))
            self.hg = nn.ModuleList(Hourglass(f, depth) for _ in range(n_stacks))
            self.top = nn.ModuleList(ConvBlock(f, f) for _ in range(n_stacks))
            self.last = nn.ModuleList(nn.Conv2d(f, f, 1) for _ in range(n_stacks))
            self.bn_end = nn.ModuleList(nn.BatchNorm2d(f) for _ in range(n_stacks))
            self.head = nn.ModuleList(nn.Conv2d(f, k_out, 1) for _ in range(n_stacks))
            self.bl = nn.ModuleList(nn.Conv2d(f, f, 1) for _ in range(n_stacks - 1))
            self.al = nn.ModuleList(nn.Conv2d(k_out, f, 1) for _ in range(n_stacks - 1))

        def forward(self, x):
            x = F.relu(self.stem_bn(self.stem(x)))
            x = self.b3(self.b2(F.avg_pool2d(self.b1(x), 2)))
            previous, boundary, outs = x, None, []
            for i in range(self.n):
                h = self.coord[i](previous, boundary)
                ll = self.top[i](self.hg[i](h))
                ll = F.relu(self.bn_end[i](self.last[i](ll)))
                hm = self.head[i](ll)
                outs.append(hm)
                boundary = hm[:, -1:]
                if i < self.n - 1:
                    previous = previous + self.bl[i](ll) + self.al[i](hm)
            return outs

    def awing_weighted(y, y_hat, omega=14.0, theta=0.5, eps=1.0, alpha=2.1, w=10.0):
        y_hat = y_hat.float()
        d = (y - y_hat).abs()
        p = alpha - y
        t = theta / eps
        a = omega / (1 + t ** p) * p * t ** (p - 1) / eps
        c = theta * a - omega * torch.log1p(t ** p)
        small = d < theta
        d_small = torch.where(small, d, torch.zeros_like(d))
        loss = torch.where(small, omega * torch.log1p((d_small / eps) ** p), a * d - c)
        mask = (F.max_pool2d(y, 3, 1, 1) >= 0.2).float()
        return (loss * (w * mask + 1.0)).mean()

    p = PAPER
    model = Net(p["num_stacks"], p["num_features"], p["depth"], p["num_outputs"])
    # Keras counts BatchNorm's moving statistics too
    n_params = sum(t.numel() for t in model.parameters()) + sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    fmt = torch.channels_last if cl else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-4, alpha=0.9, eps=1e-7,
                              weight_decay=1e-5, momentum=0.0)
    rng = np.random.default_rng(0)
    s, h, k = p["input_size"], p["heatmap_size"], p["num_outputs"]
    x = torch.from_numpy(rng.uniform(0, 1, (batch, 3, s, s)).astype("float32"))
    x = x.contiguous(memory_format=fmt)
    y = torch.from_numpy(rng.uniform(0, 1, (batch, k, h, h)).astype("float32") ** 8)
    y = y.contiguous(memory_format=fmt)

    model.train()
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outs = model(x)
        loss = sum(awing_weighted(y, o) for o in outs)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    model.eval()
    fwd = []
    with torch.no_grad():
        for i in range(warmup + steps):
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                model(x)
            if i >= warmup:
                fwd.append(time.perf_counter() - t)
    return {"train_images_per_second": batch / float(np.median(times)),
            "forward_images_per_second": batch / float(np.median(fwd)),
            "parameters": int(n_params), "torch_version": torch.__version__,
            "threads": torch.get_num_threads(), "memory_format": memory_format,
            "precision": precision,
            "loss_finite": bool(torch.isfinite(loss).item())}


def _cpu() -> dict:
    """The CPU model and the bfloat16 features that decide the kernels (Linux)."""
    from bench.harness.machine import cpu_flags, cpu_model

    flags = cpu_flags()
    return {"model": cpu_model(),
            **{f: f in flags for f in ("avx512_bf16", "amx_bf16", "amx_tile")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch_python", help="An interpreter with torch installed.")
    parser.add_argument("--out", default="bench/results/torch_reference.json")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--memory_formats", default="channels_last,contiguous")
    parser.add_argument("--precision", default="bfloat16", choices=sorted(TF_POLICY),
                        help="bfloat16: PyTorch bf16 autocast against Keras mixed_bfloat16; "
                             "float32: both in float32 (CPUs without native bfloat16, where "
                             "--precision=auto trains in float32)")
    parser.add_argument("--torch_one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_one:  # under the PyTorch interpreter: no project imports
        r = _torch_measure(args.batch_size, args.warmup, args.steps, args.torch_one,
                           args.precision)
        print("RESULT " + json.dumps(r), flush=True)
        return
    import numpy as np

    from bench.harness.child_process import run_for_result
    from bench.harness.machine import machine_info
    from bench.harness.results import write_json

    if not args.torch_python:
        parser.error("--torch_python is required (an interpreter with torch installed)")
    if not os.access(args.torch_python, os.X_OK):
        parser.error(f"--torch_python={args.torch_python!r} is not an executable")
    common = [f"--batch_size={args.batch_size}", f"--warmup={args.warmup}",
              f"--steps={args.steps}"]
    formats = [f for f in args.memory_formats.split(",") if f]
    for f in formats:
        if f not in ("channels_last", "contiguous"):
            parser.error(f"--memory_formats: unknown format {f!r}")
    machine = machine_info()
    rounds = []
    for r in range(args.rounds):
        row: dict = {"torch": {}}
        for f in formats:
            row["torch"][f] = run_for_result([args.torch_python, __file__, f"--torch_one={f}",
                                    f"--precision={args.precision}"] + common)
            t = row["torch"][f]
            print(f"round {r} torch {f:14s} train {t['train_images_per_second']:6.2f} img/s "
                  f"forward {t['forward_images_per_second']:6.2f} img/s", flush=True)
        policy = TF_POLICY[args.precision]
        for key, targets in (("tensorflow", "precomputed"), ("tensorflow_step_targets", "step")):
            row[key] = run_for_result([sys.executable, os.path.join(HERE, "train_step.py"),
                                       f"--one=paper:{policy}", f"--targets={targets}"] + common)
            t = row[key]
            print(f"round {r} tensorflow {policy} ({targets} targets) train "
                  f"{t['train_images_per_second']:6.2f} img/s "
                  f"forward {t['forward_images_per_second']:6.2f} img/s", flush=True)
        t = row["tensorflow"]
        best = max(row["torch"].values(), key=lambda v: v["train_images_per_second"])
        if best["parameters"] != t["parameters"]:
            raise RuntimeError(f"parameter counts differ: torch {best['parameters']}, "
                               f"keras {t['parameters']}")
        row["tf_over_torch_train"] = t["train_images_per_second"] / best["train_images_per_second"]
        row["tf_step_targets_over_torch_train"] = (
            row["tensorflow_step_targets"]["train_images_per_second"]
            / best["train_images_per_second"])
        row["tf_over_torch_forward"] = (t["forward_images_per_second"]
                                        / max(v["forward_images_per_second"]
                                              for v in row["torch"].values()))
        print(f"round {r} TF/PyTorch train {row['tf_over_torch_train']:.2f} (targets in the "
              f"step {row['tf_step_targets_over_torch_train']:.2f}) "
              f"forward {row['tf_over_torch_forward']:.2f}", flush=True)
        rounds.append(row)
    out = {"preset": "paper", "precision": args.precision,
           "tensorflow_policy": TF_POLICY[args.precision], "batch_size": args.batch_size,
           "steps": args.steps,
           "warmup": args.warmup, "cpu": _cpu(),
           "cpu_count": os.cpu_count(), "machine_at_start": machine, "rounds": rounds,
           "median_tf_over_torch_train": float(np.median([r["tf_over_torch_train"]
                                                          for r in rounds])),
           "median_tf_over_torch_forward": float(np.median([r["tf_over_torch_forward"]
                                                            for r in rounds])),
           "median_tf_step_targets_over_torch_train": float(np.median(
               [r["tf_step_targets_over_torch_train"] for r in rounds]))}
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
