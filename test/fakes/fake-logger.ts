/**
 * Fakes `Logger`: keeps every line in memory, so a test can assert that a failure was logged (and that no
 * secret was). Left out on purpose: levels filtering, child loggers and serialisation; pino's own business.
 */
import type { Logger } from '../../src/use-cases/ports.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  level: Level;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export class FakeLogger implements Logger {
  readonly lines: LogLine[] = [];

  debug(obj: object, msg?: string): void {
    this.#push('debug', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#push('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#push('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#push('error', obj, msg);
  }

  at(level: Level): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }

  #push(level: Level, obj: object, msg: string | undefined): void {
    this.lines.push({ level, obj: { ...obj }, msg });
  }
}
