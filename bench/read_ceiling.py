#!/usr/bin/env python3
"""bench/read_ceiling.py - the field accuracy a model's own digit reading
allows, before segmentation and scanning lose anything.

    docpipe eval --json [--model M] data/test_labeled.csv > eval.json
    python3 bench/read_ceiling.py eval.json TRUTH.csv [TRUTH2.csv ...]

For each field of a `docpipe samples` truth file it multiplies the model's
recall on MNIST test of each digit written (the sample pages draw their
digits from MNIST test), and prints, per type and over all fields, the mean
of those products: the share of fields that would read exactly if every
digit were classified as well as its original MNIST image is.  Empty
fields count as read.  Pure Python.
"""
import csv
import json
import sys


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(argv[1]) as f:
            recall = json.load(f)["recall"]
        if len(recall) != 10:
            raise ValueError("recall must have 10 entries")
    except KeyError:
        sys.stderr.write("read_ceiling: %s: no \"recall\" (not docpipe eval --json output)\n" % argv[1])
        return 1
    except (OSError, ValueError) as e:
        sys.stderr.write("read_ceiling: %s: %s\n" % (argv[1], e))
        return 1
    for path in argv[2:]:
        sums = {}
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
        except KeyError as e:
            sys.stderr.write("read_ceiling: %s: no column %s (not a samples truth.csv)\n" % (path, e))
            return 1
        except (OSError, ValueError) as e:
            sys.stderr.write("read_ceiling: %s: %s\n" % (path, e))
            return 1
        n_all = sum(n for n, _ in sums.values())
        s_all = sum(s for _, s in sums.values())
        parts = ["%s %.2f %% of %d" % (t, 100 * s / n, n) for t, (n, s) in sorted(sums.items())]
        print("%s: %s; all %.2f %% of %d" % (path, "; ".join(parts),
                                            100 * s_all / n_all if n_all else 0.0, n_all))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
