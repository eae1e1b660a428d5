#!/usr/bin/env python3
"""bench/read_ceiling.py - the field accuracy a model's own digit reading
allows, before segmentation and scanning lose anything.

    docpipe eval --json [--model M] data/test_labeled.csv > eval.json
    python3 bench/read_ceiling.py eval.json TRUTH.csv [TRUTH2.csv ...]
    docpipe predict [--model M] data/test.csv -o pred.csv
    python3 bench/read_ceiling.py --predictions pred.csv eval.json TRUTH.csv ...

For each field of a `docpipe samples` truth file it multiplies the model's
recall on MNIST test of each digit written (the sample pages draw their
digits from MNIST test), and prints, per type and over all fields, the mean
of those products: the share of fields that would read exactly if every
digit were classified as well as its original MNIST image is.  With
--predictions (the model's labels of the 10,000 MNIST test images in
order, `docpipe predict` output) and a sources.csv beside the truth file
(`docpipe samples` writes it: the MNIST test row of each digit written), it
also prints the exact figure: the share of fields whose every digit's
original image the model reads right.  Empty fields count as read.  Pure
Python.
"""
import csv
import json
import os
import sys


def load_predictions(path):
    """The labels of `docpipe predict` output (ImageId,Label[,...]), by row."""
    pred = {}
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                pred[int(row["ImageId"]) - 1] = int(row["Label"])
            except (KeyError, ValueError):
                raise ValueError("line %d: not ImageId,Label" % line)
    return pred


def load_sources(path):
    """sources.csv: (file, page, field) -> {pos: row}."""
    src = {}
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                key = (row["file"], row["page"], row["field"])
                src.setdefault(key, {})[int(row["pos"])] = int(row["row"])
            except (KeyError, ValueError):
                raise ValueError("line %d: not file,page,field,pos,row" % line)
    return src


def main(argv):
    pred = None
    args = argv[1:]
    if len(args) >= 2 and args[0] == "--predictions":
        try:
            pred = load_predictions(args[1])
        except (OSError, ValueError) as e:
            sys.stderr.write("read_ceiling: %s: %s\n" % (args[1], e))
            return 1
        args = args[2:]
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(args[0]) as f:
            recall = json.load(f)["recall"]
        if len(recall) != 10:
            raise ValueError("recall must have 10 entries")
    except KeyError:
        sys.stderr.write("read_ceiling: %s: no \"recall\" (not docpipe eval --json output)\n" % args[0])
        return 1
    except (OSError, ValueError) as e:
        sys.stderr.write("read_ceiling: %s: %s\n" % (args[0], e))
        return 1
    for path in args[1:]:
        sums, exact, src = {}, {}, None
        spath = os.path.join(os.path.dirname(path), "sources.csv")
        if pred is not None and os.path.exists(spath):
            try:
                src = load_sources(spath)
            except (OSError, ValueError) as e:
                sys.stderr.write("read_ceiling: %s: %s\n" % (spath, e))
                return 1
        try:
            with open(path, newline="") as f:
                for line, row in enumerate(csv.DictReader(f), start=2):
                    digits = row["text"].replace(".", "").replace("-", "")
                    if not digits.isdigit() and digits:
                        raise ValueError("line %d: text %r" % (line, row["text"]))
                    p = 1.0
                    for c in digits:
                        p *= recall[int(c)]
                    n, s = sums.get(row["type"], (0, 0.0))
                    sums[row["type"]] = (n + 1, s + p)
                    if src is not None:
                        rows = src.get((row["file"], row["page"], row["field"]), {})
                        ok = 1
                        for k, c in enumerate(digits):
                            if k not in rows or rows[k] not in pred:
                                raise ValueError("line %d: no source or prediction for digit %d"
                                                 % (line, k))
                            ok &= pred[rows[k]] == int(c)
                        n, s = exact.get(row["type"], (0, 0))
                        exact[row["type"]] = (n + 1, s + ok)
        except KeyError as e:
            sys.stderr.write("read_ceiling: %s: no column %s (not a samples truth.csv)\n" % (path, e))
            return 1
        except (OSError, ValueError) as e:
            sys.stderr.write("read_ceiling: %s: %s\n" % (path, e))
            return 1
        for name, table in (("", sums), (" exact", exact)):
            if not table:
                continue
            n_all = sum(n for n, _ in table.values())
            s_all = sum(s for _, s in table.values())
            parts = ["%s %.2f %% of %d" % (t, 100.0 * s / n, n) for t, (n, s) in sorted(table.items())]
            print("%s%s: %s; all %.2f %% of %d" % (path, name, "; ".join(parts),
                                                  100.0 * s_all / n_all if n_all else 0.0, n_all))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
