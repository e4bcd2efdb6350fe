/**
 * The process entry: start the service, stop it cleanly on SIGTERM/SIGINT within SHUTDOWN_TIMEOUT_MS, exit
 * non-zero when it cannot work. Bad configuration prints one line naming the variable and exits 2.
 */
import { scrubPans } from './contract/card';
import { ConfigError } from './errors';
import { startService, type RunningService } from './service';

export async function main(): Promise<void> {
  let service: RunningService;
  try {
    service = await startService({ createTopics: process.env.CREATE_TOPICS === 'true' });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`card-shield: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const shutdown = (signal: string, code: number) => {
    const deadline = setTimeout(() => {
      process.stderr.write(`card-shield: shutdown did not finish within ${service.config.shutdownTimeoutMs} ms after ${signal}; exiting\n`);
      process.exit(1);
    }, service.config.shutdownTimeoutMs);
    deadline.unref();
    service.stop().then(
      () => process.exit(code),
      (error) => {
        process.stderr.write(`card-shield: error during shutdown: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM', 0));
  process.once('SIGINT', () => shutdown('SIGINT', 0));
  // A consumer that crashed for good leaves a process that cannot work: exit non-zero so Kubernetes restarts it.
  void service.fatal.then(() => shutdown('consumer crash', 1));
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`card-shield: failed to start: ${scrubPans((error as Error).message)}\n`);
    process.exit(1);
  });
}
