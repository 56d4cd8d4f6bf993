import { runInNewContext } from 'vm';
import { InvalidSessionItemsError } from '../../lib';
import { TestMemory, startMemory } from '../support/memory';

/**
 * Items built in another JavaScript realm are plain data too. The Agents SDK runner copies items with
 * `structuredClone`, and under Jest (a `vm` sandbox) those copies come from Node's main realm: refusing
 * them made every `run(agent, input, { session })` fail in Jest with InvalidSessionItemsError.
 */
describe('addItems accepts plain objects from another realm', () => {
  let memory: TestMemory;
  beforeAll(async () => {
    memory = await startMemory('sqlite::memory:');
  });
  afterAll(async () => {
    await memory.close();
  });

  it('stores items made by structuredClone and by a vm context, nested objects included', async () => {
    const session = memory.memory.session('realms');
    const cloned = structuredClone({ role: 'user', content: [{ type: 'input_text', text: 'cloned' }] });
    const foreign = runInNewContext(
      '({ role: "user", content: [{ type: "input_text", text: "foreign" }], extra: { a: Object.create(null) } })',
    );
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    await session.addItems([cloned, foreign]);
    expect(await session.getItems()).toEqual([
      { role: 'user', content: [{ type: 'input_text', text: 'cloned' }] },
      { role: 'user', content: [{ type: 'input_text', text: 'foreign' }], extra: { a: {} } },
    ]);
  });

  it('still refuses class instances, from this realm or another', async () => {
    const session = memory.memory.session('realms-refused');
    class Custom {
      role = 'user';
    }
    await expect(session.addItems([new Custom() as any])).rejects.toThrow(InvalidSessionItemsError);
    const foreignDate = runInNewContext('({ role: "user", content: "x", at: new Date(0) })');
    await expect(session.addItems([foreignDate])).rejects.toThrow(/items\[0\]\.at is an instance of Date/);
    const fakeObject = Object.create(Object.create(null, { constructor: { value: function Object() {} } }));
    await expect(session.addItems([{ role: 'user', content: 'x', nested: fakeObject } as any])).rejects.toThrow(
      InvalidSessionItemsError,
    );
    expect(await session.getItems()).toEqual([]);
  });
});
