import { InvalidSessionItemsError } from '../../exceptions';
import { DialectSyntax, jsonPathKey } from '../dialect-syntax';
import type { SqlStep } from '../program/statement-program';
import { mysqlPlaceholder, quoteMysql } from './mysql.connection';

/** Bytes of a statement kept free of values: the packet header and anything the driver adds. */
const PACKET_MARGIN = 1024;
/** `('', ''), ` around the two values of one row. */
const ROW_OVERHEAD = 10;

/**
 * UTF-8 bytes of a string once `mysql2` has escaped it into a statement: NUL, backspace, tab, newline,
 * carriage return, Ctrl-Z, both quotes and the backslash take two bytes. Exact only when it matters:
 * a text whose worst case (every unit 3 bytes, escaped) is small is counted at that worst case.
 */
function escapedBytes(text: string): number {
  if (text.length <= 4096) return text.length * 3;
  let extra = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39 || c === 92 || c === 0 || c === 8 || c === 9 || c === 10 || c === 13 || c === 26) extra++;
  }
  return Buffer.byteLength(text, 'utf8') + extra;
}

/**
 * One multi-row INSERT, or several when the batch would exceed the server's `max_allowed_packet`
 * (values are inlined, escaped, into the statement text). Each row must fit in a statement of its own.
 * @throws InvalidSessionItemsError naming `max_allowed_packet` for an item the server cannot take.
 */
function insertMessages(maxPacketBytes: number, messages: string, sessionId: string, data: string[]): SqlStep[] {
  const head = `INSERT INTO ${messages} (session_id, message_data) VALUES `;
  const budget = maxPacketBytes - PACKET_MARGIN - head.length;
  const idBytes = escapedBytes(sessionId) + ROW_OVERHEAD;
  const steps: SqlStep[] = [];
  let params: unknown[] = [];
  let size = 0;
  const flush = () => {
    const rows = params.length / 2;
    steps.push({ sql: head + Array.from({ length: rows }, () => '(?, ?)').join(', '), params, returnsRows: false });
    params = [];
    size = 0;
  };
  for (let i = 0; i < data.length; i++) {
    const rowBytes = idBytes + escapedBytes(data[i]);
    if (rowBytes > budget) {
      throw new InvalidSessionItemsError(
        `items[${i}] takes ${rowBytes} bytes in a MySQL statement, more than this server's max_allowed_packet ` +
          `(${maxPacketBytes} bytes) allows. Raise max_allowed_packet on the server (SET GLOBAL max_allowed_packet, ` +
          'and in its configuration file), or set limits.maxItemBytes below it so that such items are refused up front.',
      );
    }
    if (size + rowBytes > budget && params.length > 0) flush();
    params.push(sessionId, data[i]);
    size += rowBytes;
  }
  if (params.length > 0) flush();
  return steps;
}

/**
 * MySQL / MariaDB's part of the shared SQL, for a server whose `max_allowed_packet` is
 * `maxPacketBytes` (the largest statement it accepts): `?` placeholders, `DATETIME(6)` times, JSON
 * compared through the server's own formatting, owners compared byte for byte.
 * @internal
 */
export function mysqlSyntax(maxPacketBytes: number): DialectSyntax {
  return {
    quote: quoteMysql,
    placeholder: mysqlPlaceholder,
    sessionPlaceholder: mysqlPlaceholder,
    pinSessionId: false,
    // (6): the same precision as the column default.
    now: 'CURRENT_TIMESTAMP(6)',
    lockRowsSuffix: ' FOR UPDATE',
    timeKey: (column) => `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s.%f')`,
    timeKeyParam: (placeholder) => `CAST(${placeholder} AS DATETIME(6))`,
    epochMs: (column) => `UNIX_TIMESTAMP(${column}) * 1000`,
    // Epoch ms as a DATETIME in the session's time zone, as the timestamp columns hold it.
    // `FROM_UNIXTIME` returns NULL after 2038-01-19 on MariaDB before 11.5 (a listing bounded by a later
    // date then matched nothing): add the milliseconds to the epoch instead, then convert from UTC
    // (exact within TIMESTAMP's range; beyond it, where no row can be yet, the UTC value is kept).
    epochMsParam: (placeholder) =>
      `CONVERT_TZ(TIMESTAMPADD(MICROSECOND, ${placeholder} * 1000, '1970-01-01 00:00:00'), '+00:00', @@session.time_zone)`,
    epochMsValue: (ms) => ms,
    // Both sides through the server's own JSON formatting, compared byte for byte: MariaDB compares
    // JSON_EXTRACT results with odd rules (and case-insensitively once compacted).
    metadataEquals: (key, json) => {
      const text = (e: string) => `CAST(${e} AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin`;
      return `${text(`JSON_EXTRACT(md.metadata, ${key})`)} = ${text(`JSON_EXTRACT(${json}, '$')`)}`;
    },
    metadataKeyValue: jsonPathKey,
    // Owners byte for byte: the owners table takes `session_id`'s collation, and on tables Python made
    // that is `utf8mb4_bin`, a PAD SPACE collation under which 'bob' = 'bob '. The plain `=` stays first
    // so that the `(owner, session_id)` index still finds the candidates; the binary comparison decides.
    ownerMatches: (column, bindOwner) =>
      `${column} = ${bindOwner()} AND CAST(${column} AS BINARY) = CAST(${bindOwner()} AS BINARY)`,
    insertMessages: (messages, sessionId, data) => insertMessages(maxPacketBytes, messages, sessionId, data),
    deleteMessageIds: (messages, _sessionId, ids) => ({
      sql: `DELETE FROM ${messages} WHERE id IN (${ids.map(() => '?').join(', ')})`,
      params: ids,
      returnsRows: false,
    }),
  };
}
