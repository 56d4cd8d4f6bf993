import './tracing-env'; // first: decides about tracing before the Agents SDK loads
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureSampleApp, readSamplePlatform, sampleHttpAdapter } from './platform';
import { readSampleConfig } from './sample.config';

/**
 * Starts the sample on PORT (default 3000). Ctrl-C closes the database connections cleanly.
 *
 * `npm run sample` runs this file, for trying the sample locally: it starts in DEMO AUTHENTICATION mode
 * (`SAMPLE_DEMO_AUTH=1`: the caller is whoever the x-caller-id header claims) unless SAMPLE_DEMO_AUTH is
 * set. `SAMPLE_DEMO_AUTH=0 npm run sample` shows what happens without it: every API request is refused
 * with 401 until a real `CallerAuthenticator` is plugged (sample/src/auth). AppModule on its own (tests,
 * an application built from it) starts with demo mode off.
 *
 * `SAMPLE_PLATFORM=fastify npm run sample` serves it with Fastify instead of Express (same API, page and
 * WebSocket chat at /socket.html).
 */
async function bootstrap(): Promise<void> {
  process.env.SAMPLE_DEMO_AUTH ??= '1';
  const platform = readSamplePlatform();
  const adapter = await sampleHttpAdapter(platform);
  const app = configureSampleApp(
    adapter ? await NestFactory.create(AppModule, adapter) : await NestFactory.create(AppModule),
  );
  app.enableShutdownHooks();
  const { port } = readSampleConfig(app.get(ConfigService));
  await app.listen(port);
  new Logger('Sample').log(`Listening on http://localhost:${port} (${platform})`);
}

bootstrap().catch((err) => {
  console.error(err);
  process.exit(1);
});
