import { SessionMemoryConfigurationError } from '../exceptions';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/**
 * Checks a table or schema name from the options. Only plain identifiers are accepted, so a name is
 * never able to change the meaning of the SQL it is placed in (it is also quoted there).
 */
export function assertIdentifier(name: unknown, option: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new SessionMemoryConfigurationError(
      `Option ${option} is ${JSON.stringify(name)}: it must be a plain SQL identifier (a letter or _, then letters, digits or _, at most 48 characters). Choose a name like "agent_messages".`,
    );
  }
  return name;
}
