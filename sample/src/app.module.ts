import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { SessionMemoryModule } from '../../lib';
import { assistantModelProvider } from './assistant-model.provider';
import { AssistantService } from './assistant.service';
import { callerOf } from './caller';
import { ChatController } from './chat.controller';
import { ConversationHistory } from './conversation-history.service';
import { ConversationsController } from './conversations.controller';
import { HistoryController } from './history.controller';
import { PageController } from './page.controller';
import { readSampleConfig } from './sample.config';
import { SessionMemoryExceptionFilter } from './session-memory-exception.filter';

/**
 * The sample application: an Agents SDK assistant whose conversations are stored by SessionMemoryModule,
 * configured from the environment (SESSION_MEMORY_URL, PORT, OPENAI_API_KEY, OPENAI_MODEL). It serves a
 * chat page at `/` (sample/public) and the JSON and Server-Sent Events API the page and curl use.
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true }),
    SessionMemoryModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        url: readSampleConfig(config).databaseUrl,
        // The sample creates its tables on first start. In production, create them with migrations.
        createTables: true,
        // Both @Conversation() and the request-scoped session read the id from the route's :id.
        conversationId: { param: 'id' },
        // Who is calling: the x-caller-id header, or a ?caller= query parameter (the chat page's
        // EventSource cannot send headers). A DEMO ONLY: any client can claim any id. A real application
        // returns the user id its authentication established (e.g. request.user.id after a guard).
        // Without either a request is the caller "anonymous", so the curl examples work as they are.
        owner: callerOf,
      }),
    }),
  ],
  controllers: [ChatController, ConversationsController, HistoryController, PageController],
  providers: [
    assistantModelProvider,
    AssistantService,
    ConversationHistory,
    { provide: APP_FILTER, useClass: SessionMemoryExceptionFilter },
  ],
})
export class AppModule {}
