#!/usr/bin/env python3
"""bench/conf_fit.py - refits the field-confidence constants of
pipeline/pipe_assemble.c on ingested sample sets (never on the set the
README's figures come from).

    python3 bench/conf_fit.py DB1 TRUTH1.csv [DB2 TRUTH2.csv ...]

Each DB is a `docpipe ingest` of a `docpipe samples` folder, TRUTH its
truth.csv.  Per stored field it takes what pipe_assemble_field() computes:
  lp     = sum of log p(label read) over the chosen split's digits
           (log EMPTY_CONF for a field read as empty),
  m      = the smallest log(p(label) / p(runner-up)) over those digits
           (negative where the field's grammar read a digit against the
           classifier), cut to 0..CONF_MARGIN_MAX (CONF_MARGIN_MAX when empty),
  pieces = 1 when the field's note is "pieces merged" (the segmenter's
           largest doubt; a field whose note is a pipeline reason such as
           "decimal point assumed" counts 0 here, though pipe_assemble.c
           sees the segmenter's doubt beneath it: such fields carry the rule
           factors and sit low anyway),
  ls     = log(the chosen split's share of the splits' likelihood, times
           the rule factors), recovered from the stored confidence with the
           constants pipeline/pipe_assemble.c holds now (so the databases
           must come from a binary built from that file),
and the type.  The judge's term (JUDGE_CONF_WEIGHT x the sum of
log(1 - P(touching)) over the glyphs read, README "The judge") is not
stored, so the ls recovered from a database ingested with a judge holds it
too (ls + JUDGE_CONF_WEIGHT x jt / CONF_LS): a refit weighs the judge's
word with the share's weight, and gives CONF_LS for the two together;
fitting it apart needs P(touching) stored per digit.  A field with a digit
the checker reads otherwise
(digits.check_prob under CHECK_DISAGREE) had its confidence multiplied by
CHECK_FACTOR after the logistic form: that is undone before ls is
recovered and done again to every confidence the fit gives.  Fits the
logistic form pipe_assemble.c uses to "the field's
text is exact" by maximum likelihood (Newton's method, a little L2), and
prints each set left out in turn (read rate at <= 1 % field error of the fit
on the others, beside the stored confidences'), the constants fitted on all
sets as C, the share of fields accepted and their accuracy at several
thresholds, and reliability tables.  Pure Python, no numpy.
"""
import math
import os
import re
import sqlite3
import sys

TYPES = ["amount", "postcode", "date", "number"]
NAMES = ["CONF_BIAS", "CONF_LP", "CONF_LS", "amount", "postcode", "date", "CONF_MARGIN",
         "CONF_PIECES"]


def constants(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipeline",
                                "pipe_assemble.c")):
    """The constants the stored confidences were computed with."""
    src = open(path).read()
    k = {}
    for name in ("CONF_BIAS", "CONF_LP", "CONF_LS", "CONF_MARGIN", "CONF_MARGIN_MAX",
                 "CONF_PIECES", "EMPTY_CONF", "CHECK_DISAGREE", "CHECK_FACTOR"):
        k[name] = float(re.search(r"#define %s \(?([-0-9.e]+)" % name, src).group(1))
    k["CONF_TYPE"] = [float(x) for x in re.search(
        r"CONF_TYPE\[SEG_FT_COUNT\] = \{([^}]*)\}", src).group(1).split(",")]
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
    q = """SELECT f.id, d.path, p.page_no, f.name, f.type, f.text, f.confidence, f.note
           FROM fields f JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id"""
    for fid, path, page, name, typ, text, conf, note in h.execute(q):
        rows[fid] = dict(key=(os.path.basename(path), page, name), type=typ, text=text,
                         conf=conf, note=note or "", probs=[])
    for fid, prob, prob2, cp in h.execute(
            "SELECT field_id, prob, prob2, check_prob FROM digits ORDER BY field_id, pos"):
        if fid in rows:
            rows[fid]["probs"].append((prob, prob2 if prob2 is not None else 0.0))
            if cp is not None and cp < K["CHECK_DISAGREE"]:
                rows[fid]["veto"] = 1
    out = []
    seen = set()
    lg = lambda p: math.log(max(p, 1e-12))
    for r in rows.values():
        if r["key"] not in want:
            continue
        seen.add(r["key"])
        ps = r["probs"]
        lp = sum(lg(a) for a, _ in ps) if ps else math.log(K["EMPTY_CONF"])
        m = min([lg(a) - lg(b) for a, b in ps] + [K["CONF_MARGIN_MAX"]])
        m = max(m, 0.0)
        pieces = 1.0 if r["note"] == "pieces merged" else 0.0
        t = TYPES.index(r["type"]) if r["type"] in TYPES else 3
        veto = r.get("veto", 0)
        c = min(max(r["conf"] / (K["CHECK_FACTOR"] if veto else 1.0), 1e-15), 1 - 1e-15)
        z = math.log(c / (1 - c))
        ls = (z - K["CONF_BIAS"] - K["CONF_TYPE"][t] - K["CONF_LP"] * lp - K["CONF_MARGIN"] * m -
              K["CONF_PIECES"] * pieces) / K["CONF_LS"]
        ls = min(max(ls, -28), 0.0)
        out.append(dict(ok=int(r["text"] == want[r["key"]]), lp=lp, ls=ls, m=m, pieces=pieces,
                        type=r["type"], old=r["conf"], veto=veto))
    for k in want:
        if k not in seen:  # its document failed: wrong, confidence 0
            out.append(dict(ok=0, lp=None))
    return out


def feats(r):
    t = [1.0 if r["type"] == x else 0.0 for x in TYPES[:3]]
    return [1.0, r["lp"], r["ls"]] + t + [r["m"], r["pieces"]]


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
    for _ in range(60):
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
    return (K["CHECK_FACTOR"] if r["veto"] else 1.0) / (1 + math.exp(-max(min(z, 40), -40)))


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
    new_rr, old_rr = [], []
    for i, test in enumerate(sets if len(sets) > 1 else []):
        train = [r for j, s in enumerate(sets) if j != i for r in s]
        w = fit(train)
        rr_new, thr = read_rate(test, lambda r: conf_of(w, r))
        rr_old, thr_o = read_rate(test, old)
        new_rr.append(rr_new)
        old_rr.append(rr_old)
        print("%s left out: read rate refit %.2f %% (>= %.4f), stored %.2f %% (>= %.4f); "
              "exact %.2f %% of all" % (args[2 * i], 100 * rr_new, thr, 100 * rr_old, thr_o,
                                        100 * sum(r["ok"] for r in test) / len(test)))
    if new_rr:
        print("mean: refit %.2f %%, stored %.2f %%" % (100 * sum(new_rr) / len(new_rr),
                                                      100 * sum(old_rr) / len(old_rr)))
    allr = [r for s in sets for r in s]
    w = fit(allr)
    print("\nfitted on all %d fields, as pipe_assemble.c takes them:" % len(allr))
    for n, v in zip(NAMES, w):
        if n.startswith("CONF_"):
            print("#define %s %s" % (n, ("%.4f" % v) if v >= 0 else ("(%.4f)" % v)))
    print("static const double CONF_TYPE[SEG_FT_COUNT] = {%.4f, %.4f, %.4f, 0.0};" % tuple(w[3:6]))
    f = lambda r: conf_of(w, r)
    rr, thr = read_rate(allr, f)
    print("read rate on all (in-sample) %.2f %% at confidence >= %.4f" % (100 * rr, thr))
    for thr_try in (0.9, 0.93, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99):
        acc = [r for r in allr if f(r) >= thr_try]
        if acc:
            print("  >= %.3f: %5.2f %% of fields accepted, %.2f %% of them exact" % (
                thr_try, 100 * len(acc) / len(allr), 100 * sum(r["ok"] for r in acc) / len(acc)))
    print("reliability (all sets, refit):")
    print("\n".join(reliability(allr, f)))
    print("reliability (all sets, as stored):")
    print("\n".join(reliability(allr, old)))
    for thr_try in (0.9, 0.93, 0.95, 0.96, 0.97, 0.98):
        acc = [r for r in allr if old(r) >= thr_try]
        if acc:
            print("  stored >= %.3f: %5.2f %% of fields accepted, %.2f %% of them exact" % (
                thr_try, 100 * len(acc) / len(allr), 100 * sum(r["ok"] for r in acc) / len(acc)))


if __name__ == "__main__":
    main()
