import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, query } from './api';
import type { Page } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'ERR_NETWORK', error instanceof Error ? error.message : String(error));
}

/**
 * GETs `path` from the admin API (nothing when it is null), and again every `refreshMs` while the
 * page shows it; a refresh never overlaps the one before. The last good answer stays on screen
 * while a refresh fails.
 */
export function useApi<T>(path: string | null, refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [generation, setGeneration] = useState(0);
  const shownPath = useRef<string | null>(null);

  useEffect(() => {
    if (path === null) {
      setData(undefined);
      setLoading(false);
      return undefined;
    }
    if (shownPath.current !== path) {
      shownPath.current = path;
      setData(undefined);
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      setLoading(true);
      try {
        const answer = await api<T>('GET', path, undefined, controller.signal);
        if (controller.signal.aborted) return;
        setData(answer);
        setError(undefined);
      } catch (caught) {
        if (controller.signal.aborted) return;
        setError(asApiError(caught));
      } finally {
        if (!controller.signal.aborted) {
          setLoading(false);
          if (refreshMs !== undefined) timer = setTimeout(() => void load(), refreshMs);
        }
      }
    };
    void load();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [path, refreshMs, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

export interface KeysetPages<T, C> extends Loaded<Page<T, C>> {
  pageNumber: number;
  pageSize: number;
  hasNext: boolean;
  hasPrevious: boolean;
  next: () => void;
  previous: () => void;
}

/**
 * Keyset paging on the server (every list stays fast with 100,000 clients): the first page, then
 * `cursorParam=<the last key of the page before>`. The cursors of the pages already seen are kept
 * for "previous"; changing the filters or the page size starts again at the first page.
 */
export function useKeysetPages<T, C extends string | number = string>(
  path: string,
  filters: Record<string, string | number | undefined>,
  pageSize: number,
  options: { cursorParam?: string; refreshMs?: number } = {},
): KeysetPages<T, C> {
  const cursorParam = options.cursorParam ?? 'after';
  const key = `${path}${query({ ...filters, limit: pageSize })}`;
  const [state, setState] = useState<{ key: string; cursors: (C | null)[] }>({ key, cursors: [null] });
  const cursors = state.key === key ? state.cursors : [null];
  const cursor = cursors.at(-1) ?? null;
  const loaded = useApi<Page<T, C>>(
    `${path}${query({ ...filters, limit: pageSize, [cursorParam]: cursor ?? undefined })}`,
    options.refreshMs,
  );
  const nextCursor = loaded.data?.next ?? null;
  return {
    ...loaded,
    pageNumber: cursors.length,
    pageSize,
    hasNext: nextCursor !== null,
    hasPrevious: cursors.length > 1,
    next: () => {
      if (nextCursor !== null) setState({ key, cursors: [...cursors, nextCursor] });
    },
    previous: () => {
      if (cursors.length > 1) setState({ key, cursors: cursors.slice(0, -1) });
    },
  };
}

/** `value`, once it has stopped changing for `delayMs`. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}
