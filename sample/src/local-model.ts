import { Usage } from '@openai/agents-core';
import type { AgentInputItem, Model, ModelRequest, ModelResponse, protocol } from '@openai/agents-core';

/** What this model produces: an assistant message or a function call. */
type LocalOutputItem = protocol.AssistantMessageItem | protocol.FunctionCallItem;

/** What `LocalModel` remembers of one call: a deep copy of the request's input, as the model saw it. */
export interface LocalModelCall {
  /** The system instructions of the agent. */
  readonly instructions: string | undefined;
  /** The input items, history first (a string input is turned into one user message). */
  readonly input: AgentInputItem[];
  /** Names of the function tools the agent offered. */
  readonly tools: string[];
  /** Whether the call came through `getStreamedResponse`. */
  readonly streamed: boolean;
}

/** Options of `LocalModel`. */
export interface LocalModelOptions {
  /** How many calls `calls` keeps (the oldest are dropped). Default 1000. */
  maxRecordedCalls?: number;
  /**
   * Streamed answers (`getStreamedResponse`) come as one `output_text_delta` per word; this is the pause
   * before each delta but the first, in milliseconds, so that a page shows the reply growing the way
   * a real model's does. Default 0 (no pause).
   */
  streamDelayMs?: number;
}

/**
 * A small deterministic model that runs without network and without an API key, so the sample (and the
 * tests) can drive the real Agents SDK runner offline. It implements the SDK's `Model` interface.
 *
 * What it answers, given the input it receives:
 * - When the agent offers a function tool and the newest input item is a user message, it calls the
 *   first function tool with the arguments `{"text": <that message>}` (so the tool must accept `text`).
 * - When the newest input item is a function call result, it answers `Tool <name> returned: <output>`.
 * - Otherwise it answers with what it can see of the conversation:
 *   `You said "<newest user text>". I have seen <n> user message(s) in this conversation; the first was "<first>".`
 *
 * Every call is recorded in `calls` (deep copies), so a test can check what history the runner sent.
 */
export class LocalModel implements Model {
  private readonly recorded: LocalModelCall[] = [];
  private readonly maxRecordedCalls: number;
  private readonly streamDelayMs: number;
  private sequence = 0;

  constructor(options: LocalModelOptions = {}) {
    this.maxRecordedCalls = options.maxRecordedCalls ?? 1000;
    this.streamDelayMs = options.streamDelayMs ?? 0;
    if (!Number.isFinite(this.streamDelayMs) || this.streamDelayMs < 0) {
      throw new RangeError(`streamDelayMs must be a number >= 0, got ${options.streamDelayMs}.`);
    }
  }

  /** The calls received so far, oldest first (at most `maxRecordedCalls`). */
  get calls(): readonly LocalModelCall[] {
    return this.recorded;
  }

  /** Forgets the recorded calls. */
  reset(): void {
    this.recorded.length = 0;
  }

  /** Answers in one piece (the runner's non-streamed path). */
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const output = this.respond(request, false);
    return { usage: usageOf(request, output), output, responseId: this.nextResponseId() };
  }

  /**
   * Answers as stream events: `response_started`, the text as `output_text_delta` events of one word
   * each (with its following spaces; `streamDelayMs` apart), then `response_done`.
   */
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<protocol.StreamEvent> {
    const output = this.respond(request, true);
    const usage = usageOf(request, output);
    yield { type: 'response_started' };
    let first = true;
    for (const item of output) {
      if (item.type !== 'function_call') {
        for (const part of item.content) {
          if (part.type !== 'output_text') continue;
          for (const delta of words(part.text)) {
            if (!first && this.streamDelayMs > 0) await sleep(this.streamDelayMs);
            first = false;
            yield { type: 'output_text_delta', delta };
          }
        }
      }
    }
    yield {
      type: 'response_done',
      response: {
        id: this.nextResponseId(),
        usage: {
          requests: usage.requests,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          totalTokens: usage.totalTokens,
        },
        output,
      },
    };
  }

  private nextResponseId(): string {
    this.sequence += 1;
    return `local_resp_${this.sequence}`;
  }

  private respond(request: ModelRequest, streamed: boolean): LocalOutputItem[] {
    const input: AgentInputItem[] =
      typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : structuredClone(request.input);
    const tools = request.tools.filter((t) => t.type === 'function').map((t) => t.name);
    this.recorded.push({ instructions: request.systemInstructions, input, tools, streamed });
    if (this.recorded.length > this.maxRecordedCalls) this.recorded.shift();

    const newest = input[input.length - 1];
    if (newest && isUserMessage(newest) && tools.length > 0) {
      const callId = `call_local_${this.sequence + 1}`;
      return [
        {
          type: 'function_call',
          id: `fc_local_${this.sequence + 1}`,
          callId,
          name: tools[0],
          status: 'completed',
          arguments: JSON.stringify({ text: textOf(newest) }),
        },
      ];
    }
    if (newest && newest.type === 'function_call_result') {
      return [message(`Tool ${newest.name} returned: ${resultText(newest.output)}`)];
    }
    const userTexts = input.filter(isUserMessage).map(textOf);
    if (userTexts.length === 0) return [message('I have not been told anything yet.')];
    const n = userTexts.length;
    return [
      message(
        `You said "${userTexts[n - 1]}". I have seen ${n} user message${n === 1 ? '' : 's'} in this conversation; ` +
          `the first was "${userTexts[0]}".`,
      ),
    ];
  }
}

/** `text` cut before each word that follows whitespace: the pieces joined are `text` again. */
export function words(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\s)(?=\S)/);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function message(text: string): protocol.AssistantMessageItem {
  return { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] };
}

function isUserMessage(item: AgentInputItem): boolean {
  return (item as { role?: string }).role === 'user' && (item.type === undefined || item.type === 'message');
}

/** The text of a user message: its string content, or its `input_text` parts joined. */
export function textOf(item: AgentInputItem): string {
  const content = (item as { content?: unknown }).content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: string; text?: string }) =>
        part.type === 'input_text' || part.type === 'output_text' ? (part.text ?? '') : '',
      )
      .join('');
  }
  return '';
}

function resultText(output: unknown): string {
  if (typeof output === 'string') return output;
  const o = output as { type?: string; text?: string } | undefined;
  if (o && o.type === 'text' && typeof o.text === 'string') return o.text;
  return JSON.stringify(output);
}

/** A token count that is deterministic and roughly proportional to the text: one token per 4 characters. */
function usageOf(request: ModelRequest, output: LocalOutputItem[]): Usage {
  const inputTokens = Math.ceil(JSON.stringify(request.input).length / 4);
  const outputTokens = Math.ceil(JSON.stringify(output).length / 4);
  return new Usage({ requests: 1, inputTokens, outputTokens, totalTokens: inputTokens + outputTokens });
}
