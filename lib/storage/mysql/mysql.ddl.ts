import { branchTablesDdl } from '../branches/branch.ddl';
import { SchemaDdl, withUsageTable } from '../portable.ddl';
import { mysqlUsageDdl } from '../usage/usage.ddl';
import type { ResolvedTables } from '../session-store';
import { tableNames } from '../table-names';
import { quoteMysql } from './mysql.connection';

/**
 * MySQL / MariaDB DDL for one pair of tables. `session_id` is `VARCHAR(255)` (a key needs a length;
 * 255 utf8mb4 characters = 1020 bytes fits InnoDB's 3072-byte key limit) in utf8mb4 with the binary
 * collation `idCollation` (see `probeMysqlIdCollation`); operation ids are exact the same way.
 * Used by `createTables` and by the migrations.
 * @internal
 */
export function mysqlSchemaDdl(tables: ResolvedTables, idCollation: string): SchemaDdl {
  return withUsageTable(mysqlCoreSchemaDdl(tables, idCollation), mysqlUsageDdl(tables, idCollation));
}

/** The MySQL DDL but the usage table. */
function mysqlCoreSchemaDdl(tables: ResolvedTables, idCollation: string): SchemaDdl {
  const names = tableNames(tables, quoteMysql);
  const { sessions, messages, metadata, operations, owners, index } = names;
  const exactText = `VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${idCollation} NOT NULL`;
  const json = 'LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
  const timestamp = 'DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)';
  const innodb = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4';
  const cascade = (name: string) =>
    `CONSTRAINT ${quoteMysql(name)} FOREIGN KEY (session_id) REFERENCES ${sessions} (session_id) ON DELETE CASCADE`;
  const branchTables = branchTablesDdl(names, quoteMysql, tables.messages, {
    sessionId: exactText,
    shortText: `VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL`,
    name: 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
    idColumn: 'id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY',
    json,
    timestamp,
    tableSuffix: ` ${innodb}`,
    separateIndex: false,
    cascade,
  });
  return {
    createCoreTables: [
      `CREATE TABLE IF NOT EXISTS ${sessions} (` +
        `session_id ${exactText}, created_at ${timestamp}, updated_at ${timestamp}, PRIMARY KEY (session_id)) ${innodb}`,
      `CREATE TABLE IF NOT EXISTS ${messages} (` +
        `id BIGINT NOT NULL AUTO_INCREMENT, session_id ${exactText}, message_data ${json}, created_at ${timestamp}, ` +
        `PRIMARY KEY (id), KEY ${quoteMysql(index.sessionTime)} (session_id, created_at), KEY ${quoteMysql(index.sessionId)} (session_id, id), ` +
        `${cascade(`fk_${tables.messages}_session`)}) ${innodb}`,
    ],
    dropCoreTables: [`DROP TABLE IF EXISTS ${messages}`, `DROP TABLE IF EXISTS ${sessions}`],
    // In place and without blocking writes, or not at all: the server refuses instead of copying the table.
    addIdIndex: [
      `ALTER TABLE ${messages} ADD INDEX ${quoteMysql(index.sessionId)} (session_id, id), ALGORITHM=INPLACE, LOCK=NONE`,
    ],
    dropIdIndex: [`ALTER TABLE ${messages} DROP INDEX ${quoteMysql(index.sessionId)}`],
    createOptionalTables: [
      `CREATE TABLE IF NOT EXISTS ${metadata} (` +
        `session_id ${exactText}, metadata ${json}, updated_at ${timestamp}, PRIMARY KEY (session_id), ` +
        `${cascade(`fk_${tables.sessions}_metadata`)}) ${innodb}`,
      `CREATE TABLE IF NOT EXISTS ${operations} (` +
        `session_id ${exactText}, operation_id ${exactText}, transaction_hash CHAR(64) CHARACTER SET ascii NOT NULL, ` +
        `created_at ${timestamp}, PRIMARY KEY (session_id, operation_id), ` +
        `${cascade(`fk_${tables.messages}_operations`)}) ${innodb}`,
      `CREATE TABLE IF NOT EXISTS ${owners} (` +
        `session_id ${exactText}, owner ${exactText}, created_at ${timestamp}, PRIMARY KEY (session_id), ` +
        `KEY ${quoteMysql(index.owner)} (owner, session_id), ${cascade(`fk_${tables.sessions}_owners`)}) ${innodb}`,
      ...branchTables.create,
    ],
    dropOptionalTables: [
      ...branchTables.drop,
      `DROP TABLE IF EXISTS ${owners}`,
      `DROP TABLE IF EXISTS ${operations}`,
      `DROP TABLE IF EXISTS ${metadata}`,
    ],
    // MySQL has no CREATE INDEX IF NOT EXISTS: callers look first.
    createUpdatedIndex: `CREATE INDEX ${quoteMysql(index.updated)} ON ${sessions} (updated_at, session_id)`,
    updatedIndexIfNotExists: false,
  };
}
