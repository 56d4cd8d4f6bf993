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
    return typeof result.finalOutput === 'string' ? result.finalOutput : JSON.stringify(result.finalOutput ?? null);
  }
}
