#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import. */
static inline sqlite3_destructor_type CSQLite_transient(void) { return SQLITE_TRANSIENT; }
static inline sqlite3_destructor_type CSQLite_static(void) { return SQLITE_STATIC; }

/* sqlite3_db_config is variadic. */
static inline int CSQLite_db_config_int(sqlite3 *db, int op, int value, int *out) {
    return sqlite3_db_config(db, op, value, out);
}
/* sqlite3_config is variadic. Memory statistics off: with them every allocation and free takes a global mutex
 * (about 45 per stored lead); leadd never reads them. Only takes effect before the library is initialised. */
static inline int CSQLite_disable_memory_statistics(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
#endif
