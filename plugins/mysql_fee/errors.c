/*
 * errors.c - what a MariaDB error number says about a batch.
 *
 * Owns the table of error classes (retry here, retry on the next host,
 * an operator must act, the data is refused), what open() and write()
 * return for each class, and the reading of a refused INSERT's message
 * down to the record it names. Pure: no connection is touched here, so
 * all of it can be tested without a server. Getting the number and the
 * message from a connection is conn.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_fee.h"

static const struct {
    unsigned int code;
    enum eclass class;
} error_classes[] = {
    /*
     * The server cannot be reached or was lost, is not a ready Galera
     * node (1047), is read-only (a replica, or a primary during a
     * failover) or full: another host of the list may take the batch.
     */
    {CR_CONNECTION_ERROR, EC_NEXT_HOST},
    {CR_CONN_HOST_ERROR, EC_NEXT_HOST},
    {CR_UNKNOWN_HOST, EC_NEXT_HOST},
    {CR_SERVER_GONE_ERROR, EC_NEXT_HOST},
    {CR_SERVER_LOST, EC_NEXT_HOST},
    {ER_UNKNOWN_COM_ERROR, EC_NEXT_HOST},
    {ER_OPTION_PREVENTS_STATEMENT, EC_NEXT_HOST},
    {ER_CON_COUNT_ERROR, EC_NEXT_HOST},
    /* Another transaction was in the way; it will end, here. */
    {ER_LOCK_WAIT_TIMEOUT, EC_TRANSIENT},
    {ER_LOCK_DEADLOCK, EC_TRANSIENT},
    /* Read-only for this transaction or session. */
    {ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, EC_TRANSIENT},
    {ER_READ_ONLY_MODE, EC_TRANSIENT},
    /* The server is full for this user, going away, or killed our query. */
    {ER_TOO_MANY_USER_CONNECTIONS, EC_TRANSIENT},
    {ER_SERVER_SHUTDOWN, EC_TRANSIENT},
    {ER_QUERY_INTERRUPTED, EC_TRANSIENT},
    {ER_CONNECTION_KILLED, EC_TRANSIENT},
    /* Out of memory, disk or table space, or the engine failed. */
    {ER_DISK_FULL, EC_TRANSIENT},
    {ER_OUT_OF_RESOURCES, EC_TRANSIENT},
    {ER_RECORD_FILE_FULL, EC_TRANSIENT},
    {ER_GET_ERRNO, EC_TRANSIENT},
    /* Credentials, grants, schema: the data is fine, the place is not. */
    {ER_DBACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_ACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_TABLEACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_COLUMNACCESS_DENIED_ERROR, EC_OPERATOR},
    {ER_BAD_DB_ERROR, EC_OPERATOR},
    {ER_NO_SUCH_TABLE, EC_OPERATOR},
    {ER_BAD_FIELD_ERROR, EC_OPERATOR},
    /*
     * TLS refused: an unknown CA, a certificate for another name, a
     * server without TLS. Never retried in plain text nor elsewhere.
     */
    {CR_SSL_CONNECTION_ERROR, EC_OPERATOR},
    /* A value the column cannot hold exactly. */
    {ER_WARN_DATA_OUT_OF_RANGE, EC_DATA},
    {ER_DATA_OUT_OF_RANGE, EC_DATA},
    {ER_DATA_TOO_LONG, EC_DATA},
    {ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, EC_DATA},
    {ER_TRUNCATED_WRONG_VALUE, EC_DATA},
    {WARN_DATA_TRUNCATED, EC_DATA},
    {ER_BAD_NULL_ERROR, EC_DATA},
    /* Constraints an operator added to the table. */
    {ER_CONSTRAINT_FAILED, EC_DATA},
    {ER_NO_REFERENCED_ROW_2, EC_DATA},
    {ER_NO_REFERENCED_ROW, EC_DATA},
    /* Cannot happen with ON DUPLICATE KEY, but it would be the data. */
    {ER_DUP_ENTRY, EC_DATA},
};

/*
 * The class of a MariaDB error number. Client errors (CR_*, 2000-2999)
 * not in the table are transient, and so is every unknown error: a retry
 * never loses data, and the core logs it.
 */
enum eclass
errors_class(unsigned int code)
{
    for (size_t i = 0; i < sizeof error_classes / sizeof *error_classes; i++) {
        if (error_classes[i].code == code) {
            return error_classes[i].class;
        }
    }
    return EC_TRANSIENT;
}

/* What write() returns for an error number. */
enum feed_result
errors_write_outcome(unsigned int code)
{
    return errors_class(code) == EC_DATA ? FEED_REJECT : FEED_RETRY;
}

/*
 * What open() returns for an error number. A host name that does not
 * resolve is a mistake in the configuration until shown otherwise: a list
 * moves past it, but alone it is permanent.
 */
enum feed_result
errors_open_outcome(unsigned int code)
{
    switch (errors_class(code)) {
    case EC_TRANSIENT:
    case EC_NEXT_HOST:
        return code == CR_UNKNOWN_HOST ? FEED_FAIL : FEED_RETRY;
    case EC_OPERATOR:
    case EC_DATA:
        break;
    }
    return FEED_FAIL;
}

/*
 * Reports an error of the INSERT of records [start, end). A refused value
 * is named by the server "at row N" of the statement: that record is the
 * one refused, and *bad is set to it.
 */
enum feed_result
errors_insert_refused(const char *table, const struct feed_batch *b,
                      size_t start, size_t end, unsigned int code,
                      const char *msg, size_t *bad, char *err, size_t errlen)
{
    enum feed_result r = errors_write_outcome(code);
    const char *at = strstr(msg, " at row ");
    unsigned long row = at != NULL ? strtoul(at + 8, NULL, 10) : 0;

    if (r == FEED_REJECT && row >= 1 && row <= end - start) {
        *bad = start + row - 1;
        snprintf(err, errlen, "line %u: %s (%u)",
                 (unsigned)b->records[*bad].line, msg, code);
    } else {
        snprintf(err, errlen, "insert into %s: %s (%u)", table, msg, code);
    }
    return r;
}
