/**
 * Bilinear resizing of uint8 pixels with TensorFlow's conventions
 * (`tf.image.resize(method='bilinear', antialias=False)`: half-pixel centres,
 * no corner alignment, edge clamping). The book's Keras loader
 * (`image_dataset_from_directory(interpolation='bilinear')`) resizes this way,
 * so the pixels match it up to the final rounding to uint8.
 *
 * sharp's own `kernel: 'linear'` is not this: when shrinking, libvips stretches
 * the triangle over the shrink factor (an antialiasing filter, so 128 -> 64
 * mixes four source pixels per axis, not two), and when enlarging it places
 * samples half a pixel differently. Hence the resize is done here.
 */

/** Where one output coordinate samples the input: two neighbours and the weight of the upper. */
interface AxisWeights {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float64Array;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    // Half-pixel centres: output pixel i covers input position (i + 0.5) * scale - 0.5.
    const position = (i + 0.5) * scale - 0.5;
    const floor = Math.floor(position);
    lower[i] = Math.max(floor, 0);
    upper[i] = Math.min(Math.ceil(position), inSize - 1);
    lerp[i] = position - floor;
  }
  return { lower, upper, lerp };
}

/**
 * Resizes an H x W x C uint8 image to `outHeight` x `outWidth` (no aspect
 * crop: each axis is scaled on its own), rounding to the nearest level.
 * Returns the input itself when the size already matches.
 */
export function resizeBilinear(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`resizeBilinear: ${pixels.length} bytes is not ${width}x${height}x${channels}`);
  }
  if (width === outWidth && height === outHeight) return pixels;
  const xs = axisWeights(width, outWidth);
  const ys = axisWeights(height, outHeight);
  const out = new Uint8Array(outWidth * outHeight * channels);
  const rowStride = width * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const top = ys.lower[y]! * rowStride;
    const bottom = ys.upper[y]! * rowStride;
    const dy = ys.lerp[y]!;
    for (let x = 0; x < outWidth; x++) {
      const left = xs.lower[x]! * channels;
      const right = xs.upper[x]! * channels;
      const dx = xs.lerp[x]!;
      for (let c = 0; c < channels; c++) {
        const tl = pixels[top + left + c]!;
        const tr = pixels[top + right + c]!;
        const bl = pixels[bottom + left + c]!;
        const br = pixels[bottom + right + c]!;
        const upperRow = tl + (tr - tl) * dx;
        const lowerRow = bl + (br - bl) * dx;
        out[o++] = Math.round(upperRow + (lowerRow - upperRow) * dy);
      }
    }
  }
  return out;
}
