import { Logger, Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getDefaultModel, setTracingDisabled } from '@openai/agents';
import type { Model } from '@openai/agents';
import { LocalModel } from './local-model';
import { readSampleConfig } from './sample.config';

/** Injection token of the model the assistant agent runs on: an OpenAI model name, or a `Model` instance. */
export const ASSISTANT_MODEL = Symbol('ASSISTANT_MODEL');

/** The pause between the local model's streamed words, so that the chat page shows a reply growing. */
export const LOCAL_MODEL_STREAM_DELAY_MS = 40;

/** What `ASSISTANT_MODEL` holds. */
export type AssistantModel = string | Model;

/**
 * With `OPENAI_API_KEY` set: the name of a real OpenAI model (`OPENAI_MODEL`, or the Agents SDK's
 * default), resolved by the SDK's OpenAI provider. Without it: the offline `LocalModel`, and tracing off.
 */
export const assistantModelProvider: Provider = {
  provide: ASSISTANT_MODEL,
  inject: [ConfigService],
  useFactory: (config: ConfigService): AssistantModel => {
    const { openAiApiKey, openAiModel } = readSampleConfig(config);
    const logger = new Logger('Assistant');
    if (openAiApiKey) {
      const name = openAiModel ?? getDefaultModel();
      logger.log(`Using the OpenAI model ${name}.`);
      return name;
    }
    setTracingDisabled(true);
    logger.log('OPENAI_API_KEY is not set: using the offline local model (deterministic replies, no network).');
    return new LocalModel({ streamDelayMs: LOCAL_MODEL_STREAM_DELAY_MS });
  },
};
