/**
 * Waiting for something only so long: the value of `work` if it settles within `ms`, else the promise itself,
 * for a caller that answers first and follows up (Slack's 3 seconds) or gives up (a start-up check). The timer
 * never keeps the process alive, and is cleared as soon as `work` settles.
 */
export type Raced<T> = { done: true; value: T } | { done: false; later: Promise<T> };

export async function withinTime<T>(work: Promise<T>, ms: number): Promise<Raced<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
    timer.unref();
  });
  const first = await Promise.race([work.then((value) => ({ value })), late]);
  clearTimeout(timer);
  return first === 'late' ? { done: false, later: work } : { done: true, value: first.value };
}
