/* A SQLite workload for ward's benchmarks (written for ward): an in-memory database with two
 * tables, filled through prepared statements in a transaction, then indexed, queried (grouping,
 * a join, LIKE, point lookups), updated and deleted from. Each step prints a checksum, so the
 * harness can require every engine to print the same lines.
 *
 *   sqlite.wasm [SCALE]     # SCALE multiplies the row counts (default 1)
 *
 * SQLite is built with SQLITE_OS_OTHER: the small VFS below has no files (the database is
 * ":memory:" and temporary storage is in memory), a fixed clock and deterministic randomness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

/* ----- VFS ------------------------------------------------------------------------------------- */

static unsigned rand_state = 12345;

static unsigned next_rand(void) {
    rand_state = rand_state * 1664525u + 1013904223u;
    return rand_state >> 8;
}

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out) {
    (void)vfs, (void)name, (void)flags, (void)out;
    file->pMethods = 0;
    return SQLITE_CANTOPEN;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync) {
    (void)vfs, (void)name, (void)sync;
    return SQLITE_IOERR_DELETE;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs, (void)name, (void)flags;
    *out = 0;
    return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    snprintf(out, (size_t)n, "%s", name);
    return SQLITE_OK;
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    for (int i = 0; i < n; i++) out[i] = (char)next_rand();
    return n;
}

static int vfs_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return microseconds;
}

/* A fixed time (Julian day 2461000.5), so that nothing depends on the clock. */
static int vfs_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    *out = 2461000.5;
    return SQLITE_OK;
}

static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    *out = (sqlite3_int64)2461000 * 86400000 + 43200000;
    return SQLITE_OK;
}

static int vfs_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    if (n > 0) out[0] = 0;
    return 0;
}

static sqlite3_vfs memory_vfs = {
    2, sizeof(sqlite3_file), 512, 0, "bench-memory", 0,
    vfs_open, vfs_delete, vfs_access, vfs_full_pathname,
    0, 0, 0, 0,
    vfs_randomness, vfs_sleep, vfs_current_time, vfs_get_last_error, vfs_current_time_int64,
    0, 0, 0,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&memory_vfs, 1); }

int sqlite3_os_end(void) { return SQLITE_OK; }

/* ----- workload -------------------------------------------------------------------------------- */

static sqlite3 *db;

static void fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(const char *sql) {
    char *err = 0;
    if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) != SQLITE_OK) fail(sql);
    return stmt;
}

/* FNV-1a over the text of every column of every row of `sql`; also counts the rows. */
static unsigned long long hash_query(const char *sql, int *rows) {
    unsigned long long h = 1469598103934665603ull;
    sqlite3_stmt *stmt = prepare(sql);
    int rc, n = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        n++;
        for (int c = 0; c < sqlite3_column_count(stmt); c++) {
            const unsigned char *text = sqlite3_column_text(stmt, c);
            for (const unsigned char *p = text ? text : (const unsigned char *)"NULL"; *p; p++) {
                h = (h ^ *p) * 1099511628211ull;
            }
            h = (h ^ '|') * 1099511628211ull;
        }
    }
    if (rc != SQLITE_DONE) fail(sql);
    sqlite3_finalize(stmt);
    if (rows) *rows = n;
    return h;
}

static void report(const char *step, const char *sql) {
    int rows;
    unsigned long long h = hash_query(sql, &rows);
    printf("%s rows=%d hash=%016llx\n", step, rows, h);
}

static const char *cities[] = { "Oslo", "Lima", "Pune", "Kyiv", "Nice", "Graz", "Doha", "Bern" };
static const char *syllables[] = { "ka", "ro", "mi", "te", "su", "na", "lo", "vi", "ab", "ze" };

static void word(char *out, int syllable_count) {
    out[0] = 0;
    for (int i = 0; i < syllable_count; i++) strcat(out, syllables[next_rand() % 10]);
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1) scale = 1;
    int customers = 2000 * scale, orders = 20000 * scale, lookups = 20000 * scale;
    char buf[64];

    if (sqlite3_open(":memory:", &db) != SQLITE_OK) fail("open");
    exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL)");
    exec("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount INTEGER, item TEXT)");

    exec("BEGIN");
    sqlite3_stmt *ins = prepare("INSERT INTO customers(name, city, score) VALUES (?, ?, ?)");
    for (int i = 0; i < customers; i++) {
        word(buf, 2 + (int)(next_rand() % 3));
        sqlite3_bind_text(ins, 1, buf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, cities[next_rand() % 8], -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 3, (double)(next_rand() % 10000) / 100.0);
        if (sqlite3_step(ins) != SQLITE_DONE) fail("insert customer");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    ins = prepare("INSERT INTO orders(customer, amount, item) VALUES (?, ?, ?)");
    for (int i = 0; i < orders; i++) {
        word(buf, 3 + (int)(next_rand() % 3));
        sqlite3_bind_int(ins, 1, 1 + (int)(next_rand() % (unsigned)customers));
        sqlite3_bind_int(ins, 2, (int)(next_rand() % 1000));
        sqlite3_bind_text(ins, 3, buf, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) fail("insert order");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec("COMMIT");
    exec("CREATE INDEX orders_customer ON orders(customer)");
    exec("CREATE INDEX customers_city ON customers(city, score)");

    report("group-by-city",
           "SELECT city, count(*), round(sum(score), 2) FROM customers GROUP BY city ORDER BY city");
    report("top-customers",
           "SELECT c.name, c.city, sum(o.amount) AS total, count(*) FROM customers c "
           "JOIN orders o ON o.customer = c.id GROUP BY c.id ORDER BY total DESC, c.id LIMIT 20");
    report("like", "SELECT count(*), sum(amount) FROM orders WHERE item LIKE '%abze%' OR item LIKE 'ka%'");
    report("sorted-items",
           "SELECT item, amount FROM orders WHERE amount BETWEEN 100 AND 120 ORDER BY item, id");
    report("city-range",
           "SELECT city, name, score FROM customers WHERE city = 'Pune' AND score > 50 ORDER BY score DESC, id");

    sqlite3_stmt *lookup = prepare("SELECT amount FROM orders WHERE id = ?");
    long long lookup_sum = 0;
    for (int i = 0; i < lookups; i++) {
        sqlite3_bind_int(lookup, 1, 1 + (int)(next_rand() % (unsigned)orders));
        if (sqlite3_step(lookup) == SQLITE_ROW) lookup_sum += sqlite3_column_int(lookup, 0);
        sqlite3_reset(lookup);
    }
    sqlite3_finalize(lookup);
    printf("lookups n=%d sum=%lld\n", lookups, lookup_sum);

    exec("BEGIN");
    exec("UPDATE orders SET amount = amount + 1 WHERE amount % 7 = 0");
    exec("DELETE FROM orders WHERE amount < 50");
    exec("UPDATE customers SET score = score * 1.5 WHERE id IN "
         "(SELECT customer FROM orders GROUP BY customer HAVING count(*) > 12)");
    exec("COMMIT");
    report("after-update",
           "SELECT count(*), sum(amount), (SELECT round(sum(score), 2) FROM customers) FROM orders");
    report("per-city-orders",
           "SELECT c.city, count(*), sum(o.amount) FROM orders o JOIN customers c ON c.id = o.customer "
           "GROUP BY c.city ORDER BY c.city");

    sqlite3_close(db);
    return 0;
}
