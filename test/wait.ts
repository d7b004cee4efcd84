// Polls `cond` (sync or async) every `everyMs` until it holds, or fails after
// `ms`: for tests that wait on real sockets and processes.
export async function until(cond: () => boolean | Promise<boolean>, ms = 20_000, everyMs = 20): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
