"""Exports Keras' InceptionV3 to TensorFlow.js the way packages/metrics/README.md
tells users to, so duel's `inception-v3` extractor is tested on the real
network graph (299x299x3 in, 2048 pooled features out) and the documented
conversion path is exercised end to end.

Weights: the ImageNet weights cannot be fetched here, so by default the
network keeps Keras' seeded random initialisation (`--weights none`); a user
with the weights file passes `--weights PATH.h5` (or `imagenet` where Keras
can download) and gets the standard FID network through the same steps.

With `--golden PATH` it also writes what duel's extractor must reproduce
(PATH.json: an index; PATH.bin: float32 arrays back to back):

  big, big_features      4 seeded 299x299x3 images in [-1, 1] and their features
  small, small_features  the first 8 Fashion-MNIST test images, 28x28x1 in
                         [-1, 1], and the features of TF's bilinear resize to
                         299 (tf.image.resize), gray repeated to RGB

  python reference/inception_export.py --out .cache/inception-v3-random --golden .cache/inception-v3-random-golden
"""

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

FASHION_TEST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def fashion_test_images(n: int) -> np.ndarray:
    """The first n Fashion-MNIST test images as n x 28 x 28 x 1 floats in [-1, 1]."""
    with gzip.open(FASHION_TEST, "rb") as f:
        raw = f.read()
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)[: n * 28 * 28]
    return ((pixels.astype(np.float32) - 127.5) / 127.5).reshape(n, 28, 28, 1)


def write_golden(model: keras.Model, path: str, seed: int) -> None:
    big = np.random.default_rng(seed).uniform(-1, 1, size=(4, 299, 299, 3)).astype(np.float32)
    small = fashion_test_images(8)
    resized = tf.image.resize(small, (299, 299), method="bilinear").numpy()
    arrays = {
        "big": big,
        "big_features": model.predict(big, verbose=0),
        "small": small,
        "small_features": model.predict(np.repeat(resized, 3, axis=-1), verbose=0),
    }
    index, offset, blobs = {}, 0, []
    for name, value in arrays.items():
        data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        index[name] = {"shape": list(value.shape), "offset": offset}
        blobs.append(data)
        offset += len(data)
    with open(f"{path}.bin", "wb") as f:
        f.write(b"".join(blobs))
    with open(f"{path}.json", "w") as f:
        json.dump({"tensorflow": tf.__version__, "keras": keras.__version__, "arrays": index}, f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for model.json and its weight shards")
    parser.add_argument("--weights", default="none", help="none (seeded random), imagenet, or a path to Keras weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--golden", help="also write inputs and Keras' features to GOLDEN.json/.bin")
    args = parser.parse_args()

    # The converter imports TensorFlow Decision Forests and JAX when it loads, for
    # converting TF-DF and JAX models only. A SavedModel needs neither (and no TF-DF
    # build matches this TensorFlow), so empty modules stand in for them.
    for name in ("tensorflow_decision_forests", "jax", "jax.experimental", "jax.experimental.jax2tf"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["jax.experimental"].jax2tf = sys.modules["jax.experimental.jax2tf"]
    from tensorflowjs.converters import tf_saved_model_conversion_v2

    keras.utils.set_random_seed(args.seed)
    weights = None if args.weights == "none" else args.weights
    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights, input_shape=(299, 299, 3))
    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, verbose=False)
        staging = f"{args.out}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        tf_saved_model_conversion_v2.convert_tf_saved_model(saved, staging, signature_def="serving_default", saved_model_tags="serve")
        shutil.rmtree(args.out, ignore_errors=True)
        os.replace(staging, args.out)
    if args.golden:
        write_golden(model, args.golden, args.seed)
    print(f"inception-v3 ({args.weights}) -> {args.out}: {model.count_params()} parameters, output {model.output_shape}")


if __name__ == "__main__":
    main()
