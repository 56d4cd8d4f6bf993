import { Inject, Injectable } from '@nestjs/common';
import { Agent, run } from '@openai/agents';
import type { Session } from '@openai/agents';
import { ASSISTANT_MODEL, AssistantModel } from './assistant-model.provider';

/** Runs the sample's agent on one conversation. */
@Injectable()
export class AssistantService {
  private readonly agent: Agent;

  constructor(@Inject(ASSISTANT_MODEL) model: AssistantModel) {
    this.agent = new Agent({
      name: 'Assistant',
      instructions: 'You are a concise assistant. Use what was said earlier in the conversation.',
      model,
    });
  }

  /**
   * Runs the agent on `text` with the conversation's session: the runner reads the stored history,
   * sends it to the model with the new message, and stores the new message and the reply.
   */
  async reply(session: Session, text: string): Promise<string> {
    const result = await run(this.agent, text, { session });
    return outputText(result.finalOutput);
  }

  /**
   * The same run, streamed (`run(agent, text, { session, stream: true })`): calls `onDelta` with each
   * piece of the reply's text as the model produces it, and resolves with the whole reply once the run
   * has finished and its items are stored.
   */
  async streamReply(session: Session, text: string, onDelta: (delta: string) => void): Promise<string> {
    const result = await run(this.agent, text, { session, stream: true });
    for await (const delta of result.toTextStream()) onDelta(delta);
    await result.completed;
    if (result.error) throw result.error;
    return outputText(result.finalOutput);
  }
}

function outputText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output ?? null);
}
