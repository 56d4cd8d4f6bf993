import './tracing-env'; // first: decides about tracing before the Agents SDK loads
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { readSampleConfig } from './sample.config';

/** Starts the sample on PORT (default 3000). Ctrl-C closes the database connections cleanly. */
async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  const { port } = readSampleConfig(app.get(ConfigService));
  await app.listen(port);
  new Logger('Sample').log(`Listening on http://localhost:${port}`);
}

bootstrap().catch((err) => {
  console.error(err);
  process.exit(1);
});
