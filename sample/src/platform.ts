import type { INestApplication } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';

/** The HTTP platforms the sample runs on: `SAMPLE_PLATFORM=express` (default) or `fastify`. */
export type SamplePlatform = 'express' | 'fastify';

/**
 * `SAMPLE_PLATFORM`, read when the application is created (before `ConfigService` exists, since the
 * platform decides how the application is built).
 * @throws Error naming the variable and its values, for anything else.
 */
export function readSamplePlatform(value: string | undefined = process.env.SAMPLE_PLATFORM): SamplePlatform {
  if (value === undefined || value === '' || value === 'express') return 'express';
  if (value === 'fastify') return 'fastify';
  throw new Error(`SAMPLE_PLATFORM must be express or fastify, got ${JSON.stringify(value)}.`);
}

/**
 * The HTTP adapter of `platform`: undefined for Express (Nest's default), a `FastifyAdapter` for Fastify
 * (`@nestjs/platform-fastify`, loaded only then).
 */
export async function sampleHttpAdapter(platform: SamplePlatform): Promise<AbstractHttpAdapter | undefined> {
  if (platform === 'express') return undefined;
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  return new FastifyAdapter();
}

/**
 * What every way of starting the sample must do before `listen()`: the chat gateway speaks plain
 * WebSocket (`@nestjs/platform-ws`, what a browser's `WebSocket` talks to), on the HTTP server's port.
 */
export function configureSampleApp(app: INestApplication): INestApplication {
  app.useWebSocketAdapter(new WsAdapter(app));
  return app;
}
