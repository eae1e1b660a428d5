#!/usr/bin/env python3
# bench/ingest_score.py - scores Tesseract's field readings (bench/ingest.sh)
# and docpipe's database by the same truth, as digit strings (Tesseract was
# asked for digits only, so '.' and '-' are dropped on every side):
#   ingest_score.py TRUTH.csv TESS_DIR DB
# TESS_DIR holds fields.csv (n,file,page,field,type) and N.txt per crop.
import csv, os, sqlite3, sys
truth_path, tdir, db = sys.argv[1:4]
base = os.path.realpath(os.path.dirname(truth_path))
def digits(s): return ''.join(c for c in s if c.isdigit())
def rel(p):
    r = os.path.relpath(os.path.realpath(p), base)
    return r
truth = {}
for r in csv.DictReader(open(truth_path)):
    truth[(r['file'], int(r['page']), r['field'])] = (r['type'], digits(r['text']))
tess = {}
for r in csv.DictReader(open(os.path.join(tdir, 'fields.csv'))):
    t = os.path.join(tdir, r['n'] + '.txt')
    txt = open(t).read() if os.path.exists(t) else ''
    tess[(rel(r['file']), int(r['page']), r['field'])] = digits(txt)
dp = {}
for f, p, n, text in sqlite3.connect(db).execute(
        "SELECT d.path, p.page_no, f.name, f.text FROM fields f JOIN pages p ON p.id = f.page_id "
        "JOIN documents d ON d.id = p.document_id"):
    dp[(rel(f), p, n)] = digits(text)
def score(read):
    by = {}
    for k, (typ, want) in truth.items():
        ok = read.get(k) == want
        for key in ('all', typ):
            a = by.setdefault(key, [0, 0]); a[0] += 1; a[1] += ok
    return by
s_t, s_d = score(tess), score(dp)
print("digit-string exact match by field type (same truth, same field areas):")
print("%-10s %7s %12s %12s" % ("type", "fields", "docpipe %", "tesseract %"))
for k in ['all'] + sorted(x for x in s_d if x != 'all'):
    n, okd = s_d[k]; _, okt = s_t.get(k, [n, 0])
    print("%-10s %7d %12.2f %12.2f" % (k, n, 100.0 * okd / n, 100.0 * okt / n))
