import type { ConfigService } from '@nestjs/config';
import { join } from 'path';

/** Where the sample keeps its SQLite file by default (gitignored). */
export const SAMPLE_DATA_DIR = join(__dirname, '..', 'data');

/** `SESSION_MEMORY_URL` when it is not set: an SQLite file under sample/data, created on first start. */
export const DEFAULT_SAMPLE_DATABASE_URL = `sqlite:${join(SAMPLE_DATA_DIR, 'conversations.db')}`;

/** `PORT` when it is not set. */
export const DEFAULT_SAMPLE_PORT = 3000;

/** `SAMPLE_MAX_STREAMS_PER_CALLER` when it is not set: open event streams one caller may hold. */
export const DEFAULT_MAX_STREAMS_PER_CALLER = 8;

/** `SAMPLE_MAX_STREAMS` when it is not set: open event streams of all callers together. */
export const DEFAULT_MAX_STREAMS = 1000;

/** The environment variables the sample reads. */
export const SAMPLE_ENV_KEYS = [
  'SESSION_MEMORY_URL',
  'PORT',
  'OPENAI_API_KEY',
  'OPENAI_MODEL',
  'SAMPLE_DEMO_AUTH',
  'SAMPLE_MAX_STREAMS_PER_CALLER',
  'SAMPLE_MAX_STREAMS',
] as const;

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
  /**
   * `SAMPLE_DEMO_AUTH=1`: demo authentication, the caller is whoever the `x-caller-id` header (or
   * `?caller=`) claims, for trying the sample locally. Off by default: without an authenticator of
   * your own every API request is refused with 401 (see sample/src/auth).
   */
  demoAuth: boolean;
  /** `SAMPLE_MAX_STREAMS_PER_CALLER`: open event streams (change streams and streamed replies) per caller. */
  maxStreamsPerCaller: number;
  /** `SAMPLE_MAX_STREAMS`: open event streams of all callers together. */
  maxStreams: number;
}

/**
 * Reads the environment when called (at application start), not when the module file is loaded, so a
 * process can start the application twice with different settings.
 * @throws Error naming the variable and what to set it to, when a value cannot be read.
 */
export function readSampleConfig(config: ConfigService): SampleConfig {
  const env: Partial<Record<(typeof SAMPLE_ENV_KEYS)[number], string>> = {};
  for (const key of SAMPLE_ENV_KEYS) env[key] = config.get<string>(key);
  return sampleConfigFrom(env);
}

/**
 * The settings from environment variables (unset and empty values take the defaults).
 * @throws Error naming the variable and what to set it to, when a value cannot be read.
 */
export function sampleConfigFrom(env: Readonly<Record<string, string | undefined>>): SampleConfig {
  return {
    databaseUrl: env.SESSION_MEMORY_URL || DEFAULT_SAMPLE_DATABASE_URL,
    port: wholeNumber(env, 'PORT', DEFAULT_SAMPLE_PORT, 0, 65535, 'a port number (0-65535)'),
    openAiApiKey: env.OPENAI_API_KEY || undefined,
    openAiModel: env.OPENAI_MODEL || undefined,
    demoAuth: demoAuthFrom(env.SAMPLE_DEMO_AUTH),
    maxStreamsPerCaller: wholeNumber(
      env,
      'SAMPLE_MAX_STREAMS_PER_CALLER',
      DEFAULT_MAX_STREAMS_PER_CALLER,
      1,
      Number.MAX_SAFE_INTEGER,
      'a whole number >= 1',
    ),
    maxStreams: wholeNumber(
      env,
      'SAMPLE_MAX_STREAMS',
      DEFAULT_MAX_STREAMS,
      1,
      Number.MAX_SAFE_INTEGER,
      'a whole number >= 1',
    ),
  };
}

function demoAuthFrom(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new Error(
    `SAMPLE_DEMO_AUTH is ${JSON.stringify(raw)}: set it to 1 to let the x-caller-id header name the caller ` +
      '(a demo: anyone can claim any identity), or to 0 / leave it unset to refuse requests without real authentication.',
  );
}

function wholeNumber(
  env: Readonly<Record<string, string | undefined>>,
  key: string,
  fallback: number,
  min: number,
  max: number,
  what: string,
): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${key} is ${JSON.stringify(raw)}: set it to ${what}, or leave it unset for ${fallback}.`);
  }
  return value;
}
