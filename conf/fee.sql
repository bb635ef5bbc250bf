-- fee.sql - the table mysql_fee writes trades to.
--
-- One row per trade, keyed by its ticket: a replayed trade finds its row
-- and writes nothing. status is 'N' when the row is inserted and 'Y' once
-- the trade is marked (the original daemon's two steps; with mark = insert
-- rows are inserted 'Y' directly). volume holds 16 digits before the point
-- and 4 after, exactly. The table may be renamed ([sink] table); the
-- column names are fixed.
CREATE TABLE IF NOT EXISTS fee (
    ticket BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    login BIGINT UNSIGNED NOT NULL,
    volume DECIMAL(20,4) NOT NULL,
    status CHAR(1) NOT NULL DEFAULT 'N'
) ENGINE = InnoDB;
