import type { Model, ModelRequest, ModelResponse, protocol } from '@openai/agents-core';
import { LocalModel } from './local-model';

/**
 * The local model with two extra powers for runner tests: it can put a `compaction` item first in
 * its next answer (as the OpenAI Responses API does with server-side compaction), and it can await a
 * hook before answering (to let another writer act while a turn is in flight).
 */
export class ScriptedModel implements Model {
  readonly local = new LocalModel();
  /** When set, the next answer starts with a compaction item carrying this text. */
  compactNext: string | undefined;
  /** Awaited (once) before the next answer. */
  beforeNextAnswer: (() => Promise<void>) | undefined;

  get calls() {
    return this.local.calls;
  }

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    await this.runHook();
    const response = await this.local.getResponse(request);
    return { ...response, output: this.withCompaction(response.output) };
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<protocol.StreamEvent> {
    await this.runHook();
    for await (const event of this.local.getStreamedResponse(request)) {
      if (event.type === 'response_done') {
        yield { ...event, response: { ...event.response, output: this.withCompaction(event.response.output) } };
      } else {
        yield event;
      }
    }
  }

  private async runHook(): Promise<void> {
    const hook = this.beforeNextAnswer;
    this.beforeNextAnswer = undefined;
    if (hook) await hook();
  }

  private withCompaction<T>(output: T[]): T[] {
    const summary = this.compactNext;
    this.compactNext = undefined;
    if (summary === undefined) return output;
    return [{ type: 'compaction', encrypted_content: summary } as T, ...output];
  }
}
