import type { Logger } from '@nestjs/common';

/**
 * A warning that may be caused from outside (forged notifications, a database that keeps failing):
 * the first occurrence is logged at once, later ones are counted and summed up in one line at most
 * every `intervalMs`, so that a flood cannot flood the log.
 * @internal
 */
export class RateLimitedWarning {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private lastDetail = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    /** The line for an occurrence logged at once. */
    private readonly first: (detail: string) => string,
    /** The line summing up `count` occurrences held back, the last of which had `detail`. */
    private readonly summary: (count: number, detail: string) => string,
    private readonly intervalMs = 60_000,
  ) {}

  /** Records one occurrence. */
  note(detail: string): void {
    const now = Date.now();
    if (this.timer === undefined && now - this.lastAt >= this.intervalMs) {
      this.lastAt = now;
      this.logger.warn(this.first(detail));
      return;
    }
    this.suppressed++;
    this.lastDetail = detail;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.lastAt + this.intervalMs - now));
      this.timer.unref?.();
    }
  }

  /** Drops what is held back (at shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.suppressed = 0;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.suppressed === 0) return;
    const count = this.suppressed;
    this.suppressed = 0;
    this.lastAt = Date.now();
    this.logger.warn(this.summary(count, this.lastDetail));
  }
}
