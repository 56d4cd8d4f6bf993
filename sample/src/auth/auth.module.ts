import { Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { readSampleConfig } from '../sample.config';
import { CallerAuthentication } from './caller-authentication.service';
import { CallerAuthenticator } from './caller-authenticator';
import { DemoHeaderAuthenticator } from './demo-header.authenticator';
import { NoAuthenticator } from './no.authenticator';

/**
 * Who is calling. Provides the `CallerAuthenticator` (the demo header when `SAMPLE_DEMO_AUTH=1`,
 * otherwise one that refuses everyone) and `CallerAuthentication`, which `CallerGuard` and the module's
 * `owner` option share. To plug real authentication, provide your own class under `CallerAuthenticator`
 * here (`{ provide: CallerAuthenticator, useClass: JwtAuthenticator }`).
 */
@Module({
  providers: [
    {
      provide: CallerAuthenticator,
      inject: [ConfigService],
      useFactory: (config: ConfigService): CallerAuthenticator => {
        const logger = new Logger('Auth');
        if (readSampleConfig(config).demoAuth) {
          logger.warn(
            'DEMO AUTHENTICATION (SAMPLE_DEMO_AUTH=1): the caller is whoever the x-caller-id header claims. ' +
              'Anyone can claim any identity: for trying the sample locally only.',
          );
          return new DemoHeaderAuthenticator();
        }
        logger.warn(
          'No authentication configured: every API request is refused with 401. Provide a CallerAuthenticator ' +
            '(sample/src/auth), or set SAMPLE_DEMO_AUTH=1 to try the sample locally.',
        );
        return new NoAuthenticator();
      },
    },
    CallerAuthentication,
  ],
  exports: [CallerAuthenticator, CallerAuthentication],
})
export class AuthModule {}
