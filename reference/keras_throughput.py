"""Training throughput of the book's DCGAN in Keras 3 on TensorFlow (a benchmark peer).

"Generative Deep Learning, 2nd ed." ch. 4, notebooks/04_gan/01_dcgan: the same
generator, discriminator and `train_step` (one forward pass, two tapes, label
noise 0.1, Adam 2e-4/0.5/0.999), run by `model.fit` as the notebook runs it, so
`train_step` is traced once into a tf.function (graph mode). Images are random
(throughput does not depend on pixel values), already batched in memory.

Prints one JSON line: {"images_per_s", "steps", "batch", "size", ...}.
Usage: python keras_throughput.py [--steps 20] [--warmup 3] [--batch 128]
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers, losses, metrics, models, optimizers  # noqa: E402

LATENT_DIM = 100
NOISE_PARAM = 0.1


def build_discriminator(size, channels):
    inp = layers.Input(shape=(size, size, channels))
    x = layers.Conv2D(64, kernel_size=4, strides=2, padding="same", use_bias=False)(inp)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Dropout(0.3)(x)
    for filters in (128, 256, 512):
        x = layers.Conv2D(filters, kernel_size=4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(0.3)(x)
    x = layers.Conv2D(1, kernel_size=4, strides=1, padding="valid", use_bias=False, activation="sigmoid")(x)
    out = layers.Flatten()(x)
    return models.Model(inp, out)


def build_generator(channels):
    inp = layers.Input(shape=(LATENT_DIM,))
    x = layers.Reshape((1, 1, LATENT_DIM))(inp)
    x = layers.Conv2DTranspose(512, kernel_size=4, strides=1, padding="valid", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.LeakyReLU(0.2)(x)
    for filters in (256, 128, 64):
        x = layers.Conv2DTranspose(filters, kernel_size=4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
    out = layers.Conv2DTranspose(channels, kernel_size=4, strides=2, padding="same", use_bias=False,
                                 activation="tanh")(x)
    return models.Model(inp, out)


class DCGAN(models.Model):
    """The book's DCGAN model, with its networks passed in rather than read from globals."""

    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.loss_fn = losses.BinaryCrossentropy()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_loss_metric = metrics.Mean(name="d_loss")
        self.d_real_acc_metric = metrics.BinaryAccuracy(name="d_real_acc")
        self.d_fake_acc_metric = metrics.BinaryAccuracy(name="d_fake_acc")
        self.d_acc_metric = metrics.BinaryAccuracy(name="d_acc")
        self.g_loss_metric = metrics.Mean(name="g_loss")
        self.g_acc_metric = metrics.BinaryAccuracy(name="g_acc")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.d_real_acc_metric, self.d_fake_acc_metric,
                self.d_acc_metric, self.g_loss_metric, self.g_acc_metric]

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = self.generator(random_latent_vectors, training=True)
            real_predictions = self.discriminator(real_images, training=True)
            fake_predictions = self.discriminator(generated_images, training=True)
            real_labels = tf.ones_like(real_predictions)
            real_noisy_labels = real_labels + NOISE_PARAM * tf.random.uniform(tf.shape(real_predictions))
            fake_labels = tf.zeros_like(fake_predictions)
            fake_noisy_labels = fake_labels - NOISE_PARAM * tf.random.uniform(tf.shape(fake_predictions))
            d_real_loss = self.loss_fn(real_noisy_labels, real_predictions)
            d_fake_loss = self.loss_fn(fake_noisy_labels, fake_predictions)
            d_loss = (d_real_loss + d_fake_loss) / 2.0
            g_loss = self.loss_fn(real_labels, fake_predictions)
        d_grads = disc_tape.gradient(d_loss, self.discriminator.trainable_variables)
        g_grads = gen_tape.gradient(g_loss, self.generator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        self.d_loss_metric.update_state(d_loss)
        self.d_real_acc_metric.update_state(real_labels, real_predictions)
        self.d_fake_acc_metric.update_state(fake_labels, fake_predictions)
        self.d_acc_metric.update_state([real_labels, fake_labels], [real_predictions, fake_predictions])
        self.g_loss_metric.update_state(g_loss)
        self.g_acc_metric.update_state(real_labels, fake_predictions)
        return {m.name: m.result() for m in self.metrics}


class BatchClock(keras.callbacks.Callback):
    """Wall-clock time at the end of every batch."""

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing included)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=64, choices=[64])
    parser.add_argument("--channels", type=int, default=1, choices=[1, 3])
    args = parser.parse_args()

    keras.utils.set_random_seed(42)
    dcgan = DCGAN(build_discriminator(args.size, args.channels), build_generator(args.channels), LATENT_DIM)
    dcgan.compile(
        d_optimizer=optimizers.Adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999),
        g_optimizer=optimizers.Adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999),
    )
    total = args.warmup + args.steps
    # A few distinct batches, repeated: the input pipeline is not what is measured.
    images = np.random.default_rng(0).uniform(-1, 1, (4 * args.batch, args.size, args.size, args.channels))
    dataset = tf.data.Dataset.from_tensor_slices(images.astype(np.float32)).batch(args.batch).repeat()
    clock = BatchClock()
    dcgan.fit(dataset, epochs=1, steps_per_epoch=total, callbacks=[clock], verbose=0)
    elapsed = clock.ends[-1] - clock.ends[args.warmup - 1] if args.warmup > 0 else clock.ends[-1] - clock.start
    print(json.dumps({
        "images_per_s": args.steps * args.batch / elapsed,
        "steps": args.steps,
        "batch": args.batch,
        "size": args.size,
        "seconds": elapsed,
        "peer": f"keras {keras.__version__} / tensorflow {tf.__version__} (tf.function)",
    }))


if __name__ == "__main__":
    main()
