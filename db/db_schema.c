/*
 * db_schema.c - db/schema.sql inside the binary.  The build turns the file
 * into the byte list schema.inc (a Makefile rule with od and sed), so the
 * SQL file stays the one source of truth.
 */
#include "db/db_int.h"

const unsigned char db_schema_sql[] = {
#include "schema.inc"
    0};

const size_t db_schema_sql_len = sizeof db_schema_sql - 1;
