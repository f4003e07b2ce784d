/**
 * Dense float64 linear algebra on the host, just what the metrics need:
 * feature statistics, a symmetric eigen-solver and a few products.
 *
 * Matrices are row-major Float64Arrays. The eigen-solver is Householder
 * tridiagonalisation followed by the implicit QL algorithm (Wilkinson &
 * Reinsch, "Handbook for Automatic Computation II", procedures tred2/tql2),
 * arranged so that every inner loop walks memory contiguously: at D = 2048
 * a strided loop would spend its time in cache misses.
 */

/** N samples of D features, row-major (sample i is `data[i*d .. i*d+d)`). */
export interface FeatureMatrix {
  readonly n: number;
  readonly d: number;
  readonly data: Float64Array;
}

/** Wraps a row-major array as a feature matrix, checking its length. */
export function featureMatrix(data: Float64Array, n: number, d: number): FeatureMatrix {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 0 || d < 1 || data.length !== n * d) {
    throw new Error(`featureMatrix: ${data.length} values cannot be ${n} x ${d}`);
  }
  return { n, d, data };
}

/** The rows of `m` listed in `indices`, in that order. */
export function selectRows(m: FeatureMatrix, indices: ArrayLike<number>): FeatureMatrix {
  const out = new Float64Array(indices.length * m.d);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (r < 0 || r >= m.n) throw new Error(`selectRows: row ${r} outside 0..${m.n - 1}`);
    out.set(m.data.subarray(r * m.d, r * m.d + m.d), i * m.d);
  }
  return { n: indices.length, d: m.d, data: out };
}

/** Dot product of `a[ao..ao+len)` and `b[bo..bo+len)`, four accumulators for speed. */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ao + k]! * b[bo + k]!;
    s1 += a[ao + k + 1]! * b[bo + k + 1]!;
    s2 += a[ao + k + 2]! * b[bo + k + 2]!;
    s3 += a[ao + k + 3]! * b[bo + k + 3]!;
  }
  for (; k < len; k++) s0 += a[ao + k]! * b[bo + k]!;
  return s0 + s1 + (s2 + s3);
}

/** Squared Euclidean distance of two rows, summed over differences (no cancellation). */
export function squaredDistance(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < len; k += 2) {
    const u = a[ao + k]! - b[bo + k]!;
    const v = a[ao + k + 1]! - b[bo + k + 1]!;
    s0 += u * u;
    s1 += v * v;
  }
  if (k < len) {
    const u = a[ao + k]! - b[bo + k]!;
    s0 += u * u;
  }
  return s0 + s1;
}

/**
 * Dot products (or squared distances) of rows `i0 .. i0+count` of `x` with
 * rows `j0 .. y.n` of `y`, into `out[(i - i0) * y.n + j]`. Four rows of `x`
 * share each pass over a row of `y`, which keeps the large operand streaming
 * once per four results instead of once per result. Every entry is summed
 * over k in order, so it is the same number whichever block computed it.
 */
export function rowBlock(
  x: FeatureMatrix,
  y: FeatureMatrix,
  i0: number,
  count: number,
  out: Float64Array,
  kind: 'dot' | 'squared-distance',
  j0 = 0,
): void {
  const d = x.d;
  const xd = x.data;
  const yd = y.data;
  const ny = y.n;
  const sq = kind === 'squared-distance';
  let r = 0;
  for (; r + 3 < count; r += 4) {
    const a0 = (i0 + r) * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    for (let j = j0; j < ny; j++) {
      const b = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      if (sq) {
        for (let k = 0; k < d; k++) {
          const v = yd[b + k]!;
          const u0 = xd[a0 + k]! - v;
          const u1 = xd[a1 + k]! - v;
          const u2 = xd[a2 + k]! - v;
          const u3 = xd[a3 + k]! - v;
          s0 += u0 * u0;
          s1 += u1 * u1;
          s2 += u2 * u2;
          s3 += u3 * u3;
        }
      } else {
        for (let k = 0; k < d; k++) {
          const v = yd[b + k]!;
          s0 += xd[a0 + k]! * v;
          s1 += xd[a1 + k]! * v;
          s2 += xd[a2 + k]! * v;
          s3 += xd[a3 + k]! * v;
        }
      }
      out[r * ny + j] = s0;
      out[(r + 1) * ny + j] = s1;
      out[(r + 2) * ny + j] = s2;
      out[(r + 3) * ny + j] = s3;
    }
  }
  for (; r < count; r++) {
    const a = (i0 + r) * d;
    for (let j = j0; j < ny; j++) {
      const b = j * d;
      let s = 0;
      if (sq) {
        for (let k = 0; k < d; k++) {
          const u = xd[a + k]! - yd[b + k]!;
          s += u * u;
        }
      } else {
        for (let k = 0; k < d; k++) s += xd[a + k]! * yd[b + k]!;
      }
      out[r * ny + j] = s;
    }
  }
}

/** Rows per block in {@link forEachRowBlock}: small enough to stay in cache. */
export const ROW_BLOCK = 64;

/**
 * Calls `visit(i0, count, values)` for consecutive blocks of x's rows, where
 * `values[(i - i0) * y.n + j]` is the dot product or squared distance of
 * x_i and y_j. With `upper`, only j >= i0 is filled (for x = y, symmetric).
 */
export function forEachRowBlock(
  x: FeatureMatrix,
  y: FeatureMatrix,
  kind: 'dot' | 'squared-distance',
  visit: (i0: number, count: number, values: Float64Array) => void,
  upper = false,
): void {
  if (x.d !== y.d) throw new Error(`forEachRowBlock: feature sizes differ (${x.d} vs ${y.d})`);
  const out = new Float64Array(ROW_BLOCK * y.n);
  for (let i0 = 0; i0 < x.n; i0 += ROW_BLOCK) {
    const count = Math.min(ROW_BLOCK, x.n - i0);
    rowBlock(x, y, i0, count, out, kind, upper ? i0 : 0);
    visit(i0, count, out);
  }
}

/** The transpose of a row-major rows x cols matrix. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

/**
 * a b^T for row-major a (n x k) and b (m x k), as an n x m matrix. With
 * `symmetric` (a = b), only the upper triangle is computed and mirrored.
 */
export function multiplyTransposed(a: FeatureMatrix, b: FeatureMatrix, symmetric = false): Float64Array {
  const out = new Float64Array(a.n * b.n);
  const m = b.n;
  forEachRowBlock(
    a,
    b,
    'dot',
    (i0, count, values) => {
      for (let r = 0; r < count; r++) {
        const i = i0 + r;
        if (symmetric) {
          for (let j = i; j < m; j++) {
            const v = values[r * m + j]!;
            out[i * m + j] = v;
            out[j * m + i] = v;
          }
        } else {
          out.set(values.subarray(r * m, r * m + m), i * m);
        }
      }
    },
    symmetric,
  );
  return out;
}

/** Per-feature mean and unbiased covariance (divisor N - 1, as numpy's `cov`). */
export function meanAndCovariance(m: FeatureMatrix): { mean: Float64Array; covariance: Float64Array } {
  const { n, d, data } = m;
  if (n < 2) throw new Error(`meanAndCovariance: need at least 2 samples, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mean[j]! += data[o + j]!;
  }
  for (let j = 0; j < d; j++) mean[j]! /= n;
  // Centred features transposed (one row per feature), so that each
  // covariance entry is a contiguous dot product of two feature rows.
  const centredT = new Float64Array(d * n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) centredT[j * n + i] = data[o + j]! - mean[j]!;
  }
  const features = { n: d, d: n, data: centredT };
  const covariance = multiplyTransposed(features, features, true);
  const scale = 1 / (n - 1);
  for (let i = 0; i < covariance.length; i++) covariance[i]! *= scale;
  return { mean, covariance };
}

/**
 * Pivoted Cholesky factor of a symmetric positive semi-definite matrix:
 * `a ~= L L^T` with L of size n x rank, rows in the ORIGINAL index order
 * (the pivoting only decides which column each row's entries fill). Stops
 * when the largest remaining diagonal of the Schur complement falls to
 * `n * eps * max(diag(a))` (LAPACK dpstrf's default), so singular matrices
 * (fewer samples than features, dead features) factor without breakdown.
 * Left-looking: each new column is a set of contiguous dot products.
 *
 * @returns L^T (rank x n, row-major) and the rank.
 */
export function pivotedCholesky(a: Float64Array, n: number): { factorT: Float64Array; rank: number } {
  if (a.length !== n * n) throw new Error(`pivotedCholesky: ${a.length} values are not ${n} x ${n}`);
  const rows = new Float64Array(n * n); // row i of L at rows[i*n .. i*n + rank)
  const residual = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    residual[i] = a[i * n + i]!;
    maxDiag = Math.max(maxDiag, residual[i]!);
  }
  const tol = n * 2 ** -52 * maxDiag;
  const chosen = new Uint8Array(n);
  let rank = 0;
  for (let k = 0; k < n; k++) {
    let p = -1;
    let best = -Infinity;
    for (let i = 0; i < n; i++) {
      if (chosen[i] === 0 && residual[i]! > best) {
        best = residual[i]!;
        p = i;
      }
    }
    if (p < 0 || !(best > tol)) break;
    const lpp = Math.sqrt(best);
    chosen[p] = 1;
    rows[p * n + k] = lpp;
    const po = p * n;
    for (let i = 0; i < n; i++) {
      if (chosen[i] === 1) continue;
      const v = (a[po + i]! - dot(rows, i * n, rows, po, k)) / lpp;
      rows[i * n + k] = v;
      residual[i]! -= v * v;
    }
    rank = k + 1;
  }
  const factorT = new Float64Array(rank * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < rank; k++) factorT[k * n + i] = rows[i * n + k]!;
  return { factorT, rank };
}

/** Trace of an n x n matrix. */
export function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i]!;
  return t;
}

/** Eigen-decomposition of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /**
   * Unit eigenvectors as ROWS: vector i is `vectors[i*n .. i*n+n)`, paired
   * with `values[i]`. Absent when only values were asked for.
   */
  readonly vectors?: Float64Array;
}

/**
 * Eigenvalues (and optionally eigenvectors) of the symmetric n x n matrix `a`
 * (only its lower triangle is read; `a` is not modified).
 *
 * Storage note: `w` holds the transpose of the classic algorithm's working
 * matrix V (w[c*n + r] = V[r][c]), so the column sweeps of tred2/tql2 become
 * row sweeps here; at the end row i of `w` is eigenvector i.
 */
export function symmetricEigen(a: Float64Array, n: number, options: { vectors?: boolean } = {}): SymmetricEigen {
  const wantVectors = options.vectors ?? true;
  if (a.length !== n * n) throw new Error(`symmetricEigen: ${a.length} values are not ${n} x ${n}`);
  if (n === 0) return { values: new Float64Array(0), ...(wantVectors ? { vectors: new Float64Array(0) } : {}) };
  const w = new Float64Array(n * n);
  // V = A (symmetric), so w = A^T = A; copy from the lower triangle.
  for (let r = 0; r < n; r++) {
    for (let c = 0; c <= r; c++) {
      const v = a[r * n + c]!;
      w[c * n + r] = v;
      w[r * n + c] = v;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(w, d, e, n, wantVectors);
  tridiagonalQl(w, d, e, n, wantVectors);
  // Sort ascending (selection sort keeps vector swaps to n).
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++) {
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      if (wantVectors) {
        const ri = w.slice(i * n, i * n + n);
        w.copyWithin(i * n, k * n, k * n + n);
        w.set(ri, k * n);
      }
    }
  }
  return wantVectors ? { values: d, vectors: w } : { values: d };
}

/** V[r][c] lives at w[c*n + r]. */
function tridiagonalize(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  for (let j = 0; j < n; j++) d[j] = w[j * n + (n - 1)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + (i - 1)]!;
        w[j * n + i] = 0; // V[i][j]
        w[i * n + j] = 0; // V[j][i]
      }
    } else {
      // Householder vector for row i.
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // Similarity transformation of the remaining columns.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        w[i * n + j] = f; // V[j][i]
        const cj = j * n; // column j of V = row j of w
        g = e[j]! + w[cj + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = w[cj + k]!;
          g += vkj * d[k]!;
          e[k]! += vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const cj = j * n;
        for (let k = j; k <= i - 1; k++) w[cj + k]! -= f * e[k]! + g * d[k]!;
        d[j] = w[cj + (i - 1)]!;
        w[cj + i] = 0; // V[i][j]
      }
    }
    d[i] = h;
  }

  if (!wantVectors) {
    // The tridiagonal's diagonal sits on V's diagonal; V[n-1][n-1] was never touched.
    for (let j = 0; j < n; j++) d[j] = w[j * n + j]!;
    e[0] = 0;
    return;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    w[i * n + (n - 1)] = w[i * n + i]!; // V[n-1][i] = V[i][i]
    w[i * n + i] = 1;
    const h = d[i + 1]!;
    const ci1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[ci1 + k]! / h;
      for (let j = 0; j <= i; j++) {
        const cj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[ci1 + k]! * w[cj + k]!;
        for (let k = 0; k <= i; k++) w[cj + k]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) w[ci1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + (n - 1)]!;
    w[j * n + (n - 1)] = 0;
  }
  w[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

function tridiagonalQl(w: Float64Array, d: Float64Array, e: Float64Array, n: number, wantVectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 100) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        // Implicit QL transformation.
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (wantVectors) {
            const ci = i * n;
            const ci1 = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const hk = w[ci1 + k]!;
              const vk = w[ci + k]!;
              w[ci1 + k] = s * vk + c * hk;
              w[ci + k] = c * vk - s * hk;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
