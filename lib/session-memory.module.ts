import { DynamicModule, Module, Provider, Scope } from '@nestjs/common';
import { APP_FILTER, ModuleRef, REQUEST } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { resolveConversationSession } from './conversation-id.resolver';
import { SessionMemoryConfigurationError } from './exceptions';
import { ConversationAccessDeniedFilter } from './exceptions/conversation-access-denied.filter';
import type {
  SessionMemoryModuleAsyncOptions,
  SessionMemoryModuleExtras,
  SessionMemoryModuleOptions,
  SessionMemoryOptionsFactory,
} from './interfaces';
import {
  DEFAULT_SESSION_MEMORY_NAME,
  getConversationSessionToken,
  getSessionMemoryOptionsToken,
  getSessionMemoryToken,
} from './session-memory.constants';
import { createSessionMemoryService } from './session-memory.factory';
import type { SessionMemoryService } from './session-memory.service';
import { typeOrmDataSourceToken } from './storage/reused-data-source';

/**
 * Durable conversation memory for OpenAI Agents SDK runs, in PostgreSQL, MySQL/MariaDB or SQLite.
 *
 * ```ts
 * @Module({ imports: [SessionMemoryModule.forRoot({ url: process.env.SESSION_MEMORY_URL })] })
 * export class AppModule {}
 * ```
 * Provides `SessionMemoryService` (a singleton), the request-scoped `ConversationSession`
 * (`@InjectConversationSession()`), what `@Conversation()` needs, and a global exception filter that
 * answers `ConversationAccessDeniedError` with 403 (that error only).
 */
@Module({})
export class SessionMemoryModule {
  /** Configures the module with static options. */
  static forRoot(options: SessionMemoryModuleOptions & SessionMemoryModuleExtras = {}): DynamicModule {
    const { isGlobal, name, ...moduleOptions } = options;
    // A DataSource named here is injected, so that Nest builds (and connects) it before this module starts.
    const reusedName = typeof moduleOptions.dataSource === 'string' ? moduleOptions.dataSource : undefined;
    return this.build(
      name,
      isGlobal,
      [],
      [{ provide: getSessionMemoryOptionsToken(name), useValue: moduleOptions }],
      reusedName,
    );
  }

  /**
   * Configures the module with options built at startup (from `ConfigService`, say), through
   * `useFactory` + `inject`, `useClass`, or `useExisting`.
   */
  static forRootAsync(options: SessionMemoryModuleAsyncOptions): DynamicModule {
    const token = getSessionMemoryOptionsToken(options.name);
    const providers: Provider[] = [...(options.extraProviders ?? [])];
    if (options.useFactory) {
      providers.push({ provide: token, useFactory: options.useFactory, inject: options.inject ?? [] });
    } else if (options.useClass || options.useExisting) {
      const factoryClass = (options.useClass ?? options.useExisting)!;
      if (options.useClass) providers.push({ provide: factoryClass, useClass: factoryClass });
      providers.push({
        provide: token,
        useFactory: (factory: SessionMemoryOptionsFactory) => factory.createSessionMemoryOptions(),
        inject: [factoryClass],
      });
    } else {
      throw new SessionMemoryConfigurationError(
        'SessionMemoryModule.forRootAsync needs one of useFactory, useClass or useExisting.',
      );
    }
    return this.build(options.name, options.isGlobal, options.imports ?? [], providers, options.dataSource);
  }

  private static build(
    name: string | undefined,
    isGlobal: boolean | undefined,
    imports: any[],
    optionProviders: Provider[],
    reusedDataSourceName?: string,
  ): DynamicModule {
    const instance = name ?? DEFAULT_SESSION_MEMORY_NAME;
    const optionsToken = getSessionMemoryOptionsToken(name);
    const serviceToken = getSessionMemoryToken(name);
    const serviceProvider: Provider = {
      provide: serviceToken,
      useFactory: (options: SessionMemoryModuleOptions, moduleRef: ModuleRef, reused?: DataSource) => {
        // The DataSource named beside the options is the one to reuse, unless the options name another.
        const resolved =
          options.dataSource === undefined && reusedDataSourceName !== undefined
            ? { ...options, dataSource: reusedDataSourceName }
            : options;
        return createSessionMemoryService(
          resolved,
          moduleRef,
          instance,
          resolved.dataSource === reusedDataSourceName ? reused : undefined,
        );
      },
      inject: [
        optionsToken,
        ModuleRef,
        // optional: when it is not registered, the factory fails with a message naming the fix
        ...(reusedDataSourceName !== undefined
          ? [{ token: typeOrmDataSourceToken(reusedDataSourceName) as string, optional: true }]
          : []),
      ],
    };
    const requestSessionProvider: Provider = {
      provide: getConversationSessionToken(name),
      scope: Scope.REQUEST,
      useFactory: (request: unknown, service: SessionMemoryService, options: SessionMemoryModuleOptions) =>
        resolveConversationSession(request, service, options),
      inject: [REQUEST, serviceToken, optionsToken],
    };
    return {
      module: SessionMemoryModule,
      global: isGlobal ?? false,
      imports,
      // ConversationAccessDeniedError answers 403 wherever a handler or guard throws it, as when it was a
      // ForbiddenException (the filter catches that error only).
      providers: [
        ...optionProviders,
        serviceProvider,
        requestSessionProvider,
        { provide: APP_FILTER, useClass: ConversationAccessDeniedFilter },
      ],
      exports: [optionsToken, serviceToken, getConversationSessionToken(name)],
    };
  }
}
