#!/usr/bin/python3
# ONE-OFF GENERATOR, NOT RUN BY THE TESTS.
#
# Computes independent reference values for tests/analysis from the study's
# MGSM routing JSON (Qwen3-30B-A3B, 8 languages) with numpy/scipy, written
# from the definitions in arXiv 2601.14050 and not from the C++ code. The
# output, mgsm_reference.json, is committed; tests compare against it. See
# README.md in this folder for how it was run.
#
# usage: /usr/bin/python3 make_reference.py DIR_WITH_mgsm_*.json OUT.json
import hashlib
import itertools
import json
import os
import sys
from fractions import Fraction

import numpy as np
import scipy
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform
from scipy.special import rel_entr

LANGS = ["bn", "de", "en", "es", "fr", "ja", "sw", "zh"]
K, THR = 15, 0.4
STEER = ("en", "zh", 20, 0.7, 10, 39)


def load(folder, lang):
    path = os.path.join(folder, f"mgsm_{lang}.json")
    raw = open(path, "rb").read()
    doc = json.loads(raw)
    layers = sorted(int(k) for k in doc)
    n_exp = max(int(k) for k in doc["0"] if k != "total_tokens") + 1
    counts = np.zeros((len(layers), n_exp))
    tokens = np.zeros(len(layers))
    for l in layers:
        entry = doc[str(l)]
        tokens[l] = entry["total_tokens"]
        for e in range(n_exp):
            counts[l, e] = entry[str(e)]["activation_tokens"]
    return counts, tokens, hashlib.sha256(raw).hexdigest()


def jsd_base2(p, q):
    m = 0.5 * (p + q)
    return 0.5 * (rel_entr(p, m).sum() + rel_entr(q, m).sum()) / np.log(2)


def top_k_mask(f, k):
    # k largest f, ties to the lower index; experts never selected not kept.
    order = sorted(range(len(f)), key=lambda i: (-f[i], i))[:k]
    mask = np.zeros(len(f), dtype=bool)
    for i in order:
        if f[i] > 0:
            mask[i] = True
    return mask


def optimal_order_brute_force(Z, D):
    # All 2^(n-2) orders with the root's left child first; exact costs.
    n = len(Z) + 1
    Dq = [[Fraction(float(D[a][b])) for b in range(n)] for a in range(n)]

    def leaves(node, flips):
        if node < n:
            return [node]
        i = node - n
        l, r = int(Z[i, 0]), int(Z[i, 1])
        a, b = leaves(l, flips), leaves(r, flips)
        return b + a if flips[i] else a + b

    results = []
    for bits in itertools.product([0, 1], repeat=n - 2):
        flips = list(bits) + [0]  # root (last merge) never flipped
        order = leaves(2 * n - 2, flips)
        cost = sum(Dq[order[i]][order[i + 1]] for i in range(n - 1))
        results.append((cost, order))
    results.sort(key=lambda t: t[0])
    best = results[0]
    runner_up = next(c for c, o in results if c > best[0])
    ties = [o for c, o in results if c == best[0]]
    return best[1], float(best[0]), float(runner_up - best[0]), ties


def main():
    folder, out_path = sys.argv[1], sys.argv[2]
    data = {lang: load(folder, lang) for lang in LANGS}
    n_layers, n_exp = data["en"][0].shape

    f = {lang: c / t[:, None] for lang, (c, t, _) in data.items()}
    p = {lang: v / v.sum(axis=1, keepdims=True) for lang, v in f.items()}

    n = len(LANGS)
    per_layer = np.zeros((n_layers, n, n))
    for l in range(n_layers):
        for a, b in itertools.product(range(n), repeat=2):
            per_layer[l, a, b] = 1.0 - jsd_base2(p[LANGS[a]][l], p[LANGS[b]][l])
    mean = per_layer.mean(axis=0)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    pairwise = [float(np.mean([per_layer[l, a, b] for a, b in pairs])) for l in range(n_layers)]

    # Cross-check with scipy's own Jensen-Shannon distance (sqrt of JSD).
    from scipy.spatial.distance import jensenshannon
    js = 1.0 - jensenshannon(p["es"][7], p["fr"][7], base=2) ** 2
    assert abs(js - per_layer[7, 3, 4]) < 1e-12

    dist = 1.0 - mean
    np.fill_diagonal(dist, 0.0)
    dist = 0.5 * (dist + dist.T)
    cond = squareform(dist, checks=False)

    linkages = {}
    for method in ["average", "single", "complete", "ward"]:
        Z = linkage(cond, method=method)
        merges = []
        members = {i: [LANGS[i]] for i in range(n)}
        for i, (l, r, h, size) in enumerate(Z):
            l, r = int(l), int(r)
            assert l < r
            members[n + i] = sorted(members[l] + members[r])
            merges.append({"left": l, "right": r, "height": float(h),
                           "members": members[n + i]})
        order, cost, gap, ties = optimal_order_brute_force(Z, dist)
        scipy_leaves = leaves_list(optimal_leaf_ordering(Z, cond))
        scipy_olo = [LANGS[i] for i in scipy_leaves]
        scipy_cost = sum(dist[scipy_leaves[i], scipy_leaves[i + 1]] for i in range(n - 1))
        linkages[method] = {
            "merges": merges,
            "leaf_order": [LANGS[i] for i in order],
            "leaf_order_cost": cost,
            "leaf_order_gap_to_next_best": gap,
            "leaf_order_equal_cost_orders": len(ties),
            "naive_leaf_order": [LANGS[i] for i in leaves_list(Z)],
            # For information only: scipy's heuristic is not always optimal
            # (scipy issue #11227) and may pick the mirror image.
            "scipy_optimal_leaf_ordering": scipy_olo,
            "scipy_optimal_leaf_ordering_cost": float(scipy_cost),
        }

    entropy = {}
    for lang in LANGS:
        pl = p[lang]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(pl > 0, -pl * np.log2(pl), 0.0)
        entropy[lang] = terms.sum(axis=1).tolist()

    kept = {lang: np.zeros_like(f[lang]) for lang in LANGS}
    for lang in LANGS:
        for l in range(n_layers):
            mask = top_k_mask(f[lang][l], K)
            kept[lang][l] = np.where(mask, f[lang][l], 0.0)
    total = sum(kept.values())
    exclusive = {lang: [] for lang in LANGS}
    shared, shared_per_layer = [], [0] * n_layers
    for l in range(n_layers):
        for e in range(n_exp):
            if total[l, e] <= 0:
                continue
            shares = {lang: kept[lang][l, e] / total[l, e] for lang in LANGS}
            keepers = sum(1 for lang in LANGS if kept[lang][l, e] > 0)
            excl = [lang for lang in LANGS if shares[lang] > THR]
            for lang in excl:
                exclusive[lang].append([l, e])
            if keepers >= 2 and not excl:
                shared.append([l, e])
                shared_per_layer[l] += 1

    a, b, sk, sthr, first, last = STEER
    steering = []
    for l in range(first, last + 1):
        ma, mb = top_k_mask(f[a][l], sk), top_k_mask(f[b][l], sk)
        for e in range(n_exp):
            if ma[e] and mb[e]:
                s = f[a][l, e] / (f[a][l, e] + f[b][l, e])
                if 1 - sthr < s < sthr:
                    steering.append({"layer": l, "expert": e, "share_a": float(s)})

    out = {
        "generator": "tests/data/analysis/make_reference.py (one-off, not run by tests)",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sources": {f"mgsm_{lang}.json": data[lang][2] for lang in LANGS},
        "languages": LANGS,
        "similarity": {
            "mean": mean.tolist(),
            "per_layer": per_layer.tolist(),
            "mean_pairwise_per_layer": pairwise,
        },
        "linkage": linkages,
        "entropy": entropy,
        "experts": {
            "k": K,
            "threshold": THR,
            "exclusive_counts": {lang: len(v) for lang, v in exclusive.items()},
            "exclusive": exclusive,
            "shared_count": len(shared),
            "shared_per_layer": shared_per_layer,
        },
        "steering": {"a": a, "b": b, "k": sk, "threshold": sthr,
                     "layers": [first, last], "experts": steering},
    }
    with open(out_path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
