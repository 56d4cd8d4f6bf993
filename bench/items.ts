/**
 * Items shaped like OpenAI Agents SDK input items (user / assistant messages, function calls and their
 * results, reasoning), each 200 to 500 bytes of JSON. The same shapes serve the bulk loaders as SQL
 * templates, with `#N#` standing for the row number.
 */

const LOREM =
  'The quick brown fox jumps over the lazy dog while the agent plans its next tool call and keeps the ' +
  'conversation history short enough to fit in the context window of the model it talks to today.';

function text(n: number, length: number): string {
  return `${n}: ${LOREM}`.slice(0, length);
}

/** One Agents-SDK-shaped item; `n` varies the content, `kind` (0..4) picks the shape. */
export function makeItem(n: number, kind = n % 5): Record<string, unknown> {
  switch (kind) {
    case 0:
      return { type: 'message', role: 'user', content: text(n, 160 + (n % 7) * 20) };
    case 1:
      return {
        type: 'message',
        role: 'assistant',
        id: `msg_${n.toString(16).padStart(12, '0')}`,
        status: 'completed',
        content: [{ type: 'output_text', text: text(n, 150 + (n % 5) * 30), annotations: [] }],
        providerData: {},
      };
    case 2:
      return {
        type: 'function_call',
        id: `fc_${n.toString(16).padStart(12, '0')}`,
        callId: `call_${n.toString(36).padStart(16, 'x')}`,
        name: 'lookup_weather',
        status: 'completed',
        arguments: JSON.stringify({ city: 'Zürich', units: 'metric', days: 1 + (n % 5), note: text(n, 60) }),
      };
    case 3:
      return {
        type: 'function_call_result',
        name: 'lookup_weather',
        callId: `call_${n.toString(36).padStart(16, 'x')}`,
        status: 'completed',
        output: { type: 'text', text: text(n, 120 + (n % 6) * 25) },
      };
    default:
      return {
        type: 'reasoning',
        id: `rs_${n.toString(16).padStart(12, '0')}`,
        content: [{ type: 'input_text', text: text(n, 140 + (n % 4) * 30) }],
        providerData: { encrypted: false },
      };
  }
}

/** A fixed pool of items the write workloads cycle through (built once: no garbage per call). */
export function makeItemPool(size: number): Record<string, unknown>[] {
  const pool = [];
  for (let i = 0; i < size; i++) pool.push(makeItem(i + 1));
  return pool;
}

/** The five shapes as JSON templates with `#N#` in place of the number, for bulk SQL loads. */
export function itemTemplates(): string[] {
  const marker = 987654321;
  return [0, 1, 2, 3, 4].map((kind) => JSON.stringify(makeItem(marker, kind)).split(String(marker)).join('#N#'));
}

/** Sizes in bytes of the pool's JSON, to print next to the results. */
export function sizeRange(items: Record<string, unknown>[]): { min: number; max: number; mean: number } {
  const sizes = items.map((i) => Buffer.byteLength(JSON.stringify(i)));
  return {
    min: Math.min(...sizes),
    max: Math.max(...sizes),
    mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
  };
}

/**
 * `itemTemplates()` grown to about `bytes` bytes of JSON each (the text of a message, a tool call's
 * arguments, a tool's output made longer), like the long tool outputs of a coding or support agent.
 */
export function sizedItemTemplates(bytes: number): string[] {
  return itemTemplates().map((template) => {
    let room = Math.max(0, bytes - template.length);
    const grow = (value: unknown): unknown => {
      if (typeof value === 'string') {
        if (room > 0 && value.startsWith('#N#: ')) {
          const added = ' ' + LOREM.repeat(Math.ceil(room / LOREM.length)).slice(0, room - 1);
          room = 0;
          return value + added;
        }
        if (value.startsWith('{')) return JSON.stringify(grow(JSON.parse(value)));
        return value;
      }
      if (Array.isArray(value)) return value.map(grow);
      if (value && typeof value === 'object')
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, grow(v)]));
      return value;
    };
    return JSON.stringify(grow(JSON.parse(template)));
  });
}
