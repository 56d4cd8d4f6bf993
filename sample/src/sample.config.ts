import type { ConfigService } from '@nestjs/config';
import { join } from 'path';

/** Where the sample keeps its SQLite file by default (gitignored). */
export const SAMPLE_DATA_DIR = join(__dirname, '..', 'data');

/** `SESSION_MEMORY_URL` when it is not set: an SQLite file under sample/data, created on first start. */
export const DEFAULT_SAMPLE_DATABASE_URL = `sqlite:${join(SAMPLE_DATA_DIR, 'conversations.db')}`;

/** `PORT` when it is not set. */
export const DEFAULT_SAMPLE_PORT = 3000;

/** The sample's settings, read from the environment through `ConfigService`. */
export interface SampleConfig {
  /** `SESSION_MEMORY_URL`: postgres://…, mysql://…, mariadb://…, sqlite:path or sqlite::memory:. */
  databaseUrl: string;
  /** `PORT`: the HTTP port. */
  port: number;
  /** `OPENAI_API_KEY`: when set, the assistant uses a real OpenAI model; otherwise the local model. */
  openAiApiKey: string | undefined;
  /** `OPENAI_MODEL`: which OpenAI model to use when a key is set (default: the Agents SDK's default model). */
  openAiModel: string | undefined;
}

/**
 * Reads the environment when called (at application start), not when the module file is loaded, so a
 * process can start the application twice with different settings.
 */
export function readSampleConfig(config: ConfigService): SampleConfig {
  const rawPort = config.get<string>('PORT');
  const port = rawPort === undefined || rawPort === '' ? DEFAULT_SAMPLE_PORT : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `PORT is ${JSON.stringify(rawPort)}: set it to a port number (0-65535), or leave it unset for ${DEFAULT_SAMPLE_PORT}.`,
    );
  }
  return {
    databaseUrl: config.get<string>('SESSION_MEMORY_URL') || DEFAULT_SAMPLE_DATABASE_URL,
    port,
    openAiApiKey: config.get<string>('OPENAI_API_KEY') || undefined,
    openAiModel: config.get<string>('OPENAI_MODEL') || undefined,
  };
}
