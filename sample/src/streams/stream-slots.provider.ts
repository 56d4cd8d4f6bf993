import type { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { readSampleConfig } from '../sample.config';
import { StreamSlots } from './stream-slots';

/** `StreamSlots` with the caps of the environment (`SAMPLE_MAX_STREAMS_PER_CALLER`, `SAMPLE_MAX_STREAMS`). */
export const streamSlotsProvider: Provider = {
  provide: StreamSlots,
  inject: [ConfigService],
  useFactory: (config: ConfigService): StreamSlots => {
    const { maxStreamsPerCaller, maxStreams } = readSampleConfig(config);
    return new StreamSlots({ perCaller: maxStreamsPerCaller, total: maxStreams });
  },
};
