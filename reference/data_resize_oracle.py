"""Oracle for packages/data: decode and resize images the way the book's Keras
loader does (keras.utils.image_dataset_from_directory -> load_image:
tf.io.read_file, tf.image.decode_image(channels, expand_animations=False),
tf.image.resize(size, method='bilinear')), without rounding.

Usage: data_resize_oracle.py SIZE CHANNELS OUT.f32 < paths.txt
Writes float32 N x SIZE x SIZE x CHANNELS, row-major, in the order of the paths.
"""
import sys

import numpy as np
import tensorflow as tf


def main() -> None:
    size, channels, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    paths = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    images = []
    for path in paths:
        img = tf.image.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        images.append(tf.image.resize(img, (size, size), method="bilinear").numpy())
    np.stack(images).astype(np.float32).tofile(out)


if __name__ == "__main__":
    main()
