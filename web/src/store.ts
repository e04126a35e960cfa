import { useEffect, useState } from "preact/hooks";

/** A value several components read and any may change; each reader re-renders on a change. */
export interface Shared<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: () => void): () => void;
}

export function shared<T>(initial: T): Shared<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useShared<T>(store: Shared<T>): T {
  const [, setTick] = useState(0);
  useEffect(() => store.subscribe(() => setTick((n) => n + 1)), [store]);
  return store.get();
}
