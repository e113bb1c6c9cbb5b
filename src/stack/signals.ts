// How the long-running commands end: Ctrl-C or SIGTERM stops what they started, once.

/** Runs `stop` on the first SIGINT/SIGTERM, then exits; later signals are ignored. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
