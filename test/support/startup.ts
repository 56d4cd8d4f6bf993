import { Test } from '@nestjs/testing';
import { SessionMemoryModule, SessionMemoryModuleOptions } from '../../lib';

/** Starts the module with `options` and returns what startup threw (fails the test if it started). */
export async function startupError(options: SessionMemoryModuleOptions): Promise<Error> {
  let module;
  try {
    module = await Test.createTestingModule({ imports: [SessionMemoryModule.forRoot(options)] }).compile();
  } catch (err) {
    return err as Error;
  }
  await module.close();
  throw new Error(`SessionMemoryModule started with ${JSON.stringify(options)}; it should have refused`);
}
