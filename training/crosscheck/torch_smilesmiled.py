#!/usr/bin/python3
"""Train a CNN on SMILEsmileD with PyTorch 1.13, as an independent check of
what smile-train reaches on the same split (test = files whose number is
divisible by 5). Not part of the build or the tests.

  smilenet: training/archs/smilenet-64.arch layer for layer (573 k weights)
  resnet:   a ResNet-18-style net for 64x64 (2.8 M weights)
  adam:     smile-train's cosine command: Adam 1e-3, cosine, EMA 0.998 with
            the (1+t)/(10+t) warm-up, label smoothing 0.1
  sgd:      Nesterov SGD 0.05, weight decay 5e-4 (not on biases/BN), cosine,
            the same EMA and smoothing

Both recipes use smile-train's augmentation ranges (flip, +-10 degrees,
zoom +-8 %, shift +-6 %, brightness +-0.12, contrast +-25 %), per-image
standardisation, a stratified 10 % validation hold-out, and average each
face with its mirror image at test time. The reported test accuracy is the
epoch best on validation. Run pinned to one core:

  taskset -c 1 /usr/bin/python3 training/crosscheck/torch_smilesmiled.py \\
      --arch smilenet --recipe adam --epochs 24 --predictions p.csv
"""
import argparse
import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, '..', '..', '..', 'shared')
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--arch', choices=['smilenet', 'resnet'], default='smilenet')
p.add_argument('--recipe', choices=['adam', 'sgd'], default='adam')
p.add_argument('--epochs', type=int, default=24)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--peers', default=os.path.join(SHARED, 'peers', 'torch'),
               help='the peers\' torch folder (its common.py reads the data set)')
p.add_argument('--datasets', default=os.environ.get('SMILE_DATA', os.path.join(SHARED, 'datasets')))
p.add_argument('--predictions', help='write image,label,p_smiling for the test split here')
p.add_argument('--time-steps', type=int, metavar='N',
               help='only time N training steps (batch 64, random data; the first 10 are warm-up) and '
                    'print the median CPU time, to set against nn-bench --train-iters')
a = p.parse_args()
os.environ['SMILE_DATA'] = a.datasets
sys.path.insert(0, a.peers)
import numpy as np  # noqa: E402
import cv2  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import common as C  # noqa: E402  (sets one thread, tunes malloc)

torch.manual_seed(a.seed)
rng = np.random.default_rng(a.seed)


def augment(x):
    n, h, w = x.shape
    out = np.empty((n, h, w), np.float32)
    ctr = np.array([(w - 1) / 2, (h - 1) / 2])
    for i in range(n):
        th, z = np.deg2rad(rng.uniform(-10, 10)), 1 + rng.uniform(-0.08, 0.08)
        m = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) / z  # output -> input
        t = ctr - m @ ctr + rng.uniform(-0.06, 0.06, 2) * w
        im = cv2.warpAffine(x[i].astype(np.float32), np.hstack([m, t[:, None]]), (w, h),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < 0.5:
            im = im[:, ::-1]
        mean = im.mean()
        im = (im - mean) * (1 + rng.uniform(-0.25, 0.25)) + mean + rng.uniform(-0.12, 0.12) * 255
        out[i] = np.clip(im, 0, 255)
    return out


def cbr(i, o, stride=1):
    return [nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class Block(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.body = nn.Sequential(*cbr(i, o, stride), nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o))
        self.short = nn.Identity() if i == o and stride == 1 else \
            nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        return F.relu(self.body(x) + self.short(x))


def build(arch, w=32):
    if arch == 'smilenet':
        body = cbr(1, w) + [nn.MaxPool2d(2)] + cbr(w, 2 * w) + cbr(2 * w, 2 * w) + [nn.MaxPool2d(2)] \
            + cbr(2 * w, 4 * w) + cbr(4 * w, 4 * w) + [nn.MaxPool2d(2)] + cbr(4 * w, 8 * w)
    else:
        body = cbr(1, w) + [nn.MaxPool2d(2), Block(w, w, 1), Block(w, w, 1), Block(w, 2 * w, 2),
                            Block(2 * w, 2 * w, 1), Block(2 * w, 4 * w, 2), Block(4 * w, 4 * w, 1),
                            Block(4 * w, 8 * w, 2), Block(8 * w, 8 * w, 1)]
    return nn.Sequential(*body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * w, 1))


model = build(a.arch)
print('# weights', sum(q.numel() for q in model.parameters()), '#', C.env_line(), flush=True)
B = 64
if a.time_steps:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y, times = torch.randn(B, 1, 64, 64), (torch.rand(B) > 0.5).float(), []
    for i in range(10 + a.time_steps):
        t0 = time.process_time()
        loss = F.binary_cross_entropy_with_logits(model(x).squeeze(1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.process_time() - t0)
    med = float(np.median(times[10:]))
    print(f'RESULT arch={a.arch} train_step_cpu_ms_median={med * 1e3:.1f} train_cpu_images_per_s={B / med:.1f}')
    sys.exit(0)

# the data set is read only for training: --time-steps uses random batches
xtr, ytr, xte, yte = C.load_smiles(64)
val = np.zeros(len(ytr), bool)
for c in (0, 1):
    idx = np.flatnonzero(ytr == c)
    rng.shuffle(idx)
    val[idx[:int(round(0.1 * len(idx)))]] = True
xva, yva, xtr, ytr = xtr[val], ytr[val], xtr[~val], ytr[~val]
print(f'# train {len(ytr)} val {len(yva)} test {len(yte)} {vars(a)}', flush=True)
nb = len(ytr) // B
total = nb * a.epochs
if a.recipe == 'adam':
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
else:
    decay = [q for q in model.parameters() if q.ndim > 1]
    rest = [q for q in model.parameters() if q.ndim <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4}, {'params': rest, 'weight_decay': 0}],
                          lr=0.05, momentum=0.9, nesterov=True)
base = [g['lr'] for g in opt.param_groups]


def ema_decay(n):
    return min(0.998, (1 + n) / (10 + n))


ema = torch.optim.swa_utils.AveragedModel(
    model, avg_fn=lambda e, m, n: e * ema_decay(n) + m * (1 - ema_decay(n)), use_buffers=True)
Xva, Xte = C.normalize(xva, 'sample'), C.normalize(xte, 'sample')


def p_smiling(X):
    ema.eval()
    with torch.no_grad():
        return torch.cat([(torch.sigmoid(ema(X[i:i + 512])) + torch.sigmoid(ema(torch.flip(X[i:i + 512], [3])))) / 2
                          for i in range(0, len(X), 512)]).squeeze(1).numpy()


step, best = 0, (-1.0, 0, 0.0, None)
for ep in range(1, a.epochs + 1):
    t0 = time.process_time()
    model.train()
    perm = rng.permutation(len(ytr))
    X, Y = C.normalize(augment(xtr[perm]), 'sample'), torch.from_numpy(ytr[perm])
    total_loss = 0.0
    for b in range(nb):
        for g, lr0 in zip(opt.param_groups, base):
            g['lr'] = lr0 * 0.5 * (1 + np.cos(np.pi * step / total))
        target = Y[b * B:(b + 1) * B] * 0.9 + 0.05  # label smoothing 0.1
        loss = F.binary_cross_entropy_with_logits(model(X[b * B:(b + 1) * B]).squeeze(1), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update_parameters(model)
        step += 1
        total_loss += loss.item()
    pv, pt = p_smiling(Xva), p_smiling(Xte)
    va, te = np.mean((pv > 0.5) == (yva > 0.5)), np.mean((pt > 0.5) == (yte > 0.5))
    if va > best[0]:
        best = (va, ep, te, pt)
    print(f'epoch {ep} loss {total_loss / nb:.4f} val {va:.4f} test {te:.4f} cpu {time.process_time() - t0:.0f} s',
          flush=True)
print(f'RESULT arch={a.arch} recipe={a.recipe} seed={a.seed} best_val_epoch={best[1]} val={best[0]:.4f} '
      f'test={best[2]:.4f} last_test={te:.4f}', flush=True)
if a.predictions:
    # the order C.load_smiles gives the test images: positives, then negatives, each sorted
    names = [f'{sub}/{os.path.basename(q)}' for sub in ('positives/positives7', 'negatives/negatives7')
             for q in sorted(glob.glob(os.path.join(C.SMILES, sub, '*.jpg')))
             if int(os.path.splitext(os.path.basename(q))[0]) % 5 == 0]
    tmp = a.predictions + '.partial'
    with open(tmp, 'w') as f:
        f.write('image,label,p_smiling\n')
        for i, (y, q) in enumerate(zip(yte, best[3])):
            f.write(f'{names[i]},{int(y)},{q:.6f}\n')
    os.replace(tmp, a.predictions)
