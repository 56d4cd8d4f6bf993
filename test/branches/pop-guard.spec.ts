import type { SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { recordStatements, roundTrips } from '../support/citus';
import { user } from '../support/items';
import { useMemory } from '../support/memory';

/**
 * With the branch tables in use, a pop of main stays one round trip (PostgreSQL: one pipeline of two statements) while the
 * conversation has no branch at all, and takes the locked path (which freezes what branches inherit
 * first) once it has one, even after switching back to main: a branch created from a turn inherits
 * main's rows up to it, and keeps them whatever main pops.
 */
describeEachDialect(
  'pops of main while the branch tables are in use',
  (dialect, url) => {
    const m = useMemory(dialect, url);
    const prefix = `pg-guard-${Date.now().toString(36)}`;
    const answer = (text: string): SessionItem => ({
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text }],
    });
    const turn = (n: number): SessionItem[] => [user(`q${n}`), answer(`a${n}`)];

    it('a conversation without branches: one round trip; with one (main current again): the locked path, and the branch keeps its rows', async () => {
      const plain = m.memory.session(`${prefix}-plain`);
      await plain.addItems([...turn(1), ...turn(2)]);
      const recorder = recordStatements(m.memory.dataSource);
      try {
        expect(await m.memory.session(`${prefix}-plain`).popItem()).toEqual(turn(2)[1]);
        expect(roundTrips(recorder.take())).toBe(1);

        const id = `${prefix}-branched`;
        const s = m.memory.session(id);
        await s.addItems([...turn(1), ...turn(2)]);
        const branch = await s.createBranchFromTurn(2); // inherits turn 1 (q1, a1) from main, is current
        await s.addItems(turn(3));
        await s.switchToBranch('main');
        recorder.take();
        const fresh = m.memory.session(id);
        expect(await fresh.popItem()).toEqual(turn(2)[1]);
        expect(await fresh.popItem()).toEqual(turn(2)[0]);
        expect(await fresh.popItem()).toEqual(turn(1)[1]); // inherited by the branch: frozen there first
        expect(roundTrips(recorder.take())).toBeGreaterThan(3);
        expect(await fresh.getItems()).toEqual([turn(1)[0]]);
        await fresh.switchToBranch(branch);
        expect(await m.memory.session(id).getItems()).toEqual([...turn(1), ...turn(3)]);
      } finally {
        recorder.stop();
      }
    });
  },
  ['postgres'],
);
