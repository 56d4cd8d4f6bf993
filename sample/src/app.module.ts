import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { SessionMemoryModule } from '../../lib';
import { assistantModelProvider } from './assistant-model.provider';
import { AssistantService } from './assistant.service';
import { AuthModule } from './auth/auth.module';
import { BranchesController } from './branches.controller'; // ---- edits, versions, turns, tokens
import type { AuthenticatedRequest } from './auth/caller';
import { CallerAuthentication } from './auth/caller-authentication.service';
import { CallerGuard } from './auth/caller.guard';
import { ChatController } from './chat.controller';
import { ConversationHistory } from './conversation-history.service';
import { ConversationsController } from './conversations.controller';
import { HistoryController } from './history.controller';
import { PageController } from './page.controller';
import { readSampleConfig } from './sample.config';
import { SearchController } from './search.controller'; // ---- the search box
import { SessionMemoryExceptionFilter } from './session-memory-exception.filter';
import { ChatGateway } from './socket/chat.gateway';
import { streamSlotsProvider } from './streams/stream-slots.provider';

/**
 * The sample application: an Agents SDK assistant whose conversations are stored by SessionMemoryModule,
 * configured from the environment (SESSION_MEMORY_URL, PORT, OPENAI_API_KEY, OPENAI_MODEL, SAMPLE_DEMO_AUTH,
 * SAMPLE_MAX_STREAMS_PER_CALLER, SAMPLE_MAX_STREAMS). It serves a chat page at `/` (sample/public) and the
 * JSON and Server-Sent Events API the page and curl use. Every API request needs a caller: `CallerGuard`
 * (for every route) asks the `CallerAuthenticator` of `AuthModule` and answers 401 without one. The same
 * chat runs over a WebSocket too (`ChatGateway`, page `/socket.html`).
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true }),
    AuthModule,
    SessionMemoryModule.forRootAsync({
      imports: [AuthModule],
      inject: [ConfigService, CallerAuthentication],
      useFactory: (config: ConfigService, authentication: CallerAuthentication) => ({
        url: readSampleConfig(config).databaseUrl,
        // The sample creates its tables on first start. In production, create them with migrations.
        createTables: true,
        // Full-text search over the conversations (GET /search, SearchController).
        search: true,
        // Both @Conversation() and the request-scoped session read the id from the route's :id.
        conversationId: { param: 'id' },
        // Who is calling: the caller the CallerAuthenticator established (the one CallerGuard sets on
        // the request). Asked here too because Nest builds request-scoped providers before guards run;
        // a request is authenticated once. No caller: 401, never a shared default.
        owner: async (request: AuthenticatedRequest) => (await authentication.callerOf(request)).id,
      }),
    }),
  ],
  controllers: [
    ChatController,
    ConversationsController,
    HistoryController,
    PageController,
    BranchesController,
    SearchController,
  ],
  providers: [
    assistantModelProvider,
    AssistantService,
    ConversationHistory,
    streamSlotsProvider,
    { provide: APP_GUARD, useClass: CallerGuard },
    { provide: APP_FILTER, useClass: SessionMemoryExceptionFilter },
    // The same chat over a WebSocket (sample/public/socket.html); the ws adapter is set in platform.ts.
    ChatGateway,
  ],
})
export class AppModule {}
