// Polls `cond` every 20 ms until it holds, or fails after `ms`: for tests that
// wait on real sockets and processes.
export async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
