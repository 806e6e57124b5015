// The one piece of long work the status line follows (a colouring, an .ora): it supersedes the one before,
// counts its seconds, and can be cancelled (the Cancel button shows while it runs).

export class JobLine {
  /** setStatus(text, state) writes the status line; cancelButton shows while a job runs. */
  constructor(setStatus, cancelButton) {
    this.setStatus = setStatus;
    this.cancelButton = cancelButton;
    this.job = null; // {controller, t0, label, ticker}
  }

  get running() { return Boolean(this.job); }

  /** Start a job (aborting the running one) -> the job; job.controller.signal aborts its requests. */
  start(label) {
    this.abort();
    const job = { controller: new AbortController(), t0: performance.now(), label };
    job.ticker = setInterval(() => this.tick(job), 100);
    this.job = job;
    this.tick(job);
    this.cancelButton.hidden = false;
    return job;
  }

  /** A new label for the running job (the server said it is busy, say). */
  relabel(label) {
    if (this.job) this.job.label = label;
  }

  tick(job) {
    if (this.job !== job) return;
    this.setStatus(`${job.label} ${((performance.now() - job.t0) / 1000).toFixed(1)} s`, "busy");
  }

  /** The job is over (done, failed or aborted); the line is free for the caller's last word. */
  end(job) {
    clearInterval(job.ticker);
    if (this.job !== job) return;
    this.job = null;
    this.cancelButton.hidden = true;
  }

  abort() {
    const job = this.job;
    if (!job) return null;
    job.controller.abort();
    this.end(job);
    return job;
  }
}
