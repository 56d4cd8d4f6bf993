import { SessionMemoryConfigurationError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { startMemory } from '../support/memory';
import { uniqueTables } from '../support/tables';
import { useSearchPair } from './search-support';

describeEachDialect(
  "search.language on PostgreSQL: stemming with 'english', 'simple' by default, an unknown one refused at startup",
  (dialect, url) => {
    const [english] = useSearchPair(dialect, url, { search: { language: 'english' } });

    it('stems words and ignores stop words with english', async () => {
      await english.memory.session('lang-1').addItems([user('The runners were running quickly')]);
      const found = async (query: string) =>
        (await english.memory.searchConversations({ query })).hits.map((h) => h.conversationId);
      expect(await found('run')).toEqual(['lang-1']);
      expect(await found('"runners were running"')).toEqual(['lang-1']);
      expect(await found('runs -quick')).toEqual([]);
    });

    it('refuses an unknown configuration before serving', async () => {
      await expect(
        startMemory(url, { search: { language: 'klingon' } }, uniqueTables('srchlang')),
      ).rejects.toBeInstanceOf(SessionMemoryConfigurationError);
      await expect(startMemory(url, { search: { language: 'Robert); DROP' } })).rejects.toBeInstanceOf(
        SessionMemoryConfigurationError,
      );
      await expect(startMemory(url, { search: { include: ['everything'] as never } })).rejects.toBeInstanceOf(
        SessionMemoryConfigurationError,
      );
    });
  },
  ['postgres', 'citus'],
);
