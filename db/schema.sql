-- db/schema.sql - the docpipe database, schema version 4: the whole layout
-- of a new database.  docs/database.md describes every table, column and
-- view.  This file is the source of truth: the build embeds it in the
-- binary (db/db_schema.c), and `sqlite3 new.db < db/schema.sql` makes the
-- same database by hand.  Changing it means a new schema version: raise
-- user_version below and DB_SCHEMA_VERSION in db/db.h, and add the step
-- that brings a database of the previous version here (db/db_open.c).
--
-- Times are UTC text, ISO 8601 with milliseconds ("2024-05-01T12:34:56.789Z").
-- Ids of runs, documents, pages and fields are never reused (AUTOINCREMENT):
-- a replaced document comes back under a new id.

PRAGMA application_id = 1146112336;  -- 0x44504950, "DPIP": a docpipe database

-- A network used by a run (its model, its checker, its judge or one of its pair
-- readers), known by the SHA-256 of its file.
CREATE TABLE models (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE
                  CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    arch          TEXT NOT NULL,
    test_accuracy REAL CHECK (test_accuracy IS NULL OR test_accuracy BETWEEN 0 AND 1),
    temperature   REAL CHECK (temperature IS NULL OR temperature > 0),
    path          TEXT,
    added_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- One `docpipe ingest` invocation: its classifier (model_id), the second,
-- independent checker network (checker_id, NULL when the run had none), the
-- judge of touching digits and pieces (judge_id, NULL when none) and the pair
-- readers, the two networks that read the left and the right digit of a glyph
-- holding two touching digits (pair_left_id and pair_right_id, NULL when the
-- run had none).
-- ended_at stays NULL while it runs, and for ever when it was killed.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    args        TEXT NOT NULL,
    model_id    INTEGER REFERENCES models(id) ON DELETE SET NULL,
    checker_id  INTEGER REFERENCES models(id) ON DELETE SET NULL,
    judge_id    INTEGER REFERENCES models(id) ON DELETE SET NULL,
    pair_left_id  INTEGER REFERENCES models(id) ON DELETE SET NULL,
    pair_right_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at    TEXT,
    seconds     REAL,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    documents   INTEGER NOT NULL DEFAULT 0 CHECK (documents >= 0),
    replaced    INTEGER NOT NULL DEFAULT 0 CHECK (replaced >= 0),
    skipped     INTEGER NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    failed      INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    pages       INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),
    fields      INTEGER NOT NULL DEFAULT 0 CHECK (fields >= 0),
    review      INTEGER NOT NULL DEFAULT 0 CHECK (review >= 0)
);

-- A file given to ingest: in whole ('ok' or 'review'), or 'failed' with the
-- reason in error and no pages.
CREATE TABLE documents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    path        TEXT NOT NULL CHECK (path <> ''),
    sha256      TEXT CHECK (sha256 IS NULL OR
                            (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*')),
    bytes       INTEGER CHECK (bytes IS NULL OR bytes >= 0),
    page_count  INTEGER NOT NULL DEFAULT 0 CHECK (page_count >= 0),
    status      TEXT NOT NULL CHECK (status IN ('ok', 'review', 'failed')),
    error       TEXT,
    ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    seconds     REAL CHECK (seconds IS NULL OR seconds >= 0),
    CHECK ((status = 'failed') = (error IS NOT NULL)),
    CHECK (status = 'failed' OR sha256 IS NOT NULL)
);
CREATE INDEX documents_sha256 ON documents(sha256);
CREATE INDEX documents_path ON documents(path);
-- The database itself refuses a second copy of a document.
CREATE UNIQUE INDEX documents_sha256_once ON documents(sha256) WHERE status <> 'failed';

-- A page of a document, numbered from 1.  A page that could not be read
-- has its reason in error and no fields.
CREATE TABLE pages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page_no     INTEGER NOT NULL CHECK (page_no >= 1),
    width       INTEGER NOT NULL CHECK (width >= 0),
    height      INTEGER NOT NULL CHECK (height >= 0),
    dpi         INTEGER CHECK (dpi IS NULL OR dpi > 0),
    skew_deg    REAL,
    form        TEXT,
    error       TEXT,
    UNIQUE (document_id, page_no)
);

-- A field read on a page.  value: an amount in cents (integer), a postcode
-- and every other type as text; NULL when nothing could be read.
CREATE TABLE fields (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id     INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    form        TEXT NOT NULL,
    name        TEXT NOT NULL CHECK (name <> ''),
    type        TEXT NOT NULL CHECK (type <> ''),
    x           INTEGER NOT NULL,
    y           INTEGER NOT NULL,
    w           INTEGER NOT NULL CHECK (w >= 0),
    h           INTEGER NOT NULL CHECK (h >= 0),
    text        TEXT NOT NULL,
    value,
    confidence  REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    status      TEXT NOT NULL CHECK (status IN ('ok', 'review')),
    doubt       REAL NOT NULL DEFAULT 0 CHECK (doubt BETWEEN 0 AND 1),
    note        TEXT,
    CHECK (type <> 'amount' OR value IS NULL OR typeof(value) = 'integer'),
    CHECK (type = 'amount' OR value IS NULL OR typeof(value) = 'text')
);
CREATE INDEX pages_document ON pages(document_id);
CREATE INDEX fields_page ON fields(page_id);
CREATE INDEX fields_type ON fields(type);

-- A digit of a field, left to right from pos 0: the classifier's best and
-- second-best label with their (calibrated) probabilities, the checker's
-- probability of the label (check_prob, NULL when the run had no checker),
-- its box on the page, and its 28 x 28 MNIST-normalized crop (784 bytes,
-- row by row, 0 background .. 255 ink).
CREATE TABLE digits (
    id          INTEGER PRIMARY KEY,
    field_id    INTEGER NOT NULL REFERENCES fields(id) ON DELETE CASCADE,
    pos         INTEGER NOT NULL CHECK (pos >= 0),
    label       INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    prob        REAL NOT NULL CHECK (prob BETWEEN 0 AND 1),
    label2      INTEGER CHECK (label2 IS NULL OR label2 BETWEEN 0 AND 9),
    prob2       REAL CHECK (prob2 IS NULL OR prob2 BETWEEN 0 AND 1),
    check_prob  REAL CHECK (check_prob IS NULL OR check_prob BETWEEN 0 AND 1),
    x           INTEGER NOT NULL,
    y           INTEGER NOT NULL,
    w           INTEGER NOT NULL CHECK (w >= 0),
    h           INTEGER NOT NULL CHECK (h >= 0),
    crop        BLOB CHECK (crop IS NULL OR length(crop) = 784),
    UNIQUE (field_id, pos)
);
CREATE INDEX digits_field ON digits(field_id);

-- What a user queries: every amount field, in currency units and in cents.
CREATE VIEW amounts AS
SELECT d.path                           AS file,
       p.page_no                        AS page,
       f.name                           AS field,
       CAST(f.value AS REAL) / 100      AS amount,
       f.value                          AS cents,
       f.confidence                     AS confidence,
       f.status                         AS status,
       f.form                           AS form,
       f.text                           AS text,
       f.id                             AS field_id,
       d.id                             AS document_id
FROM fields f
JOIN pages p ON p.id = f.page_id
JOIN documents d ON d.id = p.document_id
WHERE f.type = 'amount';

-- Every postcode field, the code as text ("12345" or "12345-6789").
CREATE VIEW postcodes AS
SELECT d.path                           AS file,
       p.page_no                        AS page,
       f.name                           AS field,
       f.value                          AS postcode,
       f.confidence                     AS confidence,
       f.status                         AS status,
       f.form                           AS form,
       f.text                           AS text,
       f.id                             AS field_id,
       d.id                             AS document_id
FROM fields f
JOIN pages p ON p.id = f.page_id
JOIN documents d ON d.id = p.document_id
WHERE f.type = 'postcode';

PRAGMA user_version = 4;
