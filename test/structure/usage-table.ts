import { probeMysqlIdCollation } from '../../lib/storage/mysql/mysql-collation';
import {
  UsageDdl,
  citusUsageDdl,
  mysqlUsageDdl,
  postgresUsageDdl,
  sqliteUsageDdl,
} from '../../lib/storage/usage/usage.ddl';
import type { TestDialect } from '../support/databases';
import type { TestMemory } from '../support/memory';

/** The usage table's DDL for a test module's tables (until createTables makes it). */
async function ddlFor(m: TestMemory, dialect: TestDialect): Promise<UsageDdl> {
  const tables = { sessions: m.tables.sessions, messages: m.tables.messages };
  switch (dialect) {
    case 'sqlite':
      return sqliteUsageDdl(tables);
    case 'postgres':
      return postgresUsageDdl(tables);
    case 'citus':
      return citusUsageDdl(tables);
    case 'mariadb':
      return mysqlUsageDdl(tables, await probeMysqlIdCollation((sql, values) => m.sql(sql, values), tables.sessions));
  }
}

/** Creates the usage table beside a test module's tables (distributed on Citus). */
export async function createUsageTable(m: TestMemory, dialect: TestDialect): Promise<void> {
  const ddl = await ddlFor(m, dialect);
  for (const statement of [...ddl.create, ...(ddl.distribute ?? [])]) await m.sql(statement);
}

/** Drops it again (before the module's own tables, which it references). */
export async function dropUsageTable(m: TestMemory, dialect: TestDialect): Promise<void> {
  for (const statement of (await ddlFor(m, dialect)).drop) await m.sql(statement);
}
