"""Golden vectors for duel's fidelity test against Keras.

Builds the book's DCGAN (Foster, "Generative Deep Learning", 2nd ed., ch. 4,
notebooks/04_gan/01_dcgan) with Keras layer by layer as the notebook does, runs
one training step in each update mode with injected randomness, and writes
every number duel must reproduce:

  * the initial weights of both networks (BatchNorm moving statistics too),
  * a real batch (LEGO renders, grayscale, bilinear resize, (x - 127.5) / 127.5),
  * the latent batches z and the label-noise draws U,
  * d_loss, g_loss, D(x), D(G(z)) and every gradient, for
      - simultaneous: the notebook's train_step (two tapes, one forward pass),
      - alternating: a D step from one forward pass, then a G step with a new
        z through the UPDATED D,
  * every weight after the Adam updates (moving statistics after the step).

Dropout is 0 in the step (masks cannot match across frameworks); duel tests
its seeded dropout separately.

A second part drives Keras' Adam, RMSprop and SGD (with clipping options) for
a few steps on small tensors, so duel's optimizers are checked against the
Keras formulas themselves.

Output: <out>.json (config, tensor index) and <out>.bin (float32, little
endian, tensors back to back). Usage:

  python reference/keras_golden.py --out reference/golden/dcgan-32 \
      --size 32 --base-filters 8 --batch 8
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers, models, losses, optimizers  # noqa: E402


class Writer:
    """Collects float32 tensors and writes the index and the blob."""

    def __init__(self):
        self.index = {}
        self.chunks = []
        self.offset = 0

    def add(self, name, value):
        array = np.asarray(value, dtype=np.float32)
        if name in self.index:
            raise ValueError(f"duplicate tensor {name}")
        self.index[name] = {"shape": list(array.shape), "offset": self.offset}
        self.chunks.append(array.astype("<f4").tobytes())
        self.offset += int(array.size)

    def write(self, out, config):
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out + ".bin", "wb") as f:
            for chunk in self.chunks:
                f.write(chunk)
        with open(out + ".json", "w") as f:
            json.dump({"config": config, "tensors": self.index}, f, indent=1)


def build_discriminator(size, channels, base, dropout, blocks, batch_norm=True, sigmoid=True):
    """The notebook's discriminator, generalised to 32/128 px by one block per doubling.

    batch_norm=False, sigmoid=False gives a WGAN-GP critic of the same shape.
    """
    inp = layers.Input(shape=(size, size, channels), name="image")
    x = inp
    for i in range(blocks):
        x = layers.Conv2D(base * 2**i, kernel_size=4, strides=2, padding="same", use_bias=False, name=f"conv_{i + 1}")(x)
        if i > 0 and batch_norm:
            x = layers.BatchNormalization(momentum=0.9, name=f"bn_{i + 1}")(x)
        x = layers.LeakyReLU(0.2, name=f"leaky_relu_{i + 1}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
    activation = "sigmoid" if sigmoid else None
    x = layers.Conv2D(1, kernel_size=4, strides=1, padding="valid", use_bias=False, activation=activation, name="conv_out")(x)
    out = layers.Flatten(name="flatten")(x)
    return models.Model(inp, out, name="discriminator")


def build_generator(channels, base, latent, blocks):
    """The notebook's generator, generalised the same way."""
    inp = layers.Input(shape=(latent,), name="z")
    x = layers.Reshape((1, 1, latent), name="reshape")(inp)
    for i in range(blocks):
        first = i == 0
        x = layers.Conv2DTranspose(
            base * 2 ** (blocks - 1 - i),
            kernel_size=4,
            strides=1 if first else 2,
            padding="valid" if first else "same",
            use_bias=False,
            name=f"deconv_{i + 1}",
        )(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn_{i + 1}")(x)
        x = layers.LeakyReLU(0.2, name=f"leaky_relu_{i + 1}")(x)
    out = layers.Conv2DTranspose(channels, kernel_size=4, strides=2, padding="same", use_bias=False, activation="tanh", name="deconv_out")(x)
    return models.Model(inp, out, name="generator")


def weight_entries(model):
    """(layer name, weight name, variable) for every weight, layer by layer."""
    entries = []
    for layer in model.layers:
        for w in layer.weights:
            entries.append((layer.name, w.name, w))
    return entries


def trainable_entries(model):
    entries = []
    for layer in model.layers:
        for w in layer.trainable_weights:
            entries.append((layer.name, w.name, w))
    return entries


def save_weights(writer, prefix, model):
    names = []
    for layer_name, weight_name, w in weight_entries(model):
        name = f"{prefix}/{layer_name}/{weight_name}"
        writer.add(name, w.numpy())
        names.append(name)
    return names


def save_grads(writer, prefix, model, grads):
    names = []
    for (layer_name, weight_name, _), g in zip(trainable_entries(model), grads):
        name = f"{prefix}/{layer_name}/{weight_name}"
        writer.add(name, g.numpy())
        names.append(name)
    return names


def load_real_batch(dataset, batch, size, channels):
    """The first image of each class folder (sorted), as the notebook's loader decodes them."""
    folders = sorted(d for d in os.listdir(dataset) if os.path.isdir(os.path.join(dataset, d)))
    files = []
    for i in range(batch):
        folder = os.path.join(dataset, folders[i % len(folders)])
        images = sorted(f for f in os.listdir(folder) if f.lower().endswith(".png"))
        files.append(os.path.join(folder, images[i // len(folders)]))
    pixels = []
    for path in files:
        # image_dataset_from_directory: decode_image(channels), resize(bilinear, no antialias), float32.
        img = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        img = tf.image.resize(img, (size, size), method="bilinear")
        pixels.append(img.numpy())
    x = (np.stack(pixels).astype(np.float32) - 127.5) / 127.5
    return x, [os.path.relpath(p, dataset) for p in files]


def dcgan_part(writer, args):
    blocks = int(np.log2(args.size)) - 2
    keras.utils.set_random_seed(args.seed)
    generator = build_generator(args.channels, args.base_filters, args.latent, blocks)
    discriminator = build_discriminator(args.size, args.channels, args.base_filters, 0.0, blocks)

    rng = np.random.default_rng(args.seed)
    real, files = load_real_batch(args.dataset, args.batch, args.size, args.channels)
    writer.add("real", real)
    draws = {
        "sim/z": rng.standard_normal((args.batch, args.latent)),
        "sim/u_real": rng.uniform(size=(args.batch, 1)),
        "sim/u_fake": rng.uniform(size=(args.batch, 1)),
        "alt/z_d": rng.standard_normal((args.batch, args.latent)),
        "alt/u_real": rng.uniform(size=(args.batch, 1)),
        "alt/u_fake": rng.uniform(size=(args.batch, 1)),
        "alt/z_g": rng.standard_normal((args.batch, args.latent)),
    }
    for name, value in draws.items():
        writer.add(name, value)
    draws = {k: tf.constant(v, dtype=tf.float32) for k, v in draws.items()}

    g_names = save_weights(writer, "init/generator", generator)
    d_names = save_weights(writer, "init/discriminator", discriminator)
    initial_g = [w.numpy() for w in generator.weights]
    initial_d = [w.numpy() for w in discriminator.weights]

    bce = losses.BinaryCrossentropy()
    noise = args.noise

    def adam():
        return optimizers.Adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999)

    def d_loss_of(p_real, p_fake, u_real, u_fake):
        real_labels = tf.ones_like(p_real)
        real_noisy = real_labels + noise * u_real
        fake_noisy = tf.zeros_like(p_fake) - noise * u_fake
        return (bce(real_noisy, p_real) + bce(fake_noisy, p_fake)) / 2.0

    out = {}

    # --- simultaneous: the notebook's train_step -------------------------------
    d_opt, g_opt = adam(), adam()
    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        fake = generator(draws["sim/z"], training=True)
        p_real = discriminator(real, training=True)
        p_fake = discriminator(fake, training=True)
        d_loss = d_loss_of(p_real, p_fake, draws["sim/u_real"], draws["sim/u_fake"])
        g_loss = bce(tf.ones_like(p_fake), p_fake)
    d_grads = disc_tape.gradient(d_loss, discriminator.trainable_variables)
    g_grads = gen_tape.gradient(g_loss, generator.trainable_variables)
    writer.add("sim/fake", fake)
    sim_fake = fake
    writer.add("sim/p_real", p_real)
    writer.add("sim/p_fake", p_fake)
    writer.add("sim/d_loss", d_loss)
    writer.add("sim/g_loss", g_loss)
    out["sim"] = {
        "d_grads": save_grads(writer, "sim/d_grad", discriminator, d_grads),
        "g_grads": save_grads(writer, "sim/g_grad", generator, g_grads),
    }
    d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
    g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
    out["sim"]["d_after"] = save_weights(writer, "sim/d_after", discriminator)
    out["sim"]["g_after"] = save_weights(writer, "sim/g_after", generator)

    # --- alternating: D step, then G step through the updated D ----------------
    for w, v in zip(generator.weights, initial_g):
        w.assign(v)
    for w, v in zip(discriminator.weights, initial_d):
        w.assign(v)
    d_opt, g_opt = adam(), adam()
    fake = generator(draws["alt/z_d"], training=True)
    with tf.GradientTape() as disc_tape:
        p_real = discriminator(real, training=True)
        p_fake = discriminator(fake, training=True)
        d_loss = d_loss_of(p_real, p_fake, draws["alt/u_real"], draws["alt/u_fake"])
    d_grads = disc_tape.gradient(d_loss, discriminator.trainable_variables)
    writer.add("alt/fake_d", fake)
    writer.add("alt/p_real", p_real)
    writer.add("alt/p_fake_d", p_fake)
    writer.add("alt/d_loss", d_loss)
    d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
    with tf.GradientTape() as gen_tape:
        fake = generator(draws["alt/z_g"], training=True)
        p_fake = discriminator(fake, training=True)
        g_loss = bce(tf.ones_like(p_fake), p_fake)
    g_grads = gen_tape.gradient(g_loss, generator.trainable_variables)
    writer.add("alt/p_fake_g", p_fake)
    writer.add("alt/g_loss", g_loss)
    g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
    out["alt"] = {
        "d_grads": save_grads(writer, "alt/d_grad", discriminator, d_grads),
        "g_grads": save_grads(writer, "alt/g_grad", generator, g_grads),
        "d_after": save_weights(writer, "alt/d_after", discriminator),
        "g_after": save_weights(writer, "alt/g_after", generator),
    }

    out["wgan_gp"] = wgan_gp_part(writer, args, blocks, real, sim_fake)

    # Keras' own loss against the formula duel implements: clip to [eps, 1 - eps], mean.
    p = tf.constant([[1e-9], [0.3], [0.999999999], [0.7]], dtype=tf.float32)
    y = tf.constant([[1.05], [-0.02], [-0.1], [1.0]], dtype=tf.float32)
    writer.add("bce/p", p)
    writer.add("bce/y", y)
    writer.add("bce/loss", bce(y, p))

    return {
        "size": args.size,
        "channels": args.channels,
        "baseFilters": args.base_filters,
        "latentDim": args.latent,
        "batch": args.batch,
        "noise": noise,
        "blocks": blocks,
        "adam": {"learningRate": 2e-4, "beta1": 0.5, "beta2": 0.999, "epsilon": 1e-7},
        "files": files,
        "weights": {"generator": g_names, "discriminator": d_names},
        "steps": out,
        "uniformOrder": "each loss call draws U for the real targets, then for the fake targets",
    }


def wgan_gp_part(writer, args, blocks, real, fake, weight=10.0):
    """A critic step of WGAN-GP (Gulrajani et al. 2017): d_loss and its gradient,
    which differentiates through the gradient penalty (second order). Mixing
    weights e ~ U(0, 1) per sample: x_hat = e x + (1 - e) G(z). Two critics:
    without BatchNorm (the paper's and the book's) and with it."""
    rng = np.random.default_rng(args.seed + 2)
    e = rng.uniform(size=(args.batch, 1, 1, 1))
    writer.add("gp/e", e)
    e = tf.constant(e, dtype=tf.float32)
    fake = tf.constant(fake)
    cases = {}
    for name, batch_norm in (("plain", False), ("bn", True)):
        critic = build_discriminator(args.size, args.channels, args.base_filters, 0.0, blocks, batch_norm=batch_norm, sigmoid=False)
        init = save_weights(writer, f"gp/{name}/init", critic)
        initial = [w.numpy() for w in critic.weights]
        d_loss, gp, d_grads = critic_step(critic, real, fake, e, weight)
        writer.add(f"gp/{name}/d_loss", d_loss)
        writer.add(f"gp/{name}/penalty", gp)
        cases[name] = {
            "batchNorm": batch_norm,
            "init": init,
            "d_grads": save_grads(writer, f"gp/{name}/d_grad", critic, d_grads),
            "after": save_weights(writer, f"gp/{name}/after", critic),
        }
        if batch_norm:
            # tf.nn.moments computes the variance around stop_gradient(mean). That
            # leaves first-order gradients exact (the mean's term vanishes) but drops
            # a term from second-order ones, which the penalty's gradient is. Redo
            # the step with fully differentiated moments (what tfjs' tf.moments
            # does) to tell that apart from any other difference.
            for w, v in zip(critic.weights, initial):
                w.assign(v)
            with full_moments():
                _, _, exact = critic_step(critic, real, fake, e, weight)
            cases[name]["d_grads_full_moments"] = save_grads(writer, f"gp/{name}/d_grad_full_moments", critic, exact)
    return {"penaltyWeight": weight, "cases": cases}


class full_moments:
    """Context: Keras' TF-backend moments without the stop_gradient on the mean."""

    def __enter__(self):
        from keras.src.backend.tensorflow import nn as backend_nn

        self.module = backend_nn
        self.original = backend_nn._compute_moments

        def moments(x, axes, keepdims):
            mean = tf.reduce_mean(x, axes, keepdims=True)
            variance = tf.reduce_mean(tf.square(x - mean), axes, keepdims=True)
            if not keepdims:
                mean = tf.squeeze(mean, axes)
                variance = tf.squeeze(variance, axes)
            return mean, variance

        backend_nn._compute_moments = moments
        return self

    def __exit__(self, *exc):
        self.module._compute_moments = self.original
        return False


def critic_step(critic, real, fake, e, weight):
    """The critic's WGAN-GP loss and its gradient over the critic's weights."""
    with tf.GradientTape() as tape:
        c_real = critic(real, training=True)
        c_fake = critic(fake, training=True)
        mixed = e * real + (1.0 - e) * fake
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(mixed)
            c_mixed = critic(mixed, training=True)
        grads = gp_tape.gradient(c_mixed, mixed)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        gp = tf.reduce_mean((norm - 1.0) ** 2)
        wass = tf.reduce_mean(c_fake) - tf.reduce_mean(c_real)
        d_loss = wass + weight * gp
    d_grads = tape.gradient(d_loss, critic.trainable_variables)
    return d_loss, gp, d_grads


OPTIMIZER_CASES = [
    # (name, duel plugin, duel options, Keras constructor)
    ("adam-default", "adam", {}, lambda: optimizers.Adam()),
    ("adam-book", "adam", {"learningRate": 2e-4, "beta1": 0.5, "beta2": 0.999}, lambda: optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)),
    ("adam-amsgrad", "adam", {"learningRate": 0.01, "amsgrad": True}, lambda: optimizers.Adam(0.01, amsgrad=True)),
    ("adam-clipnorm", "adam", {"learningRate": 0.01, "clipNorm": 0.5}, lambda: optimizers.Adam(0.01, clipnorm=0.5)),
    ("adam-global-clipnorm", "adam", {"learningRate": 0.01, "globalClipNorm": 0.5}, lambda: optimizers.Adam(0.01, global_clipnorm=0.5)),
    ("rmsprop-default", "rmsprop", {}, lambda: optimizers.RMSprop()),
    ("rmsprop-centered-momentum", "rmsprop", {"learningRate": 0.01, "momentum": 0.9, "centered": True}, lambda: optimizers.RMSprop(0.01, momentum=0.9, centered=True)),
    ("sgd-plain", "sgd", {"learningRate": 0.1}, lambda: optimizers.SGD(0.1)),
    ("sgd-momentum", "sgd", {"learningRate": 0.1, "momentum": 0.9}, lambda: optimizers.SGD(0.1, momentum=0.9)),
    ("sgd-nesterov-clipvalue", "sgd", {"learningRate": 0.1, "momentum": 0.9, "nesterov": True, "clipValue": 0.3}, lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipvalue=0.3)),
]


def optimizer_part(writer, seed, steps=4):
    rng = np.random.default_rng(seed + 1)
    shapes = [(3, 4), (5,)]
    initial = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    for i, v in enumerate(initial):
        writer.add(f"opt/initial/{i}", v)
    for t, gs in enumerate(grads):
        for i, g in enumerate(gs):
            writer.add(f"opt/grad/{t}/{i}", g)
    cases = []
    for name, plugin, options, make in OPTIMIZER_CASES:
        opt = make()
        variables = [keras.Variable(v) for v in initial]
        for t, gs in enumerate(grads):
            opt.apply_gradients(zip([tf.constant(g) for g in gs], variables))
            for i, v in enumerate(variables):
                writer.add(f"opt/{name}/{t}/{i}", v.numpy())
        cases.append({"name": name, "plugin": plugin, "options": options})
    return {"steps": steps, "variables": len(shapes), "cases": cases}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output path without extension")
    parser.add_argument("--size", type=int, default=32, choices=[32, 64, 128])
    parser.add_argument("--channels", type=int, default=1, choices=[1, 3])
    parser.add_argument("--base-filters", type=int, default=8)
    parser.add_argument("--latent", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    # shared/ lies beside the checkout (where experiments/dcgan-lego.yaml reads it too).
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets", "lego-bricks-128")
    parser.add_argument("--dataset", default=os.environ.get("DUEL_LEGO", os.path.normpath(beside)))
    parser.add_argument("--no-optimizers", action="store_true", help="skip the optimizer cases")
    args = parser.parse_args(argv)

    tf.config.experimental.enable_op_determinism()
    writer = Writer()
    config = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "seed": args.seed,
        "dcgan": dcgan_part(writer, args),
    }
    if not args.no_optimizers:
        config["optimizers"] = optimizer_part(writer, args.seed)
    writer.write(args.out, config)
    print(f"wrote {args.out}.json and {args.out}.bin ({writer.offset * 4 / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1:])
