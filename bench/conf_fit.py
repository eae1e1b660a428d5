#!/usr/bin/env python3
"""bench/conf_fit.py - refits the field-confidence constants of
pipeline/pipe_assemble.c on ingested sample sets (never on the set the
README's figures come from).

    python3 bench/conf_fit.py DB1 TRUTH1.csv [DB2 TRUTH2.csv ...]

Each DB is a `docpipe ingest` of a `docpipe samples` folder, TRUTH its
truth.csv.  Per stored field it takes what pipe_assemble_field() computes:
  lp  = sum of log p(top label) over the chosen split's digits
        (log 0.98 for a field read as empty),
  ls  = log(the chosen split's share of the splits' likelihood, times the
        rule factors: count outside the form's range, decimal point assumed,
        text that does not parse), recovered from the stored confidence with
        the constants pipeline/pipe_assemble.c holds now (so the databases
        must come from a binary built from that file),
  doubt, the type, and the digit count,
fits the product form pipe_assemble.c uses (and, for comparison, a logistic
regression) to "the field's text is exact" by maximum likelihood, and prints
each set left out in turn (read rate at <= 1 % field error of the fit on the
others), the constants fitted on all sets, the share of fields accepted and
their accuracy at several thresholds, and reliability tables.
Pure Python, no numpy.
"""
import math
import os
import re
import sqlite3
import sys

TYPES = ["amount", "postcode", "date", "number"]


def constants(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline",
                                "pipe_assemble.c")):
    """The constants the stored confidences were computed with."""
    src = open(path).read()
    k = {}
    for name in ("CONF_A", "CONF_B", "DOUBT_W", "EMPTY_CONF"):
        k[name] = float(re.search(r"#define %s \(?([-0-9.e]+)" % name, src).group(1))
    k["CONF_CEIL"] = [float(x) for x in re.search(
        r"CONF_CEIL\[SEG_FT_COUNT\] = \{([^}]*)\}", src).group(1).split(",")]
    return k


K = constants()


def load(db, truth):
    import csv
    want = {}
    with open(truth, newline="") as fp:
        for r in csv.DictReader(fp):
            want[(r["file"], int(r["page"]), r["field"])] = r["text"]
    h = sqlite3.connect(db)
    rows = {}
    q = """SELECT f.id, d.path, p.page_no, f.name, f.type, f.text, f.confidence, f.doubt
           FROM fields f JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id"""
    for fid, path, page, name, typ, text, conf, doubt in h.execute(q):
        rows[fid] = dict(key=(os.path.basename(path), page, name), type=typ, text=text,
                         conf=conf, doubt=doubt, probs=[])
    for fid, pos, prob in h.execute("SELECT field_id, pos, prob FROM digits ORDER BY field_id, pos"):
        if fid in rows:
            rows[fid]["probs"].append(prob)
    out = []
    seen = set()
    for r in rows.values():
        if r["key"] not in want:
            continue
        seen.add(r["key"])
        n = len(r["probs"])
        lp = sum(math.log(max(p, 1e-12)) for p in r["probs"]) if n else math.log(K["EMPTY_CONF"])
        # Invert conf = ceil * exp(A lp + B ls) * (1 - W doubt) for ls.
        d = 1 - K["DOUBT_W"] * min(max(r["doubt"], 0), 1)
        c = K["CONF_CEIL"][TYPES.index(r["type"]) if r["type"] in TYPES else 3] * d
        ls = (math.log(r["conf"] / c) - K["CONF_A"] * lp) / K["CONF_B"] if r["conf"] > 0 else -28
        ls = min(max(ls, -28), 0.0)
        out.append(dict(ok=int(r["text"] == want[r["key"]]), lp=lp, ls=ls, doubt=r["doubt"],
                        type=r["type"], n=n, old=r["conf"]))
    for k in want:
        if k not in seen:  # its document failed: wrong, confidence 0
            out.append(dict(ok=0, lp=None))
    return out


def feats(r):
    t = [1.0 if r["type"] == x else 0.0 for x in TYPES[:3]]
    return [1.0, r["lp"], r["ls"], r["doubt"]] + t + [float(r["n"])]


NAMES = ["bias", "lp", "ls", "doubt", "amount", "postcode", "date", "n"]


def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda i: abs(m[i][c]))
        m[c], m[piv] = m[piv], m[c]
        for i in range(n):
            if i != c and m[c][c] != 0:
                f = m[i][c] / m[c][c]
                for j in range(c, n + 1):
                    m[i][j] -= f * m[c][j]
    return [m[i][n] / m[i][i] if m[i][i] else 0 for i in range(n)]


def fit(rows, l2=1e-2):
    xs = [feats(r) for r in rows if r["lp"] is not None]
    ys = [r["ok"] for r in rows if r["lp"] is not None]
    k = len(xs[0])
    w = [0.0] * k
    for _ in range(50):
        g = [0.0] * k
        hm = [[0.0] * k for _ in range(k)]
        for x, y in zip(xs, ys):
            z = sum(wi * xi for wi, xi in zip(w, x))
            p = 1 / (1 + math.exp(-max(min(z, 40), -40)))
            for i in range(k):
                g[i] += (p - y) * x[i]
                for j in range(k):
                    hm[i][j] += p * (1 - p) * x[i] * x[j]
        for i in range(1, k):
            g[i] += l2 * w[i]
            hm[i][i] += l2
        step = solve(hm, g)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return w


def conf_of(w, r):
    if r["lp"] is None:
        return 0.0
    z = sum(wi * xi for wi, xi in zip(w, feats(r)))
    return 1 / (1 + math.exp(-max(min(z, 40), -40)))


# The product form pipe_assemble.c uses: conf = c[type] * exp(a * lp + b * ls) * (1 - w * doubt),
# a field "temperature" a on the digits' probabilities, b on the split share, c the share of fields
# of a type that are right when every digit looks sure.  Fitted by coordinate descent on the
# log-likelihood.
def prod_conf(q, r):
    if r["lp"] is None:
        return 0.0
    c = 1 / (1 + math.exp(-q[TYPES.index(r["type"]) if r["type"] in TYPES else 3]))
    v = c * math.exp(q[4] * r["lp"] + q[5] * r["ls"] + q[7] * r["n"]) * \
        (1 - min(max(q[6], 0), 1) * r["doubt"])
    return min(max(v, 1e-12), 1 - 1e-12)


def prod_nll(q, rows):
    t = 0.0
    for r in rows:
        if r["lp"] is None:
            continue
        p = prod_conf(q, r)
        t -= math.log(p) if r["ok"] else math.log(1 - p)
    return t


def fit_prod(rows):
    q = [4.0, 4.0, 4.0, 4.0, 1.0, 1.0, 0.25, 0.0]
    step = [1.0, 1.0, 1.0, 1.0, 0.25, 0.25, 0.1, 0.01]
    best = prod_nll(q, rows)
    for _ in range(60):
        moved = False
        for i in range(len(q)):
            for sgn in (1, -1):
                t = q[:]
                t[i] += sgn * step[i]
                v = prod_nll(t, rows)
                if v < best:
                    best, q, moved = v, t, True
                    break
        if not moved:
            step = [x / 2 for x in step]
            if max(step) < 1e-3:
                break
    return q


def read_rate(rows, key, max_err=0.01):
    s = sorted(rows, key=key, reverse=True)
    best, bad, thr = 0, 0, 1.0
    for i, r in enumerate(s):
        bad += 1 - r["ok"]
        if bad <= max_err * (i + 1):
            best, thr = i + 1, key(r)
    return best / len(rows), thr


def reliability(rows, key):
    lo = [0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995]
    out = []
    for i, a in enumerate(lo):
        b = lo[i + 1] if i + 1 < len(lo) else 1.0000001
        sel = [r for r in rows if a <= key(r) < b]
        if sel:
            out.append("%.3f-%.3f %5d  conf %.4f  exact %.2f %%" % (
                a, min(b, 1), len(sel), sum(key(r) for r in sel) / len(sel),
                100 * sum(r["ok"] for r in sel) / len(sel)))
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    sets = [load(args[i], args[i + 1]) for i in range(0, len(args), 2)]
    old = lambda r: r["old"] if r["lp"] is not None else 0.0
    for i, test in enumerate(sets if len(sets) > 1 else []):
        train = [r for j, s in enumerate(sets) if j != i for r in s]
        w = fit(train)
        rr_new, thr = read_rate(test, lambda r: conf_of(w, r))
        rr_old, _ = read_rate(test, old)
        q = fit_prod(train)
        rr_prod, thr_p = read_rate(test, lambda r: prod_conf(q, r))
        print("%s left out: read rate logistic %.2f %% (>= %.4f), product %.2f %% (>= %.4f), "
              "old %.2f %%; exact %.2f %% of all" % (
                  args[2 * i], 100 * rr_new, thr, 100 * rr_prod, thr_p, 100 * rr_old,
                  100 * sum(r["ok"] for r in test) / len(test)))
    allr = [r for s in sets for r in s]
    w = fit(allr)
    print("\nfitted on all %d fields:" % len(allr))
    for n, v in zip(NAMES, w):
        print("  %-9s %+.4f" % (n, v))
    rr, thr = read_rate(allr, lambda r: conf_of(w, r))
    print("read rate on all (in-sample) %.2f %% at confidence >= %.4f" % (100 * rr, thr))
    for thr_try in (0.98, 0.985, 0.99, 0.992, 0.995):
        acc = [r for r in allr if conf_of(w, r) >= thr_try]
        if acc:
            print("  >= %.3f: %5.2f %% of fields accepted, %.2f %% of them exact" % (
                thr_try, 100 * len(acc) / len(allr), 100 * sum(r["ok"] for r in acc) / len(acc)))
    print("\nreliability (all sets, logistic):")
    print("\n".join(reliability(allr, lambda r: conf_of(w, r))))
    q = fit_prod(allr)
    print("\nproduct form fitted on all: c amount %.5f postcode %.5f date %.5f number %.5f, "
          "a %.4f, b %.4f, w %.4f, per digit %.5f" % tuple([1 / (1 + math.exp(-x)) for x in q[:4]] + q[4:]))
    f = lambda r: prod_conf(q, r)
    rr, thr = read_rate(allr, f)
    print("read rate on all (in-sample) %.2f %% at confidence >= %.4f" % (100 * rr, thr))
    for thr_try in (0.95, 0.96, 0.97, 0.98, 0.985, 0.99):
        acc = [r for r in allr if f(r) >= thr_try]
        if acc:
            print("  >= %.3f: %5.2f %% of fields accepted, %.2f %% of them exact" % (
                thr_try, 100 * len(acc) / len(allr), 100 * sum(r["ok"] for r in acc) / len(acc)))
    print("reliability (all sets, product form):")
    print("\n".join(reliability(allr, f)))
    old = lambda r: r["old"] if r["lp"] is not None else 0.0
    print("reliability (all sets, as stored):")
    print("\n".join(reliability(allr, old)))


if __name__ == "__main__":
    main()
