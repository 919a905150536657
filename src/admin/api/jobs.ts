import { randomId } from '../../trust/index.js';
import { NotFoundError } from '../../site/site-errors.js';
import { errorAnswer } from '../../site/http/error-handler.js';

/**
 * Long operations (package import) run as jobs: the request answers 202 with a job id at once, and
 * clients poll the job for progress and the result. Jobs live in memory; a restart forgets them,
 * and an interrupted import leaves nothing behind (the content library imports atomically).
 */
export interface JobView {
  id: string;
  kind: string;
  state: 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number; unit: string } | null;
  result: unknown;
  error: { code: string; message: string } | null;
  startedAt: string;
  finishedAt: string | null;
}

export class JobRegistry {
  readonly #jobs = new Map<string, JobView>();

  start(
    kind: string,
    work: (report: (done: number, total: number, unit: string) => void) => Promise<unknown>,
  ): JobView {
    const job: JobView = {
      id: `job-${randomId().slice(0, 12)}`,
      kind,
      state: 'running',
      progress: null,
      result: null,
      error: null,
      startedAt: new Date().toISOString(),
      finishedAt: null,
    };
    this.#jobs.set(job.id, job);
    this.#prune();
    work((done, total, unit) => {
      job.progress = { done, total, unit };
    }).then(
      (result) => {
        job.state = 'succeeded';
        job.result = result;
        job.finishedAt = new Date().toISOString();
      },
      (error: unknown) => {
        const { body } = errorAnswer(error);
        job.state = 'failed';
        job.error = { code: body.error.code, message: body.error.message };
        job.finishedAt = new Date().toISOString();
      },
    );
    return job;
  }

  get(id: string): JobView {
    const job = this.#jobs.get(id);
    if (job === undefined)
      throw new NotFoundError(`job ${id} does not exist (jobs are forgotten when the site restarts)`);
    return job;
  }

  #prune(): void {
    if (this.#jobs.size <= 1000) return;
    for (const [id, job] of this.#jobs) {
      if (job.state !== 'running') this.#jobs.delete(id);
      if (this.#jobs.size <= 500) return;
    }
  }
}
