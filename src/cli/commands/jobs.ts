import type { AdminClient } from '../admin-client.js';
import { RemoteError } from '../cli-errors.js';

interface Job<T> {
  id: string;
  state: 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number; unit: string } | null;
  result: T;
  error: { code: string; message: string } | null;
}

/** Polls a site job until it ends, reporting progress; throws the job's error code on failure. */
export async function waitForJob<T>(
  client: AdminClient,
  id: string,
  onProgress: (progress: { done: number; total: number }) => void,
): Promise<T> {
  for (;;) {
    const job = await client.get<Job<T>>(`/jobs/${id}`);
    if (job.progress !== null) onProgress(job.progress);
    if (job.state === 'succeeded') return job.result;
    if (job.state === 'failed') {
      throw new RemoteError(job.error?.code ?? 'ERR_JOB_FAILED', job.error?.message ?? 'the job failed', 500);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
