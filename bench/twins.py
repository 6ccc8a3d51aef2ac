#!/usr/bin/python3
"""PyTorch twins of the Go workloads hvae and xlangevin (bench/hvae.go,
bench/xlangevin.go): the same layers, shapes and parameters, timed like
../shared/bench/torch_ref.py's workloads and printed in its JSON format.

    twins.py check DIR          load the cases `vaebm bench --export DIR` wrote
                                (our weights, inputs and outputs), rebuild each
                                twin with those weights and require the same
                                parameter count and outputs; exit 1 otherwise
    twins.py time [hvae|xlangevin|all] [--threads N] [--steps N] [--warmup N]

Debian's python3-torch (1.13) runs it: /usr/bin/python3 bench/twins.py ...
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1.0


def timed(step, steps, warmup):
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    return times


class Params:
    """Parameters and buffers named and shaped as the Go core's (nn.Param):
    conv kernels (out, in, k, k), conv biases (out), linear weights
    (in, out) applied as x·W, linear biases (1, out)."""

    def __init__(self):
        self.t = {}
        self.buffers = set()

    def new(self, name, *shape, fan_in=None, buffer=False):
        a = 1 / math.sqrt(fan_in) if fan_in else 1.0
        p = (torch.rand(*shape) * 2 - 1) * a
        if not buffer:
            p.requires_grad_(True)
        else:
            self.buffers.add(name)
        self.t[name] = p
        return p

    def conv(self, name, cin, cout, k, bias=True):
        self.new(name + ".w", cout, cin, k, k, fan_in=cin * k * k)
        if bias:
            self.new(name + ".b", cout, fan_in=cin * k * k)

    def linear(self, name, din, dout):
        self.new(name + ".w", din, dout, fan_in=din)
        self.new(name + ".b", 1, dout, fan_in=din)

    def trained(self):
        return [p for n, p in self.t.items() if n not in self.buffers]

    def count(self):
        return sum(p.numel() for p in self.trained())

    def load(self, case):
        """Copies the case's params and buffers in; every one of ours must
        be in the case and the other way round."""
        theirs = {t["name"]: t for t in case.tensors if t["kind"] in ("param", "buffer")}
        missing, extra = sorted(set(self.t) - set(theirs)), sorted(set(theirs) - set(self.t))
        if missing or extra:
            raise SystemExit(f"{case.workload}: twin parameters differ from ours: only in the twin {missing}, only in Go {extra}")
        with torch.no_grad():
            for name, p in self.t.items():
                v = case.value(name)
                if tuple(v.shape) != tuple(p.shape):
                    raise SystemExit(f"{case.workload}: {name} is {tuple(v.shape)} in Go, {tuple(p.shape)} in the twin")
                p.copy_(v)


def conv(P, name, x, stride=1, pad=1, weight=None):
    w = P.t[name + ".w"] if weight is None else weight
    return F.conv2d(x, w, P.t.get(name + ".b"), stride=stride, padding=pad)


def linear(P, name, x, weight=None):
    w = P.t[name + ".w"] if weight is None else weight
    return x @ w + P.t[name + ".b"]


# ---- hvae: core/vae/hier.go's HierVAE at the StackedMNIST quick scale ----

class HVAE:
    def __init__(self, c=3, h=28, w=28, ch=32, z=2, groups=(1, 1), glob=64, min_log_sd=-1.6):
        self.c, self.h, self.w, self.ch, self.z, self.groups, self.glob = c, h, w, ch, z, groups, glob
        self.min_log_sd = min_log_sd
        P = self.P = Params()
        P.conv("henc.stem", c, ch, 3)
        for i in range(3):
            self._cell(f"henc.cell{i}")
        for i in range(2):
            P.conv(f"henc.down{i}", ch, ch, 3)
        P.new("hdec.top", ch, h // 4, w // 4)
        q = ch * (h // 4) * (w // 4)
        P.linear("hdec.global.mu", q, glob)
        P.linear("hdec.global.logsd", q, glob)
        P.linear("hdec.global.dec", glob, q)
        for l in range(sum(groups)):
            n = f"hdec.group{l}"
            for part in ("prior.mu", "prior.logsd", "post.mu", "post.logsd"):
                P.conv(f"{n}.{part}", ch, z, 3)
            for part in ("postenc.mu", "postenc.logsd"):
                P.conv(f"{n}.{part}", ch, z, 3, bias=False)
            P.conv(f"{n}.combine", z, ch, 1)
            self._cell(f"{n}.cell")
        for i in range(2):
            P.conv(f"hdec.up{i}", ch, ch, 3)
        self._cell("hdec.out.cell")
        P.conv("hdec.out.mu", ch, c, 3)
        P.conv("hdec.out.logsd", ch, c, 3)

    def _cell(self, name):
        self.P.conv(name + ".c1", self.ch, self.ch, 3)
        self.P.conv(name + ".c2", self.ch, self.ch, 3)

    def cell(self, name, x):
        return x + conv(self.P, name + ".c2", F.silu(conv(self.P, name + ".c1", F.silu(x))))

    def eps_dims(self):
        q, hf = (self.h // 4) * (self.w // 4), (self.h // 2) * (self.w // 2)
        return [self.glob] + [self.z * q] * self.groups[0] + [self.z * hf] * self.groups[1]

    def loss(self, x, noise):
        """The negative ELBO of BuildELBO (KL weight 1, every group weighted
        1), its reconstruction term and the groups' KL summed."""
        P, n = self.P, x.shape[0]
        sc = lambda t: 5 * torch.tanh(t / 5)
        img = x.view(n, self.c, self.h, self.w)
        h = self.cell("henc.cell0", conv(P, "henc.stem", img))
        half = self.cell("henc.cell1", conv(P, "henc.down0", h, stride=2))
        quarter = self.cell("henc.cell2", conv(P, "henc.down1", half, stride=2))
        dims, off, eps = self.eps_dims(), 0, []
        for d in dims:
            eps.append(noise[off:off + n * d].view(n, d))
            off += n * d
        shape4 = (n, self.ch, self.h // 4, self.w // 4)
        h = P.t["hdec.top"].unsqueeze(0).expand(*shape4)
        kls = []
        feat = quarter.reshape(n, -1)
        qmu, qls = sc(linear(P, "hdec.global.mu", feat)), sc(linear(P, "hdec.global.logsd", feat))
        zg = qmu + torch.exp(qls) * eps[0]
        h = h + linear(P, "hdec.global.dec", zg).view(*shape4)
        kls.append(self._kl(qmu, qls, None, None, n, dims[0]))
        for l in range(sum(self.groups)):
            g = f"hdec.group{l}"
            if l == self.groups[0]:
                h = F.silu(conv(P, "hdec.up0", F.interpolate(h, scale_factor=2, mode="nearest")))
            pmu, pls = sc(conv(P, g + ".prior.mu", h)), sc(conv(P, g + ".prior.logsd", h))
            enc = quarter if l < self.groups[0] else half
            dmu = conv(P, g + ".post.mu", h) + conv(P, g + ".postenc.mu", enc)
            dls = conv(P, g + ".post.logsd", h) + conv(P, g + ".postenc.logsd", enc)
            qmu, qls = sc(pmu + dmu), sc(pls + dls)
            z = qmu + torch.exp(qls) * eps[l + 1].view_as(qmu)
            kls.append(self._kl(qmu, qls, pmu, pls, n, dims[l + 1]))
            h = self.cell(g + ".cell", h + conv(P, g + ".combine", z, pad=0))
        h = F.silu(conv(P, "hdec.up1", F.interpolate(h, scale_factor=2, mode="nearest")))
        h = self.cell("hdec.out.cell", h)
        mu = conv(P, "hdec.out.mu", h)
        m = self.min_log_sd
        ls = F.softplus(conv(P, "hdec.out.logsd", h) - m) + m
        r = (img - mu) * torch.exp(-ls)
        recon = (ls.sum() + 0.5 * (r * r).sum()) / n + HALF_LOG_2PI * self.c * self.h * self.w
        kl = sum(kls)
        return recon + kl, recon, kl

    @staticmethod
    def _kl(qmu, qls, pmu, pls, n, dim):
        if pmu is None:
            d, m = qls, qmu
        else:
            d, m = qls - pls, (qmu - pmu) * torch.exp(-pls)
        k = 0.5 * (torch.exp(2 * d) + m * m) - d
        return k.sum() / n - 0.5 * dim


# ---- xlangevin: core/energy/resnet.go's ResNet under spectral norm, ----
# ---- IGEBM's chain step of core/sampler/langevin.go (RuleNoiseFirst) ----

class EBMX:
    def __init__(self, c=1, h=28, w=28, width=32, blocks=((32, True), (64, True))):
        self.c, self.h, self.w = c, h, w
        P = self.P = Params()
        self.convs = ["energy.stem"]
        P.conv("energy.stem", c, width, 3)
        self.blocks, cin = [], width
        for i, (out, down) in enumerate(blocks):
            n = f"energy.block{i}"
            P.conv(n + ".c1", cin, out, 3)
            P.conv(n + ".c2", out, out, 3)
            skip = cin != out
            if skip:
                P.conv(n + ".skip", cin, out, 1, bias=False)
            self.blocks.append((n, down, skip))
            self.convs += [n + ".c1", n + ".c2"] + ([n + ".skip"] if skip else [])
            cin = out
        P.linear("energy.head", cin, 1)
        for name in self.convs + ["energy.head"]:
            w = P.t[name + ".w"]
            P.new(name + ".w.sn_u", w.shape[0], buffer=True)
            P.new(name + ".w.sn_v", w[0].numel(), buffer=True)

    def sn(self, name):
        """W/σ(W), σ = uᵀ W v from the stored vectors (nn.SpectralNorm)."""
        w = self.P.t[name + ".w"]
        sigma = self.P.t[name + ".w.sn_u"] @ (w.reshape(w.shape[0], -1) @ self.P.t[name + ".w.sn_v"])
        return w / sigma

    def energy(self, x):
        P = self.P
        ls = lambda t: t * torch.sigmoid(t) / 1.1
        h = ls(conv(P, "energy.stem", x.view(-1, self.c, self.h, self.w), weight=self.sn("energy.stem")))
        for n, down, skip in self.blocks:
            y = conv(P, n + ".c2", ls(conv(P, n + ".c1", h, weight=self.sn(n + ".c1"))), weight=self.sn(n + ".c2"))
            s = conv(P, n + ".skip", h, pad=0, weight=self.sn(n + ".skip")) if skip else h
            y = y + s
            if down:
                y = F.avg_pool2d(y, 2)
            h = ls(y)
        return linear(P, "energy.head", h.sum(dim=(2, 3)), weight=self.sn("energy.head")).squeeze(1)


XL_STEPS, XL_STEP, XL_NOISE, XL_CLIP = 10, 10.0, 0.005, 0.01


def xl_chain(model, x):
    """A chain of XL_STEPS steps (noise, clipped gradient step, clamp to
    [0, 1]) and E(x) at its end, as sampler.Langevin.Run."""
    for _ in range(XL_STEPS):
        x = (x + XL_NOISE * torch.randn_like(x)).requires_grad_(True)
        (g,) = torch.autograd.grad(model.energy(x).sum(), x)
        x = (x - XL_STEP * g.clamp(-XL_CLIP, XL_CLIP)).clamp(0, 1).detach()
    with torch.no_grad():
        e = model.energy(x)
    return x, e


# ---- the cases Go exported ----

class Case:
    def __init__(self, d, workload):
        with open(os.path.join(d, workload + ".json")) as f:
            head = json.load(f)
        with open(os.path.join(d, workload + ".bin"), "rb") as f:
            self.raw = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
        self.workload, self.params, self.tensors = workload, head["params"], head["tensors"]
        self.by = {t["name"]: t for t in self.tensors}

    def value(self, name):
        t = self.by[name]
        n = math.prod(t["shape"])
        return self.raw[t["offset"]:t["offset"] + n].view(*t["shape"])


def close(name, ours, theirs, rtol):
    err = (theirs - ours).abs().max().item()
    scale = ours.abs().max().item()
    ok = err <= rtol * max(scale, 1e-12)
    print(f"  {name:10s} go {ours.flatten()[0].item():14.6g}  twin {theirs.flatten()[0].item():14.6g}"
          f"  max |diff| {err:.3g} (scale {scale:.3g})  {'ok' if ok else 'MISMATCH'}")
    return ok


def check_hvae(case):
    m = HVAE()
    m.P.load(case)
    loss, recon, kl = m.loss(case.value("x"), case.value("noise"))
    loss.backward()
    gn = math.sqrt(sum((p.grad.double() ** 2).sum().item() for p in m.P.trained()))
    return m.P.count(), [close("loss", case.value("loss"), loss.detach().view(1), 1e-4),
                         close("recon", case.value("recon"), recon.detach().view(1), 1e-4),
                         close("kl", case.value("kl"), kl.detach().view(1), 1e-3),
                         close("grad_norm", case.value("grad_norm"), torch.tensor([gn], dtype=torch.float32), 1e-3)]


def check_xlangevin(case):
    m = EBMX()
    m.P.load(case)
    x = case.value("x").clone().requires_grad_(True)
    e = m.energy(x)
    (g,) = torch.autograd.grad(e.sum(), x)
    return m.P.count(), [close("energy", case.value("energy"), e.detach(), 1e-4),
                         close("grad", case.value("grad"), g, 1e-3)]


CHECKS = {"hvae": check_hvae, "xlangevin": check_xlangevin}


def cmd_check(d):
    ok = True
    for w, fn in CHECKS.items():
        case = Case(d, w)
        print(f"{w}: twin of bench/{w}.go against `vaebm bench --export`:")
        count, oks = fn(case)
        same = count == case.params
        print(f"  parameters go {case.params}  twin {count}  {'ok' if same else 'MISMATCH'}")
        ok = ok and same and all(oks)
    if not ok:
        print("twins.py: a twin does not compute what ours does; not timing it", file=sys.stderr)
        return 1
    return 0


def time_hvae(steps, warmup):
    m = HVAE()
    opt = torch.optim.Adam(m.P.trained(), lr=1e-4)
    total = sum(m.eps_dims()) * 32

    def step():
        x, noise = torch.rand(32, m.c * m.h * m.w), torch.randn(total)
        opt.zero_grad(set_to_none=True)
        m.loss(x, noise)[0].backward()
        opt.step()

    return timed(step, steps, warmup), 1


def time_xlangevin(steps, warmup):
    m = EBMX()
    for p in m.P.t.values():
        p.requires_grad_(False)
    state = {"x": torch.rand(32, 1, 28, 28)}

    def step():
        state["x"], _ = xl_chain(m, state["x"])

    return timed(step, steps, warmup), XL_STEPS


TIMED = {"hvae": (time_hvae, 20), "xlangevin": (time_xlangevin, 5)}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir")
    t = sub.add_parser("time")
    t.add_argument("workload", choices=list(TIMED) + ["all"])
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--steps", type=int, default=0, help="timed calls (0: the workload's default)")
    t.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "check":
        torch.set_num_threads(2)
        return cmd_check(args.dir)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in list(TIMED) if args.workload == "all" else [args.workload]:
        fn, default_steps = TIMED[name]
        times, per = fn(args.steps or default_steps, args.warmup)
        times = [v / per for v in times]  # per transition, as ours
        print(json.dumps({
            "impl": "pytorch-" + torch.__version__,
            "workload": name,
            "threads": torch.get_num_threads(),
            "steps": len(times),
            "median_ms": round(statistics.median(times), 3),
            "min_ms": round(min(times), 3),
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
