import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Config } from './config/config.js';

type LogMethod = (...args: unknown[]) => void;
type ChildFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;

/**
 * A request's logger that makes the real pino child (which binds the request id and
 * re-applies redaction) only when something is logged. Fastify makes one child per
 * request; at warn and above keyfob logs nothing for a healthy request, and making the
 * child anyway cost about a tenth of a /users/settings call (bench/README.md).
 */
class LazyChildLogger {
  private made: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: object,
  ) {}

  /** Whether a line at this level would be written: if not, no child is needed for it. */
  private enabled(level: string): boolean {
    const logger = (this.made ?? this.parent) as unknown as { isLevelEnabled?: (l: string) => boolean };
    return logger.isLevelEnabled ? logger.isLevelEnabled(level) : true;
  }

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): string {
    return this.made ? this.made.level : this.parent.level;
  }
  set level(level: string) {
    this.real().level = level;
  }
  fatal(...args: unknown[]): void {
    if (this.enabled('fatal')) (this.real().fatal as LogMethod)(...args);
  }
  error(...args: unknown[]): void {
    if (this.enabled('error')) (this.real().error as LogMethod)(...args);
  }
  warn(...args: unknown[]): void {
    if (this.enabled('warn')) (this.real().warn as LogMethod)(...args);
  }
  info(...args: unknown[]): void {
    if (this.enabled('info')) (this.real().info as LogMethod)(...args);
  }
  debug(...args: unknown[]): void {
    if (this.enabled('debug')) (this.real().debug as LogMethod)(...args);
  }
  trace(...args: unknown[]): void {
    if (this.enabled('trace')) (this.real().trace as LogMethod)(...args);
  }
  silent(): void {}
  child(bindings: Record<string, unknown>, options?: object): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

/**
 * Fastify's childLoggerFactory for a configured level: the ordinary child when request
 * lines are logged (info and below), a lazy one otherwise.
 */
export function childLoggerFactory(level: Config['logLevel']): ChildFactory | undefined {
  if (level === 'info' || level === 'debug' || level === 'trace') return undefined;
  return function lazyChild(logger, bindings, options) {
    // A route with its own log level gets the ordinary child at once.
    if ((options as { level?: unknown }).level !== undefined) return logger.child(bindings, options);
    return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
  };
}
