"""The Keras peer of duel's quality benchmark (bench/quality.ts).

Trains the book's DCGAN (Foster, "Generative Deep Learning", 2nd ed., ch. 4,
notebooks/04_gan/01_dcgan) on Fashion-MNIST at 32x32 for a fixed number of
steps, exactly as experiments/dcgan-fashion-mnist.yaml asks duel to:

  * data: the first --limit training images of the IDX file, resized from 28
    to 32 with tf.image.resize (bilinear, no antialias: what the book's Keras
    loader does), scaled (x - 127.5) / 127.5; a fresh shuffle every epoch,
    batches of 128, the last incomplete one dropped;
  * networks: keras_golden.py's builders (the notebook's layers with one
    stride-2 block per doubling), dropout 0.3, Keras' default initialisers;
  * step: the notebook's train_step, one forward pass and two tapes (duel's
    `simultaneous` mode), BCE with label noise 0.1, Adam 2e-4 / 0.5 / 0.999
    for both networks, traced once into a tf.function.

Then it draws --n samples from the generator in inference mode (BatchNorm on
its moving statistics, as the notebook's generator.predict) and writes them
for duel to score with its own extractor:

  <out>.bin   float32, little endian, N x H x W x C, values in [-1, 1]
  <out>.json  {"format": "duel-samples/1", "count", "height", "width",
               "channels", "dtype", "byteOrder", "range", "data", ...facts}

The last line on stdout is a JSON summary (timings, last-epoch losses).
Usage:
  python reference/keras_quality.py --out runs/q/keras-seed1 --steps 300 --seed 1
"""

import argparse
import gzip
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import losses, optimizers  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_golden import build_discriminator, build_generator  # noqa: E402

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
IDX_IMAGES_MAGIC = 2051


def read_idx_images(path, limit=None):
    """The images of an IDX3 file (gzip or plain) as uint8 N x rows x cols."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = np.frombuffer(data, dtype=">u4", count=4)
    if magic != IDX_IMAGES_MAGIC:
        raise SystemExit(f"{path}: magic number {magic}, expected {IDX_IMAGES_MAGIC} (not an IDX image file)")
    count = int(count) if limit is None else min(int(count), limit)
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16, count=count * int(rows) * int(cols))
    return pixels.reshape(count, int(rows), int(cols))


def load_images(directory, limit, size):
    """The first `limit` training images, resized and scaled as the book does."""
    path = os.path.join(directory, "train-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        path = path[:-3]
    raw = read_idx_images(path, limit)
    images = tf.image.resize(raw[..., None].astype(np.float32), (size, size), method="bilinear")
    return ((images.numpy() - 127.5) / 127.5).astype(np.float32), path


def make_step(generator, discriminator, d_opt, g_opt, latent, noise):
    """The notebook's train_step with its globals passed in."""
    bce = losses.BinaryCrossentropy()

    @tf.function
    def step(real):
        batch = tf.shape(real)[0]
        z = tf.random.normal((batch, latent))
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = generator(z, training=True)
            p_real = discriminator(real, training=True)
            p_fake = discriminator(fake, training=True)
            real_labels = tf.ones_like(p_real)
            real_noisy = real_labels + noise * tf.random.uniform(tf.shape(p_real))
            fake_labels = tf.zeros_like(p_fake)
            fake_noisy = fake_labels - noise * tf.random.uniform(tf.shape(p_fake))
            d_loss = (bce(real_noisy, p_real) + bce(fake_noisy, p_fake)) / 2.0
            g_loss = bce(real_labels, p_fake)
        d_grads = disc_tape.gradient(d_loss, discriminator.trainable_variables)
        g_grads = gen_tape.gradient(g_loss, generator.trainable_variables)
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_real_acc = tf.reduce_mean(tf.cast(p_real > 0.5, tf.float32))
        d_fake_acc = tf.reduce_mean(tf.cast(p_fake <= 0.5, tf.float32))
        return tf.stack([d_loss, g_loss, d_real_acc, d_fake_acc])

    return step


def write_samples(out, samples, facts):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    n, h, w, c = samples.shape
    with open(out + ".bin", "wb") as f:
        f.write(np.ascontiguousarray(samples, dtype="<f4").tobytes())
    header = {
        "format": "duel-samples/1",
        "count": int(n),
        "height": int(h),
        "width": int(w),
        "channels": int(c),
        "dtype": "float32",
        "byteOrder": "little",
        "range": [-1, 1],
        "data": os.path.basename(out) + ".bin",
        **facts,
    }
    with open(out + ".json", "w") as f:
        json.dump(header, f, indent=1)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output path without extension (.json and .bin are written)")
    parser.add_argument("--steps", type=int, required=True, help="training steps (batches)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=int, default=12800, help="the first N training images")
    parser.add_argument("--steps-per-epoch", type=int, help="batches per epoch (each epoch reshuffles); default: all full batches")
    parser.add_argument("--n", type=int, default=1000, help="samples to write")
    parser.add_argument("--size", type=int, default=32, choices=[32, 64])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--latent", type=int, default=100)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--dir", default=FASHION_MNIST_DIR, help="folder of the Fashion-MNIST IDX files")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    images, source = load_images(args.dir, args.limit, args.size)
    steps_per_epoch = len(images) // args.batch
    if steps_per_epoch < 1:
        raise SystemExit(f"--limit {args.limit}: {len(images)} images make no batch of {args.batch}")
    if args.steps_per_epoch is not None:
        steps_per_epoch = min(steps_per_epoch, args.steps_per_epoch)
    blocks = int(np.log2(args.size)) - 2
    generator = build_generator(1, args.base_filters, args.latent, blocks)
    discriminator = build_discriminator(args.size, 1, args.base_filters, args.dropout, blocks)
    adam = lambda: optimizers.Adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999)  # noqa: E731
    step = make_step(generator, discriminator, adam(), adam(), args.latent, args.noise)
    rng = np.random.default_rng(args.seed)
    loaded = time.perf_counter()

    done = 0
    epoch = 0
    last = None
    trace_seconds = None
    while done < args.steps:
        order = rng.permutation(len(images))
        sums = np.zeros(4)
        count = 0
        epoch_start = time.perf_counter()
        for b in range(min(steps_per_epoch, args.steps - done)):
            batch = tf.constant(images[order[b * args.batch:(b + 1) * args.batch]])
            sums += step(batch).numpy()
            count += 1
            done += 1
            if trace_seconds is None:
                trace_seconds = time.perf_counter() - epoch_start
        epoch += 1
        last = dict(zip(["d_loss", "g_loss", "d_real_acc", "d_fake_acc"], (sums / count).tolist()))
        seconds = time.perf_counter() - epoch_start
        print(f"keras epoch {epoch} ({done}/{args.steps} steps): " + "  ".join(f"{k} {v:.3f}" for k, v in last.items())
              + f"  {count * args.batch / seconds:.1f} img/s", file=sys.stderr, flush=True)
    trained = time.perf_counter()

    # Inference mode, as generator.predict in the notebook; the latents are seeded.
    z = np.random.default_rng(args.seed + 1_000_003).standard_normal((args.n, args.latent)).astype(np.float32)
    samples = np.concatenate([generator(z[i:i + 250], training=False).numpy() for i in range(0, args.n, 250)])
    facts = {
        "steps": done,
        "epochs": epoch,
        "seed": args.seed,
        "limit": len(images),
        "source": source,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "last_epoch": last,
    }
    write_samples(args.out, samples, facts)
    finished = time.perf_counter()
    print(json.dumps({
        **facts,
        "samples": args.out + ".json",
        "load_seconds": loaded - started,
        "train_seconds": trained - loaded,
        "first_step_seconds": trace_seconds,
        "sample_seconds": finished - trained,
        "images_per_s": done * args.batch / (trained - loaded),
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
