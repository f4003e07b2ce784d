#!/usr/bin/env python3
"""Reference values for duel's metrics (@duel/metrics), from numpy/scipy.

Reads a duel feature file (format: packages/metrics/src/feature-file.ts) with
arrays `real` (n1 x d) and `fake` (n2 x d), float64, optionally `kid_x` and
`kid_y` (subsets x m, int32: the KID subset rows, so both sides average over
the very same subsets) and meta `k` (precision/recall neighbourhood), and
writes a JSON file of results:

  fid        pytorch-fid's formula: |mu1-mu2|^2 + tr S1 + tr S2 - 2 tr sqrtm(S1 S2)
             (scipy.linalg.sqrtm; np.cov, ddof = 1)
  kid        mean / std (ddof 0) of the unbiased MMD^2 with k(x,y) = (x.y/d + 1)^3
             over the given subsets (Binkowski et al. 2018)
  precision, recall   Kynkaanniemi et al. 2019, k-NN balls (self excluded)
  diversity_real, diversity_fake   mean pairwise Euclidean distance

Usage: metrics_reference.py IN.bin OUT.json
"""
import json
import struct
import sys

import numpy as np
from scipy import linalg
from scipy.spatial.distance import cdist, pdist

MAGIC = b"DUELF64\0"


def read_feature_file(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != MAGIC:
        raise SystemExit(f"{path}: not a duel feature file")
    (header_len,) = struct.unpack("<I", raw[8:12])
    header = json.loads(raw[12 : 12 + header_len].decode("utf-8"))
    start = (12 + header_len + 7) // 8 * 8
    arrays = {}
    for name, entry in header["arrays"].items():
        dtype = {"float64": "<f8", "int32": "<i4"}[entry["dtype"]]
        count = int(np.prod(entry["shape"])) if entry["shape"] else 1
        at = start + entry["offset"]
        arrays[name] = np.frombuffer(raw, dtype=dtype, count=count, offset=at).reshape(entry["shape"])
    return header["meta"], arrays


def fid(real, fake):
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid(real, fake, subsets_x, subsets_y):
    d = real.shape[1]
    values = []
    for ix, iy in zip(subsets_x, subsets_y):
        x, y = real[ix], fake[iy]
        m = x.shape[0]
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        values.append(((a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m) / m)
    values = np.array(values)
    return float(values.mean()), float(values.std()), values.tolist()


def radii(x, k):
    dist = cdist(x, x, "sqeuclidean")
    # column 0 of the sorted rows is the point itself (distance 0)
    return np.sort(dist, axis=1)[:, k]


def precision_recall(real, fake, k):
    r_real, r_fake = radii(real, k), radii(fake, k)
    dist = cdist(fake, real, "sqeuclidean")  # fake x real
    precision = float(np.mean((dist <= r_real[None, :]).any(axis=1)))
    recall = float(np.mean((dist <= r_fake[:, None]).any(axis=0)))
    return precision, recall


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    meta, arrays = read_feature_file(sys.argv[1])
    real, fake = arrays["real"], arrays["fake"]
    out = {"fid": fid(real, fake)}
    if "kid_x" in arrays:
        mean, std, values = kid(real, fake, arrays["kid_x"], arrays["kid_y"])
        out.update(kid=mean, kid_std=std, kid_values=values)
    k = int(meta.get("k", 3))
    out["precision"], out["recall"] = precision_recall(real, fake, k)
    out["diversity_real"] = float(pdist(real).mean())
    out["diversity_fake"] = float(pdist(fake).mean())
    out["versions"] = {"numpy": np.__version__, "scipy": __import__("scipy").__version__}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
