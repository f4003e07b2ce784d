"""Training throughput of the book's DCGAN in PyTorch on the CPU (a benchmark peer).

The architecture and step of "Generative Deep Learning, 2nd ed." ch. 4 (see
/work/shared/REFERENCE.md) written the ordinary PyTorch way: eager mode,
NCHW, one forward pass, D's and G's gradients from the same p_fake
(torch.autograd.grad twice), BCE with Keras' clipping and label noise 0.1,
Adam 2e-4/0.5/0.999. Weight initialisation is torch's default: it does not
change the cost of a step. BatchNorm momentum 0.1 in torch's convention
(= Keras' 0.9), epsilon 1e-3 as in Keras.

Prints one JSON line: {"images_per_s", "steps", "batch", "size", ...}.
Usage: python torch_throughput.py [--steps 20] [--warmup 3] [--batch 128]
"""
import argparse
import json
import time

import torch
from torch import nn

LATENT_DIM = 100
NOISE_PARAM = 0.1
EPSILON = 1e-7  # Keras' binary cross-entropy clips predictions to [eps, 1 - eps].


def discriminator(channels):
    def block(cin, cout, norm):
        layers = [nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False)]
        if norm:
            layers.append(nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1))
        return layers + [nn.LeakyReLU(0.2), nn.Dropout(0.3)]

    return nn.Sequential(
        *block(channels, 64, False), *block(64, 128, True), *block(128, 256, True), *block(256, 512, True),
        nn.Conv2d(512, 1, 4, stride=1, padding=0, bias=False), nn.Sigmoid(), nn.Flatten(),
    )


def generator(channels):
    def block(cin, cout, stride, padding):
        return [nn.ConvTranspose2d(cin, cout, 4, stride=stride, padding=padding, bias=False),
                nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1), nn.LeakyReLU(0.2)]

    return nn.Sequential(
        nn.Unflatten(1, (LATENT_DIM, 1, 1)),
        *block(LATENT_DIM, 512, 1, 0), *block(512, 256, 2, 1), *block(256, 128, 2, 1), *block(128, 64, 2, 1),
        nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1, bias=False), nn.Tanh(),
    )


def bce(targets, predictions):
    p = predictions.clamp(EPSILON, 1 - EPSILON)
    return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=64, choices=[64])
    parser.add_argument("--channels", type=int, default=1, choices=[1, 3])
    args = parser.parse_args()

    torch.manual_seed(42)
    d, g = discriminator(args.channels), generator(args.channels)
    d.train()
    g.train()
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = [torch.rand(args.batch, args.channels, args.size, args.size) * 2 - 1 for _ in range(4)]

    def step(real):
        z = torch.randn(real.shape[0], LATENT_DIM)
        fake = g(z)
        p_real, p_fake = d(real), d(fake)
        real_labels = torch.ones_like(p_real)
        d_loss = (bce(real_labels + NOISE_PARAM * torch.rand_like(p_real), p_real)
                  + bce(-NOISE_PARAM * torch.rand_like(p_fake), p_fake)) / 2
        g_loss = bce(real_labels, p_fake)
        d_params, g_params = list(d.parameters()), list(g.parameters())
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)
        for p, grad in zip(d_params, d_grads):
            p.grad = grad
        for p, grad in zip(g_params, g_grads):
            p.grad = grad
        d_opt.step()
        g_opt.step()
        # The metrics the trainer reports each step, read back as Keras' fit does.
        return d_loss.item(), g_loss.item()

    for i in range(args.warmup):
        step(batches[i % len(batches)])
    start = time.perf_counter()
    for i in range(args.steps):
        step(batches[i % len(batches)])
    elapsed = time.perf_counter() - start
    print(json.dumps({
        "images_per_s": args.steps * args.batch / elapsed,
        "steps": args.steps,
        "batch": args.batch,
        "size": args.size,
        "seconds": elapsed,
        "peer": f"pytorch {torch.__version__} (eager, {torch.get_num_threads()} threads)",
    }))


if __name__ == "__main__":
    main()
