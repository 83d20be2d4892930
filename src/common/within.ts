/**
 * Waits for `work`, at most `ms`: resolves true when it settled (fulfilled or rejected), false
 * when the time ran out first (`late` is called then). The timer is not unref'd: a process that
 * waits on this is meant to stay until one or the other, and no longer.
 */
export async function within(work: Promise<unknown>, ms: number, late: () => void): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      late();
      resolve(false);
    }, ms);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
